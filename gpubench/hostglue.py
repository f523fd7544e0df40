"""The host's Python "glue" around an implementation's operators, measured on the CPU.

An eager decode step costs the host each operator's dispatch (the op-cost file times
every call in a loop of its own), each ``nn.Module`` call and view (its ``host``
section), and the Python between them: attribute lookups, the ``Tensor`` operators
written in Python, the model's own lines. That last part depends on the code, not on
the device, so it is measured here with CPU tensors of a tiny model. Each rep times one
decode step of the implementation and, right after it, a *replay* of the same operator
calls in the same order on inputs of the same shapes (built once) with no Python
between them; the pair runs within a few milliseconds, so both see the same host speed.
The glue of a pair is step less replay, less the step's module calls and views priced
by their own loops, divided by the pure-Python probe (:mod:`gpubench.hostspeed`)
taken just before it. The replay calls ``torch.ops.aten`` packets, the model tensor
methods, which cost less (timed in alternating loops here too); that difference per
call is added back. The median over pairs, per kernel the step launches, times the
baseline host's quiet reference, is what the GPU model adds to every eager launch.

Recorded beside it, ``loops_us``: the step's calls each timed in a loop of its own
(fastest of five), summed, as the op-cost file prices them on the GPU; the replay of
the same calls in sequence costs more than that (a record of the dispatch's sequence
effect, which the GPU model does not price beyond its round-robin penalty).

The ``packed`` implementation runs its torch fallback on a CPU, not the Triton launcher
the GPU runs, so it is not measured; the GPU model uses ``dense``'s glue for it (the
same Python around a different linear; the launcher itself is timed on the GPU).
"""

from __future__ import annotations

import dataclasses
import time
from statistics import median
from typing import Any

import torch

from gpubench.calls import Passthrough, aten_op, build_inputs, paired_us
from gpubench.hostspeed import probe_us
from gpubench.shapes import get_shape

__all__ = ["GLUE_IMPLS", "GLUE_LAYERS", "measure_glue"]

#: Implementations whose CPU run dispatches what their GPU run does.
GLUE_IMPLS = ("reference", "dense", "transformer")

#: Layers of the tiny model measured (the embedding and head then weigh little).
GLUE_LAYERS = 8


def _loop_us(fn: Any, calls: int, reps: int = 5) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) * 1e6 / calls)
    return best


def _one(impl: str, reps: int, calls: int) -> dict[str, Any]:
    """One implementation: paired step and replay times, modules and views (µs)."""
    from gpubench.capture import capture_harness_step
    from gpubench.models import build_decoder, build_model

    cpu = torch.device("cpu")
    shape = dataclasses.replace(get_shape("tiny"), layers=GLUE_LAYERS)
    step = capture_harness_step("tiny", impl, 1, shape=shape)
    model = build_model(shape, impl, cpu, torch.bfloat16)
    decoder = build_decoder(model, 1, prompt_tokens=8, max_steps=reps + 8)
    built: dict[str, tuple[Any, list[Any], dict[str, Any]]] = {}
    for k in step.kernels:
        if k.call not in built:
            name, key = k.call.split("|", 1)
            args, kwargs = build_inputs(key, cpu)
            built[k.call] = (aten_op(name), args, kwargs)
    sequence = [built[k.call] for k in step.kernels]

    def replay() -> None:
        for fn, args, kwargs in sequence:
            fn(*args, **kwargs)

    decoder.prefill_()
    diffs, steps, replays, probes = [], [], [], []
    with torch.inference_mode():
        for _ in range(4):
            decoder.step_()
            replay()
        for _ in range(reps):
            probes.append(probe_us())
            t0 = time.perf_counter()
            decoder.step_()
            t1 = time.perf_counter()
            replay()
            t2 = time.perf_counter()
            steps.append((t1 - t0) * 1e6)
            replays.append((t2 - t1) * 1e6)
            diffs.append((t1 - t0 - (t2 - t1)) * 1e6)
        own = {
            c: _loop_us(lambda f=f, a=a, kw=kw: f(*a, **kw), 300) for c, (f, a, kw) in built.items()
        }
        loops = sum(own[k.call] for k in step.kernels)
        x = torch.randn(16, 64)
        module = Passthrough()
        empty = _loop_us(lambda: None, calls)
        module_us = _loop_us(lambda: module(x), calls) - empty
        view_us = _loop_us(lambda: x.view(64, 16), calls) - empty
        abs_op = torch.ops.aten.abs.default  # tensor method less torch.ops.aten packet
        method = paired_us(lambda: x.abs(), lambda: abs_op(x), cpu, calls)
    others = step.module_calls * module_us + step.host_only_ops * view_us
    glue = [d - others for d in diffs]
    return {
        "impl": impl,
        "layers": GLUE_LAYERS,
        "kernels": len(step.kernels),
        "step_us": median(steps),
        "replay_us": median(replays),
        "loops_us": loops,
        "module_calls": step.module_calls,
        "module_us": module_us,
        "views": step.host_only_ops,
        "view_us": view_us,
        "glue_us": median(glue),
        "probe_us": median(probes),
        # the glue in units of the probe, pair by pair: independent of the host's speed
        "glue_per_probe": median(g / p for g, p in zip(glue, probes, strict=True)),
        "method_minus_aten_per_probe": method["diff"] / method["probe"],
    }


def measure_glue(reps: int = 40, calls: int = 2000) -> dict[str, Any]:
    """Measure every :data:`GLUE_IMPLS` on the CPU.

    Returns:
        ``rows`` (one per implementation) and ``per_kernel`` (by implementation:
        ``per_probe``, the glue per kernel launched in units of the probe's µs, and
        ``us``, the same at the pairs' median probe).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny operators: no thread pool in their timing
    try:
        rows = [_one(impl, reps, calls) for impl in GLUE_IMPLS]
    finally:
        torch.set_num_threads(threads)
    per_kernel = {}
    for r in rows:
        # the step calls tensor methods, the replay torch.ops.aten packets: put back what
        # the methods save per call, so the glue is the Python beyond the calls alone
        per_probe = r["glue_per_probe"] / r["kernels"] - r["method_minus_aten_per_probe"]
        per_kernel[r["impl"]] = {"per_probe": per_probe, "us": per_probe * r["probe_us"]}
    return {"rows": rows, "per_kernel": per_kernel}
