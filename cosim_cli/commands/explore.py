"""``cosim explore ARCH --space SPACE --model M --trials N``: search a design's space.

Runs an Optuna study (NSGA-II by default; ``--sampler tpe|random|grid|two-tier``) maximising
tokens/s and minimising watts of the design's variants, under the device's resources and
the space's optional power cap and accuracy bound. The study lives in ``--storage`` (a
SQLite file, ``studies.db`` by default; any SQLAlchemy URL such as
``postgresql+psycopg://user@host/db`` otherwise); ``--workers K`` runs K processes here,
and the same command on other machines with the same storage joins the study. A killed
run resumes with the same command. Shows a progress bar, then the Pareto front. See
:mod:`explorer.study`. ``--sampler two-tier`` estimates every design of the space with the
analytical tier first, then simulates at most N of them: those within its measured error of
the front (:mod:`explorer.two_tier`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.markup import escape

from cosim_cli.console import stderr_console, stdout_console
from cosim_cli.errors import CliInputError
from cosim_cli.front_table import add_table_options

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``explore`` subcommand."""
    from cosim.fpga import SimOptions
    from explorer.study import SAMPLERS

    p: argparse.ArgumentParser = sub.add_parser(
        "explore",
        help="search a design's (or a system's) space for its Pareto front",
        description="Run an Optuna study (NSGA-II by default) over the variants of ARCH "
        "that SPACE allows, for the space's objectives (by default maximising tokens/s and "
        "minimising watts) under the device's "
        "resources and the space's constraints. The same command resumes a stopped study "
        "or joins it from another machine sharing the storage.",
    )
    p.add_argument(
        "arch",
        type=Path,
        metavar="ARCH.yaml",
        help="the base design, or a system of cards (a description with cards:)",
    )
    p.add_argument("--space", type=Path, required=True, metavar="SPACE.yaml", help="search space")
    p.add_argument(
        "--model", required=True, metavar="M", help="370m, 1.3b, 2.7b, paper-block-d512, tiny..."
    )
    p.add_argument("--trials", type=int, required=True, metavar="N", help="the study's trials")
    p.add_argument("--storage", metavar="URL", help="storage URL or SQLite file (studies.db)")
    p.add_argument("--study", metavar="NAME", help="study name (default design.space.model)")
    p.add_argument("--workers", type=int, default=1, metavar="K", help="processes (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and samplers (0)")
    p.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default="nsga2",
        help="default nsga2; two-tier: sweep the whole space with the analytical tier, "
        "then simulate (at most --trials) the designs within its error of the front",
    )
    p.add_argument("--population", type=int, metavar="P", help="NSGA-II population size")
    p.add_argument("--prompt-tokens", type=int, default=1, metavar="P", help="prompt tokens (1)")
    p.add_argument("--tokens", type=int, default=2, metavar="G", help="decode tokens (2)")
    p.add_argument(
        "--max-transactions",
        type=int,
        default=SimOptions().max_transactions,
        metavar="K",
        help="simulator fidelity: weight transfers per matvec per core",
    )
    p.add_argument("--cache-dir", type=Path, metavar="DIR", help="trace cache folder")
    p.add_argument("--heartbeat", type=int, default=5, metavar="S", help="heartbeat seconds (5)")
    p.add_argument(
        "--grace",
        type=int,
        default=30,
        metavar="S",
        help="seconds before a silent trial is retried",
    )
    p.add_argument("--json", action="store_true", help="print the outcome and front as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_table_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the study and print its front."""
    from cosim_cli.front_table import front_table
    from explorer.objectives import objectives_of
    from explorer.pareto import pareto_front
    from explorer.study import run_study

    err = stderr_console()
    outcome = run_study(
        args.arch,
        args.space,
        args.model,
        args.trials,
        storage=args.storage,
        study_name=args.study,
        workers=args.workers,
        seed=args.seed,
        sampler=args.sampler,
        prompt_tokens=args.prompt_tokens,
        gen_tokens=args.tokens,
        max_transactions=args.max_transactions,
        population_size=args.population,
        cache_dir=args.cache_dir,
        heartbeat_interval=args.heartbeat,
        grace_period=args.grace,
        progress=not args.no_progress and not args.json,
        console=err,
    )
    for problem in outcome.problems:
        err.print(f"[yellow]warning:[/] {problem}", markup=True)
    front = pareto_front(outcome.study)
    objectives = objectives_of(outcome.study.user_attrs)
    c = outcome.counts
    if args.json:
        doc = {
            "study": outcome.study_name,
            "storage": outcome.storage,
            "target": outcome.target,
            "counts": {**c.__dict__},
            "ran": outcome.ran,
            "elapsed_s": round(outcome.elapsed_s, 3),
            "complete": outcome.complete,
            "front": json.loads(front.to_json(orient="records")),
        }
        if "two_tier" in outcome.study.user_attrs:  # the sweep, errors and rounds
            doc["two_tier"] = outcome.study.user_attrs["two_tier"]
        print(json.dumps(doc))
    else:
        out = stdout_console()
        paths = outcome.study.user_attrs.get("space_paths") or {}
        try:
            table = front_table(
                front,
                paths,
                outcome.study_name,
                wide=args.wide,
                columns=args.columns,
                objectives=objectives,
            )
        except CliInputError as exc:  # the study ran: show the default table, not an error
            err.print(f"[yellow]warning:[/] {escape(str(exc))}", markup=True)
            table = front_table(
                front, paths, outcome.study_name, wide=args.wide, objectives=objectives
            )
        out.print(table)
        out.print(
            f"{c.done} trial{'' if c.done == 1 else 's'} ({c.feasible} feasible, "
            f"{c.infeasible} infeasible, "
            f"{c.failed} failed); "
            f"{outcome.ran} ran now in {outcome.elapsed_s:.1f} s. "
            f"Study {outcome.study_name!r} in {outcome.storage}."
        )
    if not outcome.complete:
        err.print(
            f"[yellow]the study has {c.done} of {outcome.target} trials ({c.pending} pending); "
            "run the same command again to finish it[/]",
            markup=True,
        )
        return 1
    return 0
