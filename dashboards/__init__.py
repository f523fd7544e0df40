"""A Dash dashboard: simulated designs side by side with the measured GPU baseline.

``cosim dashboard`` serves it. It only reads what the other packages wrote: an explorer
study in an Optuna storage (:mod:`dashboards.data`), GPU baseline files
(:mod:`dashboards.gpu`) and ``cosim simulate --out`` folders (:mod:`dashboards.designs`);
a trial's timeline is replayed by the explorer (:mod:`explorer.replay`). Its views: the
Pareto plot with the GPU points, a design's detail and timeline, Compare, the study's
progress and parameter importance, and export of a design's parameter files.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dashboards.errors import DashboardError

if TYPE_CHECKING:
    from dashboards.app import create_app, make_server
    from dashboards.state import Dashboard, DashboardConfig

__all__ = ["Dashboard", "DashboardConfig", "DashboardError", "create_app", "make_server"]

# Submodules load on first use: the command line imports ``dashboards.errors`` (for its
# map of errors) at start-up, which runs this file, and Dash, pandas and Optuna should
# load only with ``cosim dashboard``.
_LAZY = {
    "create_app": "dashboards.app",
    "make_server": "dashboards.app",
    "Dashboard": "dashboards.state",
    "DashboardConfig": "dashboards.state",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dashboards' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
