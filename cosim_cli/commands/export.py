"""``cosim export``: write a chosen design as files a synthesis flow reads.

``cosim export --storage URL --study NAME (--trial N | --pick RULE) --format F --out DIR``
takes one trial's design (validated again from its stored description), by number or by a
rule over the Pareto front (``max-tokens-per-s``, ``min-power``, ``max-tokens-per-joule``,
``knee``); ``cosim export --arch ARCH.yaml --format F --out DIR`` takes a description
file instead. It writes the design as a SystemVerilog package (``sv``), a Verilog header
(``vh``), Vivado/Quartus Tcl generics (``tcl``), JSON (``json``), the resolved
architecture YAML (``yaml``) and the RTL bundle (``rtl``: the package, a top that
instantiates the RTL twin with it, the RTL sources, a file list and Yosys, Vivado and
Quartus scripts; ``yosys -s <design>_synth.ys`` in ``--out`` synthesises it). ``--format
all`` writes every one; for a design the RTL twin does not build it writes the others
and says why it skipped ``rtl`` (``--format rtl`` refuses such a design, exit 2).
``--max-rows``/``--max-cols`` size the RTL core's result and activation stores.

The files are named after the design (a trial's: ``<design>-trial<N>``) and written as
one set: ``--out`` holds the whole previous output or the whole new one however the
command is stopped (its other files are kept; it may not hold folders). ``--json``
prints ``design``, ``trial`` and ``status`` (``null`` for ``--arch``), ``files`` and
``skipped`` (format → why). See :mod:`explorer.export`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from cosim_cli.console import stderr_console, stdout_console
from cosim_cli.errors import CliInputError

if TYPE_CHECKING:
    from arch_models.spec import Arch
    from explorer.export import Provenance
    from explorer.export_system import SystemDesign

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``export`` subcommand."""
    from arch_models.rtl import RtlParams
    from explorer.export import FORMATS
    from explorer.pareto import PICKS

    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="write a chosen design as SV/Verilog/Tcl/JSON/YAML parameters and an RTL bundle",
        description="Write a study trial's design, or a description file's, as synthesis "
        "parameter files and the RTL bundle (yosys -s <design>_synth.ys synthesises it).",
    )
    p.add_argument("--storage", metavar="URL", help="storage URL or SQLite file (studies.db)")
    p.add_argument("--study", metavar="NAME", help="the study's name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--trial", type=int, metavar="N", help="the trial's number")
    which.add_argument("--pick", choices=tuple(PICKS), help="a rule over the Pareto front")
    p.add_argument(
        "--arch",
        type=Path,
        metavar="ARCH.yaml",
        help="export this description instead of a study's trial",
    )
    p.add_argument(
        "--format",
        default="all",
        metavar="F[,F]",
        help=f"{', '.join(FORMATS)} or all (default all; all skips rtl where the RTL "
        "twin does not build the design)",
    )
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output folder (no sub-folders)"
    )
    p.add_argument(
        "--max-rows",
        type=int,
        default=RtlParams().max_rows,
        metavar="R",
        help="rows of the largest matvec the RTL core takes (default %(default)s)",
    )
    p.add_argument(
        "--max-cols",
        type=int,
        default=RtlParams().max_cols,
        metavar="C",
        help="columns of the largest matvec the RTL core takes (default %(default)s)",
    )
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=run)


def _trial_design(args: argparse.Namespace) -> tuple[Arch | SystemDesign, Provenance, Any]:
    from explorer.export import Provenance, design_of_trial
    from explorer.export_system import system_of_trial
    from explorer.pareto import pick_trial
    from explorer.study import load_study

    if args.trial is None and args.pick is None:
        raise CliInputError("give --trial N or --pick RULE with --study")
    study = load_study(args.storage, args.study)
    trial = pick_trial(study, args.trial if args.trial is not None else args.pick)
    system = system_of_trial(study, trial)  # a system study's trial: its cards and system
    design = system if system is not None else design_of_trial(study, trial)
    return design, Provenance.of_trial(study, trial), trial


def run(args: argparse.Namespace) -> int:
    """Take the design (a trial's or a file's), write the files."""
    from arch_models.spec import load_arch
    from explorer.export import Provenance, export_set
    from explorer.export_system import SystemDesign, export_system_set

    if (args.arch is None) == (args.study is None):
        raise CliInputError("give either --study (with --trial or --pick) or --arch")
    if args.arch is not None and (args.trial, args.pick, args.storage) != (None, None, None):
        raise CliInputError("--arch exports a description file: no --storage, --trial or --pick")
    if args.max_rows < 1 or args.max_cols < 1:
        raise CliInputError("--max-rows and --max-cols must be at least 1")
    trial = None
    design: Arch | SystemDesign
    if args.arch is not None:
        design = load_arch(args.arch)
        prov = Provenance(source=str(args.arch))
    else:
        design, prov, trial = _trial_design(args)
    writer: Any  # a system trial: its cards' files and the system file; else the design's
    if isinstance(design, SystemDesign):
        writer, name = export_system_set, design.name
    else:
        writer, name = export_set, design.spec.name
    written = writer(
        design,
        args.format,
        args.out,
        prov,
        args.force,
        max_rows=args.max_rows,
        max_cols=args.max_cols,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "design": name,
                    "trial": trial.number if trial is not None else None,
                    "status": prov.status if trial is not None else None,
                    "files": [str(p) for p in written.paths],
                    "skipped": dict(written.skipped),
                }
            )
        )
        return 0
    err = stderr_console()
    if trial is not None and prov.status != "feasible":
        err.print(
            f"[yellow]warning:[/] trial {trial.number} is {prov.status}: "
            f"{trial.user_attrs.get('reason', '')}",
            markup=True,
        )
    for fmt, why in written.skipped:
        err.print(f"[yellow]note:[/] skipped {fmt}: {escape(why)}", markup=True)
    out = stdout_console()
    if trial is not None:
        o = prov.objectives
        out.print(
            f"trial {trial.number} of {args.study}: {o.get('tokens_per_s') or 0:,.2f} tokens/s, "
            f"{o.get('avg_power_w') or 0:.3f} W"
        )
    else:
        out.print(f"{name} from {args.arch}")
    for path in written.paths:
        out.print(f"wrote {path}")
    synth = [p for p in written.paths if p.name.endswith("_synth.ys")]
    for script in synth:
        out.print(f"synthesise with: cd {script.parent} && yosys -s {script.name}")
    if isinstance(design, SystemDesign):
        out.print(f"simulate the system again with: cosim simulate {written.paths[-1]}")
    return 0
