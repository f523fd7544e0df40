"""Reading a study: its trials as one compact table, refreshed as workers add trials.

The dashboard never holds Optuna objects in the page: :class:`StudySource` reads a study
once (every trial, through Optuna's own storage API) and keeps a :class:`StudySnapshot`,
a pandas table with one row per counted trial (status, the headline figures of its
summary, its searched parameters). :meth:`StudySource.refresh` asks the storage again;
Optuna's cached storage reads only trials that were not finished before, so a refresh of
a 10,000-trial study costs milliseconds and the table is rebuilt only when a trial
changed. The full trial (summary, design) is fetched by number when the page shows it.

Nothing here raises for a storage or study that cannot be read: :class:`StudyReadError`
carries a :class:`Notice` (what is wrong, and how to fix it) that the page shows, and the
next refresh tries again, so a study file that appears later is picked up.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

__all__ = [
    "DEFAULT_STORAGE",
    "DEFAULT_STUDY",
    "EXAMPLE_COMMAND",
    "FIGURE_COLUMNS",
    "PARAM_PREFIX",
    "STATUSES",
    "Catalog",
    "Notice",
    "StudyReadError",
    "StudySnapshot",
    "StudySource",
    "display_url",
    "make_row",
    "param_columns",
    "trial_row",
]

log = logging.getLogger(__name__)

#: The bundled example study (``scripts/demo.sh`` makes it before starting the dashboard).
DEFAULT_STORAGE = "sqlite:///out/example_study.db"
DEFAULT_STUDY = "example"
#: The command that makes the example study.
EXAMPLE_COMMAND = (
    "cosim explore examples/u280_hbm.yaml --space examples/u280_hbm_space.yaml "
    "--model 370m --trials 40 --storage sqlite:///out/example_study.db --study example"
)

#: Trial statuses, in the order they are drawn and counted.
STATUSES = ("feasible", "infeasible", "failed")
#: Summary figures copied into the table (numbers; ``NaN`` where the summary lacks one).
FIGURE_COLUMNS = (
    "tokens_per_s",
    "avg_power_w",
    "energy_per_token_j",
    "ms_per_token",
    "bound_tokens_per_s",
    "memory_bound_tokens_per_s",
    "fraction_of_memory_bound",
)
#: Table columns of searched parameters are named ``PARAM_PREFIX + <space key>``.
PARAM_PREFIX = "param:"

_BASE_COLUMNS = (
    "trial",
    "state",
    "status",
    "reason",
    *FIGURE_COLUMNS,
    "bottleneck",
    "fits",
    "max_resource_utilisation",
)


@dataclass(frozen=True)
class Notice:
    """A message for the page: what is wrong (or worth knowing), and what to do.

    Attributes:
        level: ``error`` (nothing to show), ``warning`` (shown in part) or ``info``.
        title: One line.
        detail: More (the underlying error, in one line).
        hint: What the user can do about it.
    """

    level: Literal["error", "warning", "info"]
    title: str
    detail: str = ""
    hint: str = ""


class StudyReadError(Exception):
    """A study that cannot be shown; carries the :class:`Notice` to show instead."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.title)
        self.notice = notice


@dataclass(frozen=True)
class StudySnapshot:
    """A study as last read.

    Attributes:
        name: The study's name.
        storage: Its storage URL (password hidden).
        attrs: The study's user attributes (explorer contract: ``model``, ``space``...).
        table: One row per counted trial (see :func:`trial_row`), by trial number.
        params: The searched parameters' names (space keys), in space order.
        running: Trials being run now.
        waiting: Trials queued, not yet claimed.
        version: Increases whenever the table changes.
        load_s: Seconds the last full read or refresh took.
    """

    name: str
    storage: str
    attrs: dict[str, Any]
    table: pd.DataFrame
    params: tuple[str, ...]
    running: int = 0
    waiting: int = 0
    version: int = 0
    load_s: float = 0.0

    @property
    def model(self) -> str:
        """Return the model the study simulates."""
        return str(self.attrs.get("model", "?"))

    def counts(self) -> dict[str, int]:
        """Return counted trials by status (``feasible``, ``infeasible``, ``failed``)."""
        got = self.table["status"].value_counts() if not self.table.empty else {}
        return {s: int(got.get(s, 0)) for s in STATUSES}

    def summary_line(self) -> str:
        """Return one line: model, trial counts, running and waiting trials."""
        c = self.counts()
        line = (
            f"{self.name} · model {self.model} · {len(self.table)} trials "
            f"({c['feasible']} feasible, {c['infeasible']} infeasible, {c['failed']} failed)"
        )
        if self.running or self.waiting:
            line += f" · {self.running} running, {self.waiting} waiting"
        return line


