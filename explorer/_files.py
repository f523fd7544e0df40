"""File checks, writes and names for the exporters, the front writers and the caches.

:func:`check_targets` refuses to replace existing files unless forced, before anything is
written; :func:`write_atomic` is :func:`safeio.write_atomic` with the explorer's error;
:func:`write_set` writes a set of files into a folder all at once (the folder holds the
whole old set or the whole new set, whenever the process is stopped);
:func:`safe_name` makes a model name or path into a file name (the caches' keys).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import safeio
from explorer.errors import ExplorerError

__all__ = ["check_targets", "safe_name", "write_atomic", "write_set"]


def check_targets(paths: Iterable[Path], force: bool) -> None:
    """Refuse to go on when any of ``paths`` exists and ``force`` is not set.

    Raises:
        ExplorerError: Naming every existing file (and that ``--force`` replaces them).
    """
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise ExplorerError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "use --force to replace"
        )
    bad = [str(p) for p in paths if p.exists() and not p.is_file()]
    if bad:
        raise ExplorerError(f"{', '.join(bad)}: not a file; refusing to replace")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :mod:`safeio.files`).

    Raises:
        ExplorerError: The folder cannot be created or written.
    """
    try:
        safeio.write_atomic(path, data)
    except OSError as exc:
        raise ExplorerError(f"cannot write {path}: {exc.strerror or exc}") from None


def safe_name(name: str) -> str:
    """Return a file-name-safe form of a model name or path (a hash keeps paths apart)."""
    text = str(name)
    stem = Path(text).stem if ("/" in text or "\\" in text) else text
    clean = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem)[:64] or "model"
    if clean != text:
        clean += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return clean


#: A temporary file left by an interrupted atomic write (``.<name>.<8 random>.tmp``).
_TMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def write_set(folder: Path, files: Mapping[str, str | bytes], force: bool) -> list[Path]:
    """Write ``files`` (name → text or bytes) into ``folder`` as one set, all or nothing.

    The new contents of the folder are made aside, in a temporary folder next to it
    (``.<folder>.export-<random>.partial``): the new files written and flushed, the
    folder's other files carried over as hard links (copies where a link cannot be
    made). Then the two folders are exchanged in one atomic rename (Linux
    ``renameat2(RENAME_EXCHANGE)``) and the old contents removed. Whenever the process
    is stopped, ``folder`` holds either its whole old contents or its whole new ones.
    (Where the file system cannot exchange, the old folder is renamed aside and the new
    one into place; a process stopped between those two renames leaves the old folder
    aside, and the next call puts it back before going on.) Leftovers of interrupted
    writes are removed first: temporary folders beside it and ``.*.tmp`` files in it.
    Calls on folders of one parent folder are serialised by a lock on that parent.

    Args:
        folder: The output folder (created when missing). It may hold other files, which
            are kept; it may not hold folders, and may not be the working folder or one
            above it (its inode changes).
        files: The set, by file name.
        force: Replace files of the set that exist.

    Returns:
        The files written, in the order of ``files``.

    Raises:
        ExplorerError: Files of the set exist (without ``force``), or are folders; the
            folder is a file, holds folders, is (above) the working folder, or cannot be
            written.
    """
    target = Path(os.path.abspath(folder))
    if target.is_symlink():
        target = target.resolve()
    if target.parent == target:
        raise ExplorerError(f"{folder}: cannot write an export set into the root folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.parent):
            _recover(target)
            _check_set(target, folder, files, force)
            _swap_in(target, files)
    except OSError as exc:
        raise ExplorerError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return [Path(folder) / name for name in files]


@contextlib.contextmanager
def _locked(parent: Path) -> Iterator[None]:
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _recover(target: Path) -> None:
    """Undo what an interrupted :func:`write_set` (or atomic write) left behind."""
    name = target.name
    for aside in sorted(target.parent.glob(f".{_glob_escape(name)}.export-*.old")):
        if not target.exists() and not target.is_symlink():
            os.rename(aside, target)  # stopped between its two renames: the old set back
        else:
            shutil.rmtree(aside)
    for partial in target.parent.glob(f".{_glob_escape(name)}.*.partial"):
        if partial.is_dir() and not partial.is_symlink():
            shutil.rmtree(partial)
    if target.is_dir():
        for entry in os.scandir(target):
            if _TMP_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def _glob_escape(text: str) -> str:
    """Return ``text`` with glob's special characters matched literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _check_set(target: Path, shown: Path, files: Mapping[str, str | bytes], force: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise ExplorerError(f"{shown}: not a folder")
    cwd = Path.cwd().resolve()
    if cwd == target or target in cwd.parents:
        raise ExplorerError(
            f"{shown}: an export set replaces its folder as a whole, and this is the working "
            "folder (or one above it); give --out a folder of its own"
        )
    existing = [n for n in files if (target / n).exists() or (target / n).is_symlink()]
    if existing and not force:
        paths = [str(shown / n) for n in existing]
        raise ExplorerError(
            f"{', '.join(paths)} already exist{'s' if len(paths) == 1 else ''}; "
            "use --force to replace"
        )
    bad = [str(shown / n) for n in existing if not (target / n).is_file()]
    if bad:
        raise ExplorerError(f"{', '.join(bad)}: not a file; refusing to replace")
    folders = sorted(
        e.name
        for e in os.scandir(target)
        if e.name not in files and not (e.is_file(follow_symlinks=False) or e.is_symlink())
    )
    if folders:
        raise ExplorerError(
            f"{shown} holds {', '.join(folders)}, not a file; an export set replaces its "
            "folder as a whole and carries over only files: give --out a folder of its own"
        )


def _swap_in(target: Path, files: Mapping[str, str | bytes]) -> None:
    """Make the new contents aside, then exchange them with the old in one rename."""
    name = target.name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.export-", suffix=".partial", dir=target.parent))
    mask = _umask()
    try:
        old_mode = stat.S_IMODE(target.stat().st_mode) if target.is_dir() else None
        os.chmod(tmp, old_mode if old_mode is not None else 0o777 & ~mask)
        for fname, data in files.items():
            _write_new(tmp / fname, data.encode("utf-8") if isinstance(data, str) else data, mask)
        if old_mode is not None:
            for entry in os.scandir(target):
                if entry.name not in files:
                    _carry(Path(entry.path), tmp / entry.name)
        _fsync_dir(tmp)
        if old_mode is None:
            os.rename(tmp, target)
        elif not _exchange(tmp, target):
            aside = tmp.with_name(tmp.name.removesuffix(".partial") + ".old")
            os.rename(target, aside)
            os.rename(tmp, target)
            shutil.rmtree(aside, ignore_errors=True)
        _fsync_dir(target.parent)
    finally:
        if tmp.is_dir():  # before the swap: the new set; after an exchange: the old one
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_new(path: Path, data: bytes, mask: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~mask)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _carry(src: Path, dst: Path) -> None:
    """Carry an entry of the old folder into the new one (a hard link, or a copy)."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Exchange two paths in one atomic rename; ``False`` where that is not supported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a C library without it
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # the file system (or kernel) cannot exchange
    raise OSError(code, os.strerror(code), str(a), None, str(b))
