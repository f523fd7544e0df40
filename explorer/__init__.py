"""Design-space exploration with Optuna, and export of the chosen design for synthesis.

A study searches the fields of one FPGA design named in a search space
(:mod:`explorer.space`) for the throughput/power Pareto front: every trial is a design
variant (:func:`~arch_models.spec.evolve.evolve`) replayed through the simulator
(:mod:`explorer.objective`), maximising tokens/s and minimising average watts, under the
device's resources, an optional power cap and an optional accuracy bound. Studies live in
an Optuna storage (a SQLite file by default, PostgreSQL for many machines) and are run by
worker processes that take queued trials (:mod:`explorer.study`); the front is read back
with :mod:`explorer.pareto` and a chosen design written as HDL parameters by
:mod:`explorer.export`.

Public API: :func:`run_study`, :func:`load_space`, :func:`load_study`,
:func:`pareto_front`, :func:`trials_frame`, :func:`pick_trial`, :func:`export_design`,
:func:`design_of_trial`, :class:`Provenance`, :class:`ExplorerError`.

Storage contract (what dashboards and other readers may rely on; added to, never renamed)
-------------------------------------------------------------------------------------------

Study user attributes:

- ``arch_path``: the base design's file, as given;
- ``base_design``: the resolved base description, ``arch.spec.model_dump(mode="json")``;
- ``space``: the validated search space as a dict (``SpaceSpec.model_dump(mode="json")``);
  ``space_path``: its file, as given; ``space_paths``: each parameter's key in the file →
  its canonical path (``{"tmac.lanes": "units[2].lanes"}``);
- ``model``: the model name (or config path); ``seed``: the study's seed;
- ``package_version``: mmfree-cosim's version that created the study;
- ``objectives``: ``["tokens_per_s", "avg_power_w"]``; ``directions``:
  ``["maximize", "minimize"]`` (also the study's Optuna directions, in that order);
- ``constraint_names``: ``["resources", "power_cap", "accuracy_dlogit",
  "accuracy_top1"]``, naming the trials' constraint values by position;
- ``sampler``, ``population_size``, ``trace`` (``prompt_tokens``, ``gen_tokens``),
  ``sim_options`` (``max_transactions``), and ``explorer_format`` (1; written last, when
  the study is ready).

Trial user attributes (every trial that a worker started: complete, pruned or failed):

- ``status``: ``"feasible"``, ``"infeasible"`` or ``"failed"``;
- ``reason``: why it is not feasible or why it failed (``""`` when feasible);
- ``summary``: the simulator's summary dict (:data:`cosim.engine.SUMMARY_KEYS` and more:
  ``energy_per_token_j``, ``resources``, ``utilisation``, ``power_breakdown_w``...), made
  JSON-safe (NaN and infinities become ``null``), plus ``numerics_cost`` when the space
  bounds accuracy; ``{}`` when nothing was simulated;
- ``design``: the variant's resolved description dict (for a variant the validator
  refused: the base description with the changes applied);
- ``params_by_path``: the searched values by canonical path, ``{"units[2].lanes": 64}``;
- ``worker``: ``host:pid`` of the process that ran it.

Trial states: a *feasible* trial is COMPLETE with values ``(tokens_per_s, avg_power_w)``;
an *infeasible* design that was simulated is COMPLETE too, with its values, and is
constrained out: its constraint values (``<= 0`` means satisfied, in the order of
``constraint_names``) are stored in the trial's ``constraints`` system attribute, the
list NSGA-II and TPE read; a variant the validator refused is PRUNED (``infeasible``, its
``reason`` lists the problems); a *failed* trial (the simulator raised) is FAIL. A trial
whose worker died is FAIL and is re-run as a new trial with the same parameters; the new
one carries Optuna's ``failed_trial`` and ``retry_history`` system attributes, and the
dead one does not count (:func:`~explorer.study.trial_counts`; readers skip trials whose
number is in another trial's ``retry_history``). Its status is ``failed`` ("the worker
stopped before the trial finished") unless the worker died in the instant between
recording its result and telling Optuna: then its attributes hold that result, and its
state (FAIL) and its retry say what happened.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.export import Provenance, design_of_trial, export_design
    from explorer.pareto import pareto_front, pick_trial, trials_frame
    from explorer.space import Space, load_space
    from explorer.study import StudyOutcome, load_study, run_study, trial_counts

__all__ = [
    "ExplorerError",
    "Provenance",
    "Space",
    "StudyOutcome",
    "design_of_trial",
    "export_design",
    "load_space",
    "load_study",
    "pareto_front",
    "pick_trial",
    "run_study",
    "trial_counts",
    "trials_frame",
]

# Submodules are imported on first use: ``cosim.errors`` imports ``explorer.errors``, and
# the engine, Optuna and pandas should not load with every ``cosim`` command.
_LAZY = {
    "Provenance": "explorer.export",
    "design_of_trial": "explorer.export",
    "export_design": "explorer.export",
    "pareto_front": "explorer.pareto",
    "pick_trial": "explorer.pareto",
    "trials_frame": "explorer.pareto",
    "Space": "explorer.space",
    "load_space": "explorer.space",
    "StudyOutcome": "explorer.study",
    "load_study": "explorer.study",
    "run_study": "explorer.study",
    "trial_counts": "explorer.study",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'explorer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
