"""``cosim pareto --storage URL --study NAME``: a study's Pareto front, as a table and files.

Prints the front (feasible designs no other feasible design beats on both tokens/s and
watts) and writes it into ``--out`` (default: the working folder) as
``<study>.front.csv`` and ``.parquet``, with a plot of every simulated design as
``.html`` and ``.png`` (``--format`` picks; PNG needs Chromium, see
:mod:`explorer.pareto`). Existing files are replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cosim_cli.console import stdout_console
from cosim_cli.front_table import add_table_options, front_table

__all__ = ["front_table", "register", "run"]


def register(sub: Any) -> None:
    """Add the ``pareto`` subcommand."""
    from explorer.pareto import FRONT_FORMATS

    p: argparse.ArgumentParser = sub.add_parser(
        "pareto", help="write a study's Pareto front (CSV, Parquet) and its plot (HTML, PNG)"
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
    p.add_argument("--json", action="store_true", help="print the front as JSON")
    add_table_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the study, print its front, write the files."""
    from explorer.pareto import front_of, trials_frame, write_front
    from explorer.study import load_study

    study = load_study(args.storage, args.study)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    frame = trials_frame(study)  # the study is read once
    written = write_front(study, args.out, formats, force=args.force, frame=frame)
    front = front_of(frame)
    out = stdout_console()
    if args.json:
        records = json.loads(front.to_json(orient="records"))
        print(
            json.dumps({"study": args.study, "front": records, "files": [str(p) for p in written]})
        )
        return 0
    paths = study.user_attrs.get("space_paths") or {}
    out.print(front_table(front, paths, args.study, wide=args.wide, columns=args.columns))
    for path in written:
        out.print(f"wrote {path}")
    return 0
