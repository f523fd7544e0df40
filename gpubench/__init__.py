"""The measured GPU baseline: a harness that measures it, and the file that holds it.

What a user's GPU actually does with a ternary LLM, measured rather than modelled, so
that simulated FPGA designs can be compared with it and the GPU model calibrated:

- :mod:`~gpubench.schema`: the versioned baseline file (runs, cases,
  microbenchmarks), its validating reader and writer, and merging of partial files.
- :mod:`~gpubench.measure`: the harness (batch-1 and batch-16 greedy decoding,
  prompt 128, 256 generated tokens, 370M/1.3B/2.7B with random weights, four
  implementations from :mod:`~gpubench.models`, eager and CUDA-graph launch;
  CUDA-event timing, NVML power and energy from :mod:`~gpubench.power`).
- :mod:`~gpubench.micro`: bandwidth, launch and GEMV microbenchmarks.
- :mod:`~gpubench.kernels`: the 2-bit packed format and its Triton kernel.
- :mod:`~gpubench.fastest`: the fastest measured implementation of a model, which
  comparisons hold FPGA designs against.

Run it with ``python -m gpubench measure`` (needs torch and :mod:`workloads`' numpy,
pandas and pyarrow, optionally triton and pynvml) or ``cosim baseline measure``; read the
results with ``cosim baseline show``. Importing this package needs only the standard
library; torch is imported by the harness modules.
"""

from gpubench.errors import BaselineError
from gpubench.schema import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    Baseline,
    Case,
    Run,
    default_baseline_path,
    merge_baselines,
    read_baseline,
    shipped_baseline_paths,
    write_baseline,
)

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineError",
    "Case",
    "Run",
    "default_baseline_path",
    "merge_baselines",
    "read_baseline",
    "shipped_baseline_paths",
    "write_baseline",
]
