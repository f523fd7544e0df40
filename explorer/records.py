"""A study's stored attributes: their keys in one place, and a trial as a frozen record.

The explorer keeps its results in Optuna's study and trial attributes; this module is
that storage contract (what dashboards and other readers may rely on). Every module that
writes or reads them spells the keys through :class:`StudyAttr`, :class:`TrialAttr` and
:class:`SystemAttr`; the strings are those of existing study files and never change.
:class:`TrialRecord` is a trial as the explorer reads it: typed and immutable, like
Optuna's ``FrozenTrial``. :func:`retried_numbers` and :func:`counted` say which trials
count.

Trial states: a *feasible* trial is COMPLETE with values ``(tokens_per_s, avg_power_w)``;
an *infeasible* design that was simulated is COMPLETE too, with its values, and is
constrained out by its ``constraints``; a variant the validator refused is PRUNED
(``infeasible``, its ``reason`` lists the problems); a *failed* trial (the simulator
raised) is FAIL. A trial whose worker died is FAIL and is run again as a new trial with
the same parameters, which names it in its ``retry_history``: the dead one does not
count. Its status is ``failed`` ("the worker stopped before the trial finished") unless
the worker died in the instant between recording its result and telling Optuna: then its
attributes hold that result, and its state (FAIL) and its retry say what happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = [
    "FINISHED_STATES",
    "STATUSES",
    "Status",
    "StudyAttr",
    "SystemAttr",
    "TrialAttr",
    "TrialRecord",
    "counted",
    "retried_numbers",
]

#: A trial's outcome: every constraint met, one broken (or an invalid design), or failed.
Status = Literal["feasible", "infeasible", "failed"]
#: The statuses, in the order they are drawn and counted.
STATUSES: tuple[Status, ...] = ("feasible", "infeasible", "failed")
#: Names of Optuna's trial states of a finished trial.
FINISHED_STATES = frozenset({"COMPLETE", "PRUNED", "FAIL"})


class StudyAttr:
    """Keys of a study's user attributes (added to, never renamed)."""

    #: The base design's file, as given.
    ARCH_PATH: Final = "arch_path"
    #: The resolved base description, ``arch.spec.model_dump(mode="json")``.
    BASE_DESIGN: Final = "base_design"
    #: The validated search space as a dict (``SpaceSpec.model_dump(mode="json")``).
    SPACE: Final = "space"
    #: The search space's file, as given.
    SPACE_PATH: Final = "space_path"
    #: Each parameter's key in the space file → its canonical path
    #: (``{"tmac.lanes": "units[2].lanes"}``).
    SPACE_PATHS: Final = "space_paths"
    #: The model name (or config path).
    MODEL: Final = "model"
    #: The study's seed.
    SEED: Final = "seed"
    #: mmfree-cosim's version that created the study.
    PACKAGE_VERSION: Final = "package_version"
    #: ``["tokens_per_s", "avg_power_w"]``.
    OBJECTIVES: Final = "objectives"
    #: ``["maximize", "minimize"]`` (also the study's Optuna directions, in that order).
    DIRECTIONS: Final = "directions"
    #: ``["resources", "power_cap", "accuracy_dlogit", "accuracy_top1"]``, naming the
    #: trials' constraint values by position.
    CONSTRAINT_NAMES: Final = "constraint_names"
    #: The sampler's name.
    SAMPLER: Final = "sampler"
    #: NSGA-II's population.
    POPULATION_SIZE: Final = "population_size"
    #: Two-tier studies: the analytical sweep and each round (designs swept, seconds,
    #: designs a second, the errors measured, candidates within them, trials queued).
    TWO_TIER: Final = "two_tier"
    #: The trace's token counts: ``{PROMPT_TOKENS: ..., GEN_TOKENS: ...}``.
    TRACE: Final = "trace"
    PROMPT_TOKENS: Final = "prompt_tokens"
    GEN_TOKENS: Final = "gen_tokens"
    #: The simulator's options: ``{MAX_TRANSACTIONS: ...}``.
    SIM_OPTIONS: Final = "sim_options"
    MAX_TRANSACTIONS: Final = "max_transactions"
    #: Whether running the study's commands again gives the same trials, and why:
    #: ``{REPRODUCIBLE: bool, HOW: "...", UNLESS: "..."}``.
    REPRODUCIBILITY: Final = "reproducibility"
    REPRODUCIBLE: Final = "reproducible"
    HOW: Final = "how"
    UNLESS: Final = "unless"
    #: The format of this metadata (1); written last, when the study is ready.
    EXPLORER_FORMAT: Final = "explorer_format"


class TrialAttr:
    """Keys of a trial's user attributes: every trial that a worker started has them."""

    #: ``"feasible"``, ``"infeasible"`` or ``"failed"``.
    STATUS: Final = "status"
    #: Why it is not feasible or why it failed (``""`` when feasible).
    REASON: Final = "reason"
    #: The simulator's summary dict (:data:`cosim.engine.SUMMARY_KEYS` and more:
    #: ``energy_per_token_j``, ``resources``, ``utilisation``, ``power_breakdown_w``...),
    #: made JSON-safe (NaN and infinities become ``null``), plus ``numerics_cost`` when the
    #: space bounds accuracy; ``{}`` when nothing was simulated.
    SUMMARY: Final = "summary"
    #: The variant's resolved description dict (for a variant the validator refused: the
    #: base description with the changes applied).
    DESIGN: Final = "design"
    #: The searched values by canonical path, ``{"units[2].lanes": 64}``.
    PARAMS_BY_PATH: Final = "params_by_path"
    #: ``host:pid`` of the process that ran it.
    WORKER: Final = "worker"
    #: The tier whose figures the trial holds: ``"simpy"`` (every trial a worker ran).
    TIER: Final = "tier"
    #: Two-tier studies: why the trial was chosen, ``"calibration"`` (to measure the
    #: analytical tier's error) or ``"candidate"`` (within that error of the front).
    TIER_PLAN: Final = "tier_plan"
    #: Two-tier studies: the analytical tier's figures of the design
    #: (:meth:`cosim.analytical.Estimates.summary`), written when it was queued.
    ANALYTICAL: Final = "analytical"


