"""Running a design-space study: create it once, then let workers take its trials.

:func:`run_study` is what ``cosim explore`` calls. The pipeline, one stage at a time:

1. load the base design and the search space (bound to it: every path checked);
2. make the study's trace once and keep it on disk (``<cache>/traces/...``), keyed by
   model, seed and token counts; the trace does not depend on the design;
3. create the study in the storage, or join it when it exists (the same command on other
   machines with the same storage URL joins it; its settings must match);
4. top up the study's *waiting trials* (Optuna's own queue) so that finished, running and
   waiting trials add up to ``n_trials``, under the study's lock (exact when several
   commands raise the target at once);
5. run ``workers`` worker processes (one runs in this process). Waiting trials get their
   designs a batch at a time (:class:`~explorer._queue.Planner`); each worker claims one
   planned trial at a time (an atomic state change in the storage, so no trial is run
   twice), runs the objective (:class:`~explorer.objective.Evaluator`) with its trial's
   heartbeat on, and tells the result. A worker leaves when no trial is waiting or
   running; a trial whose worker was killed goes stale and is re-queued with the same
   parameters (see :mod:`explorer.storage`), so a killed run resumes with the same
   command, no trial lost or counted twice.

A trial *counts* once it is finished (complete, pruned or failed) unless it was re-queued
as a retry; :func:`trial_counts` gives the tallies. Sampling is Optuna's (NSGA-II by
default; TPE, random or grid by name). Every design is drawn by a sampler seeded from the
study's seed and the trial's position, from the results of the batches before it, so the
same commands give the same study with one worker or many (see :mod:`explorer._queue`).
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import multiprocessing.connection
import signal
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from arch_models.spec import Arch
from arch_models.spec.system import System
from cosim import __version__
from cosim.fpga import SimOptions
from explorer._files import safe_name
from explorer._queue import Claimer, Heartbeat, Planner
from explorer._sampling import SAMPLERS, make_sampler
from explorer.errors import ExplorerError
from explorer.inputs import load_base
from explorer.objective import CONSTRAINTS, Evaluator, NumericsJudge, TrialFailedError, design_of
from explorer.objectives import METRICS, directions, objectives_of
from explorer.records import StudyAttr, SystemAttr, TrialAttr, TrialRecord, retried_numbers
from explorer.space import Space, load_space
from explorer.storage import default_cache_dir, open_storage, redact, storage_url, study_lock
from safeio import json_safe

if TYPE_CHECKING:
    from optuna import Study
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial
    from rich.console import Console
    from rich.progress import Progress

    from workloads.trace import Trace

__all__ = [
    "SAMPLERS",
    "StudyOutcome",
    "StudySettings",
    "TrialCounts",
    "load_study",
    "make_sampler",
    "run_study",
    "trial_counts",
]

#: Version of the study metadata this module writes (set last, when the study is ready).
STUDY_FORMAT = 1


@dataclass(frozen=True)
class StudySettings:
    """Everything a worker needs to join a study (picklable, sent to worker processes).

    Attributes:
        arch_path: The base design's file.
        space_path: The search space's file.
        model: Model name or config path.
        storage_url: The storage's URL.
        study_name: The study's name.
        seed: Seed of the trace's synthetic weights and of the samplers.
        sampler: One of :data:`SAMPLERS`.
        prompt_tokens: Prompt tokens of the trace.
        gen_tokens: Decode tokens of the trace (what tokens/s is measured on).
        max_transactions: The simulator's fidelity knob.
        population_size: NSGA-II population (``None``: from the trial count).
        cache_dir: Folder of the trace and numerics caches.
        heartbeat_interval: Seconds between a running trial's heartbeats.
        grace_period: Seconds of silence after which a trial is stale.
    """

    arch_path: str
    space_path: str
    model: str
    storage_url: str
    study_name: str
    seed: int = 0
    sampler: str = "nsga2"
    prompt_tokens: int = 1
    gen_tokens: int = 2
    max_transactions: int = SimOptions().max_transactions
    population_size: int | None = None
    cache_dir: str = ".cosim-cache"
    heartbeat_interval: int = 5
    grace_period: int = 30


@dataclass(frozen=True)
class TrialCounts:
    """Tallies of a study's trials.

    Attributes:
        done: Trials that count: finished and not re-queued as a retry.
        feasible: Of those, ``status == "feasible"``.
        infeasible: Of those, ``status == "infeasible"`` (constrained out or invalid).
        failed: Of those, failed (the simulator raised, or the worker died too often).
        running: Trials being run now (or whose worker died, until they go stale).
        waiting: Trials queued and not yet claimed.
        retried: Finished trials replaced by a retry (not counted in ``done``).
    """

    done: int = 0
    feasible: int = 0
    infeasible: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    retried: int = 0

    @property
    def pending(self) -> int:
        """Return trials still to finish (running or waiting)."""
        return self.running + self.waiting


@dataclass
class StudyOutcome:
    """What :func:`run_study` did.

    Attributes:
        study: The Optuna study (loaded from the storage).
        study_name: Its name.
        storage: The storage URL, password hidden.
        target: The trial count asked for (capped at the grid's size for grid search).
        counts: Tallies at the end.
        ran: Trials that finished during this call (by any worker of the study).
        elapsed_s: Wall time of the trials (the trace and the set-up excluded).
        setup_s: Wall time before the first trial (trace, study creation).
        problems: Workers that died, with their exit codes.
    """

    study: Study
    study_name: str
    storage: str
    target: int
    counts: TrialCounts
    ran: int
    elapsed_s: float
    setup_s: float
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Return whether the study has its target of counted trials and none pending."""
        return self.counts.done >= self.target and self.counts.pending == 0


def trial_counts(trials: Study | Iterable[FrozenTrial]) -> TrialCounts:
    """Count a study's trials (a study or a list of frozen trials).

    A finished trial re-queued as a retry (its worker died;
    :func:`~explorer.records.retried_numbers`) does not count.
    """
    import optuna

    frozen = trials.get_trials(deepcopy=False) if isinstance(trials, optuna.Study) else trials
    records = [TrialRecord.of(t) for t in frozen]
    retried = retried_numbers(records)
    tally = dict.fromkeys(("done", "feasible", "infeasible", "failed", "running", "waiting"), 0)
    n_retried = 0
    for r in records:
        if r.state == "RUNNING":
            tally["running"] += 1
        elif r.state == "WAITING":
            tally["waiting"] += 1
        elif r.number in retried:
            n_retried += 1
        else:
            tally["done"] += 1
            if r.state == "FAIL" or r.status not in ("feasible", "infeasible"):
                tally["failed"] += 1
            else:
                tally[r.status] += 1
    return TrialCounts(retried=n_retried, **tally)


def default_population(n_trials: int) -> int:
    """Return the NSGA-II population for a study of ``n_trials``: a sixteenth, 8 to 50.

    Small populations let a short study run several generations (a quarter of a study's
    trials is four generations); Optuna's default of 50 suits studies of thousands.
    """
    return max(8, min(50, n_trials // 16))


# --------------------------------------------------------------------------- study set-up


def _metadata(
    settings: StudySettings, arch: Arch | System, space: Space, population: int
) -> dict[str, Any]:
    """The study's user attributes (the dashboard's contract; see :mod:`explorer`)."""
    return {
        StudyAttr.ARCH_PATH: settings.arch_path,
        StudyAttr.BASE_DESIGN: design_of(arch),
        StudyAttr.SPACE: space.as_dict(),
        StudyAttr.SPACE_PATH: settings.space_path,
        StudyAttr.SPACE_PATHS: dict(space.paths),
        StudyAttr.MODEL: settings.model,
        StudyAttr.SEED: settings.seed,
        StudyAttr.PACKAGE_VERSION: __version__,
        StudyAttr.OBJECTIVES: list(space.objectives),
        StudyAttr.DIRECTIONS: directions(space.objectives),
        StudyAttr.CONSTRAINT_NAMES: list(CONSTRAINTS),
        StudyAttr.SAMPLER: settings.sampler,
        StudyAttr.POPULATION_SIZE: population,
        StudyAttr.TRACE: {
            StudyAttr.PROMPT_TOKENS: settings.prompt_tokens,
            StudyAttr.GEN_TOKENS: settings.gen_tokens,
        },
        StudyAttr.SIM_OPTIONS: {StudyAttr.MAX_TRANSACTIONS: settings.max_transactions},
        StudyAttr.REPRODUCIBILITY: _reproducibility(settings.sampler, population),
    }


def _reproducibility(sampler: str, population: int) -> dict[str, Any]:
    """What makes a study's runs reproducible (stored with it, shown by the README)."""
    if sampler == "grid":
        return {
            StudyAttr.REPRODUCIBLE: True,
            StudyAttr.HOW: (
                "every design of the grid is queued with its parameters fixed, in order; the "
                "simulator is deterministic"
            ),
            StudyAttr.UNLESS: "",
        }
    return {
        # With one worker the same commands give the same trials; with several, batch
        # planning makes runs agree far more often but not always (see the README).
        StudyAttr.REPRODUCIBLE: False,
        StudyAttr.HOW: (
            f"designs are planned {population} positions at a time, each batch once every "
            "trial before it has finished, each design drawn with a seed made from the "
            "study's seed and its position; the simulator is deterministic. With one worker "
            "the same commands give the same trials"
        ),
        StudyAttr.UNLESS: (
            "several workers run it: their runs mostly agree but can differ from some trial "
            "on (a dependence on timing not yet found); or a worker dies or misses its "
            "heartbeat, so its trial is retried later than it would have run"
        ),
    }


#: Attributes a joining command must agree on, with the word used in the message.
_MUST_MATCH = {
    StudyAttr.BASE_DESIGN: "design",
    StudyAttr.SPACE: "search space",
    StudyAttr.MODEL: "model",
    StudyAttr.SEED: "seed",
    StudyAttr.TRACE: "trace (token counts)",
    StudyAttr.SIM_OPTIONS: "simulator options",
    StudyAttr.SAMPLER: "sampler",
}


def _create_or_join(
    storage: BaseStorage,
    settings: StudySettings,
    meta: dict[str, Any],
    target: int,
    grid: Space | None = None,
) -> Study:
    """Create the study or join the existing one; either way queue the missing trials.

    Everything runs under the study's lock (:func:`~explorer.storage.study_lock`), so
    commands started at once on several machines, or raising the target at once, create
    the study once and queue exactly the missing trials: the invariant counted + running
    + waiting = target holds through kills, retries and concurrent commands.

    Creation is resumable: the metadata is written before the ready marker
    (``explorer_format``), and a study without the marker (a creation that was stopped
    part-way: metadata and queue incomplete, no trial run) is completed by the next
    command with the same settings, whose values go only where none were written.

    Raises:
        ExplorerError: The existing study was made with other settings, or is not an
            explorer study.
    """
    import optuna

    with study_lock(settings.storage_url, settings.study_name):
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=settings.study_name,
                directions=meta[StudyAttr.DIRECTIONS],
            )
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(study_name=settings.study_name, storage=storage)
        _check_joined(study, settings, meta)
        _top_up(study, target, grid)
        if StudyAttr.EXPLORER_FORMAT not in study.user_attrs:
            study.set_user_attr(StudyAttr.EXPLORER_FORMAT, STUDY_FORMAT)
    return study


def _check_joined(study: Study, settings: StudySettings, meta: dict[str, Any]) -> None:
    """Check an existing study's settings against ours; complete an unfinished creation."""
    attrs = study.user_attrs
    ours = list(meta[StudyAttr.OBJECTIVES])
    theirs = list(objectives_of(attrs)) if StudyAttr.OBJECTIVES in attrs else ours
    if [d.name.lower() for d in study.directions] != meta[StudyAttr.DIRECTIONS] or (theirs != ours):
        raise ExplorerError(
            f"study {settings.study_name!r} optimises {', '.join(theirs)}; the search space "
            f"asks for {', '.join(ours)}: resume it with its own space's objectives, or give "
            "another --study name"
        )
    ready = StudyAttr.EXPLORER_FORMAT in attrs
    if not ready and any(t.state.name != "WAITING" for t in study.get_trials(deepcopy=False)):
        raise ExplorerError(
            f"study {settings.study_name!r} exists but is not an explorer study (it has run "
            "trials without the explorer's metadata); give another --study name"
        )
    for key, what in _MUST_MATCH.items():
        if (key in attrs or ready) and attrs.get(key) != meta[key]:
            raise ExplorerError(
                f"study {settings.study_name!r} in {redact(settings.storage_url)} was created "
                f"with a different {what}; use the original settings to resume it, or give "
                "another --study name"
            )
    if not ready:  # a creation stopped part-way: write what it had not written yet
        for key, value in meta.items():
            if key not in attrs:
                study.set_user_attr(key, value)


def _top_up(study: Study, target: int, space: Space | None = None) -> int:
    """Queue waiting trials so that counted + running + waiting reaches ``target``.

    With ``space`` (a grid study) each queued trial is one of the space's designs not yet
    in the study, its parameters fixed; otherwise the sampler chooses when it runs.
    """
    from optuna.trial import TrialState, create_trial

    counts = trial_counts(study)
    missing = max(0, target - counts.done - counts.pending)
    if space is None:
        for _ in range(missing):
            study.add_trial(create_trial(state=TrialState.WAITING))
        return missing
    queued = {_params_key(t) for t in study.get_trials(deepcopy=False)}
    added = 0
    for design in space.designs():
        if added >= missing:
            break
        if json.dumps(design, sort_keys=True) not in queued:
            study.enqueue_trial(design)
            added += 1
    return added


def _trace_path(settings: StudySettings) -> Path:
    s = settings
    name = f"{safe_name(s.model)}-seed{s.seed}-p{s.prompt_tokens}-g{s.gen_tokens}"
    return Path(settings.cache_dir) / "traces" / name


def ensure_trace(settings: StudySettings, log: Callable[[str], None] | None = None) -> Trace:
    """Return the study's trace, making and caching it on first use."""
    from workloads.errors import TraceError
    from workloads.trace import generate_trace, read_trace

    path = _trace_path(settings)
    if (path / "manifest.json").is_file():
        try:
            return read_trace(path)
        except TraceError:
            pass  # an old or damaged cache entry: make it again
    if log:
        log(
            f"making the {settings.model} trace ({settings.prompt_tokens} prompt + "
            f"{settings.gen_tokens} generated tokens) once, cached in {path}"
        )
    return generate_trace(
        settings.model,
        prompt_tokens=settings.prompt_tokens,
        gen_tokens=settings.gen_tokens,
        seed=settings.seed,
        out=path,
    )


def _evaluator(
    settings: StudySettings, arch: Arch | System, space: Space, trace: Trace
) -> Evaluator:
    bound = space.spec.constraints.accuracy
    judge = (
        NumericsJudge(bound, settings.model, settings.seed, Path(settings.cache_dir))
        if bound is not None
        else None
    )
    return Evaluator(
        arch,
        space,
        trace,
        seed=settings.seed,
        options=SimOptions(max_transactions=settings.max_transactions),
        judge=judge,
    )


# --------------------------------------------------------------------------- the workers


def _run_one(
    study: Study, storage: BaseStorage, evaluator: Evaluator, trial_id: int, interval: int
) -> None:
    """Run and tell one claimed trial; an interrupted one goes back to the queue."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    evaluator.last = None
    with Heartbeat(storage, trial_id, interval):
        try:
            trial = optuna.trial.Trial(study, trial_id)
            values: tuple[float, ...] | None = evaluator(trial)
            state = TrialState.COMPLETE
        except optuna.TrialPruned:
            values, state = None, TrialState.PRUNED
        except TrialFailedError:
            values, state = None, TrialState.FAIL
        except UpdateFinishedTrialError:
            return  # declared stale and re-queued by another worker meanwhile
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): the trial goes back to the queue as it is.
            with contextlib.suppress(Exception):  # else it goes stale and is retried
                storage.set_trial_state_values(trial_id, state=TrialState.WAITING)
            raise
    ev = evaluator.last
    try:
        if ev is not None and ev.constraints and state != TrialState.FAIL:
            storage.set_trial_system_attr(trial_id, SystemAttr.CONSTRAINTS, list(ev.constraints))
        study.tell(trial, values, state=state)
    except UpdateFinishedTrialError:
        return


def _work(
    study: Study,
    storage: BaseStorage,
    evaluator: Evaluator,
    interval: int,
    planner: Planner,
    on_trial: Callable[[], None] | None = None,
    poll_s: float = 1.0,
    spread: int = 0,
) -> None:
    """A worker's loop: claim, run, tell (planning batches as they fall due), until done."""
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    study_id = storage.get_study_id_from_name(study.study_name)
    claimer = Claimer(storage, study_id, spread)
    while True:
        fail_stale_trials(study)
        trial_id = claimer.claim()
        if trial_id is None:
            if planner.plan(storage, study_id, study.study_name):
                continue
            pending = storage.get_all_trials(
                study_id, deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)
            )
            if not pending:
                return
            # a running trial may go stale and come back, or finish its batch and let the
            # next one be planned (looked for more often: the workers are idle meanwhile)
            batch_due = any(t.state == TrialState.WAITING for t in pending)
            time.sleep(min(poll_s, 0.2) if batch_due else poll_s)
            continue
        _run_one(study, storage, evaluator, trial_id, interval)
        if on_trial is not None:
            on_trial()


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)


def _worker_seed(seed: int, index: int, launch: int) -> int:
    if index == 0 and launch == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, index, launch]).generate_state(1)[0])


def _open_worker(
    settings: StudySettings,
    index: int,
    launch: int,
    loaded: tuple[Arch | System, Space, Trace] | None = None,
) -> tuple[Study, BaseStorage, Evaluator, Planner]:
    """Open the storage and study with this worker's sampler, build its objective and planner.

    ``loaded`` passes the design, space and trace when this process has them already.
    Designs come from the :class:`~explorer._queue.Planner` (a design a planner was stopped
    in the middle of is planned again, the parameters already written kept); the worker's
    own sampler draws nothing in a normal run.
    """
    import optuna

    _quiet()
    if loaded is None:
        arch = load_base(settings.arch_path)
        loaded = (arch, load_space(settings.space_path, arch), ensure_trace(settings))
    arch, space, trace = loaded
    storage = open_storage(
        settings.storage_url,
        heartbeat_interval=settings.heartbeat_interval,
        grace_period=settings.grace_period,
    )
    probe = optuna.load_study(study_name=settings.study_name, storage=storage)
    population = int(probe.user_attrs.get(StudyAttr.POPULATION_SIZE) or 50)
    sampler = make_sampler(
        settings.sampler,
        seed=_worker_seed(settings.seed, index, launch),
        space=space,
        population_size=population,
    )
    study = optuna.load_study(study_name=settings.study_name, storage=storage, sampler=sampler)
    planner = Planner(space, settings.sampler, settings.seed, population, settings.storage_url)
    return study, storage, _evaluator(settings, arch, space, trace), planner


def _worker_main(settings: StudySettings, index: int, launch: int) -> None:
    """Entry point of a worker process."""

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    study, storage, evaluator, planner = _open_worker(settings, index, launch)
    try:
        _work(study, storage, evaluator, settings.heartbeat_interval, planner, spread=index)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


# --------------------------------------------------------------------------- the driver


def load_study(storage: str | Path | None, study_name: str) -> Study:
    """Load an explorer study for reading (fronts, exports, dashboards).

    Args:
        storage: A storage URL or SQLite file path (default: :data:`DEFAULT_STORAGE`).
        study_name: The study's name.

    Returns:
        The ``optuna.Study``.

    Raises:
        ExplorerError: The storage cannot be opened, or holds no such explorer study
            (naming the studies it has).
    """
    import optuna

    _quiet()
    url = storage_url(storage)
    store = open_storage(url, read_only=True)
    names = [s.study_name for s in optuna.get_all_study_summaries(store, include_best_trial=False)]
    if study_name not in names:
        have = ", ".join(sorted(names)) or "none"
        raise ExplorerError(f"no study {study_name!r} in {redact(url)}; studies there: {have}")
    study = optuna.load_study(study_name=study_name, storage=store)
    if StudyAttr.EXPLORER_FORMAT not in study.user_attrs:
        raise ExplorerError(
            f"study {study_name!r} in {redact(url)} is not an explorer study (or its creation "
            "was stopped: the same `cosim explore` command completes it)"
        )
    return study


