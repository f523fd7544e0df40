"""Workloads: a bit-exact functional ternary LM and the traces of its work.

The MatMul-free LM (PAPER.md) in NumPy, with the arithmetic an accelerator would use:
ternary weights packed at 2 bits (:mod:`workloads.packing`), int8 activations, an exact
adder-only matrix-vector product (:mod:`workloads.matvec`), and hardware numerics as
parameters (:mod:`workloads.numerics`, :mod:`workloads.cost`). It runs real tokens
(:mod:`workloads.model`) on synthetic weights from a seed (:mod:`workloads.synthetic`) or
on a checkpoint in the released layout (:mod:`workloads.checkpoint`), and records what
every token costs in a versioned trace (:mod:`workloads.trace`), the one thing the
simulator reads. One PyTorch model (:mod:`workloads.torch_model`, needs the ``gpu``
extra) cross-checks it and, with the harness's options, is what the GPU baseline runs.

Knows nothing of ``arch_models`` or ``cosim``.
"""

from workloads.config import BUILTIN_CONFIGS, ModelConfig, get_config
from workloads.cost import NumericsCost, numerics_cost
from workloads.errors import CheckpointError, ModelConfigError, TraceError, WorkloadError
from workloads.loading import load_weights
from workloads.model import RunResult, TernaryLM
from workloads.numerics import ElementFormat, FunctionApprox, Numerics
from workloads.trace import SCHEMA_VERSION, Trace, generate_trace, read_trace, write_trace
from workloads.weights import ModelWeights, TernaryMatrix

__all__ = [
    "BUILTIN_CONFIGS",
    "SCHEMA_VERSION",
    "CheckpointError",
    "ElementFormat",
    "FunctionApprox",
    "ModelConfig",
    "ModelConfigError",
    "ModelWeights",
    "Numerics",
    "NumericsCost",
    "RunResult",
    "TernaryLM",
    "TernaryMatrix",
    "Trace",
    "TraceError",
    "WorkloadError",
    "generate_trace",
    "get_config",
    "load_weights",
    "numerics_cost",
    "read_trace",
    "write_trace",
]
