"""Rich consoles for the CLI: wide tables when output goes to a file or pipe."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["stderr_console", "stdout_console"]

_PIPE_WIDTH = 200


def stdout_console() -> Console:
    """Return a console for results (standard output)."""
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    return Console(highlight=False, soft_wrap=True, width=width)


def stderr_console() -> Console:
    """Return a console for problems and progress (standard error)."""
    width = None if sys.stderr.isatty() else _PIPE_WIDTH
    return Console(stderr=True, highlight=False, soft_wrap=True, width=width)
