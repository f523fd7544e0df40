"""The engine: replays a workload through a described system and returns frozen results.

``cosim`` sits above ``workloads`` (traces) and ``arch_models`` (validated descriptions,
unit models, power and resources) and below ``explorer``: it builds a design's units from
the unit registry, runs them in SimPy (:mod:`cosim.engine`), prices a GPU decode on the
GPU model (:mod:`cosim.gpu_engine`) and returns one result type for both
(:mod:`cosim.results`). It knows nothing of Optuna, Dash or PyTorch, nor of the layers
above it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmfree-cosim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
