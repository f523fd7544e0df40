"""Design-space exploration of FPGA designs, and export of the chosen design for synthesis.

So far: search spaces (:mod:`explorer.space`), the fields of a design the explorer may
change, named by their path in the description and validated like architecture files.

Public API: :func:`load_space`, :class:`Space`, :class:`ExplorerError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.space import Space, load_space

__all__ = ["ExplorerError", "Space", "load_space"]

# Submodules are imported on first use: ``cosim.errors`` will import ``explorer.errors``,
# and the engine, Optuna and pandas should not load with every ``cosim`` command.
_LAZY = {
    "Space": "explorer.space",
    "load_space": "explorer.space",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'explorer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
