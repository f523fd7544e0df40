"""``cosim baseline``: show, merge and measure GPU baselines.

- ``cosim baseline show [FILE ...]``: the runs, cases and microbenchmarks of a baseline
  file as tables (several files: merged; none: the H200 baseline shipped with the
  package); ``--json`` prints the (merged) file instead.
- ``cosim baseline merge A.json B.json --out FILE``: combine partial runs into one file.
- ``cosim baseline measure --out FILE [...]``: run the harness (needs torch; the same
  options as ``python -m gpubench measure``, which is how it runs on a GPU machine
  without the rest of this package's dependencies).

A missing, corrupt or other-version file is reported as one clean error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from cosim_cli.console import stderr_console, stdout_console
from gpubench.__main__ import add_measure_arguments, options_from_args, read_merged
from gpubench.errors import BaselineError
from gpubench.report import case_table, micro_tables, run_lines
from gpubench.schema import Baseline, baseline_to_dict, default_baseline_path, write_baseline

__all__ = ["register", "run_measure", "run_merge", "run_show"]


def register(sub: Any) -> None:
    """Add the ``baseline`` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser(
        "baseline",
        help="measured GPU baselines: show, merge, measure",
        description="Show, merge or measure GPU baseline files: the measured tokens/s, watts "
        "and microbenchmarks the designs are compared with. A missing, corrupt or "
        "other-version file is one clean error (exit 2).",
    )
    actions = p.add_subparsers(dest="baseline_action", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="print a baseline file as tables",
        description="Print the runs, cases and microbenchmarks of baseline files as tables "
        "(several files: merged in order; none: the shipped H200 baseline).",
    )
    show.add_argument(
        "files",
        type=Path,
        nargs="*",
        metavar="FILE",
        help="baseline file(s), merged in order (default: the shipped H200 baseline)",
    )
    show.add_argument("--json", action="store_true", help="print the (merged) file as JSON")
    show.set_defaults(run=run_show)
    merge = actions.add_parser(
        "merge",
        help="combine partial baseline files",
        description="Combine partial baseline runs (for example one per model) into one "
        "file; runs of other format versions are refused.",
    )
    merge.add_argument("files", type=Path, nargs="+", metavar="FILE")
    merge.add_argument("--out", type=Path, required=True, metavar="FILE")
    merge.set_defaults(run=run_merge)
    measure = actions.add_parser(
        "measure",
        help="run the measurement harness (needs torch)",
        description="Measure the GPU baseline on this machine's GPU (needs torch, the gpu "
        "extra; python -m gpubench measure takes the same options without the rest of "
        "this package).",
    )
    add_measure_arguments(measure)
    measure.set_defaults(run=run_measure)


def _rich(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    t = Table(title=title, title_justify="left")
    for k, h in enumerate(headers):
        t.add_column(h, justify="left" if k < 3 or h in ("status", "kind", "what") else "right")
    for r in rows:
        t.add_row(*r)
    return t


def _load(files: list[Path]) -> Baseline:
    if files:
        return read_merged(files)
    path = default_baseline_path()
    if not path.is_file():
        raise BaselineError(
            f"no baseline is shipped yet ({path} is missing); give a FILE, or measure one "
            "with `python -m gpubench measure --out FILE` on a GPU machine"
        )
    return read_merged([path])


def run_show(args: argparse.Namespace) -> int:
    """Print the baseline(s)."""
    baseline = _load(list(args.files))
    out = stdout_console()
    if args.json:
        out.print_json(json.dumps(baseline_to_dict(baseline)))
        return 0
    for line in run_lines(baseline):
        out.print(line, markup=False)
    out.print(_rich(*case_table(baseline)))
    for table in micro_tables(baseline):
        out.print(_rich(*table))
    for note in baseline.notes:
        out.print(f"note: {note}", markup=False)
    return 0


def run_merge(args: argparse.Namespace) -> int:
    """Merge the files into ``--out``."""
    baseline = read_merged(list(args.files))
    write_baseline(args.out, baseline)
    stdout_console().print(
        f"wrote {args.out}: {len(baseline.runs)} runs, {len(baseline.cases)} cases", markup=False
    )
    return 0


def run_measure(args: argparse.Namespace) -> int:
    """Run the harness, then show what it wrote."""
    from gpubench.measure import estimate_seconds, measure

    command = "cosim " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "cosim baseline measure"
    opts = options_from_args(args, command)
    err = stderr_console()
    if args.dry_run:
        opts.check()
        n = len(opts.models) * len(opts.impls) * len(opts.batches) * len(opts.launches)
        stdout_console().print(f"{n} cases; estimated {estimate_seconds(opts):.0f} s on an H200")
        return 0
    baseline = measure(opts, lambda line: err.print(line, markup=False))
    out = stdout_console()
    out.print(_rich(*case_table(baseline)))
    return 0
