"""Microbenchmark of every distinct operator call the implementations make in one step.

The implementations' decode steps are traced on the ``meta`` device
(:mod:`gpubench.capture`); each distinct ATen call (operator, argument shapes, dtypes and
literals) is then run alone on the GPU with random inputs: its device time when replayed
from a CUDA graph (20 calls per graph, median of replays) and its time per call when
launched eagerly back to back (host-bound for small ops). The GPU model uses these as its
per-kernel costs; the decode measurements themselves are not used.

The ``host`` section measures what eager PyTorch costs the host beyond the operators
themselves, each per call in a Python loop on small CUDA tensors: a view (no kernel), an
``nn.Module`` call (its ``__call__`` machinery around a forward that returns its input), a
tensor method (``x.abs()``) next to the same operator called as ``torch.ops.aten``, and
the empty loop; the launch probe (µs per eager launch of a tiny add, as the harness
records beside every case), also taken every 50 calls of the ``calls`` section
(``calls_probe_us``); before every eager timing of both sections, the pure-Python
host-speed probe of :mod:`gpubench.hostspeed` (``probe_reps_us`` of each call,
``speed_probes`` of each host item, ``probe_us`` of each Triton row), so the calibration
can price host work at the baseline machine's quiet speed;
``mix`` (:func:`dispatch_mix`): how much more an eager call costs with 1-32 distinct
operators called in turn than alone, and ``mix_calls`` the same with the
implementations' own calls (:func:`mix_of_calls`); the tensor method and the ``torch.ops.aten`` call
timed in alternating loops (``method_minus_aten_us``, the pairs' median difference);
and, for each packed shape, the Triton GEMV's eager time per call
(its Python launcher) next to its device time; and NVML windows of a graph of tiny
kernels, of the packed GEMV back to back and of an HBM-bound elementwise kernel: the
power model takes the watts the packed GEMV draws beyond its HBM traffic from the first
two; the elementwise window is a record (its watts per TB/s match the HBM read's).

The ``glue`` section (:mod:`gpubench.hostglue`, CPU tensors) measures the Python
between an implementation's operators.

Run on the GPU machine: ``PYTHONPATH=. python3 -m gpubench.opcost --out F``
(``--sections host --update F`` re-measures the host section of an existing file only).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

import torch

from gpubench.calls import Passthrough, aten_op, build_inputs, paired_us, per_call_us
from gpubench.capture import calls_of, capture_harness_step
from gpubench.hostspeed import probe_us
from gpubench.micro import launch_probe_us
from safeio import dumps, write_atomic

__all__ = [
    "dispatch_mix",
    "distinct_calls",
    "host_costs",
    "main",
    "measure_call",
    "mix_of_calls",
    "packed_shapes",
    "power_windows",
]

MODELS = ("370m", "1.3b", "2.7b")
IMPLS = ("reference", "dense", "packed", "transformer", "transformer_fast")
BATCHES = (1, 16)


def distinct_calls(models: tuple[str, ...] = MODELS) -> list[tuple[str, str]]:
    """Return every distinct (operator, call key) of the implementations' decode steps."""
    seen: set[tuple[str, str]] = set()
    for model in models:
        for impl in IMPLS:
            for batch in BATCHES:
                seen |= calls_of(capture_harness_step(model, impl, batch))
    return sorted(seen)


def measure_call(name: str, key: str, device: torch.device) -> dict[str, Any]:
    """Time one call: device µs from a replayed graph, µs per eager call."""
    fn = aten_op(name)
    args, kwargs = build_inputs(key, device)
    fn(*args, **kwargs)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    inner = 20
    stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn(*args, **kwargs)
    torch.cuda.current_stream().wait_stream(stream)
    with torch.cuda.graph(graph):
        for _ in range(inner):
            fn(*args, **kwargs)
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(7):
        a = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        b = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        a.record()
        graph.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e3 / inner)
    eager, probes = [], []
    for _ in range(5):
        torch.cuda.synchronize()
        probes.append(probe_us())
        t0 = time.perf_counter()
        for _ in range(50):
            fn(*args, **kwargs)
        torch.cuda.synchronize()
        eager.append((time.perf_counter() - t0) * 1e6 / 50)
    return {
        "op": name,
        "key": key,
        "graph_us": median(times),
        "eager_us": median(eager),
        "eager_reps_us": [round(e, 3) for e in eager],
        "probe_reps_us": [round(p, 2) for p in probes],
    }


