"""Rich consoles for the CLI: wide tables when output goes to a file or pipe."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["progress_bar", "stderr_console", "stdout_console"]

_PIPE_WIDTH = 200


def stdout_console() -> Console:
    """Return a console for results (standard output)."""
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    return Console(highlight=False, soft_wrap=True, width=width)


def stderr_console() -> Console:
    """Return a console for problems and progress (standard error)."""
    width = None if sys.stderr.isatty() else _PIPE_WIDTH
    return Console(stderr=True, highlight=False, soft_wrap=True, width=width)


def progress_bar(err: Console, *, quiet: bool = False) -> Progress:
    """Return the CLI's progress bar on ``err`` (description, bar, count, time; transient).

    Args:
        err: The standard-error console (:func:`stderr_console`).
        quiet: Hide it unless standard error is a terminal (``--json`` output).
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet and not err.is_terminal,
    )
