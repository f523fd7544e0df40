"""Optuna storages for studies: URLs, SQLite by default, heartbeats and retries.

``--storage`` takes a SQLAlchemy URL (``sqlite:///studies.db``,
``postgresql+psycopg://user@host/db``) or a plain file path, which means a SQLite file.
``postgresql://`` is read as ``postgresql+psycopg://`` when only psycopg 3 is installed.

Every storage a study runs on has Optuna's heartbeat on: a running trial records a
heartbeat every ``heartbeat_interval`` seconds; one silent for ``grace_period`` seconds (its
worker was killed) is failed by the next worker that looks and re-queued once more as a
waiting trial with the same parameters (``RetryHeartbeatStaleTrialCallback``), up to
:data:`MAX_RETRY` times.

SQLite runs every transaction as ``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe), so
Optuna's read-check-write updates (claiming a waiting trial, failing a stale one) are
atomic between processes, as ``SELECT ... FOR UPDATE`` makes them on PostgreSQL. What
spans several of Optuna's calls (creating a study and its metadata, counting its trials
and queueing the missing ones) runs under :func:`study_lock`, a lock per study between
processes and machines: PostgreSQL's advisory lock, MySQL's ``GET_LOCK``, a file lock
for SQLite. The file
is put in write-ahead-log mode (``-wal`` and ``-shm`` files beside it; a local file
system, as SQLite requires for it) with ``synchronous=NORMAL``: commits without an fsync
each, durable up to the last checkpoint after a power loss, consistent always.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage, RDBStorage
    from sqlalchemy.engine import Engine

__all__ = [
    "DEFAULT_STORAGE",
    "MAX_RETRY",
    "default_cache_dir",
    "open_rdb_storage",
    "open_storage",
    "record_heartbeat",
    "redact",
    "sqlite_file",
    "storage_url",
    "study_lock",
]

#: Where studies go when no ``--storage`` is given (a SQLite file in the working folder).
DEFAULT_STORAGE = "studies.db"
#: How many times a trial whose worker died is run again.
MAX_RETRY = 3


def storage_url(storage: str | Path | None) -> str:
    """Return the SQLAlchemy URL for a ``--storage`` value (default :data:`DEFAULT_STORAGE`).

    A value without ``://`` is a SQLite file path (made absolute).
    """
    text = str(storage) if storage else DEFAULT_STORAGE
    if "://" not in text:
        return "sqlite:///" + str(Path(text).expanduser().resolve())
    for plain in ("postgresql://", "postgres://"):
        if text.startswith(plain) and not _has("psycopg2") and _has("psycopg"):
            return "postgresql+psycopg://" + text[len(plain) :]
    return text


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def redact(url: str) -> str:
    """Return ``url`` with any password hidden (for messages and stored metadata)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL (``None`` for other storages or in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?")[0]
    return Path(path) if path and path != ":memory:" else None


def _immediate_transactions(engine: Engine) -> None:
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN of its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # no fsync per commit in WAL mode
        cursor.close()

    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    engine.dispose()  # connections made before the listeners are dropped


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    create: bool = True,
    read_only: bool = False,
) -> BaseStorage:
    """Open a study's storage for workers: the RDB storage in Optuna's caching wrapper.

    The wrapper is the one ``optuna.load_study`` puts around an RDB storage; workers use
    this same object for the study and for claiming trials, so both see the same trials.
    Arguments and errors as :func:`open_rdb_storage`.
    """
    import optuna

    rdb = open_rdb_storage(
        url,
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        create=create,
        read_only=read_only,
    )
    return optuna.storages.get_storage(rdb)


