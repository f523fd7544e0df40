"""Reading a study: its trials as one compact table, refreshed as workers add trials.

The dashboard never holds Optuna objects in the page: :class:`StudySource` reads a study
once (every trial as a :class:`~explorer.records.TrialRecord`) and keeps a
:class:`StudySnapshot`, the explorer's table of counted trials (:mod:`explorer.table`:
status, the headline figures of its summary, its searched parameters).
:meth:`StudySource.refresh` reads only trials whose state changed, so a refresh of a
10,000-trial study costs milliseconds and the table is rebuilt only when a trial
changed. The full trial (summary, design) is fetched by number when the page shows it.

Nothing here raises for a storage or study that cannot be read: :class:`StudyReadError`
carries a :class:`Notice` (what is wrong, and how to fix it) that the page shows, and the
next refresh tries again, so a study file that appears later is picked up.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from explorer.objectives import objectives_of
from explorer.records import STATUSES, StudyAttr, TrialRecord, counted
from explorer.table import FIGURE_COLUMNS, table_of
from explorer.table import trial_row as table_row

if TYPE_CHECKING:
    from optuna import Study
    from optuna.storages import RDBStorage
    from optuna.trial import FrozenTrial

    from dashboards._rdb import Census, RdbReader

__all__ = [
    "DEFAULT_STORAGE",
    "DEFAULT_STUDY",
    "EXAMPLE_COMMAND",
    "FIGURE_COLUMNS",
    "KEEP_STUDIES",
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
    "record_row",
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

#: Table columns of searched parameters are named ``PARAM_PREFIX + <space key>``.
PARAM_PREFIX = "param:"


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
        return str(self.attrs.get(StudyAttr.MODEL, "?"))

    @property
    def objectives(self) -> tuple[str, ...]:
        """Return what the study optimises (summary keys; tokens/s and W by default)."""
        return objectives_of(self.attrs)

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


def make_row(
    number: int,
    state: str,
    attrs: Mapping[str, Any],
    params: Mapping[str, Any] | None,
    path_to_key: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return a trial's table row from its state and user attributes (see :func:`record_row`)."""
    record = TrialRecord.from_attrs(number=number, state=state, user_attrs=attrs, params=params)
    return record_row(record, path_to_key)


