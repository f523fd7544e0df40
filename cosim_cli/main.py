"""The ``cosim`` command: a thin dispatcher over one module per subcommand.

Each module in :mod:`cosim_cli.commands` exposes ``register(subparsers)``, which adds its
parser and sets ``run`` (a function of the parsed arguments returning an exit code).
Commands parse, call the public API and print; no logic lives here.

Exit codes: 0 success, 2 bad input (with a clear message, never a traceback), 130
interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rich.markup import escape

from cosim import __version__
from cosim_cli.console import stderr_console
from cosim_cli.errors import USER_ERRORS, missing_package_message

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand modules under :mod:`cosim_cli.commands`, in help order.
COMMANDS: tuple[str, ...] = (
    "validate",
    "schema",
    "devices",
    "simulate",
    "trace",
    "baseline",
    "explore",
    "pareto",
    "export",
    "rtlcheck",
    "dashboard",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cosim",
        description="Co-design simulator for ternary (MatMul-free) LLM accelerators.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cosim_cli.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cosim`` command.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    err = stderr_console()
    try:
        code: int = args.run(args)
    except USER_ERRORS as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)
        return 2
    except ModuleNotFoundError as exc:
        message = missing_package_message(exc)
        if message is None:
            raise  # a broken installation, not a missing extra: keep the traceback
        err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    return code
