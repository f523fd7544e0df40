"""Co-simulation of ternary-LLM hardware: the ``cosim`` command and (later) the engine.

``cosim`` joins ``workloads`` (traces) and ``arch_models`` (validated specs and unit
models). This package holds the command-line interface; see :mod:`cosim.cli`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmfree-cosim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
