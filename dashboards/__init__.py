"""A Dash dashboard: simulated designs side by side with the measured GPU baseline.

``cosim dashboard`` serves it (:mod:`cosim_cli.commands.dashboard`). It only reads what the
other packages wrote: an explorer study in an Optuna storage (:mod:`dashboards.data`),
GPU baseline files (:mod:`dashboards.gpu`) and ``cosim simulate --out`` folders
(:mod:`dashboards.designs`). Five views: the Pareto plot of every trial with the measured
GPU points and iso-J/token lines; a design's detail (resolved YAML, resources against
the device, utilisation over time from its event frame, energy, bounds, numerics);
Compare (designs and GPU cases side by side); the study's progress, hypervolume and
parameter importance; and export of a design's parameter files for download.

Modules: :mod:`~dashboards.data` (study → table), :mod:`~dashboards.gpu` (baselines →
points), :mod:`~dashboards.designs` (design records, results folders),
:mod:`~dashboards.timeline` (utilisation over time, re-simulation),
:mod:`~dashboards.figures` (Plotly figures), :mod:`~dashboards.views` (page content),
:mod:`~dashboards.layout`, :mod:`~dashboards.callbacks`, :mod:`~dashboards.export`,
:mod:`~dashboards.state` (server-side state) and :mod:`~dashboards.app`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dashboards.errors import DashboardError

if TYPE_CHECKING:
    from dashboards.app import create_app, make_server
    from dashboards.state import Dashboard, DashboardConfig

__all__ = ["Dashboard", "DashboardConfig", "DashboardError", "create_app", "make_server"]

# Submodules load on first use: ``cosim.errors`` imports ``dashboards.errors``, and Dash,
# pandas and Optuna should not load with every ``cosim`` command.
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
