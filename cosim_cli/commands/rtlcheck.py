"""``cosim rtlcheck ARCH.yaml``: the engine's cycles against the RTL twin's, for a design.

``--configs N`` sequences of matvecs are drawn (``--seed``): the tiny model's own ternary
matrices in execution order from a seeded position, enough of them that the engine
streams them as the RTL does, with random activations. Each runs under every memory
timing of ``--timings`` (default: a beat every cycle, a 30-cycle latency, a beat every
second and fourth cycle, a quarter of the slots lost at random; or
``L<latency>/I<interval>/S<stall>``) through the RTL (Verilator; built once per design,
minutes the first time, then cached) and through the engine with the description's
memory set to the same timing (:mod:`cosim.rtl_check`). Printed: per run the RTL's
cycles, the engine's and the error, then the mean and worst ``|error|``.

``--json`` prints one object: ``design``, ``model``, ``seed``, ``configs``,
``max_transactions``, ``verilator`` (its version), ``rtl_params`` (``tmac_core``'s
parameters), ``timings`` (name → ``latency_cycles``, ``beat_interval_cycles``,
``stall_probability``, ``seed``), ``runs`` (each: ``run``, ``timing``, ``matvecs``,
``weights``, ``rtl_cycles``, ``model_cycles``, ``error_pct`` = 100 · (model - rtl) /
rtl), ``mean_abs_error_pct``, ``worst_abs_error_pct`` and ``worst_run`` (``run``,
``timing``). Without Verilator, or for a design the RTL does not build, it says so
(exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from cosim_cli.console import progress_bar, stderr_console, stdout_console
from cosim_cli.errors import CliInputError

__all__ = ["register", "run"]

_EPILOG = (
    "--json keys: design, model, seed, configs, max_transactions, verilator, rtl_params, "
    "timings, runs (run, timing, matvecs, weights, rtl_cycles, model_cycles, error_pct), "
    "mean_abs_error_pct, worst_abs_error_pct, worst_run. Needs verilator "
    "(Debian: apt-get install verilator)."
)


def register(sub: Any) -> None:
    """Add the ``rtlcheck`` subcommand."""
    from cosim.fpga import SimOptions
    from cosim.rtl_check import TIMINGS

    p: argparse.ArgumentParser = sub.add_parser(
        "rtlcheck",
        help="the engine's cycles against the RTL twin's (Verilator) for a design",
        description="Run matvec sequences of the tiny model through the RTL twin "
        "(Verilator) and the engine under several memory timings; print both cycle "
        "counts per run and the error.",
        epilog=_EPILOG,
    )
    p.add_argument("arch", type=Path, metavar="ARCH.yaml", help="architecture description")
    p.add_argument(
        "--configs", type=int, default=4, metavar="N", help="matvec sequences (default 4)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sequences (default 0)")
    p.add_argument(
        "--timings",
        default=",".join(TIMINGS),
        metavar="T[,T]",
        help=f"memory timings: {', '.join(TIMINGS)} or L<latency>/I<interval>/S<stall> "
        "(default: all named ones)",
    )
    p.add_argument(
        "--max-transactions",
        type=int,
        default=SimOptions().max_transactions,
        metavar="K",
        help="the engine's weight transfers per matvec (as cosim simulate; default %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the runs as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Draw the sequences, run them on the RTL and in the engine, report."""
    from arch_models.spec import load_arch
    from cosim.rtl_check import check_design, model_sequences, parse_timing

    if args.configs < 1:
        raise CliInputError("--configs must be at least 1")
    if args.max_transactions < 2:
        raise CliInputError("--max-transactions must be at least 2")
    timings = dict(parse_timing(t) for t in args.timings.split(",") if t.strip())
    if not timings:
        raise CliInputError("give at least one memory timing (--timings)")
    arch = load_arch(args.arch)
    if arch.is_gpu:
        raise CliInputError(f"{args.arch}: a GPU description has no RTL twin")
    sequences = model_sequences(arch, args.configs, args.seed)
    err = stderr_console()
    with progress_bar(err, quiet=args.json) as progress:
        task = progress.add_task("building the RTL (Verilator, once per design)", total=None)

        def show(stage: str, done: int, total: int) -> None:
            if stage == "run":
                progress.update(task, description="RTL vs engine", completed=done, total=total)

        report = check_design(
            arch,
            sequences,
            timings,
            max_transactions=args.max_transactions,
            seed=args.seed,
            on_progress=show,
        )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    out = stdout_console()
    t = Table(
        title=f"{report.design}: RTL vs engine cycles ({len(sequences)} sequences of the "
        f"tiny model's matvecs, seed {args.seed})",
        title_justify="left",
    )
    for col in ("run", "timing", "matvecs", "weights", "RTL cycles", "model cycles", "error"):
        t.add_column(col, justify="left" if col == "timing" else "right")
    for r in report.runs:
        t.add_row(
            str(r.run),
            r.timing,
            str(r.matvecs),
            f"{r.weights:,}",
            f"{r.rtl_cycles:,}",
            f"{r.model_cycles:,.1f}",
            f"{r.error:+.2%}",
        )
    out.print(t)
    worst = report.worst
    out.print(
        f"mean |error| {report.mean_abs_error:.2%}, worst {abs(worst.error):.2%} "
        f"(run {worst.run}, {worst.timing}); {len(report.runs)} runs"
    )
    return 0
