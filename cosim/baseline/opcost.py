"""Microbenchmark of every distinct operator call the implementations make in one step.

The implementations' decode steps are traced on the ``meta`` device
(:mod:`cosim.gpu_capture`); each distinct ATen call (operator, argument shapes, dtypes and
literals) is then run alone on the GPU with random inputs: its device time when replayed
from a CUDA graph (20 calls per graph, median of replays) and its time per call when
launched eagerly back to back (host-bound for small ops). The GPU model uses these as its
per-kernel costs; the decode measurements themselves are not used.

Run on the GPU machine: ``PYTHONPATH=. python3 -m cosim.baseline.opcost --out F``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from statistics import median
from typing import Any

import torch

from cosim.gpu_capture import calls_of, capture_harness_step

__all__ = ["build_inputs", "distinct_calls", "main", "measure_call"]

MODELS = ("370m", "1.3b", "2.7b")
IMPLS = ("reference", "dense", "packed", "transformer")
BATCHES = (1, 16)


def distinct_calls(models: tuple[str, ...] = MODELS) -> list[tuple[str, str]]:
    """Return every distinct (operator, call key) of the implementations' decode steps."""
    seen: set[tuple[str, str]] = set()
    for model in models:
        for impl in IMPLS:
            for batch in BATCHES:
                seen |= set(calls_of(capture_harness_step(model, impl, batch)))
    return sorted(seen)


def _make(spec: Any, device: torch.device, gen: torch.Generator) -> Any:
    if isinstance(spec, list):
        return [_make(v, device, gen) for v in spec]
    if isinstance(spec, dict):
        if "t" in spec:
            dtype = getattr(torch, spec["dtype"])
            shape = spec["t"]
            if dtype == torch.bool:
                return torch.rand(shape, device=device, generator=gen) > 0.5
            if not dtype.is_floating_point:
                return torch.zeros(shape, dtype=dtype, device=device)
            return torch.randn(shape, device=device, generator=gen).to(dtype)
        if "dtype_arg" in spec:
            return getattr(torch, spec["dtype_arg"])
        if "device_arg" in spec:
            return device
        if "kw" in spec:
            return {k: _make(v, device, gen) for k, v in spec["kw"].items()}
        raise ValueError(f"cannot rebuild argument {spec}")
    return spec


def build_inputs(key: str, device: torch.device) -> tuple[list[Any], dict[str, Any]]:
    """Materialise a call key's arguments with random tensors on ``device``."""
    spec = json.loads(key)
    gen = torch.Generator(device=device)
    gen.manual_seed(0)
    args = _make(spec["args"], device, gen)
    kwargs = _make(spec["kwargs"], device, gen)
    return list(args), dict(kwargs)


def _op(name: str) -> Callable[..., Any]:
    _, op, overload = name.split(".")
    packet = getattr(torch.ops.aten, op)
    return getattr(packet, overload)  # type: ignore[no-any-return]


def measure_call(name: str, key: str, device: torch.device) -> dict[str, Any]:
    """Time one call: device µs from a replayed graph, µs per eager call."""
    fn = _op(name)
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
    eager = []
    for _ in range(3):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(50):
            fn(*args, **kwargs)
        torch.cuda.synchronize()
        eager.append((time.perf_counter() - t0) * 1e6 / 50)
    return {"op": name, "key": key, "graph_us": median(times), "eager_us": median(eager)}


def main(argv: list[str] | None = None) -> int:
    """Measure every distinct call; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    device = torch.device("cuda")
    calls = distinct_calls()
    print(f"{len(calls)} distinct calls", flush=True)
    rows = []
    t0 = time.perf_counter()
    for i, (name, key) in enumerate(calls):
        try:
            rows.append(measure_call(name, key, device))
        except Exception as exc:
            rows.append({"op": name, "key": key, "error": f"{type(exc).__name__}: {exc}"[:300]})
        if i % 50 == 0:
            print(f"{i}/{len(calls)} {time.perf_counter() - t0:.0f} s", flush=True)
    out = {
        "kind": "mmfree-cosim/opcost",
        "version": 1,
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "calls": rows,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    bad = sum(1 for r in rows if "error" in r)
    print(f"done: {len(rows)} calls, {bad} errors, {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