def default_study_name(arch: Arch | System, space: Space, model: str) -> str:
    """Return ``<design>-<space>-<model>`` (the default ``--study``)."""
    return f"{arch.spec.name}.{space.spec.name}.{safe_name(model)}"


def run_study(
    arch_path: str | Path,
    space_path: str | Path,
    model: str,
    n_trials: int,
    *,
    storage: str | Path | None = None,
    study_name: str | None = None,
    workers: int = 1,
    seed: int = 0,
    sampler: str = "nsga2",
    prompt_tokens: int = 1,
    gen_tokens: int = 2,
    max_transactions: int = SimOptions().max_transactions,
    population_size: int | None = None,
    cache_dir: str | Path | None = None,
    heartbeat_interval: int = 5,
    grace_period: int = 30,
    progress: bool = True,
    console: Console | None = None,
) -> StudyOutcome:
    """Create (or join) a study and run it until it has ``n_trials`` counted trials.

    Args:
        arch_path: The base design (an FPGA description, or a system of FPGA cards).
        space_path: The search space.
        model: Model name (``1.3b``, ``tiny``...) or config path.
        n_trials: The study's total trial count (finished trials already in the study
            count toward it; the grid sampler stops at the grid's size).
        storage: Storage URL or SQLite file (default ``studies.db``).
        study_name: Default ``<design>.<space>.<model>``.
        workers: Worker processes on this machine (1: in this process).
        seed: Seed of the trace's synthetic weights and of the samplers.
        sampler: ``nsga2`` (default), ``tpe``, ``random`` or ``grid``.
        prompt_tokens: Prompt tokens of the trace.
        gen_tokens: Decode tokens of the trace (tokens/s is measured on them).
        max_transactions: The simulator's fidelity knob.
        population_size: NSGA-II population (default: n_trials / 8, within 8..50).
        cache_dir: Trace and numerics cache (default: ``<db>.cache`` beside a SQLite
            file, else ``.cosim-cache``).
        heartbeat_interval: Seconds between a running trial's heartbeats.
        grace_period: Seconds without a heartbeat after which a trial is re-queued.
        progress: Show a progress bar (on standard error).
        console: A ``rich`` console for progress and messages (default: standard error).

    Returns:
        The outcome, with the study.

    Raises:
        SpecError: The design or space file is invalid.
        ExplorerError: Bad arguments, an unusable storage, or a study of that name made
            with other settings.
    """
    import optuna
    from rich.console import Console

    t0 = time.perf_counter()
    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    if n_trials < 1:
        raise ExplorerError(f"--trials must be >= 1 (got {n_trials})")
    if workers < 1:
        raise ExplorerError(f"--workers must be >= 1 (got {workers})")
    if prompt_tokens < 0 or gen_tokens < 1:
        raise ExplorerError("--prompt-tokens must be >= 0 and --tokens >= 1")
    if heartbeat_interval < 1 or grace_period <= heartbeat_interval:
        raise ExplorerError("the grace period must be longer than the heartbeat interval")
    if sampler not in SAMPLERS:
        raise ExplorerError(f"sampler {sampler!r} is not in supported list: {', '.join(SAMPLERS)}")
    _quiet()
    arch = load_base(arch_path)
    if isinstance(arch, Arch) and arch.is_gpu:
        raise ExplorerError(
            f"{arch.filename}: {arch.device.id} is a GPU; the explorer searches FPGA designs"
        )
    space = load_space(space_path, arch)
    grid_size: int | float = math.inf
    if sampler in ("grid", "two-tier"):
        try:
            space.grid()  # a continuous range has no grid: say so before creating anything
            grid_size = space.size()
        except ValueError as exc:
            raise ExplorerError(str(exc)) from None
    url = storage_url(storage)
    name = study_name or default_study_name(arch, space, model)
    if cache_dir is None:
        cache_dir = default_cache_dir(url)
    settings = StudySettings(
        arch_path=str(arch_path),
        space_path=str(space_path),
        model=str(model),
        storage_url=url,
        study_name=name,
        seed=seed,
        sampler=sampler,
        prompt_tokens=prompt_tokens,
        gen_tokens=gen_tokens,
        max_transactions=max_transactions,
        population_size=population_size,
        cache_dir=str(Path(cache_dir).resolve()),
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
    )
    two_tier = sampler == "two-tier"
    if two_tier:
        from cosim.analytical import UnsupportedChangeError, check_changes
        from cosim.analytical_system import check_system_changes

        try:  # before anything is created
            if isinstance(arch, System):
                check_system_changes(arch, list(space.paths.values()))
            else:
                check_changes(arch, list(space.paths.values()))
        except UnsupportedChangeError as exc:
            raise ExplorerError(
                f"{space.filename}: {exc}; search this space with another --sampler"
            ) from None
    store = open_storage(url, heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    trace = ensure_trace(settings, log=console.print if progress else None)
    population = population_size or default_population(n_trials)
    meta = _metadata(settings, arch, space, population)
    target = min(n_trials, int(grid_size)) if math.isfinite(grid_size) else n_trials
    study = _create_or_join(
        store, settings, meta, 0 if two_tier else target, space if sampler == "grid" else None
    )
    before = trial_counts(study)
    launch = before.done + before.running + before.retried  # 0 for a fresh study
    setup_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    run = _Runner(settings, workers, launch, (arch, space, trace), console, progress)
    if two_tier:
        target = _run_two_tier(run, study, n_trials)
    else:
        run(study, target)
    problems = run.problems
    final = optuna.load_study(study_name=name, storage=store)
    counts = trial_counts(final)
    return StudyOutcome(
        study=final,
        study_name=name,
        storage=redact(url),
        target=target,
        counts=counts,
        ran=counts.done - before.done,
        elapsed_s=time.perf_counter() - t1,
        setup_s=setup_s,
        problems=problems,
    )


class _Runner:
    """Runs the workers on a study's waiting trials until none is left (with progress)."""

    def __init__(
        self,
        settings: StudySettings,
        workers: int,
        launch: int,
        loaded: tuple[Arch | System, Space, Trace],
        console: Console,
        progress: bool,
    ) -> None:
        self.settings, self.workers, self.launch, self.loaded = settings, workers, launch, loaded
        self.console, self.progress = console, progress
        self.problems: list[str] = []

    def __call__(self, study: Study, target: int, what: str = "") -> None:
        """Run the study's waiting trials, the bar counting up to ``target`` trials."""
        with _Progress(self.console, self.progress, study, target, what) as show:
            show(study)
            if self.workers == 1:
                study_w, store_w, evaluator, planner = _open_worker(
                    self.settings, 0, self.launch, self.loaded
                )
                _work(
                    study_w,
                    store_w,
                    evaluator,
                    self.settings.heartbeat_interval,
                    planner,
                    on_trial=(lambda: show(study)) if self.progress else None,
                )
            else:
                self.problems += _run_processes(
                    self.settings, self.workers, self.launch, study, show
                )


def _run_two_tier(run: _Runner, study: Study, budget: int) -> int:
    """Sweep the space with the analytical tier, then simulate what may be on the front.

    See :mod:`explorer.two_tier`. Returns the study's trial target (what was queued).
    """
    from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
    from explorer import two_tier

    settings, console = run.settings, run.console
    arch, space, trace = run.loaded
    card = arch.cards[0] if isinstance(arch, System) else arch
    workload = workload_from_trace(trace, design_elementwise_bytes(card))
    with _Bar(console, run.progress, "analytical tier: sweeping the space") as bar:
        s = two_tier.sweep(
            arch,
            space,
            workload,
            options=SimOptions(max_transactions=settings.max_transactions),
            progress=bar,
        )
    record: dict[str, Any] = {
        "designs": len(s),
        "feasible": int(s.feasible.sum()),
        "seconds": round(s.seconds, 3),
        "designs_per_s": round(s.per_second, 1),
        "budget": budget,
        "rounds": [],
    }

    def queue(indices: list[int], plan: str) -> int:
        with study_lock(settings.storage_url, settings.study_name):
            trials = study.get_trials(deepcopy=False)
            have = {_params_key(t) for t in trials}
            room = budget - len(trials)
            added = 0
            for i in indices:
                if added >= room:
                    break
                params = s.params(i)
                if json.dumps(params, sort_keys=True) in have:
                    continue
                study.enqueue_trial(
                    params,
                    user_attrs={
                        TrialAttr.ANALYTICAL: s.estimates.summary(i),
                        TrialAttr.TIER_PLAN: plan,
                    },
                )
                added += 1
        return added

    def run_queued(what: str) -> None:
        run(study, len(study.get_trials(deepcopy=False)), what)

    queue(two_tier.calibration(s, settings.seed), "calibration")
    run_queued("SimPy tier: calibration")
    errors = _two_tier_errors(study)
    for _ in range(3):  # candidates; again while the measured errors grow
        cands = two_tier.candidates(s, _worst(errors))
        added = queue(cands, "candidate")
        record["rounds"].append({"errors": errors, "candidates": len(cands), "queued": added})
        if not added:
            break
        run_queued("SimPy tier: candidates")
        grown = _two_tier_errors(study)
        before = _worst(errors)
        worse = any(
            v > before.get(fam, {}).get(n, -1.0)
            for fam, figs in _worst(grown).items()
            for n, v in figs.items()
        )
        errors = grown
        if not worse:
            break
    record["errors"] = errors
    study.set_user_attr(StudyAttr.TWO_TIER, json_safe(record))
    if run.progress:
        console.print(_two_tier_line(record))
    return len(study.get_trials(deepcopy=False))


def _two_tier_errors(study: Study) -> dict[str, dict[str, dict[str, float]]]:
    """The analytical tier's errors against every simulated trial, per family and all."""
    from explorer.two_tier import measured_errors

    pairs = []
    for t in study.get_trials(deepcopy=False):
        est = t.user_attrs.get(TrialAttr.ANALYTICAL)
        got = t.user_attrs.get(TrialAttr.SUMMARY)
        if isinstance(est, dict) and isinstance(got, dict) and got:
            pairs.append((est, got))
    return measured_errors(pairs, list(METRICS))


def _worst(errors: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Family → figure → worst error (measured ones only)."""
    return {
        fam: {n: e["worst"] for n, e in figs.items() if math.isfinite(e["worst"])}
        for fam, figs in errors.items()
    }


def _two_tier_line(record: dict[str, Any]) -> str:
    """One line on the sweep and the rounds, for the terminal."""
    last = record["rounds"][-1] if record["rounds"] else {}
    errs = ", ".join(
        f"{k} {v['worst']:.1%}"
        for k, v in record.get("errors", {}).get("all", {}).items()
        if isinstance(v.get("worst"), float) and math.isfinite(v["worst"])
    )
    candidates = int(last.get("candidates", 0))
    return (
        f"analytical tier: {record['designs']:,} designs in {record['seconds']:.1f} s "
        f"({record['designs_per_s']:,.0f}/s); worst error against SimPy (all families): "
        f"{errs or 'none yet'}; {candidates:,} design{'' if candidates == 1 else 's'} within "
        f"their family's error of the front, the nearest simulated (budget "
        f"{record['budget']:,} trials)"
    )


def _params_key(trial: FrozenTrial) -> str:
    """A trial's design as a key: its parameters, or those it was queued with."""
    params = trial.params or trial.system_attrs.get(SystemAttr.FIXED_PARAMS) or {}
    return json.dumps(params, sort_keys=True)


class _Bar:
    """A rich progress bar over ``progress(done, total)`` calls (or nothing)."""

    def __init__(self, console: Console, enabled: bool, what: str) -> None:
        self.console, self.enabled, self.what = console, enabled, what
        self.bar: Progress | None = None

    def __enter__(self) -> Callable[[int, int], None]:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=None)
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _run_processes(
    settings: StudySettings,
    workers: int,
    launch: int,
    study: Study,
    show: Callable[[Study], None],
) -> list[str]:
    """Run ``workers`` worker processes, showing progress until all have left."""
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker_main, args=(settings, i, launch), name=f"explore-worker-{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    try:
        while alive := [p for p in procs if p.is_alive()]:
            multiprocessing.connection.wait([p.sentinel for p in alive], timeout=1.0)
            show(study)
    except BaseException:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: each worker re-queues its trial and leaves
        for p in procs:
            p.join(timeout=60)
        raise
    return [
        f"worker {i} (pid {p.pid}) exited with code {p.exitcode}"
        for i, p in enumerate(procs)
        if p.exitcode
    ]


class _Progress:
    """A rich progress bar over the study's counted trials (or nothing)."""

    def __init__(
        self, console: Console, enabled: bool, study: Study, target: int, what: str = ""
    ) -> None:
        self.console, self.enabled, self.study, self.target = console, enabled, study, target
        self.what = what or f"exploring {study.study_name}"
        self.bar: Progress | None = None
        self.last = 0.0

    def __enter__(self) -> Callable[[Study], None]:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[tally]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.target, tally="")
        return self.show

    def show(self, study: Study) -> None:
        if self.bar is None:
            return
        now = time.monotonic()
        if now - self.last < 0.5:
            return  # at most two updates a second (each one reads the study)
        self.last = now
        counts = trial_counts(study)
        tally = (
            f"feasible {counts.feasible} · infeasible {counts.infeasible} · "
            f"failed {counts.failed} · running {counts.running}"
        )
        self.bar.update(self.task, completed=min(counts.done, self.target), tally=tally)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.last = 0.0
            self.show(self.study)
            self.bar.stop()
