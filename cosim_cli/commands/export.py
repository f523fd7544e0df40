"""``cosim export``: write a study's chosen design as files a synthesis flow reads.

``cosim export --storage URL --study NAME (--trial N | --pick RULE) --format F --out DIR``
takes one trial's design (validated again from its stored description), by number or by a
rule over the Pareto front (``max-tokens-per-s``, ``min-power``, ``max-tokens-per-joule``,
``knee``), and writes it as a SystemVerilog package (``sv``), a Verilog header (``vh``),
Vivado/Quartus Tcl generics (``tcl``), JSON (``json``) and the resolved architecture YAML
(``yaml``); ``--format all`` writes every one. The files are named after the trial's
design (``<design>-trial<N>``) and written as one set: ``--out`` holds the whole previous
output or the whole new one however the command is stopped (its other files are kept; it
may not hold folders). See :mod:`explorer.export`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cosim_cli.console import stderr_console, stdout_console

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``export`` subcommand."""
    from explorer.export import FORMATS
    from explorer.pareto import PICKS

    p: argparse.ArgumentParser = sub.add_parser(
        "export", help="write a study's chosen design as SV/Verilog/Tcl/JSON/YAML parameters"
    )
    p.add_argument("--storage", metavar="URL", help="storage URL or SQLite file (studies.db)")
    p.add_argument("--study", required=True, metavar="NAME", help="the study's name")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, metavar="N", help="the trial's number")
    which.add_argument("--pick", choices=tuple(PICKS), help="a rule over the Pareto front")
    p.add_argument(
        "--format",
        default="all",
        metavar="F[,F]",
        help=f"{', '.join(FORMATS)} or all (default all)",
    )
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output folder (no sub-folders)"
    )
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Pick the trial, validate its design, write the files."""
    from explorer.export import Provenance, design_of_trial, export_design
    from explorer.pareto import pick_trial
    from explorer.study import load_study

    study = load_study(args.storage, args.study)
    trial = pick_trial(study, args.trial if args.trial is not None else args.pick)
    arch = design_of_trial(study, trial)
    prov = Provenance.of_trial(study, trial)
    paths = export_design(arch, args.format, args.out, prov, args.force)
    if args.json:
        print(
            json.dumps(
                {"trial": trial.number, "status": prov.status, "files": [str(p) for p in paths]}
            )
        )
        return 0
    if prov.status != "feasible":
        stderr_console().print(
            f"[yellow]warning:[/] trial {trial.number} is {prov.status}: "
            f"{trial.user_attrs.get('reason', '')}",
            markup=True,
        )
    out = stdout_console()
    o = prov.objectives
    out.print(
        f"trial {trial.number} of {args.study}: {o.get('tokens_per_s') or 0:,.2f} tokens/s, "
        f"{o.get('avg_power_w') or 0:.3f} W"
    )
    for path in paths:
        out.print(f"wrote {path}")
    return 0
