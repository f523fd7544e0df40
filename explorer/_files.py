"""File checks and writes for the exporters, the front writers and the caches.

:func:`check_targets` refuses to replace existing files unless forced, before anything is
written; :func:`write_atomic` is :func:`safeio.write_atomic` with the explorer's error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import safeio
from explorer.errors import ExplorerError

__all__ = ["check_targets", "write_atomic"]


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
