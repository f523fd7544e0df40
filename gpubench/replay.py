"""A baseline case's captured kernel list as the GPU model's workload (no torch needed).

Where a case carries the device operations the profiler saw one decode step run
(``captured_kernels``, :mod:`gpubench.kernel_list`), :func:`captured_step` turns them into
the :class:`~arch_models.gpu_kernels.KernelStep` the GPU model replays: each entry
repeated ``count`` times, with its operands' bytes, weight bytes and FLOPs (priced by
the model from the microbenchmarks, as for a meta-device trace) and its grid's thread
blocks. The profiler's durations are not used. An entry's call key
(``captured|<model>|b<batch>|<kernel>|grid<blocks>``) finds its time where that kernel
was timed alone (the fused implementation's per-kernel table, see
:func:`cosim.gpu_calibration.load_opcost`); otherwise an entry whose operands were not
recorded costs the per-kernel floor only. Host-side figures of a trace (views, module
calls) are unknown for a captured list and left at zero.

An embedding lookup is a gather: the profiler records the whole table as its operand,
but it reads one row per token. A kernel that performs one (``aten::embedding``, or an
Inductor kernel whose name lists ``embedding`` among the operators it fuses) is charged
``batch`` rows of the table, not the table (:func:`gathered_param_bytes`). An attention
kernel's key and value operands are the KV cache, decode state that comes from HBM like
the weights (:func:`arch_models.gpu_kernels.attention_state`).
"""

from __future__ import annotations

import math

from arch_models.gpu_kernels import Kernel, KernelStep, attention_state
from gpubench.schema import Baseline, Case
from gpubench.shapes import get_shape

__all__ = ["captured_call", "captured_case", "captured_step", "gathered_param_bytes"]


def captured_call(model: str, batch: int, kernel: str, grid: int) -> str:
    """The call key of a captured kernel: model, batch, name and its grid's first extent."""
    return f"captured|{model}|b{batch}|{kernel}|grid{grid}"


def gathered_param_bytes(name: str, op: str, param_bytes: int, rows: int, vocab: int) -> int:
    """Parameter bytes a captured kernel reads, with an embedding lookup read as a gather.

    Args:
        name: The kernel's name.
        op: The host operator that launched it.
        param_bytes: Bytes of the model's matrices among its recorded operands.
        rows: Tokens looked up (the decode step's batch).
        vocab: Rows of the embedding table.

    A lookup's table operand (``vocab`` rows) costs ``rows`` of its rows; any other
    operand is read whole.
    """
    if "embedding" not in name.lower() and "embedding" not in op.lower():
        return param_bytes
    if param_bytes <= 0 or vocab <= 0:
        return param_bytes
    return min(param_bytes, math.ceil(param_bytes * rows / vocab))


def captured_case(baseline: Baseline, model: str, impl: str, batch: int) -> Case | None:
    """The first ``ok`` case of this model, implementation and batch with a kernel list."""
    for c in baseline.cases:
        ok = c.status == "ok" and bool(c.captured_kernels)
        if ok and (c.model, c.impl, c.batch) == (model, impl, batch):
            return c
    return None


def captured_step(case: Case) -> KernelStep:
    """The kernels of one decode step of ``case``, from its captured list.

    Raises:
        ValueError: The case has no captured kernels.
    """
    if not case.captured_kernels:
        raise ValueError(f"{'/'.join(map(str, case.key))}: no captured kernel list")
    vocab = get_shape(case.model).vocab
    kernels: list[Kernel] = []
    for k in case.captured_kernels:
        reads, state = attention_state(k.op, tuple(k.reads))
        one = Kernel(
            name=k.name,
            reads=reads,
            state=state,
            writes=tuple(k.writes),
            param_bytes=gathered_param_bytes(k.name, k.op, k.param_bytes, case.batch, vocab),
            flops=k.flops,
            tensor_core=k.tensor_core,
            call=captured_call(case.model, case.batch, k.name, k.grid[0] if k.grid else 0),
            blocks=math.prod(k.grid) if k.grid else 0,
        )
        kernels.extend([one] * k.count)
    params = case.weight_bytes
    if params is None:
        params = sum(k.param_bytes * k.count for k in case.captured_kernels)
    return KernelStep(case.impl, case.model, case.batch, tuple(kernels), params)
