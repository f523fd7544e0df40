"""The errors ``workloads`` raises for input a user can fix.

Every one of them is a :class:`WorkloadError` (a :class:`ValueError`) whose message is
complete on its own: the CLI prints it as one line (or one line per problem) with exit
code 2, never a traceback. Anything else raised from this package is a bug.

- :class:`ModelConfigError`: an unknown model name, a malformed or unsupported
  ``config.json``.
- :class:`CheckpointError`: a checkpoint whose files or tensors do not match its config,
  a folder without safetensors weights, or files outside the folder.
- :class:`TraceError`: a trace that cannot be written, or one that is missing, corrupt,
  of another schema version, or breaks its schema (every problem listed, located).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CheckpointError", "ModelConfigError", "TraceError", "WorkloadError"]


class WorkloadError(ValueError):
    """Base of every user-fixable error of :mod:`workloads`."""


class ModelConfigError(WorkloadError):
    """A model name or configuration that cannot be used.

    Args:
        message: What is wrong (the first line).
        problems: Further lines, one problem each (every problem found, not just the
            first).
    """

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        text = (
            message
            if not self.problems
            else message + "\n" + "\n".join(f"  {p}" for p in self.problems)
        )
        super().__init__(text)


class CheckpointError(ModelConfigError):
    """A checkpoint with missing, misshapen or unreadable tensors."""


class TraceError(WorkloadError):
    """A trace that cannot be written or read (missing, corrupt, other schema version).

    Args:
        message: What is wrong (the first line).
        problems: Further lines, one problem each, located by file, row and column
            (``trace/ops.parquet row 17 column elements: must be >= 0 (got -4)``).
        more: Problems found beyond those listed (the list is bounded).
    """

    def __init__(self, message: str, problems: Iterable[str] = (), more: int = 0) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.more = more
        lines = [message, *(f"  {p}" for p in self.problems)]
        if more:
            lines.append(f"  ... and {more} more problem{'s' if more != 1 else ''}")
        super().__init__("\n".join(lines))
