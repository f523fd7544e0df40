"""Atomic writes: a file or a folder appears whole under its name, or not at all.

Both write under a temporary name in the target's own folder (same file system, so the
final rename is atomic) and rename into place; on any failure the temporary is removed
and whatever stood under the name before is left as it was. A folder write killed at any
point (even between its two renames) loses nothing: the next write or
:func:`recover_folder` finishes or removes what it left. Errors are ``OSError``: each
caller says which of its inputs could not be written, in its own error class.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file", "atomic_folder", "recover_folder", "write_atomic"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary file to write; it replaces ``path`` when the block ends normally.

    The data is flushed to disk before the rename, and the file gets the permissions a
    plain ``open`` would give it (``mkstemp`` makes it private).

    Raises:
        OSError: The folder cannot be created or the file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically.

    Raises:
        OSError: The folder cannot be created or the file written.
    """
    with atomic_file(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a fresh folder to fill; it replaces ``out`` when the block ends normally.

    Whether an existing ``out`` may be replaced is the caller's decision, made before.
    The folder is filled as ``.<name>.<token>.partial`` beside ``out``; an existing
    ``out`` is then renamed to ``.<name>.<token>.old``, the new folder renamed into
    place, and the old one removed. A lock file ``.<name>.<token>.lock``, held for the
    whole write, tells a live write from the leftovers of a killed one. Leftovers of
    earlier interrupted writes are dealt with first (:func:`recover_folder`), so a write
    killed between its two renames is finished, never lost, and nothing hidden stays.
    Callers that decide from whether ``out`` exists should call :func:`recover_folder`
    before deciding.

    Raises:
        FileExistsError: ``out`` was missing because a write was killed between its
            renames, and has just been restored: the caller's decision to write there
            was made without it (call :func:`recover_folder` first to avoid this).
        OSError: The folder cannot be created or renamed into place.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if recover_folder(out):  # the caller decided while it was missing: let it look again
        raise FileExistsError(
            errno.EEXIST,
            "an earlier write killed while replacing it has just been completed there; "
            "run again to replace it",
            str(out),
        )
    with _claim(out) as (tmp, old):
        try:
            os.mkdir(tmp, 0o777)  # the umask applies, as for any folder the user makes
            yield tmp
            if not os.path.lexists(out):
                os.replace(tmp, out)
                return
            os.replace(out, old)  # from here the pair (partial, old) says: tmp is complete
            try:
                os.replace(tmp, out)
            except OSError:
                if not os.path.lexists(out):  # put the previous folder back
                    os.replace(old, out)
                raise
        finally:
            _remove(tmp)
            _remove(old)


def recover_folder(out: Path) -> bool:
    """Deal with what writes of ``out`` that died left beside it; return whether ``out`` came back.

    A write killed between its two renames left ``out`` missing, its complete new
    folder as ``.<name>.<token>.partial`` and the previous one as ``.<name>.<token>.old``:
    the new folder is renamed into place. Every other leftover of a dead write (a
    partly written ``.partial``, a partly removed ``.old``, a lock file) is removed.
    Writes still running (their lock is held) are left alone. Best effort: what cannot be
    removed (a read-only folder) stays, and no error is raised.

    Args:
        out: The folder an :func:`atomic_folder` write targets.

    Returns:
        Whether ``out`` was missing and has been restored.
    """
    out = Path(out)
    pattern = re.compile(rf"\.{re.escape(out.name)}\.({_TOKEN})\.(partial|old|lock)")
    tokens: dict[str, set[str]] = {}
    try:
        with os.scandir(out.parent) as entries:
            for entry in entries:
                match = pattern.fullmatch(entry.name)
                if match:
                    tokens.setdefault(match.group(1), set()).add(match.group(2))
    except OSError:
        return False
    restored = False
    for token, kinds in sorted(tokens.items()):
        restored |= _recover_write(out, token, kinds)
    return restored


#: A write's token: ours (16 hex digits), or ``tempfile``'s 8 characters (writes made
#: before lock files, whose leftovers are recognised too).
_TOKEN = r"[0-9a-f]{16}|[a-z0-9_]{8}"


def _paths(out: Path, token: str) -> tuple[Path, Path, Path]:
    stem = out.parent / f".{out.name}.{token}"
    return Path(f"{stem}.partial"), Path(f"{stem}.old"), Path(f"{stem}.lock")


def _recover_write(out: Path, token: str, kinds: set[str]) -> bool:
    """Finish or clean up one dead write; leave a live one alone.

    The lock file is tried even when the listing did not show it: a listing taken while
    files come and go may miss one.
    """
    tmp, old, lock = _paths(out, token)
    fd: int | None
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None  # its write ended (or it never had one): nothing holds it
    except OSError:
        return False  # not ours to judge (another user's)
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # the write is running
        restored = False
        if {"partial", "old"} <= kinds and not os.path.lexists(out):
            with contextlib.suppress(OSError):
                os.replace(tmp, out)
                restored = True
        _remove(tmp)
        _remove(old)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(lock)
        return restored
    finally:
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def _claim(out: Path) -> Iterator[tuple[Path, Path]]:
    """Hold a fresh lock file beside ``out``; yield its write's partial and old paths."""
    while True:
        token = secrets.token_hex(8)
        tmp, old, lock = _paths(out, token)
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # a recovery may have taken the fresh file for a dead write's and removed it
            if os.path.samestat(os.fstat(fd), os.stat(lock)):
                break
        except FileNotFoundError:
            pass
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(lock)
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield tmp, old
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _remove(path: Path) -> None:
    """Remove a folder tree, a file or a link; nothing if it is not there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()
