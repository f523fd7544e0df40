"""Validation problems and the one error that carries all of them.

A description is either turned into frozen objects or refused with a single
:class:`SpecError` listing *every* problem found, each located by file, line and dotted
path, in the one message style the whole tool uses::

    u280_hbm.yaml:42 units[2].lanes: must be a power of two (got 48)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_PROBLEMS", "Problem", "SpecError"]


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


#: Problems listed in one error; a file with more (a hostile or generated one) gets the
#: first ones and a count of the rest.
MAX_PROBLEMS = 100


class SpecError(ValueError):
    """A description was refused; ``problems`` lists the reasons, sorted by line.

    Args:
        problems: What is wrong, each located.
        more: Further problems found but not built (a caller that stopped early).
    """

    def __init__(self, problems: Iterable[Problem], more: int = 0) -> None:
        found = sorted(set(problems))
        if not found:
            raise ValueError("SpecError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(found[:MAX_PROBLEMS])
        self.more = more + len(found) - len(self.problems)
        super().__init__(self.render())

    def render(self) -> str:
        """Return the problems, one per line (and how many more were not listed)."""
        lines = [str(p) for p in self.problems]
        if self.more:
            lines.append(f"... and {self.more:,} more problems")
        return "\n".join(lines)
