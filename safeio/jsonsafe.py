"""The one JSON encoding of results, summaries and study attributes.

:func:`json_safe` turns nested results into data that strict JSON (and Optuna's storages)
accept: non-finite floats become ``None``, tuples and sets lists, NumPy scalars Python
numbers, dict keys strings, anything else its ``str``. :func:`dumps` is ``json.dumps`` of
that, so a file this project writes is always valid JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps", "json_safe"]


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


def dumps(data: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Return ``data`` as strict JSON text (see :func:`json_safe`), newline-terminated."""
    return json.dumps(json_safe(data), indent=indent, sort_keys=sort_keys) + "\n"