def param_columns(table: pd.DataFrame) -> list[str]:
    """Return the table's parameter columns (prefixed with :data:`PARAM_PREFIX`)."""
    return [c for c in table.columns if str(c).startswith(PARAM_PREFIX)]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def make_row(
    number: int,
    state: str,
    attrs: Mapping[str, Any],
    params: Mapping[str, Any] | None,
    path_to_key: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return a trial's table row from its state and user attributes.

    Columns: ``trial, state, status, reason``, the :data:`FIGURE_COLUMNS` of its summary,
    ``bottleneck, fits, max_resource_utilisation`` and one ``param:<key>`` per searched
    parameter: ``params_by_path`` named by the space's keys through ``path_to_key``
    (Optuna's own ``params`` where a trial has no ``params_by_path``).
    """
    summary = attrs.get("summary") or {}
    status = attrs.get("status")
    if status not in STATUSES:
        status = "failed"
    resources = summary.get("resources") or {}
    utils = [_number(r.get("utilisation")) for r in resources.values() if isinstance(r, dict)]
    fits = summary.get("fits")
    row: dict[str, Any] = {
        "trial": int(number),
        "state": state,
        "status": status,
        "reason": str(attrs.get("reason") or ""),
        **{k: _number(summary.get(k)) for k in FIGURE_COLUMNS},
        "bottleneck": str(summary.get("bottleneck") or ""),
        "fits": fits if isinstance(fits, bool) else None,
        "max_resource_utilisation": max(utils) if utils else math.nan,
    }
    by_path = attrs.get("params_by_path")
    if by_path:
        keys = path_to_key or {}
        named = {keys.get(p, p): v for p, v in by_path.items()}
    else:
        named = dict(params or {})
    for key, value in named.items():
        row[PARAM_PREFIX + key] = value
    return row


def trial_row(trial: Any, path_to_key: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return a frozen trial's table row (see :func:`make_row`)."""
    return make_row(trial.number, trial.state.name, trial.user_attrs, trial.params, path_to_key)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r" ?\[SQL: .*?\]| ?\(Background on this error.*$", "", text)
    return text[:400]


def display_url(storage: str | None) -> str:
    """Return a storage as the page shows it (the URL, any password hidden)."""
    from explorer.storage import redact, storage_url

    return str(redact(storage_url(storage)))


@dataclass
class _State:
    """What a source has read: per trial id its number, state, row and retry history."""

    numbers: dict[int, int] = field(default_factory=dict)
    states: dict[int, str] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    retried: set[int] = field(default_factory=set)
    frozen: dict[int, Any] = field(default_factory=dict)


class StudySource:
    """One study in a storage, read once and refreshed on demand (thread-safe).

    On an Optuna RDB storage (SQLite, PostgreSQL) the table is read with
    :mod:`dashboards._rdb` (about 1 s for 10,000 trials) and refreshed by reading only
    trials whose state changed; on any other storage, or if that read fails, through
    Optuna's ``get_trials``.

    Args:
        storage: A storage URL or SQLite file path (as ``cosim explore --storage``).
        name: The study's name.
    """

    def __init__(self, storage: str | None, name: str) -> None:
        self.storage = storage
        self.name = name
        self._lock = threading.RLock()
        self._store: Any = None
        self._study: Any = None
        self._study_id: int | None = None
        self._attrs: dict[str, Any] = {}
        self._fast = True
        self._state = _State()
        self._snapshot: StudySnapshot | None = None
        self._problem: Notice | None = None

    # -- opening ----------------------------------------------------------------------

    def _open(self) -> None:
        """Open the storage and the study, check it is an explorer study.

        Raises:
            StudyReadError: Storage missing or unreadable, no such study, not ready.
        """
        import optuna

        from explorer import ExplorerError
        from explorer.storage import open_storage, storage_url

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            store = open_storage(storage_url(self.storage), create=False)
            try:
                study_id = store.get_study_id_from_name(self.name)
            except KeyError:
                names = sorted(optuna.get_all_study_names(store))
                raise ExplorerError(
                    f"no study {self.name!r} in {display_url(self.storage)}; studies there: "
                    + (", ".join(names) or "none")
                ) from None
            study = optuna.load_study(study_name=self.name, storage=store)
            attrs = dict(store.get_study_user_attrs(study_id))
        except ExplorerError as exc:
            raise StudyReadError(_storage_notice(self.storage, self.name, exc)) from None
        except Exception as exc:  # a storage Optuna cannot read: say so, keep serving
            log.warning("cannot open study %r", self.name, exc_info=True)
            raise StudyReadError(_storage_notice(self.storage, self.name, exc)) from None
        if "explorer_format" not in attrs:
            raise StudyReadError(
                Notice(
                    "error",
                    f"Study {self.name!r} is not (yet) an explorer study",
                    "It has no explorer_format attribute: it was not made by `cosim explore`, "
                    "or is still being created.",
                    "The page retries on its next refresh.",
                )
            )
        self._store, self._study, self._study_id, self._attrs = store, study, study_id, attrs

    # -- reading ----------------------------------------------------------------------

    def snapshot(self) -> StudySnapshot:
        """Return the last snapshot, reading the study first if it was never read.

        Raises:
            StudyReadError: The study cannot be read (its notice says why).
        """
        with self._lock:
            if self._snapshot is None:
                self.refresh()
            if self._snapshot is None:
                assert self._problem is not None
                raise StudyReadError(self._problem)
            return self._snapshot

    def refresh(self) -> bool:
        """Read new and changed trials; return whether the snapshot changed.

        A problem (storage gone, file damaged) is kept as :attr:`problem` and the snapshot
        dropped, so the page shows the problem rather than stale data.
        """
        with self._lock:
            t0 = time.perf_counter()
            try:
                if self._study is None:
                    self._open()
                changed = self._read()
            except StudyReadError as exc:
                return self._fail(exc.notice)
            except Exception as exc:
                log.warning("cannot refresh study %r", self.name, exc_info=True)
                return self._fail(_storage_notice(self.storage, self.name, exc))
            if changed or self._snapshot is None or self._problem is not None:
                self._problem = None
                self._snapshot = self._build(time.perf_counter() - t0)
                return True
            return False

    def _read(self) -> bool:
        from dashboards import _rdb

        if self._fast and _rdb.supports(self._store):
            try:
                return self._read_fast()
            except Exception:
                log.warning("fast read failed; reading through Optuna's API", exc_info=True)
                self._fast = False
                self._state = _State()
        return self._read_api()

    def _path_to_key(self) -> dict[str, str]:
        return {v: k for k, v in (self._attrs.get("space_paths") or {}).items()}

    def _read_fast(self) -> bool:
        from dashboards import _rdb

        assert self._study_id is not None
        st = self._state
        heads = _rdb.read_heads(self._store, self._study_id)
        changed_ids = [tid for tid, _, state in heads if st.states.get(tid) != state]
        if not changed_ids:
            return False
        first = not st.states
        attrs, retries = _rdb.read_attrs(
            self._store, self._study_id, None if first else changed_ids
        )
        keys = self._path_to_key()
        wanted = set(changed_ids)
        for tid, number, state in heads:
            if tid not in wanted:
                continue
            st.numbers[tid], st.states[tid] = number, state
            st.frozen.pop(tid, None)
            if tid in retries:
                st.retried.update(retries[tid])
            if state in _FINISHED:
                st.rows[tid] = make_row(number, state, attrs.get(tid, {}), None, keys)
            else:
                st.rows.pop(tid, None)
        return True

    def _read_api(self) -> bool:
        st = self._state
        keys = self._path_to_key()
        changed = False
        for t in self._study.get_trials(deepcopy=False):
            tid, state = int(t._trial_id), t.state.name
            if st.states.get(tid) == state:
                continue
            changed = True
            st.numbers[tid], st.states[tid] = t.number, state
            st.frozen[tid] = t
            st.retried.update(int(n) for n in (t.system_attrs.get("retry_history") or []))
            if state in _FINISHED:
                st.rows[tid] = trial_row(t, keys)
            else:
                st.rows.pop(tid, None)
        return changed

    def _fail(self, notice: Notice) -> bool:
        changed = self._problem != notice or self._snapshot is not None
        self._problem = notice
        self._snapshot = None
        self._study = self._store = self._study_id = None
        self._state = _State()
        return changed

    def _build(self, load_s: float) -> StudySnapshot:
        st = self._state
        rows = sorted(
            (r for r in st.rows.values() if r["trial"] not in st.retried),
            key=lambda r: int(r["trial"]),
        )
        table = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(_BASE_COLUMNS))
        space_keys = list(((self._attrs.get("space") or {}).get("parameters") or {}).keys())
        present = [c[len(PARAM_PREFIX) :] for c in param_columns(table)]
        params = tuple(
            [k for k in space_keys if k in present] + [k for k in present if k not in space_keys]
        )
        version = (self._snapshot.version + 1) if self._snapshot is not None else 1
        return StudySnapshot(
            name=self.name,
            storage=display_url(self.storage),
            attrs=dict(self._attrs),
            table=table.reset_index(drop=True),
            params=params,
            running=sum(1 for s in st.states.values() if s == "RUNNING"),
            waiting=sum(1 for s in st.states.values() if s == "WAITING"),
            version=version,
            load_s=load_s,
        )

    # -- single trials ----------------------------------------------------------------

    def trial(self, number: int) -> Any:
        """Return the frozen trial ``number`` (read from the storage; ``None`` if none)."""
        with self._lock:
            if self._snapshot is None:
                try:
                    self.snapshot()
                except StudyReadError:
                    return None
            st = self._state
            tid = next((t for t, n in st.numbers.items() if n == int(number)), None)
            if tid is None:
                return None
            if tid not in st.frozen:
                if self._store is None:
                    return None
                try:
                    st.frozen[tid] = self._store.get_trial(tid)
                except Exception:
                    log.warning("cannot read trial %s", number, exc_info=True)
                    return None
                if len(st.frozen) > _KEEP_FROZEN and self._fast:
                    st.frozen.pop(next(iter(st.frozen)))
            return st.frozen[tid]

    def study(self) -> Any:
        """Return the Optuna study (``None`` when it cannot be read)."""
        with self._lock:
            return self._study

    def complete_trials(self, limit: int | None = None, seed: int = 0) -> list[Any]:
        """Return complete trials with values (a fixed random ``limit`` of them at most).

        The trials carry parameters and values only (enough for importances).
        """
        import random

        from dashboards import _rdb

        with self._lock:
            ids = sorted(t for t, s in self._state.states.items() if s == "COMPLETE")
            if limit is not None and len(ids) > limit:
                ids = sorted(random.Random(seed).sample(ids, limit))
            store, fast = self._store, self._fast
        if store is None:
            return []
        if fast and _rdb.supports(store):
            return _rdb.read_complete(store, ids)
        return [t for t in (store.get_trial(i) for i in ids) if t.values]


