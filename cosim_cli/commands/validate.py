"""``cosim validate FILE...``: check architecture descriptions and summarise them.

Exit code 0 when every file is valid, 2 when any is not; each problem is printed as
``file:line path: message``. ``--json`` prints one object per file instead of tables.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from arch_models.spec import Arch, SpecError, load_arch
from arch_models.spec.summary import summarize
from cosim_cli.console import stderr_console, stdout_console

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``validate`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check architecture descriptions (YAML) and summarise them",
        description="Check architecture descriptions "
        "its content, and print a summary table of the valid ones. Every problem is "
        "printed as file:line path: message; exit 2 when any file is invalid.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="architecture description files")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate every file; print a summary table and every problem."""
    out = stdout_console()
    err = stderr_console()
    results: list[dict[str, Any]] = []
    valid: list[Arch] = []
    for path in args.files:
        try:
            arch = load_arch(path)
        except SpecError as exc:
            listed = [str(p) for p in exc.problems]
            if exc.more:
                listed.append(f"... and {exc.more:,} more problems")
            results.append({"file": path, "valid": False, "problems": listed})
            if not args.json:
                n = len(exc.problems) + exc.more
                err.print(f"[red]✗[/] {path}: {n:,} problem{'s' if n != 1 else ''}", markup=True)
                for line in listed:
                    err.print(f"  {line}", markup=False)
            continue
        valid.append(arch)
        results.append({"file": path, "valid": True, "summary": summarize(arch)})
    if args.json:
        out.print_json(json.dumps(results))
    elif valid:
        out.print(_table(valid))
    return 0 if all(r["valid"] for r in results) else 2


def _table(archs: list[Arch]) -> Table:
    table = Table(title="valid descriptions", title_justify="left")
    for col in (
        "file",
        "design",
        "device",
        "clock MHz",
        "cores",
        "off-chip GB/s",
        "adds/cycle",
        "units",
    ):
        table.add_column(
            col,
            justify="right"
            if col in ("clock MHz", "cores", "off-chip GB/s", "adds/cycle")
            else "left",
        )
    for arch in archs:
        s = summarize(arch)
        table.add_row(
            arch.filename,
            s["name"],
            s["device"],
            f"{s['clock_mhz']:g}",
            str(s["cores"]),
            f"{s['offchip_peak_gb_per_s']:g}",
            str(s["ternary_adds_per_cycle"]) if s["ternary_adds_per_cycle"] else "-",
            ", ".join(f"{k}×{v}" if v > 1 else k for k, v in s["unit_kinds"].items()),
        )
    return table