class SystemAttr:
    """Keys of a trial's system attributes: Optuna's own, and the constraint values."""

    #: Numbers of the trials this one retries (Optuna's retry callback writes it).
    RETRY_HISTORY: Final = "retry_history"
    #: The number of the trial this one retries (Optuna's).
    FAILED_TRIAL: Final = "failed_trial"
    #: Parameters fixed by ``enqueue_trial`` (Optuna's).
    FIXED_PARAMS: Final = "fixed_params"
    #: Written by the planner once the trial's whole design is in the storage: until then
    #: a trial with some parameters is still being planned and no worker may take it.
    PLANNED: Final = "explorer:planned"
    #: The constraint values (``<= 0`` satisfied, in the order of ``constraint_names``),
    #: the list NSGA-II and TPE read.
    CONSTRAINTS: Final = "constraints"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, kw_only=True)
class TrialRecord:
    """A trial of an explorer study as stored, read back (immutable).

    Attributes:
        number: The trial's number in its study.
        state: Optuna's state name (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``,
            ``WAITING``).
        status: ``feasible``, ``infeasible`` or ``failed``; ``None`` when the trial has
            none (no worker started it).
        reason: Why it is not feasible, or why it failed (``""`` when feasible).
        summary: The simulator's summary (``{}`` when nothing was simulated).
        design: The variant's resolved description (``{}`` when none is stored).
        params_by_path: The searched values by canonical path.
        params: Optuna's parameters (by the space's keys).
        worker: ``host:pid`` of the process that ran it (``""`` when unknown).
        values: ``(tokens_per_s, avg_power_w)`` of a complete trial.
        retry_history: Numbers of the trials this one retries.
        tier: The tier whose figures it holds (``simpy``; ``""`` for trials run before
            the key existed, which were SimPy's too).
        tier_plan: Why a two-tier study chose it (``calibration`` or ``candidate``).
        analytical: What the analytical tier estimated for it (two-tier studies).
    """

    number: int
    state: str
    status: Status | None = None
    reason: str = ""
    summary: Mapping[str, Any] = field(default_factory=dict)
    design: Mapping[str, Any] = field(default_factory=dict)
    params_by_path: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    worker: str = ""
    values: tuple[float, ...] | None = None
    retry_history: tuple[int, ...] = ()
    tier: str = ""
    tier_plan: str = ""
    analytical: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_attrs(
        cls,
        *,
        number: int,
        state: str,
        user_attrs: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        values: Iterable[float] | None = None,
        retry_history: Iterable[int] | None = None,
    ) -> TrialRecord:
        """Return the record of a trial from its state and (some of) its user attributes.

        Args:
            number: The trial's number.
            state: Its state's name.
            user_attrs: Its user attributes (keys of :class:`TrialAttr`; missing ones
                take their defaults).
            params: Optuna's parameters.
            values: Its objective values.
            retry_history: Its ``retry_history`` system attribute.
        """
        status = user_attrs.get(TrialAttr.STATUS)
        return cls(
            number=int(number),
            state=state,
            status=status if status in STATUSES else None,
            reason=str(user_attrs.get(TrialAttr.REASON) or ""),
            summary=_mapping(user_attrs.get(TrialAttr.SUMMARY)),
            design=_mapping(user_attrs.get(TrialAttr.DESIGN)),
            params_by_path=_mapping(user_attrs.get(TrialAttr.PARAMS_BY_PATH)),
            params=dict(params or {}),
            worker=str(user_attrs.get(TrialAttr.WORKER) or ""),
            values=None if values is None else tuple(float(v) for v in values),
            retry_history=tuple(int(n) for n in retry_history or ()),
            tier=str(user_attrs.get(TrialAttr.TIER) or ""),
            tier_plan=str(user_attrs.get(TrialAttr.TIER_PLAN) or ""),
            analytical=_mapping(user_attrs.get(TrialAttr.ANALYTICAL)),
        )

    @classmethod
    def of(cls, trial: FrozenTrial) -> TrialRecord:
        """Return the record of an Optuna frozen trial."""
        return cls.from_attrs(
            number=trial.number,
            state=trial.state.name,
            user_attrs=trial.user_attrs,
            params=trial.params,
            values=trial.values,
            retry_history=trial.system_attrs.get(SystemAttr.RETRY_HISTORY),
        )

    @property
    def finished(self) -> bool:
        """Return whether the trial finished (complete, pruned or failed)."""
        return self.state in FINISHED_STATES


def retried_numbers(records: Iterable[TrialRecord]) -> set[int]:
    """Return the numbers of trials re-queued as a retry.

    A trial whose worker died is failed and run again as a new trial, which names it in
    its ``retry_history``: a trial in another trial's ``retry_history`` does not count.
    """
    return {n for r in records for n in r.retry_history}


def counted(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Return the trials that count: finished and not re-queued as a retry, by number.

    Args:
        records: Every trial of the study (unfinished retries name the trials they
            replace).
    """
    every = list(records)
    retried = retried_numbers(every)
    return sorted(
        (r for r in every if r.finished and r.number not in retried), key=lambda r: r.number
    )
