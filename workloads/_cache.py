"""Where the disk caches live, and what invalidates them (the ``workloads`` sources).

Shared by the trace cache (:mod:`workloads.trace_cache`) and the synthetic-weight cache
(:mod:`workloads.weight_cache`).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root", "code_digest", "writable"]

#: Environment variable naming the cache's root folder.
CACHE_ENV = "COSIM_CACHE_DIR"


def cache_root() -> Path:
    """Return the cache's root folder (it need not exist yet)."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mmfree-cosim"


@cache
def code_digest() -> str:
    """Return a digest of the sources that make traces (the ``workloads`` package)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def writable(folder: Path) -> bool:
    """Whether the cache's folder exists (made if needed) and can be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
