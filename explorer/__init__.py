"""Design-space exploration with Optuna, and export of the chosen design for synthesis.

A study searches the fields of one FPGA design named in a search space
(:mod:`explorer.space`) for the throughput/power Pareto front: every trial is a design
variant replayed through the simulator (:mod:`explorer.objective`). Workers take a
study's queued trials (:mod:`explorer.study`); its attributes are read back as records
(:mod:`explorer.records`, where the storage contract is), as one table
(:mod:`explorer.table`), as the front (:mod:`explorer.pareto`), as a trial's replay
(:mod:`explorer.replay`) and as HDL parameters and the RTL bundle that synthesises
it (:mod:`explorer.export`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.export import Provenance, design_of_trial, export_design
    from explorer.pareto import pareto_front, pick_trial, trials_frame
    from explorer.records import StudyAttr, SystemAttr, TrialAttr, TrialRecord, counted
    from explorer.replay import Replayer
    from explorer.space import Space, load_space
    from explorer.study import StudyOutcome, load_study, run_study, trial_counts
    from explorer.table import trials_table

__all__ = [
    "ExplorerError",
    "Provenance",
    "Replayer",
    "Space",
    "StudyAttr",
    "StudyOutcome",
    "SystemAttr",
    "TrialAttr",
    "TrialRecord",
    "counted",
    "design_of_trial",
    "export_design",
    "load_space",
    "load_study",
    "pareto_front",
    "pick_trial",
    "run_study",
    "trial_counts",
    "trials_frame",
    "trials_table",
]

# Submodules are imported on first use: the command line imports ``explorer.errors`` (for
# its map of errors) at start-up, which runs this file, and the engine, Optuna and pandas
# should load only with the commands that use them.
_LAZY = {
    "Provenance": "explorer.export",
    "design_of_trial": "explorer.export",
    "export_design": "explorer.export",
    "pareto_front": "explorer.pareto",
    "pick_trial": "explorer.pareto",
    "trials_frame": "explorer.pareto",
    "StudyAttr": "explorer.records",
    "SystemAttr": "explorer.records",
    "TrialAttr": "explorer.records",
    "TrialRecord": "explorer.records",
    "counted": "explorer.records",
    "Replayer": "explorer.replay",
    "Space": "explorer.space",
    "load_space": "explorer.space",
    "StudyOutcome": "explorer.study",
    "load_study": "explorer.study",
    "run_study": "explorer.study",
    "trial_counts": "explorer.study",
    "trials_table": "explorer.table",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'explorer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
