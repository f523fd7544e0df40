"""Validation problems and the one error that carries all of them.

A description is either turned into frozen objects or refused with a single
:class:`SpecError` listing *every* problem found, each located by file, line and dotted
path, in the one message style the whole tool uses::

    u280_hbm.yaml:42 units[2].lanes: must be a power of two (got 48)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Problem", "SpecError"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a description.

    Attributes:
        filename: The file's name as shown to the user.
        line: 1-based line (0 when the file could not be read at all).
        path: Dotted path of the offending value, e.g. ``units[2].lanes``.
        message: What is wrong, in the form ``must be ... (got ...)``.
    """

    filename: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return _one_line(f"{self.filename}:{self.line} {self.path}: {self.message}")


def _one_line(text: str) -> str:
    """Escape line breaks so every problem stays on one line, whatever the input held."""
    return text.translate(
        {
            10: "\\n",
            13: "\\r",
            0x2028: "\\u2028",
            0x2029: "\\u2029",
            0x85: "\\x85",
            11: "\\v",
            12: "\\f",
            28: "\\x1c",
            29: "\\x1d",
            30: "\\x1e",
        }
    )


class SpecError(ValueError):
    """A description was refused; ``problems`` lists every reason, sorted by line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(set(problems)))
        if not self.problems:
            raise ValueError("SpecError needs at least one problem")
        super().__init__(self.render())

    def render(self) -> str:
        """Return every problem, one per line."""
        return "\n".join(str(p) for p in self.problems)
