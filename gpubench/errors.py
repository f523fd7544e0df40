"""The error the GPU-baseline package raises for input a user can fix.

A :class:`BaselineError` is a :class:`ValueError` whose message is complete on its own:
the first line says what is wrong, the following lines (one per problem, every problem
found) say where, by dotted path (``cases[3].decode_ms_per_token: must be a number >= 0
(got "x")``). The ``cosim`` CLI prints it with exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["BaselineError"]


class BaselineError(ValueError):
    """A baseline file that cannot be read or written, or a bad harness option.

    Args:
        message: What is wrong (the first line).
        problems: Further lines, one problem each.
    """

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        text = message + "".join(f"\n  {p}" for p in self.problems)
        super().__init__(text)
