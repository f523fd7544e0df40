"""Timing on the device's own clock: CUDA events on a GPU, the host clock on the CPU.

CUDA work is asynchronous, so a GPU region is timed by events recorded in the stream
around it and read after one synchronisation; consecutive steps share events, so a run
of ``n`` steps costs ``n + 1`` events and no synchronisation until the end. On the CPU
(the harness's tests) the same functions use ``time.perf_counter``. Statistics are the
median and the 10th/90th percentiles.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["median", "percentile", "sync", "time_each", "time_steps", "time_tagged_steps"]


def sync(device: torch.device) -> None:
    """Wait for all work submitted to ``device``."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(fn: Callable[[], Any], n: int, device: torch.device) -> list[float]:
    """Call ``fn`` ``n`` times back to back; return each call's duration in ms.

    On CUDA an event is recorded before the first call and after each one, so a step's
    time is the gap between the ends of consecutive steps (the steady-state period).
    """
    if device.type != "cuda":
        stamps = [time.perf_counter()]
        for _ in range(n):
            fn()
            stamps.append(time.perf_counter())
        return [(b - a) * 1e3 for a, b in itertools.pairwise(stamps)]
    events = [torch.cuda.Event(enable_timing=True) for _ in range(n + 1)]  # type: ignore[no-untyped-call]
    events[0].record()
    for k in range(n):
        fn()
        events[k + 1].record()
    torch.cuda.synchronize(device)
    return [a.elapsed_time(b) for a, b in itertools.pairwise(events)]


def time_tagged_steps(
    fn: Callable[[], Any], n: int, device: torch.device, probe: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Call ``fn`` ``n`` times, each alone, with ``probe`` before the first and after each.

    Each call starts on a drained device and is timed to its end (events on CUDA), then
    ``probe`` runs with the device idle, so the probes read the host between steps
    without touching the steps' timing. Returns (each call's ms, the ``n + 1`` probes).
    """
    probes = [probe()]
    times = []
    for _ in range(n):
        times.append(time_each(fn, 1, device)[0])
        probes.append(probe())
    return times, probes


def time_each(
    fn: Callable[[], Any],
    reps: int,
    device: torch.device,
    between: Callable[[], Any] | None = None,
) -> list[float]:
    """Time ``reps`` separate calls of ``fn`` (ms), with ``between`` untimed before each."""
    out = []
    for _ in range(reps):
        if between is not None:
            between()
        sync(device)
        if device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            start.record()
            fn()
            end.record()
            end.synchronize()
            out.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def median(values: Sequence[float]) -> float:
    """The median."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between order statistics."""
    s = sorted(values)
    if len(s) == 1:
        return float(s[0])
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return float(s[lo] + (s[hi] - s[lo]) * (pos - lo))