def open_rdb_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    create: bool = True,
    read_only: bool = False,
) -> RDBStorage:
    """Open an Optuna RDB storage (no cache: every read asks the database).

    Read-only (for viewers: the dashboard, ``cosim pareto`` and ``cosim export``), the
    storage must already be an Optuna database: a SQLite file is checked to be one (not
    empty, an SQLite database, with Optuna's tables) and opened with SQLite's read-only
    mode; a PostgreSQL session is read-only; no table is ever created. The database is
    never written (SQLite may keep its shared-memory index, ``-shm``, beside a file in
    write-ahead-log mode).

    Args:
        url: A URL from :func:`storage_url`.
        heartbeat_interval: Seconds between heartbeats of a running trial (``None``: no
            heartbeat, for read-only use).
        grace_period: Seconds without a heartbeat after which a trial is stale.
        create: Create a missing SQLite file (and its folder); otherwise refuse.
        read_only: Open for reading only (implies not ``create``).

    Returns:
        The ``optuna.storages.RDBStorage``.

    Raises:
        ExplorerError: The URL is malformed, its driver is missing, the database cannot
            be reached, or (read-only) it is not an Optuna storage.
    """
    import optuna
    from optuna.exceptions import ExperimentalWarning
    from sqlalchemy import exc as sa_exc

    shown = redact(url)
    path = sqlite_file(url)
    engine_kwargs: dict[str, Any] = (
        {"connect_args": {"timeout": 300}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    )
    if path is not None and read_only:
        _check_sqlite_storage(path)
        engine_kwargs = {"creator": _read_only_sqlite(path)}
    elif path is not None:
        if not create and not path.is_file():
            raise ExplorerError(f"no study storage at {path} (no such file)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExplorerError(f"cannot create {path.parent}: {exc.strerror}") from None
    elif read_only and url.startswith(("postgresql", "postgres")):
        engine_kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    kwargs: dict[str, Any] = {"skip_table_creation": True} if read_only else {}
    if heartbeat_interval is not None:
        callback_cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            callback = (callback_cls or optuna.storages.RetryFailedTrialCallback)(
                max_retry=MAX_RETRY
            )
        key = "heartbeat_stale_trial_callback" if callback_cls else "failed_trial_callback"
        kwargs.update(
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period or 4 * heartbeat_interval,
            **{key: callback},
        )
    last: Exception | None = None
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
            break
        except (sa_exc.ArgumentError, ModuleNotFoundError, ImportError, ValueError) as exc:
            raise ExplorerError(f"cannot open storage {shown}: {_one_line(exc)}") from None
        except (sa_exc.IntegrityError, sa_exc.ProgrammingError) as exc:
            last = exc  # another process creating the tables at the same moment
            time.sleep(0.5 * (attempt + 1))
        except sa_exc.SQLAlchemyError as exc:
            raise ExplorerError(f"cannot open storage {shown}: {_one_line(exc)}") from None
    else:
        raise ExplorerError(f"cannot open storage {shown}: {_one_line(last)}")
    if url.startswith("sqlite") and not read_only:
        _immediate_transactions(storage.engine)
    return storage


#: The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"
#: Tables every Optuna RDB storage has.
_OPTUNA_TABLES = frozenset({"studies", "trials", "version_info"})


def _check_sqlite_storage(path: Path) -> None:
    """Refuse a file that is not an Optuna SQLite storage, without writing to it."""
    import sqlite3

    if not path.is_file():
        raise ExplorerError(f"no study storage at {path} (no such file)")
    if path.stat().st_size == 0:
        raise ExplorerError(f"{path} is empty: not a study storage (nothing was written)")
    with path.open("rb") as fh:
        if fh.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise ExplorerError(f"{path}: file is not a database (not an SQLite file)")
    try:
        con = _read_only_sqlite(path)()
        try:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise ExplorerError(f"{path}: cannot read it as a database: {exc}") from None
    if not tables >= _OPTUNA_TABLES:
        raise ExplorerError(f"{path} is an SQLite database without Optuna's tables")


def _read_only_sqlite(path: Path) -> Any:
    """Return a connection factory for SQLite's read-only mode on ``path``."""
    import sqlite3
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=300, check_same_thread=False)

    return connect


def default_cache_dir(url: str) -> Path:
    """Return a study's default trace and numerics cache folder.

    ``<db>.cache`` beside a SQLite file, ``.cosim-cache`` here for other storages.
    """
    db = sqlite_file(url)
    return db.with_name(db.name + ".cache") if db is not None else Path(".cosim-cache")


def _one_line(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split()) if exc is not None else "unknown error"
    return text.split(" (Background on this error")[0][:300]


@runtime_checkable
class _Heartbeats(Protocol):
    def record_heartbeat(self, trial_id: int) -> None: ...


def record_heartbeat(storage: BaseStorage, trial_id: int) -> None:
    """Record a running trial's heartbeat in a storage of :func:`open_storage`.

    Raises:
        TypeError: The storage keeps no heartbeats (not an RDB storage).
    """
    if not isinstance(storage, _Heartbeats):
        raise TypeError(f"{type(storage).__name__} keeps no heartbeats")
    storage.record_heartbeat(trial_id)


#: Seconds :func:`study_lock` waits for another command to release the lock.
LOCK_TIMEOUT_S = 300.0


@contextlib.contextmanager
def study_lock(url: str, study_name: str, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold a lock on one study of a storage, between processes and machines.

    Taken around what must not interleave between commands on one study (creating it,
    completing its metadata, counting its trials and queueing the missing ones). It is
    the database's own where it has one: PostgreSQL's ``pg_advisory_lock`` and MySQL's
    ``GET_LOCK``, on a connection of their own, released when it closes (a killed
    process releases it too); for SQLite, ``flock`` on the database's folder (the file
    itself is not opened: closing another descriptor of it would drop SQLite's own
    locks). Other storages get no lock.

    Raises:
        ExplorerError: The lock was not had within ``timeout_s`` seconds.
    """
    path = sqlite_file(url)
    if path is not None:
        with _folder_lock(path.parent, timeout_s, study_name):
            yield
        return
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    if dialect not in ("postgresql", "postgres", "mysql"):
        yield  # in-memory SQLite and other storages: nothing to share a lock with
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    digest = hashlib.blake2b(f"mmfree-cosim:{study_name}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if dialect == "mysql":
                name = f"cosim-{key & 0xFFFFFFFFFFFF:x}"
                got = conn.execute(
                    text("SELECT GET_LOCK(:n, :t)"), {"n": name, "t": int(timeout_s)}
                ).scalar()
                if got != 1:
                    raise _busy(study_name, timeout_s)
                try:
                    yield
                finally:
                    conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
                return
            conn.execute(text(f"SET lock_timeout = {int(timeout_s * 1000)}"))
            try:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except Exception:
                raise _busy(study_name, timeout_s) from None
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    finally:
        engine.dispose()


def _busy(study_name: str, timeout_s: float) -> ExplorerError:
    return ExplorerError(
        f"study {study_name!r}: another command held its lock for more than {timeout_s:g} s"
    )


@contextlib.contextmanager
def _folder_lock(folder: Path, timeout_s: float, study_name: str) -> Iterator[None]:
    import fcntl
    import os

    fd = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _busy(study_name, timeout_s) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock
