"""Design-space exploration of FPGA designs, and export of the chosen design for synthesis.

So far: search spaces (:mod:`explorer.space`), the fields of a design the explorer may
change, named by their path in the description and validated like architecture files;
and the export of a validated design as HDL parameter files (:mod:`explorer.export`).

Public API: :func:`load_space`, :class:`Space`, :func:`export_design`,
:func:`design_of_trial`, :class:`Provenance`, :class:`ExplorerError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.export import Provenance, design_of_trial, export_design
    from explorer.space import Space, load_space

__all__ = [
    "ExplorerError",
    "Provenance",
    "Space",
    "design_of_trial",
    "export_design",
    "load_space",
]

# Submodules are imported on first use: ``cosim.errors`` will import ``explorer.errors``,
# and the engine, Optuna and pandas should not load with every ``cosim`` command.
_LAZY = {
    "Provenance": "explorer.export",
    "design_of_trial": "explorer.export",
    "export_design": "explorer.export",
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