def record_row(record: TrialRecord, path_to_key: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return a trial's table row: the explorer's (:func:`explorer.table.trial_row`).

    Its parameters are named ``param:<key>``: ``params_by_path`` named by the space's keys
    through ``path_to_key`` (Optuna's own ``params`` where a trial has no
    ``params_by_path``).
    """
    if record.params_by_path:
        keys = path_to_key or {}
        named = {keys.get(p, p): v for p, v in record.params_by_path.items()}
    else:
        named = dict(record.params)
    return table_row(record, {PARAM_PREFIX + k: v for k, v in named.items()})


def trial_row(trial: FrozenTrial, path_to_key: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return a frozen trial's table row (see :func:`record_row`)."""
    return record_row(TrialRecord.of(trial), path_to_key)


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
    """What a source has read, by trial number: its record, its row, its storage id."""

    records: dict[int, TrialRecord] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    ids: dict[int, int] = field(default_factory=dict)
    frozen: dict[int, FrozenTrial] = field(default_factory=dict)
    census: Census = ()

    def changed(self, number: int, state: str) -> bool:
        """Return whether trial ``number`` is new or in another state than last read."""
        old = self.records.get(number)
        return old is None or old.state != state

    def keep(self, record: TrialRecord, path_to_key: Mapping[str, str]) -> None:
        """Keep a trial's record, and its row when it finished."""
        self.records[record.number] = record
        if record.finished:
            self.rows[record.number] = record_row(record, path_to_key)
        else:
            self.rows.pop(record.number, None)


class StudySource:
    """One study in a storage, read once and refreshed on demand (thread-safe).

    On an Optuna RDB storage (SQLite, PostgreSQL) the table is read with
    :mod:`dashboards._rdb` (about 1 s for 10,000 trials) and refreshed by reading only
    trials whose state changed, once a count of trials per state shows that some did; on
    any other storage, or if that read fails, through Optuna's ``get_trials``.

    Args:
        storage: A storage URL or SQLite file path (as ``cosim explore --storage``).
        name: The study's name.
    """

    def __init__(self, storage: str | None, name: str) -> None:
        self.storage = storage
        self.name = name
        self._lock = threading.RLock()
        self._store: RDBStorage | None = None
        self._reader: RdbReader | None = None
        self._study: Study | None = None
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

        from dashboards._rdb import RdbReader
        from explorer import ExplorerError
        from explorer.storage import open_rdb_storage, storage_url

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        store: RDBStorage | None = None
        try:
            store = open_rdb_storage(storage_url(self.storage), create=False, read_only=True)
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
            _dispose(store)
            raise StudyReadError(_storage_notice(self.storage, self.name, exc)) from None
        except Exception as exc:  # a storage Optuna cannot read: say so, keep serving
            _dispose(store)
            log.warning("cannot open study %r", self.name, exc_info=True)
            raise StudyReadError(_storage_notice(self.storage, self.name, exc)) from None
        if StudyAttr.EXPLORER_FORMAT not in attrs:
            _dispose(store)
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
        self._reader = RdbReader(store) if RdbReader.supports(store) else None

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
        if self._fast and self._reader is not None:
            try:
                return self._read_fast(self._reader)
            except Exception:
                log.warning("fast read failed; reading through Optuna's API", exc_info=True)
                self._fast = False
                self._state = _State()
        return self._read_api()

    def _path_to_key(self) -> dict[str, str]:
        return {v: k for k, v in (self._attrs.get(StudyAttr.SPACE_PATHS) or {}).items()}

    def _read_fast(self, reader: RdbReader) -> bool:
        assert self._study_id is not None
        st = self._state
        census = reader.census(self._study_id)  # before the heads: a later change shows next time
        if st.records and census == st.census:
            return False  # nothing new: every page load and refresh asks, most find this
        changed = [h for h in reader.heads(self._study_id) if st.changed(h[1], h[2])]
        st.census = census
        if not changed:
            return False
        first = not st.records
        attrs, retries = reader.attrs(
            self._study_id, None if first else [tid for tid, _, _ in changed]
        )
        keys = self._path_to_key()
        for tid, number, state in changed:
            st.ids[number] = tid
            st.frozen.pop(number, None)
            record = TrialRecord.from_attrs(
                number=number,
                state=state,
                user_attrs=attrs.get(tid, {}),
                retry_history=retries.get(tid),
            )
            st.keep(record, keys)
        return True

    def _read_api(self) -> bool:
        assert self._study is not None
        st = self._state
        keys = self._path_to_key()
        changed = False
        for t in self._study.get_trials(deepcopy=False):
            if not st.changed(t.number, t.state.name):
                continue
            changed = True
            st.frozen[t.number] = t
            st.keep(TrialRecord.of(t), keys)
        return changed

    def _fail(self, notice: Notice) -> bool:
        changed = self._problem != notice or self._snapshot is not None
        self._problem = notice
        self._snapshot = None
        _dispose(self._store)
        self._study = self._store = self._study_id = self._reader = None
        self._state = _State()
        return changed

    def close(self) -> None:
        """Drop what was read and the storage's connections (read again when next asked)."""
        with self._lock:
            _dispose(self._store)
            self._study = self._store = self._study_id = self._reader = None
            self._state = _State()
            self._snapshot = self._problem = None

    def _build(self, load_s: float) -> StudySnapshot:
        st = self._state
        table = table_of(st.rows[r.number] for r in counted(st.records.values()))
        space = self._attrs.get(StudyAttr.SPACE) or {}
        space_keys = list((space.get("parameters") or {}).keys())
        present = [c[len(PARAM_PREFIX) :] for c in param_columns(table)]
        params = tuple(
            [k for k in space_keys if k in present] + [k for k in present if k not in space_keys]
        )
        version = (self._snapshot.version + 1) if self._snapshot is not None else 1
        states = [r.state for r in st.records.values()]
        return StudySnapshot(
            name=self.name,
            storage=display_url(self.storage),
            attrs=dict(self._attrs),
            table=table,
            params=params,
            running=states.count("RUNNING"),
            waiting=states.count("WAITING"),
            version=version,
            load_s=load_s,
        )

    # -- single trials ----------------------------------------------------------------

    def trial(self, number: int) -> FrozenTrial | None:
        """Return the frozen trial ``number`` (read from the storage; ``None`` if none)."""
        with self._lock:
            if self._snapshot is None:
                try:
                    self.snapshot()
                except StudyReadError:
                    return None
            st = self._state
            number = int(number)
            if number not in st.records:
                return None
            if number not in st.frozen:
                if self._store is None or self._study_id is None:
                    return None
                try:
                    tid = st.ids.get(number)
                    if tid is None:
                        tid = self._store.get_trial_id_from_study_id_trial_number(
                            self._study_id, number
                        )
                    st.frozen[number] = self._store.get_trial(tid)
                except Exception:
                    log.warning("cannot read trial %s", number, exc_info=True)
                    return None
                if len(st.frozen) > _KEEP_FROZEN and self._fast:
                    st.frozen.pop(next(iter(st.frozen)))
            return st.frozen[number]

    def study(self) -> Study | None:
        """Return the Optuna study (``None`` when it cannot be read)."""
        with self._lock:
            return self._study

    def complete_trials(self, limit: int | None = None, seed: int = 0) -> list[FrozenTrial]:
        """Return complete trials with values (a fixed random ``limit`` of them at most).

        The trials carry parameters and values only (enough for importances).
        """
        import random

        with self._lock:
            st = self._state
            numbers = sorted(n for n, r in st.records.items() if r.state == "COMPLETE")
            if limit is not None and len(numbers) > limit:
                numbers = sorted(random.Random(seed).sample(numbers, limit))
            reader = self._reader if self._fast else None
            if reader is not None:
                ids = [st.ids[n] for n in numbers]
            else:
                trials = [self.trial(n) for n in numbers]
        if reader is not None:
            return reader.complete(ids)
        return [t for t in trials if t is not None and t.values]


#: Seconds a storage's list of studies is reused.
NAMES_TTL_S = 10.0
#: Studies whose sources (their tables and connections) a catalog keeps, the least
#: recently used dropped first.
KEEP_STUDIES = 8
_KEEP_FROZEN = 64


def _dispose(store: RDBStorage | None) -> None:
    """Close a storage's pooled connections (it is opened again when needed)."""
    if store is not None:
        store.engine.dispose()


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
        self._sources: OrderedDict[str, StudySource] = OrderedDict()
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
        from explorer.storage import open_rdb_storage

        store: RDBStorage | None = None
        try:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            store = open_rdb_storage(url, read_only=True)
            return sorted(optuna.get_all_study_names(store))
        except Exception:
            log.debug("cannot list studies", exc_info=True)
            return []
        finally:
            _dispose(store)

    def initial(self) -> str:
        """Return the study to show first ('' when the storage has none to offer)."""
        if self.default:
            return self.default
        names = self.names()
        return names[0] if names else ""

    def source(self, name: str) -> StudySource:
        """Return the source of study ``name``.

        The sources of the storage's studies are kept, at most :data:`KEEP_STUDIES`
        (the least recently used closed first); a name the storage does not hold gets a
        source of its own each time (which reads and explains the problem), never kept,
        so names sent by a browser cannot fill the memory.
        """
        with self._lock:
            if name in self._sources:
                self._sources.move_to_end(name)
                return self._sources[name]
        source = StudySource(self.storage, name)
        if name != self.default and name not in self.names():
            return source
        with self._lock:
            if name in self._sources:  # made meanwhile by another request
                self._sources.move_to_end(name)
                return self._sources[name]
            self._sources[name] = source
            dropped = []
            while len(self._sources) > KEEP_STUDIES:
                dropped.append(self._sources.popitem(last=False)[1])
        for old in dropped:
            old.close()
        return source

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
