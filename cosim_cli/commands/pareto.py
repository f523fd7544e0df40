"""``cosim pareto --storage URL --study NAME``: a study's Pareto front, as a table and files.

Prints the front (feasible designs no other feasible design beats on both tokens/s and
watts) and writes it into ``--out`` (default: the working folder) as
``<study>.front.csv`` and ``.parquet``, with a plot of every simulated design as
``.html`` and ``.png`` (``--format`` picks; PNG needs Chromium, see
:mod:`explorer.pareto`), beside the fastest measured GPU case of the study's model at
batch 1 (:mod:`gpubench.fastest`; ``--json``'s ``gpu``). Existing files are replaced only
with ``--force``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosim_cli.console import stdout_console
from cosim_cli.errors import CliInputError
from cosim_cli.front_table import add_table_options, front_table

if TYPE_CHECKING:
    from gpubench.fastest import Fastest

__all__ = ["front_table", "register", "run"]


def register(sub: Any) -> None:
    """Add the ``pareto`` subcommand."""
    from explorer.pareto import FRONT_FORMATS

    p: argparse.ArgumentParser = sub.add_parser(
        "pareto",
        help="write a study's Pareto front (CSV, Parquet) and its plot (HTML, PNG)",
        description="Print a study's Pareto front (feasible designs no other feasible design "
        "beats on both tokens/s and watts) and write it as CSV and Parquet, with a plot of "
        "every simulated design as HTML and PNG.",
    )
    p.add_argument("--storage", metavar="URL", help="storage URL or SQLite file (studies.db)")
    p.add_argument("--study", required=True, metavar="NAME", help="the study's name")
    p.add_argument("--out", type=Path, default=Path("."), metavar="DIR", help="folder (.)")
    p.add_argument(
        "--format",
        default=",".join(FRONT_FORMATS),
        metavar="F[,F]",
        help=f"any of {', '.join(FRONT_FORMATS)} (default all)",
    )
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="GPU baseline whose fastest case of the study's model (batch 1) the plot shows "
        "(default: every shipped baseline)",
    )
    p.add_argument("--json", action="store_true", help="print the front as JSON")
    add_table_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the study, print its front, write the files."""
    from explorer.objectives import objectives_of
    from explorer.pareto import front_of, gpu_label, trials_frame, write_front
    from explorer.records import StudyAttr
    from explorer.study import load_study

    study = load_study(args.storage, args.study)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    frame = trials_frame(study)  # the study is read once
    objectives = objectives_of(study.user_attrs)
    front = front_of(frame, objectives)
    paths = study.user_attrs.get(StudyAttr.SPACE_PATHS) or {}
    table = front_table(
        front, paths, args.study, wide=args.wide, columns=args.columns, objectives=objectives
    )
    gpu = _fastest_gpu(str(study.user_attrs.get(StudyAttr.MODEL, "")), args.baseline)
    written = write_front(study, args.out, formats, force=args.force, frame=frame, gpu=gpu)
    out = stdout_console()
    if args.json:
        records = json.loads(front.to_json(orient="records"))
        print(
            json.dumps(
                {
                    "study": args.study,
                    "front": records,
                    "files": [str(p) for p in written],
                    "gpu": gpu.to_json() if gpu is not None else None,
                }
            )
        )
        return 0
    out.print(table)
    if gpu is not None and {"html", "png"} & set(formats):
        c = gpu.case
        out.print(
            f"the plot shows the GPU: {gpu_label(gpu)} ({gpu.source}), "
            f"{c.tokens_per_s or 0:,.1f} tokens/s at {c.avg_power_w or 0:.1f} W"
        )
    for path in written:
        out.print(f"wrote {path}")
    return 0


def _fastest_gpu(model: str, baseline: Path | None) -> Fastest | None:
    """The fastest measured GPU case of ``model`` at batch 1 (``None``: none measured)."""
    from gpubench import BaselineError
    from gpubench.fastest import fastest_shipped

    if not model:
        return None
    try:
        return fastest_shipped(model, 1, [baseline] if baseline is not None else None)
    except BaselineError as exc:
        raise CliInputError(f"cannot read the GPU baseline: {exc}") from None
