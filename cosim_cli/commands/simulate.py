"""``cosim simulate ARCH.yaml --model M``: replay a model's trace through a design.

Without ``--trace`` the functional model runs ``--prompt-tokens`` + ``--tokens`` tokens to
make the trace first. Prints a summary table (or, with ``--json``, one JSON object whose
keys include ``tokens_per_s``, ``ms_per_token``, ``avg_power_w``, ``energy_per_token_j``,
``bound_tokens_per_s``, ``bottleneck``, ``fits``, ``resources``, ``fidelity``: the
rungs of the fidelity ladder that concern the design, which figures are checked against
what and by how much, see :mod:`arch_models.fidelity`, and ``gpu_comparison``: the
fastest measured GPU case of the model at batch 1 over every shipped baseline, see
:mod:`gpubench.fastest`, with this design's ``tokens_per_s_ratio`` and
``energy_per_token_ratio`` to it, or ``null``); ``--out`` saves the per-event frame,
summary and provenance (see :mod:`cosim.results`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from rich.progress import (
    Progress,
    TaskID,
)
from rich.table import Table

from arch_models.fidelity import Rung, fidelity_of
from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from arch_models.spec.system import load_system
from arch_models.spec.units import CoreLayout
from arch_models.validation.source import read_yaml
from cosim.engine import simulate
from cosim.fpga import SimOptions
from cosim.results import save_result, save_system_result
from cosim.run_result import SimResult
from cosim.system import simulate_system
from cosim.system_result import SystemResult
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from cosim_cli.console import progress_bar, stderr_console, stdout_console
from cosim_cli.errors import CliInputError
from cosim_cli.system_table import system_tables
from gpubench.schema import IMPLS
from safeio import json_safe

__all__ = ["MAX_BATCH", "register", "run"]

#: The largest batch a design is simulated with (its state and activations scale with it).
MAX_BATCH = 4096


def register(sub: Any) -> None:
    """Add the ``simulate`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="simulate a design on a model: tokens/s, W, J/token, resources",
        description="Replay a model's trace (made first unless --trace names one) through "
        "the design and print tokens/s, ms/token, watts, joules per token, the bound and "
        "bottleneck, resources and the fastest measured GPU case; --out saves the events.",
    )
    p.add_argument("arch", type=Path, metavar="ARCH.yaml", help="architecture description")
    p.add_argument(
        "--model",
        help="model name (370m, 1.3b, 2.7b, paper-block-d512, tiny) "
        "or an HF config.json; default: the trace's model",
    )
    p.add_argument(
        "--tokens", type=int, default=2, metavar="N", help="decode tokens to simulate (default 2)"
    )
    p.add_argument(
        "--prompt-tokens",
        type=int,
        default=1,
        metavar="P",
        help="prompt tokens before them (default 1)",
    )
    p.add_argument("--trace", type=Path, metavar="DIR", help="replay this trace instead")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic weights")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="make the trace (and the synthetic weights) even if the cache holds them, and "
        "do not keep them (the cache: $COSIM_CACHE_DIR, else ~/.cache/mmfree-cosim; keyed by "
        "model, seed, token counts, trace format and the functional model's code)",
    )
    p.add_argument("--out", type=Path, metavar="DIR", help="save results in this folder")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument(
        "--max-transactions",
        type=int,
        default=SimOptions().max_transactions,
        metavar="K",
        help="weight transfers per matvec per core (fidelity)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="B",
        help="sequences decoded together (default: the design's layout.batch, else 1): "
        "tokens/s is then their aggregate, ms/token each sequence's",
    )
    p.add_argument(
        "--prefill-chunk",
        type=int,
        default=1,
        metavar="C",
        help="prompt positions whose matvecs share one read of the weights (default 1: "
        "position by position); the recurrence still runs position by position",
    )
    gpu = p.add_argument_group("GPU descriptions (examples/h200.yaml)")
    gpu.add_argument(
        "--impl",
        default="reference",
        choices=IMPLS,
        help="implementation whose kernels to replay (default reference)",
    )
    gpu.add_argument(
        "--launch",
        default="graph",
        choices=("graph", "eager"),
        help="kernels from a CUDA graph or launched eagerly (default graph)",
    )
    gpu.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="measured baseline whose microbenchmarks calibrate the GPU model "
        "(default: the shipped H200 baseline); for an FPGA design, the baseline whose "
        "fastest case it is compared with (default: every shipped baseline)",
    )
    p.set_defaults(run=run)


def _load_trace(args: argparse.Namespace, progress: Progress) -> Any:
    """Read ``--trace``, or run the model for one, each phase shown in ``progress``."""
    from workloads.trace import PHASE_WEIGHTS, generate_trace, read_trace
    from workloads.trace_cache import cached_trace

    if args.trace is not None:
        reading = progress.add_task(f"reading the trace {args.trace}", total=None)
        trace = read_trace(args.trace)
        progress.update(reading, total=1, completed=1)
        model = trace.manifest.get("model", {}).get("name")
        if args.model and model and args.model != model:
            raise CliInputError(f"--model {args.model} does not match the trace's model {model}")
        return trace
    if not args.model:
        raise CliInputError("give --model (or --trace)")
    if args.tokens < 1 or args.prompt_tokens < 0:
        raise CliInputError("--tokens must be >= 1 and --prompt-tokens >= 0")
    tasks: dict[str, TaskID] = {}

    def phase(name: str, done: int, total: int) -> None:
        if name not in tasks:
            what = "building weights" if name == PHASE_WEIGHTS else "running the model"
            tasks[name] = progress.add_task(f"{args.model}: {what}", total=total)
        progress.update(tasks[name], completed=done)

    if args.no_cache:
        return generate_trace(
            args.model,
            prompt_tokens=args.prompt_tokens,
            gen_tokens=args.tokens,
            seed=args.seed,
            on_progress=phase,
            disk_cache=False,
        )
    looking = progress.add_task(f"{args.model}: looking in the trace cache", total=None)
    trace, folder, hit = cached_trace(
        args.model, args.prompt_tokens, args.tokens, args.seed, on_progress=phase
    )
    progress.update(
        looking,
        total=1,
        completed=1,
        description=(
            f"{args.model}: trace from the cache ({folder})"
            if hit
            else f"{args.model}: trace made" + (f", kept in {folder}" if folder else "")
        ),
    )
    return trace


def run(args: argparse.Namespace) -> int:
    """Simulate and report."""
    from explorer.inputs import input_kind

    out = stdout_console()
    err = stderr_console()
    if input_kind(read_yaml(args.arch)) == "system":
        _check_fpga_flags(args)
        return run_system(args)
    arch = load_arch(args.arch)
    if arch.is_gpu:
        return _run_gpu(args, arch)
    _check_fpga_flags(args)
    layouts = arch.spec.units_of(CoreLayout)
    if args.batch is not None and layouts:  # --batch overrides the design's layout.batch
        arch = evolve(arch, {f"{layouts[0].name}.batch": args.batch})
    with progress_bar(err, quiet=args.json) as progress:
        trace = _load_trace(args, progress)
        workload = workload_from_trace(trace, design_elementwise_bytes(arch))
        workload = workload.chunked_prefill(args.prefill_chunk)
        if args.batch is not None and not layouts:  # no layout block to carry it
            workload = workload.batched(args.batch)
        task = progress.add_task("simulating", total=len(workload.steps))
        result = simulate(
            arch,
            workload,
            seed=args.seed,
            options=SimOptions(max_transactions=args.max_transactions),
            on_step=lambda done, total: progress.update(task, completed=done),
        )
    if args.out is not None:
        save_result(
            result,
            args.out,
            force=args.force,
            extra={"trace": str(args.trace) if args.trace else None},
        )
    rungs = fidelity_of(arch)
    model = trace.manifest.get("model", {}).get("name") or args.model
    gpu = _gpu_comparison(result, model, args.baseline)
    if args.json:
        summary = {
            **result.to_json(),
            "fidelity": [r.to_json() for r in rungs],
            "gpu_comparison": gpu,
        }
        print(json.dumps(json_safe(summary), indent=2))
    else:
        out.print(_table(result))
        out.print(_fidelity_lines(rungs))
        if gpu is not None:
            out.print(_gpu_line(gpu, "design"))
        for problem in result.fpga.fit_problems if result.fpga else ():
            out.print(f"[red]does not fit:[/] {problem}", markup=True)
        if args.out is not None:
            out.print(f"results saved in {args.out}")
    return 0


def _check_fpga_flags(args: argparse.Namespace) -> None:
    """Refuse out-of-range FPGA flags before any work."""
    if args.max_transactions < 2:
        raise CliInputError("--max-transactions must be at least 2")
    if args.batch is not None and not 1 <= args.batch <= MAX_BATCH:
        raise CliInputError(f"--batch must be between 1 and {MAX_BATCH}")
    if not 1 <= args.prefill_chunk <= MAX_BATCH:
        raise CliInputError(f"--prefill-chunk must be between 1 and {MAX_BATCH}")


def run_system(args: argparse.Namespace) -> int:
    """Simulate a system of FPGA cards (a description with ``cards``) and report."""
    out = stdout_console()
    err = stderr_console()
    system = load_system(args.arch)
    if args.batch is not None:  # every card takes the batch
        cards = []
        for arch in system.cards:
            layouts = arch.spec.units_of(CoreLayout)
            if not layouts:
                raise CliInputError(
                    f"--batch: {arch.filename} has no core_layout block to carry the batch"
                )
            cards.append(evolve(arch, {f"{layouts[0].name}.batch": args.batch}))
        system = dataclasses.replace(system, cards=tuple(cards))
    with progress_bar(err, quiet=args.json) as progress:
        trace = _load_trace(args, progress)
        workload = workload_from_trace(trace, design_elementwise_bytes(system.cards[0]))
        workload = workload.chunked_prefill(args.prefill_chunk)
        task = progress.add_task(
            "simulating", total=len(workload.steps) * system.spec.sequences_in_flight
        )
        result = simulate_system(
            system,
            workload,
            seed=args.seed,
            options=SimOptions(max_transactions=args.max_transactions),
            on_step=lambda done, total: progress.update(task, completed=done),
        )
    if args.out is not None:
        save_system_result(result, system, args.out, force=args.force)
    model = trace.manifest.get("model", {}).get("name") or args.model
    gpu = _gpu_comparison(result, model, args.baseline)
    if args.json:
        print(json.dumps(json_safe({**result.to_json(), "gpu_comparison": gpu}), indent=2))
        return 0
    for table in system_tables(result):
        out.print(table)
    if gpu is not None:
        out.print(_gpu_line(gpu, "system"))
    for card in result.cards:
        for problem in card.fit_problems:
            out.print(f"[red]card {card.index} does not fit:[/] {problem}", markup=True)
    if args.out is not None:
        out.print(f"results saved in {args.out}")
    return 0


def _run_gpu(args: argparse.Namespace, arch: Any) -> int:
    """Predict a GPU implementation's decode from its captured kernels."""
    from cosim.gpu_calibration import load_opcost
    from cosim.gpu_engine import predict_gpu_prefill_ms, simulate_gpu
    from gpubench.capture import capture_harness_prefill, harness_step
    from gpubench.models import META_TRACEABLE
    from gpubench.schema import default_baseline_path, read_baseline

    if not args.model:
        raise CliInputError("give --model (370m, 1.3b or 2.7b)")
    args.batch = 1 if args.batch is None else args.batch
    if args.batch < 1:
        raise CliInputError("--batch must be >= 1")
    path = args.baseline or default_baseline_path()
    baseline = read_baseline(path)
    opcost = load_opcost(path)
    try:
        step = harness_step(args.model, args.impl, args.batch, baseline)
        result = simulate_gpu(arch, step, args.launch, baseline, opcost)
    except (KeyError, ValueError) as exc:
        raise CliInputError(str(exc)) from None
    if args.impl in META_TRACEABLE and result.gpu is not None and args.prompt_tokens >= 1:
        prompt = capture_harness_prefill(args.model, args.impl, args.batch, args.prompt_tokens)
        ttft = predict_gpu_prefill_ms(arch, prompt, args.launch, baseline, opcost)
        gpu_figs = dataclasses.replace(
            result.gpu, time_to_first_token_ms=ttft, prompt_tokens=args.prompt_tokens
        )
        result = dataclasses.replace(result, gpu=gpu_figs)
    summary = result.to_json()
    rungs = fidelity_of(arch)
    if args.json:
        summary = {**summary, "fidelity": [r.to_json() for r in rungs]}
        print(json.dumps(json_safe(summary), indent=2))
        return 0
    out = stdout_console()
    t = Table(
        title=f"{arch.spec.name} · {args.model} {args.impl} {args.launch} batch {args.batch}",
        title_justify="left",
        show_header=False,
    )
    t.add_column("figure")
    t.add_column("value", justify="right")
    for fig, val in (
        ("tokens/s", f"{summary['tokens_per_s']:,.1f}"),
        ("ms/token", f"{summary['ms_per_token']:.3f}"),
        ("average power", f"{summary['avg_power_w']:.1f} W"),
        ("energy/token", f"{summary['energy_per_token_j'] * 1e3:.4g} mJ"),
        (
            f"time to first token ({summary['prompt_tokens']}-token prompt)",
            f"{summary['time_to_first_token_ms']:.3f} ms"
            if summary["time_to_first_token_ms"] is not None
            else "not predicted (no prompt-pass kernel list for this implementation)",
        ),
        ("kernels/step", f"{summary['kernels_per_step']:,}"),
        ("HBM", f"{summary['hbm_tb_per_s']:.2f} TB/s"),
        ("bottleneck", summary["bottleneck"]),
    ):
        t.add_row(fig, val)
    out.print(t)
    out.print(_fidelity_lines(rungs))
    return 0


def _gpu_comparison(
    result: SimResult | SystemResult, model: str | None, baseline: Path | None
) -> dict[str, Any] | None:
    """The fastest measured GPU case of ``model`` and this design's ratios to it.

    At the design's batch where a GPU case was measured at it, else at batch 1; over the
    shipped baselines (every card measured), or ``baseline`` when given; ``None`` for a
    model no baseline measured.
    """
    from gpubench import BaselineError
    from gpubench.fastest import fastest_shipped

    if not model:
        return None
    try:
        paths = [baseline] if baseline is not None else None
        s = result.summary  # a system's sequences: every group in flight
        batch = int(s.get("batch", 1)) * int(s.get("sequences_in_flight", 1))
        best = fastest_shipped(model, batch, paths) if batch != 1 else None
        best = best or fastest_shipped(model, 1, paths)
    except BaselineError as exc:
        raise CliInputError(f"cannot read the GPU baseline: {exc}") from None
    if best is None:
        return None
    out: dict[str, Any] = best.to_json()
    s = result.summary
    gpu_tps, gpu_j = out["tokens_per_s"], out["energy_per_token_j"]
    out["tokens_per_s_ratio"] = s["tokens_per_s"] / gpu_tps if gpu_tps else None
    fpga_j = s.get("energy_per_token_j")
    out["energy_per_token_ratio"] = gpu_j / fpga_j if gpu_j and fpga_j else None
    return out


def _gpu_line(gpu: dict[str, Any], what: str) -> str:
    """The fastest measured GPU case and this design's (or system's) ratios to it."""
    return (
        f"fastest measured GPU: {gpu['gpu']} {gpu['impl']} {gpu['launch']} batch "
        f"{gpu['batch']} ({gpu['source']}): {gpu['tokens_per_s']:,.1f} tokens/s, "
        f"{gpu['energy_per_token_j']:.4g} J/token; this {what} (simulated): "
        f"{gpu['tokens_per_s_ratio']:.2f}x its tokens/s, "
        f"{gpu['energy_per_token_ratio']:.2f}x fewer J/token"
    )


def _fidelity_lines(rungs: tuple[Rung, ...]) -> str:
    return "\n".join(r.describe() for r in rungs)


def _table(result: SimResult) -> Table:
    s = result.summary
    t = Table(
        title=f"{s['design']} on {s['device']} · model {s['model']}",
        title_justify="left",
        show_header=False,
    )
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows = [
        (
            "tokens/s" + (f" (all {s['batch']} sequences)" if s["batch"] > 1 else ""),
            f"{s['tokens_per_s']:,.2f}",
        ),
        ("ms/token" + (" (each sequence)" if s["batch"] > 1 else ""), f"{s['ms_per_token']:,.3f}"),
        ("time to first token", f"{s['time_to_first_token_ms']:,.3f} ms"),
        ("average power", f"{s['avg_power_w']:,.2f} W"),
        ("energy/token", f"{s['energy_per_token_j'] * 1e3:.4g} mJ"),
        ("bound (design floor)", f"{s['bound_tokens_per_s']:,.2f} tok/s ({s['binding_bound']})"),
        (
            "memory-bandwidth bound",
            f"{s['memory_bound_tokens_per_s']:,.2f} tok/s "
            f"({s['fraction_of_memory_bound']:.0%} reached)",
        ),
        ("bottleneck", s["bottleneck"]),
        (
            "prefill",
            f"{s['prefill_ms']:,.3f} ms for {s['prompt_tokens']} prompt "
            f"token{'' if s['prompt_tokens'] == 1 else 's'}",
        ),
        ("fits", "yes" if s["fits"] else "NO"),
    ]
    for kind, r in s["resources"].items():
        rows.append(
            (f"  {kind}", f"{r['used']:,.0f} / {r['available']:,.0f} ({r['utilisation']:.1%})")
        )
    for name, w in sorted(s["power_breakdown_w"].items(), key=lambda kv: -kv[1]):
        rows.append((f"  power: {name}", f"{w:,.3f} W"))
    for note in s["onchip"]["notes"]:
        rows.append(("note", note))
    for fig, val in rows:
        t.add_row(fig, val)
    return t