def packed_shapes(models: tuple[str, ...] = MODELS) -> list[tuple[int, int, int]]:
    """Return every distinct (N, K, rows) of the packed implementation's Triton GEMVs."""
    seen: set[tuple[int, int, int]] = set()
    for model in models:
        for batch in BATCHES:
            for k in capture_harness_step(model, "packed", batch).kernels:
                if k.name == "triton.packed_matmul":
                    shape, rows = k.call.split("|")[1:]
                    n, kk = shape.split("x")
                    seen.add((int(n), int(kk), int(rows)))
    return sorted(seen)


#: Round-robin sizes of :func:`dispatch_mix` (distinct operators called in turn).
MIX_SIZES = (1, 2, 4, 8, 16, 32)


def _mix_ops(device: torch.device) -> list[Callable[[], Any]]:
    """32 distinct cheap operators on a small bf16 tensor (one kernel each)."""
    x = torch.randn(1, 1024, device=device).to(torch.bfloat16)
    y = torch.randn(1, 1024, device=device).to(torch.bfloat16)
    unary = ["abs", "neg", "exp", "sigmoid", "round", "sqrt", "rsqrt", "reciprocal", "tanh",
             "log", "sin", "cos", "floor", "ceil", "sign", "relu", "square", "trunc", "frac",
             "erf", "expm1", "log1p"]  # fmt: skip
    ops: list[Callable[[], Any]] = [getattr(x, name) for name in unary]
    ops += [
        lambda: x * y,
        lambda: x + y,
        lambda: x - y,
        lambda: x / y,
        lambda: x.amax(-1),
        lambda: x.mean(-1),
        lambda: x.sum(-1),
        lambda: x.clamp(-1, 1),
        lambda: torch.maximum(x, y),
        lambda: torch.minimum(x, y),
    ]
    return ops


