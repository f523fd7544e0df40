"""File checks, writes and names for the exporters, the front writers and the caches.

:func:`check_targets` refuses to replace existing files unless forced, before anything is
written; :func:`write_atomic` is :func:`safeio.write_atomic` with the explorer's error;
:func:`safe_name` makes a model name or path into a file name (the caches' keys).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import safeio
from explorer.errors import ExplorerError

__all__ = ["check_targets", "safe_name", "write_atomic"]


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