_FINISHED = ("COMPLETE", "PRUNED", "FAIL")
#: Seconds a storage's list of studies is reused.
NAMES_TTL_S = 10.0
_KEEP_FROZEN = 64


def _storage_notice(storage: str | None, name: str, exc: BaseException) -> Notice:
    shown = display_url(storage)
    text = _one_line(exc)
    example = display_url(DEFAULT_STORAGE) == shown
    if "no such file" in text:
        return Notice(
            "error",
            f"No study storage at {shown}",
            text,
            f"Make the example study with: {EXAMPLE_COMMAND}"
            if example
            else "Check --storage, or run `cosim explore ... --storage` to create it.",
        )
    if text.startswith("no study"):
        hint = (
            f"Make it with: {EXAMPLE_COMMAND}"
            if example and name == DEFAULT_STUDY
            else "Pick a study from the list, or give --study."
        )
        return Notice("error", f"No study {name!r} in {shown}", text, hint)
    return Notice(
        "error",
        f"Cannot read study {name!r} in {shown}",
        text,
        "Is the file an Optuna storage written by `cosim explore`? It may be damaged.",
    )


class Catalog:
    """The storage the dashboard was given: its studies, each read on first use.

    Args:
        storage: Storage URL or SQLite file (``None``: the bundled example).
        study: The study to show first (``None``: the only one, or the first by name).
    """

    def __init__(self, storage: str | None = None, study: str | None = None) -> None:
        self.storage = storage if storage is not None else DEFAULT_STORAGE
        self.default = study if study is not None else (DEFAULT_STUDY if storage is None else None)
        self._lock = threading.Lock()
        self._sources: dict[str, StudySource] = {}
        self._names: tuple[float, list[str]] | None = None

    def names(self) -> list[str]:
        """Return the storage's study names (``[]`` when it cannot be read).

        Kept for :data:`NAMES_TTL_S` seconds (every page load asks).
        """
        now = time.monotonic()
        if self._names is not None and now - self._names[0] < NAMES_TTL_S:
            return list(self._names[1])
        names = self._read_names()
        self._names = (now, names)
        return list(names)

    def _read_names(self) -> list[str]:
        import optuna

        from explorer.storage import sqlite_file, storage_url

        url = storage_url(self.storage)
        path = sqlite_file(url)
        if path is not None and not path.is_file():
            return []
        try:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            from explorer.storage import open_storage

            return sorted(optuna.get_all_study_names(open_storage(url, create=False)))
        except Exception:
            log.debug("cannot list studies", exc_info=True)
            return []

    def initial(self) -> str:
        """Return the study to show first ('' when the storage has none to offer)."""
        if self.default:
            return self.default
        names = self.names()
        return names[0] if names else ""

    def source(self, name: str) -> StudySource:
        """Return the source of study ``name`` (made on first use, then kept)."""
        with self._lock:
            if name not in self._sources:
                self._sources[name] = StudySource(self.storage, name)
            return self._sources[name]

    def no_study(self) -> Notice:
        """Return the notice for a storage with no study to show."""
        shown = display_url(self.storage)
        from explorer.storage import sqlite_file, storage_url

        path = sqlite_file(storage_url(self.storage))
        if path is not None and not path.is_file():
            return _storage_notice(self.storage, "", RuntimeError("no such file"))
        return Notice(
            "error",
            f"No study in {shown}",
            "The storage holds no study (or cannot be read).",
            "Run `cosim explore ... --storage` to add one, or check --storage.",
        )
