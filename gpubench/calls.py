"""One operator call, rebuilt from its captured key and timed on the host.

A captured kernel's ``call`` (:mod:`gpubench.capture`) names an ATen operator and its
arguments' shapes, dtypes and literals; here it becomes a runnable call again
(:func:`aten_op`, :func:`build_inputs`), and calls are timed in Python loops with the
host-speed probe beside them (:func:`per_call_us`, :func:`paired_us`). The op-cost
microbenchmark (:mod:`gpubench.opcost`) and the host-glue measurement
(:mod:`gpubench.hostglue`) share these.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from statistics import median
from typing import Any

import torch

from gpubench.hostspeed import probe_us
from gpubench.timing import sync

__all__ = ["Passthrough", "aten_op", "build_inputs", "paired_us", "per_call_us"]


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


def aten_op(name: str) -> Callable[..., Any]:
    """Return the ``torch.ops.aten`` overload named like ``aten.mul.Tensor``."""
    _, op, overload = name.split(".")
    packet = getattr(torch.ops.aten, op)
    return getattr(packet, overload)  # type: ignore[no-any-return]


def per_call_us(
    fn: Callable[[], Any],
    device: torch.device,
    calls: int = 2000,
    reps: int = 5,
    probes: list[float] | None = None,
) -> float:
    """Median µs per call of ``fn`` in a Python loop (the device drained before and after).

    With ``probes``, the host-speed probe is appended to it before each timed loop.
    """
    times = []
    for _ in range(reps):
        sync(device)
        if probes is not None:
            probes.append(probe_us())
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e6 / calls)
    return median(times)


class Passthrough(torch.nn.Module):
    """A module whose forward returns its input: the cost of an ``nn.Module`` call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x``."""
        return x


def paired_us(
    a: Callable[[], Any], b: Callable[[], Any], device: torch.device, calls: int, reps: int = 9
) -> dict[str, float]:
    """``a`` and ``b`` timed in alternating loops: medians, and of the pairs' differences.

    Each pair runs back to back, so both see the same host speed; the difference is
    converted by the probe taken before the pair (``probe``, its median).
    """
    ta, tb, diffs, probes = [], [], [], []
    for _ in range(reps):
        pa: list[float] = []
        x = per_call_us(a, device, calls, 1, pa)
        y = per_call_us(b, device, calls, 1)
        ta.append(x)
        tb.append(y)
        diffs.append(x - y)
        probes.append(pa[0])
    return {"a": median(ta), "b": median(tb), "diff": median(diffs), "probe": median(probes)}
