"""Atomic writes: a file or a folder appears whole under its name, or not at all.

Both write under a temporary name in the target's own folder (same file system, so the
final rename is atomic) and rename into place; on any failure the temporary is removed
and whatever stood under the name before is left as it was. Errors are ``OSError``: each
caller says which of its inputs could not be written, in its own error class.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file", "atomic_folder", "write_atomic"]


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
    An existing ``out`` is renamed aside, the new folder renamed into place, then the old
    one removed, so the name never holds a half-written folder.

    Raises:
        OSError: The folder cannot be created or renamed into place.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; results are not
        yield tmp
        if out.exists() or out.is_symlink():
            old = tmp.with_suffix(".old")
            os.replace(out, old)
            os.replace(tmp, out)
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
