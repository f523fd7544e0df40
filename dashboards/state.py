"""The server side of the dashboard: what it was given and what it has read.

One :class:`Dashboard` per app holds the study catalog (the storage from ``--storage``),
the GPU baselines (``--baseline``, read again when a file changes, so a baseline measured
while the dashboard runs appears on the next refresh), the ``--results`` folders, the
re-simulator for timelines and a small cache of parameter importances. Callbacks ask it
for data by study name and design key only; nothing a request carries names a file.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards.data import Catalog, Notice, StudyReadError, StudySnapshot
from dashboards.designs import (
    DesignRecord,
    SavedDesign,
    load_results_folders,
    parse_key,
    record_of_trial,
    split_study,
)
from dashboards.gpu import GpuPoint, load_baselines
from explorer.records import StudyAttr

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

__all__ = ["Dashboard", "DashboardConfig", "Importances", "importances"]

log = logging.getLogger(__name__)

#: Trials given to Optuna's PED-ANOVA at most (a random, fixed subset of bigger studies).
IMPORTANCE_MAX_TRIALS = 2000


def _default_baselines() -> list[Path]:
    """Every shipped baseline (one a card): Compare starts from the fastest case of all."""
    from gpubench import shipped_baseline_paths

    return shipped_baseline_paths()


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard shows.

    Attributes:
        storage: Storage URL or SQLite file (``None``: the bundled example study).
        study: Study to show first (``None``: the example's, or the storage's first).
        baselines: GPU baseline files (``None``: the shipped H200 baseline).
        results: ``cosim simulate --out`` folders shown as extra designs.
        refresh_s: Seconds between checks for new trials (0: never).
        model_configs: Model configurations (``config.json`` files, checkpoint folders)
            that timelines may replay a study's trials on, when its model is not a
            built-in one (a study's stored model is never opened as a path).
        allowed_hosts: Host names the page may be asked under besides ``127.0.0.1``,
            ``localhost``, ``[::1]`` and the address served on (``--allow-host``).
    """

    storage: str | None = None
    study: str | None = None
    baselines: Sequence[str | Path] | None = None
    results: Sequence[str | Path] = field(default_factory=tuple)
    refresh_s: float = 5.0
    model_configs: Sequence[str | Path] = field(default_factory=tuple)
    allowed_hosts: Sequence[str] = field(default_factory=tuple)


