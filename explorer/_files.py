"""Small file helpers shared by the exporters, the front writers and the caches.

:func:`json_safe` turns summaries into data that strict JSON (and Optuna's storages) accept:
no NaN or infinities (they become ``None``), tuples as lists, NumPy scalars as Python
numbers. :func:`write_atomic` writes a file under a temporary name in the same folder and
renames it into place, so a reader never sees half a file; :func:`check_targets` refuses to
replace existing files unless forced, before anything is written.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from explorer.errors import ExplorerError

__all__ = ["check_targets", "json_safe", "write_atomic"]


def json_safe(x: Any) -> Any:
    """Return ``x`` as strict-JSON data: non-finite floats become ``None``.

    Args:
        x: Nested dicts, lists, tuples and scalars (NumPy scalars included).

    Returns:
        The same structure with dict keys as strings.
    """
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set | frozenset):
        return [json_safe(v) for v in x]
    item = getattr(x, "item", None)  # NumPy scalar
    if callable(item):
        return json_safe(item())
    return str(x)


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
    """Write ``data`` to ``path`` atomically (temporary file, then rename).

    Raises:
        ExplorerError: The folder cannot be created or written.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ExplorerError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExplorerError(f"cannot write {path}: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
