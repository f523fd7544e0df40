"""``cosim trace``: run the functional ternary model on real tokens and write its trace.

``cosim trace --model 370m --prompt-tokens 16 --gen-tokens 32 --out traces/370m`` builds
the model's weights (synthetic from ``--seed``, or a checkpoint folder given as
``--model``), runs the prompt and greedy generation bit-exactly, and writes the trace
folder atomically (see :mod:`workloads.trace`). Hardware numerics can be set with
``--act-bits``, ``--acc-bits``/``--acc-overflow``, ``--elementwise``, ``--sigmoid``,
``--silu`` and ``--round-half``; ``--cost-tokens N`` also measures what they cost against
exact arithmetic. ``--json`` prints the summary (the manifest's ``summary`` plus ``out``
and ``elapsed_s``) instead of a table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from cosim_cli.console import progress_bar, stderr_console, stdout_console
from cosim_cli.errors import CliInputError

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``trace`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "trace",
        help="run the functional ternary model and write the trace of its work",
        description="Run the bit-exact ternary model on real tokens (prompt, then greedy "
        "generation) and write the trace of every operation it does, the input of cosim "
        "simulate.",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="M",
        help="370m, 1.3b, 2.7b, paper-block-d512, tiny, an hgrn_bit config.json, "
        "or a checkpoint folder",
    )
    p.add_argument("--prompt-tokens", type=int, required=True, metavar="P", help="prompt length")
    p.add_argument("--gen-tokens", type=int, required=True, metavar="G", help="decode steps")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="trace folder")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and prompt (default 0)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    v = p.add_argument_group("model variant")
    v.add_argument("--mlgru-form", choices=("code", "paper"), help="token mixer form")
    v.add_argument("--bitlinear-eps", type=float, metavar="E", help="BitLinear norm epsilon")
    n = p.add_argument_group("hardware numerics")
    n.add_argument("--act-bits", type=int, default=8, metavar="B", help="activation bits")
    n.add_argument("--acc-bits", type=int, metavar="W", help="accumulator bits (unbounded)")
    n.add_argument("--acc-overflow", choices=("wrap", "saturate"), default="wrap")
    n.add_argument(
        "--elementwise", default="float32", metavar="F", help="float32, float64 or fixed<W>.<F>"
    )
    n.add_argument("--sigmoid", default="exact", metavar="S", help="exact, lut:N, pwl:N[:K]")
    n.add_argument("--silu", default="exact", metavar="S", help="exact, lut:N, pwl:N[:K]")
    n.add_argument("--round-half", choices=("away", "even"), default="away")
    n.add_argument(
        "--cost-tokens",
        type=int,
        default=0,
        metavar="N",
        help="also compare with exact arithmetic over N generated tokens",
    )
    p.set_defaults(run=run)


def _numerics(args: argparse.Namespace) -> Any:
    from workloads.numerics import ElementFormat, FunctionApprox, Numerics

    try:
        return Numerics(
            act_bits=args.act_bits,
            acc_bits=args.acc_bits,
            acc_overflow=args.acc_overflow,
            elementwise=ElementFormat.parse(args.elementwise),
            sigmoid=FunctionApprox.parse(args.sigmoid),
            silu=FunctionApprox.parse(args.silu),
            round_half=args.round_half,
        )
    except ValueError as exc:
        raise CliInputError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Build the weights, run the model, write the trace, print the summary."""
    from workloads.loading import load_weights
    from workloads.trace import check_output, generate_trace

    if args.prompt_tokens < 0 or args.gen_tokens < 0 or args.cost_tokens < 0:
        raise CliInputError("--prompt-tokens, --gen-tokens and --cost-tokens must be >= 0")
    if args.prompt_tokens + args.gen_tokens < 1:
        raise CliInputError("a trace needs at least one step (--prompt-tokens or --gen-tokens)")
    numerics = _numerics(args)
    check_output(args.out)
    err = stderr_console()
    started = time.perf_counter()
    with progress_bar(err, quiet=True) as progress:
        task = progress.add_task(f"{args.model}: building weights", total=None)
        weights = load_weights(args.model, args.seed, args.mlgru_form, args.bitlinear_eps)
        steps = args.prompt_tokens + args.gen_tokens
        progress.update(task, description=f"{weights.config.name}: tokens", total=steps)
        trace = generate_trace(
            weights.config,
            args.prompt_tokens,
            args.gen_tokens,
            args.seed,
            numerics=numerics,
            weights=weights,
            out=args.out,
            progress=lambda n: progress.advance(task, n),
            command=_command(args),
            cost_tokens=args.cost_tokens,
        )
    summary = dict(trace.summary)
    summary["out"] = str(args.out)
    summary["elapsed_s"] = round(time.perf_counter() - started, 3)
    out = stdout_console()
    if args.json:
        out.print_json(json.dumps(summary))
    else:
        out.print(_table(summary))
    return 0


def _command(args: argparse.Namespace) -> list[str]:
    """The command line that makes this trace (options at their default left out)."""
    cmd = ["cosim", "trace", "--model", str(args.model)]
    cmd += ["--prompt-tokens", str(args.prompt_tokens), "--gen-tokens", str(args.gen_tokens)]
    cmd += ["--out", str(args.out), "--seed", str(args.seed)]
    defaults = {
        "mlgru_form": None,
        "bitlinear_eps": None,
        "act_bits": 8,
        "acc_bits": None,
        "acc_overflow": "wrap",
        "elementwise": "float32",
        "sigmoid": "exact",
        "silu": "exact",
        "round_half": "away",
        "cost_tokens": 0,
    }
    for key, default in defaults.items():
        value = getattr(args, key)
        if value != default:
            cmd += ["--" + key.replace("_", "-"), str(value)]
    return cmd


def _table(s: dict[str, Any]) -> Table:
    t = Table(title=f"trace written to {s['out']}", title_justify="left", show_header=False)
    t.add_column("key")
    t.add_column("value", justify="right")
    wb = s["weight_bytes_per_token"]
    rows = [
        ("model", s["model"]),
        ("steps (prompt + generated)", f"{s['steps']} ({s['prompt_tokens']} + {s['gen_tokens']})"),
        ("ops per step", f"{s['ops_per_step']:,}"),
        ("trace rows", f"{s['trace_rows']:,}"),
        ("ternary weights per token", f"{s['ternary_weights_per_token']:,}"),
        ("weight bytes per token, 2-bit", f"{wb['2bit']:,}"),
        ("weight bytes per token, 5 trits/byte", f"{wb['5trit']:,}"),
        ("zero fraction", f"{s['zero_fraction']:.4f}"),
        ("elapsed", f"{s['elapsed_s']:.2f} s"),
    ]
    cost = s.get("numerics_cost")
    if cost:
        rows.append(("max |Δlogit| vs exact", f"{cost['max_abs_dlogit']:.3g}"))
        if cost["top1_agreement"] is not None:
            rows.append(("top-1 agreement vs exact", f"{cost['top1_agreement']:.3f}"))
    for k, v in rows:
        t.add_row(k, str(v))
    return t