class Dashboard:
    """The dashboard's server-side state (thread-safe; shared by every request)."""

    def __init__(self, config: DashboardConfig) -> None:
        from dashboards.timeline import Resimulator

        self.config = config
        self.catalog = Catalog(config.storage, config.study)
        self.baseline_paths = [
            Path(p)
            for p in (config.baselines if config.baselines is not None else _default_baselines())
        ]
        self._lock = threading.Lock()
        self._baseline_stamp: tuple[Any, ...] | None = None
        self.gpu: list[GpuPoint] = []
        self.gpu_notices: list[Notice] = []
        self.gpu_version = 0
        self.reload_baselines()
        self.saved: list[SavedDesign]
        self.saved, self.saved_notices = load_results_folders(list(config.results))
        self.resim = Resimulator(self.catalog.storage, model_files=config.model_configs)
        self._importance: dict[tuple[str, int], Importances] = {}
        self._first_page: tuple[Any, dict[str, Any]] | None = None

    # -- baselines --------------------------------------------------------------------

    def _stamp(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for p in self.baseline_paths:
            try:
                st = p.stat()
                out.append((str(p), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(p), None, None))
        return tuple(out)

    def reload_baselines(self) -> bool:
        """Read the baseline files again if any changed; return whether they did."""
        stamp = self._stamp()
        with self._lock:
            if stamp == self._baseline_stamp:
                return False
            self.gpu, self.gpu_notices = load_baselines(self.baseline_paths)
            self._baseline_stamp = stamp
            self.gpu_version += 1
            return True

    # -- studies ----------------------------------------------------------------------

    def snapshot(self, study: str | None) -> StudySnapshot | Notice:
        """Return the study's snapshot, or the notice saying why it cannot be shown."""
        if not study:
            return self.catalog.no_study()
        try:
            return self.catalog.source(study).snapshot()
        except StudyReadError as exc:
            return exc.notice

    def refresh(self, study: str | None) -> bool:
        """Read new trials of ``study`` and changed baselines; return whether anything changed."""
        changed = self.reload_baselines()
        if study:
            changed = self.catalog.source(study).refresh() or changed
        return changed

    def notices(self, study: str | None) -> list[Notice]:
        """Return every notice the page should show now."""
        snap = self.snapshot(study)
        out = [snap] if isinstance(snap, Notice) else []
        if isinstance(snap, StudySnapshot) and snap.table.empty:
            out.append(
                Notice(
                    "info",
                    f"Study {snap.name!r} has no finished trial yet",
                    f"{snap.running} running, {snap.waiting} waiting",
                    "The page updates itself as trials finish.",
                )
            )
        return out + list(self.gpu_notices) + list(self.saved_notices)

    def gpu_for(self, model: str | None) -> list[GpuPoint]:
        """Return the GPU points measured on ``model`` (every point when ``None``)."""
        with self._lock:
            points = list(self.gpu)
        return points if model is None else [p for p in points if p.model == model]

    # -- designs ----------------------------------------------------------------------

    def record(self, study: str | None, key: Any) -> DesignRecord | None:
        """Return the design under ``key`` (``None`` when there is none).

        ``key`` is ``trial:<n>`` of ``study``, ``trial:<n>:<other>`` of another study of
        the storage (a name the storage does not list gives ``None``), or ``results:<i>``.
        """
        key, named = split_study(key)
        if named is not None:
            if named not in self.catalog.names():
                return None
            study = named
        parsed = parse_key(key)
        if parsed is None:
            return None
        kind, index = parsed
        if kind == "results":
            return self.saved[index].record if index < len(self.saved) else None
        if not study:
            return None
        trial = self.catalog.source(study).trial(index)
        return record_of_trial(trial, study) if trial is not None else None

    def trial(self, study: str | None, key: Any) -> tuple[Study | None, FrozenTrial | None]:
        """Return ``(optuna study, frozen trial)`` for a trial key (``(None, None)`` otherwise)."""
        key, named = split_study(key)
        if named is not None:
            if named not in self.catalog.names():
                return None, None
            study = named
        parsed = parse_key(key)
        if parsed is None or parsed[0] != "trial" or not study:
            return None, None
        source = self.catalog.source(study)
        return source.study(), source.trial(parsed[1])

    def saved_design(self, key: Any) -> SavedDesign | None:
        """Return the results folder under ``key`` (``results:<i>``)."""
        parsed = parse_key(key)
        if parsed is None or parsed[0] != "results" or parsed[1] >= len(self.saved):
            return None
        return self.saved[parsed[1]]

    # -- the first page -----------------------------------------------------------------

    def first_page(self, key: Any, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Return what a page load starts with for ``key`` (the data version), made once.

        Every page load of an unchanged study shows the same Pareto figure: building it
        (a study of 10,000 trials, its GPU labels placed) is done on the first load only.
        """
        with self._lock:
            held = self._first_page
        if held is not None and held[0] == key:
            return held[1]
        state = make()
        with self._lock:
            self._first_page = (key, state)
        return state

    # -- importance -------------------------------------------------------------------

    def importance(self, study: str) -> Importances:
        """Return PED-ANOVA importances per objective (cached per study version).

        PED-ANOVA is Optuna's own evaluator that needs no scikit-learn (fANOVA does) and
        stays fast on large studies. Each objective is evaluated in a study of its own
        direction, so the importances say what makes a design good on it (fast, frugal),
        not what makes it bad.

        Studies with more than :data:`IMPORTANCE_MAX_TRIALS` complete trials are
        evaluated on a fixed random subset of that many (the note says so).
        """
        source = self.catalog.source(study)
        snap = source.snapshot()
        key = (study, snap.version)
        with self._lock:
            cached = self._importance.get(key)
        if cached is None:
            optuna_study = source.study()
            n_complete = int((snap.table["state"] == "COMPLETE").sum()) if len(snap.table) else 0
            trials = source.complete_trials(IMPORTANCE_MAX_TRIALS)
            note = f"{n_complete} complete trials"
            if n_complete > len(trials):
                note = f"a fixed random {len(trials)} of {note}"
            values, remarks = importances(optuna_study, trials)
            cached = Importances(values=values, note=note, warnings=remarks)
            with self._lock:
                self._importance = {key: cached}  # one study version at a time
        return cached


@dataclass(frozen=True)
class Importances:
    """Parameter importances of a study, as the page shows them.

    Attributes:
        values: Objective name → parameter → importance (each objective's sum is 1).
        note: Which trials they were computed on.
        warnings: What Optuna warned while computing them (few trials, thin regimes),
            shown beside the figure, never hidden.
    """

    values: dict[str, dict[str, float]]
    note: str
    warnings: tuple[str, ...] = ()


def importances(
    study: Study | None, complete: list[FrozenTrial]
) -> tuple[dict[str, dict[str, float]], tuple[str, ...]]:
    """Return PED-ANOVA importances per objective, and the warnings Optuna gave.

    PED-ANOVA looks at the trials in the best quantile of an objective. Given a
    ``target`` it takes *lower* as better, whatever the study's direction, so each
    objective gets a single-objective study of its own direction (tokens/s maximised,
    watts minimised) and no ``target``: Optuna itself then reads the direction.

    Args:
        study: The explorer study (its directions and objective names).
        complete: Its complete trials (parameters and values).

    Returns:
        ``{objective: {parameter: importance}}`` (objectives Optuna refuses to evaluate,
        such as one with a single distinct value, are left out), and each distinct
        warning Optuna raised, prefixed by the objective.
    """
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    if study is None or len(complete) < 2 or not any(t.params for t in complete):
        return {}, ()
    names = list(study.user_attrs.get(StudyAttr.OBJECTIVES) or ["objective 0", "objective 1"])
    out: dict[str, dict[str, float]] = {}
    remarks: list[str] = []
    for i, (name, direction) in enumerate(zip(names, study.directions, strict=False)):
        single = optuna.create_study(direction=direction)
        single.add_trials(
            [
                create_trial(params=t.params, distributions=t.distributions, value=t.values[i])
                for t in complete
                if t.values is not None and len(t.values) > i
            ]
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                imp = get_param_importances(single, evaluator=PedAnovaImportanceEvaluator())
            except (RuntimeError, ValueError) as exc:  # e.g. a single distinct value
                log.info("no importance for %s: %s", name, exc)
                imp = None
        for w in caught:
            text = f"{name}: {' '.join(str(w.message).split())}"
            if text not in remarks:
                log.warning("parameter importance: %s", text)
                remarks.append(text)
        if imp is not None:
            out[name] = {k: float(v) for k, v in imp.items()}
    return out, tuple(remarks)
