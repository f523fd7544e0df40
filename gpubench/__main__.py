r"""``python -m gpubench``: the harness's own command line, for the GPU machine.

The GPU machine has torch, triton, numpy, pandas, pyarrow, pyyaml, rich and ``pynvml``
but not the rest of the package's dependencies (pydantic, simpy, optuna, dash...); this
entry point needs only the standard library until ``measure`` imports torch (and, for
the model, :mod:`workloads`)::

    PYTHONPATH=. python3 -m gpubench measure --out $OUT/h200.json \\
        [--models 370m,1.3b] [--impls reference,dense] [--batches 1,16] \\
        [--launch eager,graph] [--no-micro] [--time-budget-s 540] [--quick]
    python3 -m gpubench merge A.json B.json --out h200.json
    python3 -m gpubench show h200.json [more.json ...]

``show`` with several files shows them merged. Exit codes: 0 success, 2 bad input.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gpubench.errors import BaselineError
from gpubench.report import format_text
from gpubench.schema import (
    IMPLS,
    LAUNCHES,
    Baseline,
    merge_baselines,
    read_baseline,
    write_baseline,
)

if TYPE_CHECKING:
    from gpubench.measure import MeasureOptions

__all__ = ["add_measure_arguments", "main", "options_from_args", "read_merged"]


def _list(kind: Callable[[str], object]) -> Callable[[str], tuple[object, ...]]:
    def parse(text: str) -> tuple[object, ...]:
        try:
            items = tuple(kind(x.strip()) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a comma-separated list: {text!r}") from None
        if not items:
            raise argparse.ArgumentTypeError("empty list")
        return items

    return parse


def add_measure_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``measure`` options to ``p`` (shared with ``cosim baseline measure``)."""
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="JSON file to write")
    p.add_argument(
        "--models",
        type=_list(str),
        default=("370m", "1.3b", "2.7b"),
        metavar="M,M",
        help="models (default 370m,1.3b,2.7b; tiny for tests)",
    )
    p.add_argument(
        "--impls",
        type=_list(str),
        default=IMPLS,
        metavar="I,I",
        help=f"implementations (default {','.join(IMPLS)})",
    )
    p.add_argument(
        "--batches", type=_list(int), default=(1, 16), metavar="B,B", help="default 1,16"
    )
    p.add_argument(
        "--launch",
        type=_list(str),
        default=LAUNCHES,
        metavar="L,L",
        help="eager and/or graph (default both)",
    )
    p.add_argument("--prompt-tokens", type=int, default=128, metavar="P", help="default 128")
    p.add_argument("--gen-tokens", type=int, default=256, metavar="G", help="default 256")
    p.add_argument("--warmup-steps", type=int, default=8, metavar="W", help="default 8")
    p.add_argument("--prefill-reps", type=int, default=3, metavar="R", help="default 3")
    p.add_argument(
        "--power-window-s", type=float, default=2.0, metavar="S", help="least power window"
    )
    p.add_argument("--idle-s", type=float, default=3.0, metavar="S", help="idle reading")
    p.add_argument("--no-micro", action="store_true", help="skip the microbenchmarks")
    p.add_argument("--no-counts", action="store_true", help="skip the kernel counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument(
        "--time-budget-s",
        type=float,
        metavar="S",
        help="start no new case after S seconds (the rest is recorded as skipped)",
    )
    p.add_argument(
        "--compile-limit-s",
        type=float,
        default=240.0,
        metavar="S",
        help="abandon a torch.compile of one decoder after S seconds (default 240)",
    )
    p.add_argument(
        "--capture-all",
        action="store_true",
        help="store the profiled kernel list of every implementation (default: only of "
        "those the meta device cannot trace: compiled, fused)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: short prompt/decode/windows")
    p.add_argument("--dry-run", action="store_true", help="print the plan and time estimate only")


def options_from_args(args: argparse.Namespace, command: str) -> MeasureOptions:
    """Build :class:`~gpubench.measure.MeasureOptions` (imports torch)."""
    from gpubench.measure import MeasureOptions

    opts = MeasureOptions(
        out=args.out,
        models=tuple(args.models),
        impls=tuple(args.impls),
        batches=tuple(args.batches),
        launches=tuple(args.launch),
        prompt_tokens=args.prompt_tokens,
        gen_tokens=args.gen_tokens,
        warmup_steps=args.warmup_steps,
        prefill_reps=args.prefill_reps,
        power_window_s=args.power_window_s,
        idle_s=args.idle_s,
        micro=not args.no_micro,
        counts=not args.no_counts,
        seed=args.seed,
        device=args.device,
        time_budget_s=args.time_budget_s,
        compile_limit_s=args.compile_limit_s,
        capture_all=args.capture_all,
        command=command,
    )
    return opts.quick_options() if args.quick else opts


def read_merged(paths: Sequence[Path]) -> Baseline:
    """Read one baseline, or several merged in order.

    Raises:
        BaselineError: If any file is missing or invalid.
    """
    parts = [read_baseline(p) for p in paths]
    return parts[0] if len(parts) == 1 else merge_baselines(parts, [str(p) for p in paths])


def _measure(args: argparse.Namespace, command: str) -> int:
    from gpubench.measure import estimate_seconds, measure

    opts = options_from_args(args, command)
    if args.dry_run:
        opts.check()
        n = len(opts.models) * len(opts.impls) * len(opts.batches) * len(opts.launches)
        print(f"{n} cases; estimated {estimate_seconds(opts):.0f} s on an H200")
        return 0

    def log(line: str) -> None:
        print(line, flush=True)

    baseline = measure(opts, log)
    print()
    print(format_text(baseline), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``measure``, ``merge`` or ``show``; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m gpubench", description="Measure and inspect GPU baselines."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_measure_arguments(sub.add_parser("measure", help="run the measurement harness"))
    merge = sub.add_parser("merge", help="combine partial baseline files")
    merge.add_argument("files", type=Path, nargs="+")
    merge.add_argument("--out", type=Path, required=True)
    show = sub.add_parser("show", help="print baseline files (several: merged)")
    show.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    command = "python -m gpubench " + shlex.join(argv)
    try:
        if args.command == "measure":
            return _measure(args, command)
        baseline = read_merged(args.files)
        if args.command == "merge":
            write_baseline(args.out, baseline)
            print(f"wrote {args.out}: {len(baseline.runs)} runs, {len(baseline.cases)} cases")
        else:
            print(format_text(baseline), end="")
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
