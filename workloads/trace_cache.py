"""A disk cache of traces, shared by every command and worker on the machine.

Making a trace builds the model's synthetic weights and runs the functional model (about
14 s for 2.7B on this machine), every time ``cosim simulate`` runs. The cache keeps each
trace it made under a key of everything that decides its content:

- the model: a built-in name, or a configuration file's name and the SHA-256 of its
  bytes (checkpoints are not cached: their weights live outside the key);
- the seed, the prompt tokens and the generated tokens;
- the trace format (:data:`~workloads.trace_schema.SCHEMA_VERSION`) and the code that
  makes traces: a digest of the ``workloads`` package's sources, so that a change to the
  functional model or the synthetic weights never serves a stale trace.

Entries are trace folders written atomically (a reader sees a whole trace or none);
workers that make the same entry at once each write a whole one and the last rename
wins. An entry that cannot be read (damaged, or written by another format) is made
again. The root is ``$COSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmfree-cosim``, else
``~/.cache/mmfree-cosim``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from workloads._cache import CACHE_ENV, cache_root, code_digest, writable
from workloads.config import BUILTIN_CONFIGS
from workloads.errors import TraceError
from workloads.trace import Trace, generate_trace, read_trace
from workloads.trace_schema import SCHEMA_VERSION

__all__ = ["CACHE_ENV", "cache_root", "cached_trace", "code_digest", "trace_key"]


def _model_key(model: str) -> str | None:
    """A built-in name, or a configuration file's name and digest (``None``: not cached)."""
    if model.lower() in BUILTIN_CONFIGS:
        return model.lower()
    path = Path(model)
    if path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return f"{re.sub(r'[^A-Za-z0-9._-]', '_', path.stem)[:40]}-{digest}"
    return None  # a checkpoint folder (or nothing: generate_trace says what is wrong)


def trace_key(model: str, seed: int, prompt_tokens: int, gen_tokens: int) -> str | None:
    """Return the cache entry's name for a trace (``None`` when it is not cached)."""
    key = _model_key(model)
    if key is None:
        return None
    return f"{key}-seed{seed}-p{prompt_tokens}-g{gen_tokens}-v{SCHEMA_VERSION}-{code_digest()}"


def cached_trace(
    model: str,
    prompt_tokens: int,
    gen_tokens: int,
    seed: int = 0,
    *,
    root: Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Trace, Path | None, bool]:
    """Return a model's trace from the cache, making (and keeping) it on a miss.

    Args:
        model: Built-in name or configuration file (checkpoints are made, not cached).
        prompt_tokens: Prompt tokens drawn from the seed.
        gen_tokens: Decode steps.
        seed: Seed of the synthetic weights and the prompt.
        root: The cache's root (default :func:`cache_root`).
        on_progress: Passed to :func:`~workloads.trace.generate_trace` on a miss.

    Returns:
        The trace, its cache folder (``None`` when not kept: a checkpoint, or a cache
        folder that cannot be written) and whether it was a hit.

    Raises:
        TraceError: The trace cannot be made (bad counts, an unknown model).
    """
    name = trace_key(model, seed, prompt_tokens, gen_tokens)
    if name is None:
        trace = generate_trace(model, prompt_tokens, gen_tokens, seed=seed, on_progress=on_progress)
        return trace, None, False
    folder = (root or cache_root()) / "traces" / name
    if (folder / "manifest.json").is_file():
        try:
            return read_trace(folder), folder, True
        except TraceError:
            pass  # damaged, or another format: made again below
    if not writable(folder.parent):  # a read-only home, say: made, not kept
        trace = generate_trace(model, prompt_tokens, gen_tokens, seed=seed, on_progress=on_progress)
        return trace, None, False
    trace = generate_trace(
        model, prompt_tokens, gen_tokens, seed=seed, out=folder, on_progress=on_progress
    )
    return trace, folder, False
