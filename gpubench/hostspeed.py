"""The host's single-thread speed, probed with a fixed pure-Python loop, and quiet steps.

Eager decode is host-bound: its step time is the Python thread's time to dispatch the
step's operators. On the shared GPU machine the baseline was measured on (a VM) that
thread's speed is not constant: it switches, for seconds at a time, between a quiet
state and one about 1.6x slower (steal time reads 0; most likely another tenant on the
same physical core), and the eager ms/token of one case moved by up to 2x between runs.

The **probe** times a fixed pure-Python loop (no torch, no device: the same work every
time), so its µs are a direct reading of the host's speed at that moment. The harness
probes after every step of a *tagged* pass of eager decode steps; a step is **quiet**
when the probes on both sides of it are within :data:`QUIET_FACTOR` of the run's
**quiet reference** (the 5th percentile of all the run's probes, a start-up sample
included). The quiet steps' median is the eager ms/token of an undisturbed host, the
figure that reproduces from run to run; the plain median of all steps is kept beside it.
The op-cost microbenchmark probes beside each eager timing the same way, so the GPU
model can price host work at the baseline machine's quiet speed (see
:mod:`cosim.gpu_calibration`). Standard library only.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PROBE_LOOP",
    "QUIET_FACTOR",
    "QuietSteps",
    "probe_us",
    "quiet_reference",
    "quiet_steps",
]

#: Iterations of the probe's loop (~0.2 ms on the H200 machine's host when quiet).
PROBE_LOOP = 5000

#: A step is quiet when its neighbouring probes are at most this times the reference.
QUIET_FACTOR = 1.2

#: Quiet steps needed for a quiet median.
MIN_QUIET = 8


def probe_us(loop: int = PROBE_LOOP) -> float:
    """Time ``loop`` iterations of a fixed integer loop (µs): lower is a faster host."""
    t0 = time.perf_counter()
    x = 0
    for i in range(loop):
        x += i * 3
    return (time.perf_counter() - t0) * 1e6


def quiet_reference(probes: Sequence[float]) -> float | None:
    """The quiet reference: the 5th percentile of ``probes`` (None when there are none)."""
    if not probes:
        return None
    s = sorted(probes)
    return float(s[int(0.05 * (len(s) - 1))])


@dataclass(frozen=True)
class QuietSteps:
    """The quiet steps of one tagged pass against a reference.

    Attributes:
        count: How many steps were quiet.
        median_ms: Their median (None with fewer than :data:`MIN_QUIET`).
        reason: Why ``median_ms`` is None, else None.
    """

    count: int
    median_ms: float | None
    reason: str | None


def quiet_steps(
    step_ms: Sequence[float], probes_us: Sequence[float], reference_us: float
) -> QuietSteps:
    """Select the quiet steps of a tagged pass.

    Args:
        step_ms: Each tagged step's time.
        probes_us: One more than ``step_ms``: the probe before the first step, then the
            probe after each step.
        reference_us: The run's quiet reference.

    Raises:
        ValueError: The probes do not bracket the steps.
    """
    if len(probes_us) != len(step_ms) + 1:
        raise ValueError(
            f"{len(probes_us)} probes for {len(step_ms)} steps (need one before each step "
            "and one after the last)"
        )
    limit = QUIET_FACTOR * reference_us
    quiet = [
        ms for k, ms in enumerate(step_ms) if probes_us[k] <= limit and probes_us[k + 1] <= limit
    ]
    if len(quiet) >= MIN_QUIET:
        return QuietSteps(len(quiet), float(statistics.median(quiet)), None)
    return QuietSteps(
        len(quiet),
        None,
        f"the host was quiet for {len(quiet)} of {len(step_ms)} tagged steps (fewer than "
        f"{MIN_QUIET}; quiet: both probes within {QUIET_FACTOR}x of {reference_us:.1f} us)",
    )
