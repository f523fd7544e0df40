"""``cosim dashboard``: the Dash app comparing simulated designs with measured GPU runs.

``cosim dashboard [--storage URL] [--study NAME] [--baseline FILE...] [--results DIR...]
[--host 127.0.0.1] [--port 8050]`` serves the dashboard (debug off) on loopback by
default and prints its URL. With no arguments it shows the example study
(``out/example_study.db``, study ``example``; ``scripts/demo.sh`` makes it) and the
shipped H200 baseline; a storage, study, baseline or results folder that cannot be read
is reported in the page, not here. The storage is opened read-only (a file that is not
an Optuna database is refused, never rewritten); a study's stored fields are never
opened as paths (timelines replay built-in models, or the configurations given with
``--model-config``); the page answers only to ``127.0.0.1``, ``localhost``, ``[::1]``, the
address served on and ``--allow-host`` names. See :mod:`dashboards`.
"""

from __future__ import annotations

import argparse
import ipaddress
import time
from pathlib import Path
from typing import Any

from cosim_cli.console import stderr_console, stdout_console

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``dashboard`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "dashboard",
        help="serve the dashboard: designs vs the measured GPU baseline",
        description="Serve the Dash app (on 127.0.0.1:8050 by default) that compares a "
        "study's simulated designs with the measured GPU baselines: Pareto, design detail, "
        "compare, study and export views. With no arguments it shows the example study "
        "that scripts/demo.sh makes.",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="study storage URL or SQLite file (default sqlite:///out/example_study.db)",
    )
    p.add_argument("--study", metavar="NAME", help="study to show first (default: example)")
    p.add_argument(
        "--baseline",
        nargs="+",
        action="extend",
        type=Path,
        metavar="FILE",
        help="GPU baseline file(s) (default: every shipped baseline, H200 and H100)",
    )
    p.add_argument(
        "--results",
        nargs="+",
        action="extend",
        type=Path,
        metavar="DIR",
        help="`cosim simulate --out` folders to show as designs too",
    )
    p.add_argument(
        "--model-config",
        nargs="+",
        action="extend",
        type=Path,
        metavar="FILE",
        help="model config.json files or checkpoints that timelines may replay on",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050; 0: any free)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the page may be opened under (besides localhost and the address)",
    )
    p.add_argument(
        "--refresh",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between checks for new trials (default 5; 0: off)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the study once, then serve until interrupted."""
    from cosim_cli.errors import CliInputError
    from dashboards.app import create_app, make_server
    from dashboards.state import Dashboard, DashboardConfig

    if not 0 <= args.port <= 65535:
        raise CliInputError(f"--port must be within 0..65535 (got {args.port})")
    if args.refresh < 0:
        raise CliInputError(f"--refresh must be >= 0 (got {args.refresh})")
    err = stderr_console()
    board = Dashboard(
        DashboardConfig(
            storage=args.storage,
            study=args.study,
            baselines=args.baseline,
            results=args.results or (),
            refresh_s=args.refresh,
            model_configs=args.model_config or (),
            allowed_hosts=args.allow_host,
        )
    )
    t0 = time.perf_counter()
    study = board.catalog.initial()
    snap = board.snapshot(study)
    for notice in board.notices(study):
        err.print(f"[yellow]{notice.level}:[/] {notice.title}", markup=True)
    if hasattr(snap, "table"):
        err.print(f"read {len(snap.table)} trials of {study!r} in {time.perf_counter() - t0:.1f} s")
    app = create_app(board=board)
    app.server.test_client().get("/")  # Dash sets itself up on its first request: do it now
    server = make_server(app, args.host, args.port)
    host = server.host if ":" not in server.host else f"[{server.host}]"
    url = f"http://{host}:{server.port}/"
    if not _loopback(args.host):
        err.print(
            f"[yellow]warning:[/] serving on {args.host}: anyone who can reach this machine "
            "can read the study",
            markup=True,
        )
    stdout_console().print(f"dashboard on {url}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