def dispatch_mix(
    device: torch.device,
    calls: int = 2048,
    reps: int = 7,
    ops: list[Callable[[], Any]] | None = None,
) -> dict[str, Any]:
    """How much more an eager call costs the host when ``k`` operators are called in turn.

    A loop of one operator keeps its dispatch path warm in the host's caches; a decode
    step calls a few dozen operators in turn, and each call finds its path colder the
    more other operators ran since its operator last did. Each rep times every one of
    ``ops`` (default: 32 cheap unary and binary operators on one small tensor) in a loop
    of its own, then for each of :data:`MIX_SIZES` up to their number a round-robin of
    the first ``k``; a row's ``rel`` is the median over reps of the round-robin's µs per
    call over the mean of its operators' own, less one. Within a rep (a fraction of a
    second) the host's speed rarely changes, so the ratio does not depend on it. ``us``
    and ``probe_us`` record the last rep's times and the host-speed probe.
    """
    ops = ops if ops is not None else _mix_ops(device)
    sizes = [k for k in MIX_SIZES if k <= len(ops)]
    per_k: dict[int, list[float]] = {k: [] for k in sizes}
    last: dict[int, float] = {}
    probes: list[float] = []
    for _ in range(reps):
        alone = [per_call_us(fn, device, max(1, calls // 8), 1, probes) for fn in ops]
        for k in sizes:
            chosen = ops[:k]

            def round_robin(chosen: list[Callable[[], Any]] = chosen) -> None:
                for fn in chosen:
                    fn()

            us = per_call_us(round_robin, device, max(1, calls // k), 1) / k
            per_k[k].append(us / (sum(alone[:k]) / k) - 1.0)
            last[k] = us
    return {
        "rows": [{"k": k, "rel": median(v), "us": last[k]} for k, v in per_k.items()],
        "probe_us": median(probes),
        "reps": reps,
    }


def mix_of_calls(
    rows: list[dict[str, Any]], device: torch.device, most: int = 32, seed: int = 0
) -> tuple[list[Callable[[], Any]], list[str]]:
    """The implementations' own calls for :func:`dispatch_mix`: one per operator.

    From the ``calls`` rows: for each operator, its first host-bound call (eager time
    over 1.5x its device time, so a round-robin cannot pile up device work), with its
    real argument shapes; at most ``most`` of them, in an order shuffled by ``seed``.
    """
    import random

    first: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["op"], r["key"])):
        if "error" in row or row["op"] in first:
            continue
        if row["eager_us"] > 1.5 * row["graph_us"]:
            first[row["op"]] = row
    chosen = sorted(first.values(), key=lambda r: r["op"])
    random.Random(seed).shuffle(chosen)
    ops: list[Callable[[], Any]] = []
    for row in chosen[:most]:
        args, kwargs = build_inputs(row["key"], device)
        ops.append(functools.partial(aten_op(row["op"]), *args, **kwargs))
    return ops, [r["op"] for r in chosen[:most]]


def host_costs(
    device: torch.device, models: tuple[str, ...] = MODELS, calls: int = 2000
) -> dict[str, Any]:
    """Measure the host's per-call costs of eager PyTorch beyond the operators.

    Args:
        device: Where the tensors live (``cuda`` for the baseline).
        models: Models whose packed GEMV shapes are timed.
        calls: Calls per timed loop (the Triton loops make a tenth of them).
    """
    from gpubench.kernels import pack_ternary, packed_linear

    probes: dict[str, list[float]] = {}

    def per_call(fn: Callable[[], Any], n: int = calls, reps: int = 5, tag: str = "") -> float:
        return per_call_us(fn, device, n, reps, probes.setdefault(tag, []) if tag else None)

    with torch.inference_mode():
        x = torch.randn(16, 64, device=device)
        module = Passthrough()
        abs_op = torch.ops.aten.abs.default
        out: dict[str, Any] = {
            "probe_us": launch_probe_us(device),
            "loop_us": per_call(lambda: None, tag="loop_us"),
            "view_us": per_call(lambda: x.view(64, 16), tag="view_us"),
            "transpose_us": per_call(lambda: x.transpose(0, 1), tag="transpose_us"),
            "module_us": per_call(lambda: module(x), tag="module_us"),
        }
        pair = paired_us(lambda: x.abs(), lambda: abs_op(x), device, calls)
        out["method_us"], out["aten_us"] = pair["a"], pair["b"]
        out["method_minus_aten_us"] = pair["diff"]
        probes["method_minus_aten_us"] = [pair["probe"]]
        rows = []
        for n, k, m in packed_shapes(models):
            packed = pack_ternary(torch.randint(-1, 2, (n, k), device=device, dtype=torch.int8))
            a = torch.randn(m, 1, k, device=device, dtype=torch.bfloat16)
            packed_linear(a, packed, 0.5)  # compile and warm up
            call = f"triton.packed_matmul|{n}x{k}|{m}"
            eager = per_call(
                lambda: packed_linear(a, packed, 0.5),  # noqa: B023
                max(1, calls // 10),
                3,
                tag=call,
            )
            rows.append({"call": call, "eager_us": eager, "probe_us": median(probes[call])})
        out["triton"] = rows
        out["mix"] = dispatch_mix(device, max(64, calls))
        out["speed_probes"] = {
            k: median(v) for k, v in probes.items() if not k.startswith("triton.")
        }
    return out


def _window(
    run: Callable[[], None], per_run_bytes: int, device: torch.device, monitor: Any, seconds: float
) -> dict[str, Any]:
    """Run ``run`` back to back for ``seconds`` under an NVML window; W and traffic."""
    from gpubench.micro import power_window

    r, count = power_window(run, device, monitor, seconds)
    return {
        "avg_power_w": r.avg_power_w,
        "energy_j": r.energy_j,
        "duration_s": r.duration_s,
        "bytes": count * per_run_bytes,
        "sm_clock_mhz": r.sm_clock_mhz,
        "null_reasons": r.null_reasons,
    }


def power_windows(device: torch.device, seconds: float = 3.0) -> dict[str, Any]:
    """NVML windows of kernel classes the power model prices separately.

    ``floor``: tiny kernels from a graph (the active floor); ``packed``: the packed
    Triton GEMV of a 1.3B GLU matrix, batch 1, from a graph, back to back over 48 copies
    (more than L2 holds, so the weights stream from HBM as in decode);
    ``elementwise``: ``abs`` over a 256 MiB bf16 buffer (read and write, HBM-bound).
    """
    from gpubench.kernels import pack_ternary, packed_linear
    from gpubench.micro import graph_or_loop
    from gpubench.power import PowerMonitor

    monitor = PowerMonitor(enabled=device.type == "cuda")
    if not monitor.available:
        return {"null_reason": monitor.reason}
    with torch.inference_mode():
        tiny = torch.zeros(1, device=device)
        floor = graph_or_loop(lambda: tiny.add_(1), 2000, device)
        n, k = 5632, 2048  # half of the 1.3B GLU's gate/up matrix (11264 x 2048)
        # 48 copies (138 MB, about three L2s): the weights stream from HBM, as in decode
        copies = [
            pack_ternary(torch.randint(-1, 2, (n, k), device=device, dtype=torch.int8))
            for _ in range(48)
        ]
        a = torch.randn(1, 1, k, device=device, dtype=torch.bfloat16)

        def sweep() -> None:
            for w in copies:
                packed_linear(a, w, 0.5)

        inner = 4
        gemv = graph_or_loop(sweep, inner, device)
        big = torch.randn(256 * 2**20 // 2, device=device).to(torch.bfloat16)  # 256 MiB
        elem = graph_or_loop(lambda: big.abs(), 10, device)
        return {
            "floor": _window(floor, 0, device, monitor, seconds),
            "packed": {
                **_window(
                    gemv, inner * sum(int(w.numel()) for w in copies), device, monitor, seconds
                ),
                "shape": [n, k, 1],
            },
            "elementwise": _window(elem, 10 * 2 * big.numel() * 2, device, monitor, seconds),
        }


def main(argv: list[str] | None = None) -> int:
    """Measure every distinct call and the host's costs; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--sections", default="calls,host,glue", help="calls, host and/or glue (default all)"
    )
    parser.add_argument(
        "--update", metavar="FILE", help="start from this file, replacing the sections measured"
    )
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if not sections <= {"calls", "host", "glue"}:
        parser.error(f"--sections: unknown {sorted(sections - {'calls', 'host', 'glue'})}")
    device = torch.device("cuda")
    out: dict[str, Any] = {}
    if args.update:
        with open(args.update, encoding="utf-8") as f:
            out = json.load(f)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.update(
        {
            "kind": "mmfree-cosim/opcost",
            "version": 1,
            "gpu": torch.cuda.get_device_name(),
            "torch": torch.__version__,
        }
    )
    if "calls" in sections:
        out["date_utc"] = now
    t0 = time.perf_counter()
    if "calls" in sections:
        calls = distinct_calls()
        print(f"{len(calls)} distinct calls", flush=True)
        rows, probes = [], [launch_probe_us(device)]
        for i, (name, key) in enumerate(calls):
            try:
                rows.append(measure_call(name, key, device))
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
                rows.append({"op": name, "key": key, "error": error})
            if i % 50 == 49:
                probes.append(launch_probe_us(device))
                print(f"{i + 1}/{len(calls)} {time.perf_counter() - t0:.0f} s", flush=True)
        out["calls"] = rows
        out["calls_probe_us"] = probes
        bad = sum(1 for r in rows if "error" in r)
        print(f"calls: {len(rows)}, {bad} errors, {time.perf_counter() - t0:.0f} s", flush=True)
    if "host" in sections:
        out["host"] = host_costs(device)
        if out.get("calls"):
            with torch.inference_mode():
                ops, names = mix_of_calls(out["calls"], device)
                out["host"]["mix_calls"] = {**dispatch_mix(device, ops=ops), "ops": names}
            rel = {r["k"]: round(r["rel"], 3) for r in out["host"]["mix_calls"]["rows"]}
            print(f"mix of calls: {rel}", flush=True)
        out["host"]["power"] = power_windows(device)
        print(f"power windows: {out['host']['power']}", flush=True)
        out["host_date_utc"] = now
        summary = {k: round(v, 2) for k, v in out["host"].items() if k.endswith("_us")}
        print(f"host: {summary}, {len(out['host']['triton'])} Triton shapes", flush=True)
    if "glue" in sections:
        from gpubench.hostglue import measure_glue

        out["glue"] = measure_glue()
        summary = {k: round(v["us"], 2) for k, v in out["glue"]["per_kernel"].items()}
        print(f"glue: {summary} us per kernel", flush=True)
    write_atomic(Path(args.out), dumps(out, indent=1))  # a killed run leaves no half file
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
