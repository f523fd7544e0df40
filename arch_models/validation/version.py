"""The ``version`` field of every versioned file format (descriptions, search spaces).

One check and one message for all of them, so a file of a format this tool does not read
says so the same way wherever it is found.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_format_version"]


def check_format_version(value: Any, supported: int) -> Any:
    """Return ``value`` when it is the format version this tool reads.

    Meant for a pydantic ``field_validator("version", mode="before")``.

    Args:
        value: The file's ``version`` value, as read.
        supported: The version this tool reads.

    Raises:
        ValueError: ``unsupported format version 2; this tool reads version 1``.
    """
    if value != supported:
        raise ValueError(
            f"unsupported format version {value!r}; this tool reads version {supported}"
        )
    return value
