"""Calibrating the GPU model from the baseline's microbenchmarks (and nothing else).

From a measured baseline file's ``micro`` sections (the decode measurements are never
used here): the sustained HBM read bandwidth; the L2-resident bandwidth and per-kernel
floor fitted to the L2 reads at 8–48 MiB (``t = t0 + bytes / bw``, least squares); the
matrix-product floor fitted the same way to the bf16 GEMV shapes; the host cost of an
eager launch and the device cost of a graph node of a tiny kernel; from the op-cost file,
each call's device and eager host time, the host's cost of views, module calls and
tensor-method calls, the dispatch penalty of calling operators in turn (a round-robin
of 1-32 operators against their own loops), the Python glue between an implementation's
operators (measured with CPU tensors), and the watts the packed GEMV adds on every
SM; and the power model's three coefficients from three NVML windows: a graph of tiny
kernels (the active floor), a sustained HBM read (watts per TB/s above that floor) and
sustained bf16 GEMMs (watts per TFLOP/s above it).

Host times are converted to the speed of the baseline machine's host when quiet: both
files record the pure-Python host-speed probe (:mod:`gpubench.hostspeed`), the
op-cost file beside each eager timing and the baseline as its runs' quiet reference
(the probe's readings between decode steps, not the steps' times).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np

from arch_models.gpu_model import GpuCalibration
from gpubench.replay import captured_call

if TYPE_CHECKING:
    from gpubench.schema import Baseline

__all__ = ["Calibrated", "calibrate_from_baseline", "load_opcost", "quiet_reference_of"]


@dataclass(frozen=True)
class Calibrated:
    """Everything the GPU model takes from microbenchmarks.

    Attributes:
        hbm_gb_per_s: Sustained HBM read bandwidth.
        l2_gb_per_s: L2-resident read bandwidth (fit).
        eager_launch_us: Host time per eagerly launched tiny op.
        calibration: Per-kernel floor and power coefficients.
    """

    hbm_gb_per_s: float
    l2_gb_per_s: float
    eager_launch_us: float
    calibration: GpuCalibration


def _fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``t_us = a + bytes / bw``; returns (a_us, bw in GB/s)."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(1e-3 / slope)  # bytes/us -> GB/s: 1 B/us = 1e-3 GB/s


class _HostSpeed:
    """Converts host times measured beside a probe reading to the baseline's quiet speed.

    The op-cost file records the pure-Python probe (:mod:`gpubench.hostspeed`)
    before its eager timings; the baseline records its run's quiet reference. Host work
    scales with the probe, so a time ``t`` measured beside probe ``p`` costs
    ``t * reference / p`` on the baseline's host when quiet. Without either figure
    (older files) times are taken as measured.
    """

    def __init__(self, reference_us: float | None) -> None:
        self.reference_us = reference_us

    def __call__(self, t_us: float, probe_us: float | None) -> float:
        if self.reference_us is None or not probe_us:
            return t_us
        return t_us * self.reference_us / probe_us

    def of_reps(self, row: dict[str, Any]) -> float:
        """A call's eager time: the median over its timed loops, each converted."""
        reps, probes = row.get("eager_reps_us"), row.get("probe_reps_us")
        if self.reference_us is None or not reps or not probes or len(reps) != len(probes):
            return float(row["eager_us"])
        return median(self(float(t), float(p)) for t, p in zip(reps, probes, strict=True))


def quiet_reference_of(baseline: Baseline) -> float | None:
    """The baseline's quiet host-speed reference (µs of the probe): its runs' median."""
    refs = {c.run: c.host_quiet_ref_us for c in baseline.cases if c.host_quiet_ref_us}
    return median(refs.values()) if refs else None


def _op_costs(
    opcost: dict[str, Any] | None, micros: list[Any], eager_generic: float, speed: _HostSpeed
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-call device and host times from the op-cost and GEMV microbenchmarks.

    A host-bound call's host time is its eager time per call, measured through
    ``torch.ops.aten``, corrected by what the same operator costs less (or more) as the
    tensor method the code calls (the op-cost file's ``host`` section); every host time
    is converted to the baseline's quiet host speed by ``speed``.
    """
    h = (opcost or {}).get("host") or {}
    probes = h.get("speed_probes", {})
    if "method_minus_aten_us" in h:  # timed in alternating loops: one host speed
        method_extra = speed(float(h["method_minus_aten_us"]), probes.get("method_minus_aten_us"))
    elif h:
        method_extra = speed(float(h["method_us"]), probes.get("method_us")) - speed(
            float(h["aten_us"]), probes.get("aten_us")
        )
    else:
        method_extra = 0.0
    kernel: dict[str, float] = {}
    host: dict[str, float] = {}
    for row in (opcost or {}).get("calls", []):
        if "error" in row:
            continue
        call = f"{row['op']}|{row['key']}"
        kernel[call] = float(row["graph_us"])
        eager = speed.of_reps(row)
        host[call] = eager + method_extra if _host_bound(eager, row["graph_us"]) else eager_generic
    for m in micros:
        for g in m.gemv:
            if g.kind == "packed":
                kernel[f"triton.packed_matmul|{g.rows}x{g.cols}|{g.batch}"] = float(g.us)
    for row in (opcost or {}).get("host", {}).get("triton", []):
        device = kernel.get(row["call"])
        eager = speed(float(row["eager_us"]), row.get("probe_us"))
        host[row["call"]] = eager if _host_bound(eager, device) else eager_generic
    return kernel, host


def _host_bound(eager_us: float, device_us: float | None) -> bool:
    """Whether back-to-back eager calls ran at the host's pace, not the device's.

    They run at the slower of the two; where the device is the slower, the host's own
    cost is unknown and the generic launch cost stands in.
    """
    return device_us is None or eager_us > 1.5 * device_us


def load_opcost(baseline_path: str | Path) -> dict[str, Any] | None:
    """Return the per-call microbenchmarks beside a baseline, if there are any.

    The op-cost file (``<stem>_opcost.json``, :mod:`gpubench.opcost`), with the fused
    implementation's per-kernel times (``<stem>_fused_kernels.json``, written by
    ``benchmarks/gpu_fused_check.py --kernels-out``: each Triton launch of a decode step
    timed alone in a CUDA graph) under ``kernel_times``.
    """
    path = Path(baseline_path)
    sibling = path.with_name(path.stem + "_opcost.json")
    data: dict[str, Any] | None = None
    if sibling.exists():
        data = json.loads(sibling.read_text(encoding="utf-8"))
    context = path.with_name(path.stem + "_kernel_context.json")
    if context.exists():
        data = {**(data or {}), "kernel_context": json.loads(context.read_text(encoding="utf-8"))}
    fused = path.with_name(path.stem + "_fused_kernels.json")
    if fused.exists():
        table = json.loads(fused.read_text(encoding="utf-8"))
        data = {
            **(data or {}),
            "kernel_times": table.get("rows", []),
            "kernel_floor_w": table.get("floor_w"),
        }
    return data


def _kernel_times(
    opcost: dict[str, Any] | None,
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Microseconds, bytes and extra watts of a launch of each captured kernel.

    From the per-kernel table. Launches of one Triton function with one grid (the
    profiler's grouping) that differ in shape take their launches' mean, weighted by how
    many a step makes. Extra watts: the board's power while the kernel ran back to back
    less the same session's floor (a graph of tiny kernels), where both were measured.
    """
    sums: dict[str, tuple[float, float, float, int]] = {}
    floor = (opcost or {}).get("kernel_floor_w")
    for row in (opcost or {}).get("kernel_times", []):
        key = captured_call(row["model"], int(row["batch"]), row["kernel"], int(row["grid"]))
        us, nbytes, wus, n = sums.get(key, (0.0, 0.0, 0.0, 0))
        count = int(row.get("per_step", 1))
        watts = row.get("watts")
        extra = float(watts) - float(floor) if watts and floor else float("nan")
        # in a decode step no kernel follows itself: its time after a different one
        launch_us = float(row.get("us_after_other") or row["us"])
        sums[key] = (
            us + launch_us * count,
            nbytes + float(row.get("bytes", 0)) * count,
            wus + extra * launch_us * count,
            n + count,
        )
    times = {key: us / n for key, (us, _, _, n) in sums.items() if n}
    moved = {key: b / n for key, (_, b, _, n) in sums.items() if n}
    watts = {key: max(0.0, w / us) for key, (us, _, w, n) in sums.items() if n and us and w == w}
    return times, moved, watts


def _in_context(opcost: dict[str, Any] | None) -> frozenset[str]:
    """Calls of the per-kernel table timed after a different kernel (``us_after_other``)."""
    return frozenset(
        captured_call(r["model"], int(r["batch"]), r["kernel"], int(r["grid"]))
        for r in (opcost or {}).get("kernel_times", [])
        if r.get("us_after_other")
    )


def _kernel_context(opcost: dict[str, Any] | None) -> tuple[float, float]:
    """``(switch µs, one block's GB/s)`` from the kernel-context file (zeros without it).

    The switch cost: a graph node's time with the most distinct kernels in turn less
    with one repeated. One block's bandwidth: ``t = t0 + bytes / bw`` fitted to the
    one-block reductions.
    """
    ctx = (opcost or {}).get("kernel_context") or {}
    switch = {int(r["k"]): float(r["node_us"]) for r in ctx.get("switch", [])}
    switch_us = max(0.0, switch[max(switch)] - switch[min(switch)]) if len(switch) > 1 else 0.0
    one = [(float(r["bytes"]), float(r["us"])) for r in ctx.get("blocks", []) if r["blocks"] == 1]
    block_gb_per_s = _fit(one)[1] if len(one) >= 2 else 0.0
    return switch_us, max(0.0, block_gb_per_s)


def _packed_watts(opcost: dict[str, Any] | None, w_per_tb_s: float) -> float:
    """Watts the packed GEMV adds on every SM, beyond its HBM traffic (NVML windows).

    From the op-cost file's windows of one session: the packed GEMV (enough thread blocks
    for every SM) back to back over more weights than L2 holds, less that session's floor
    (a graph of tiny kernels) and less its HBM traffic priced at ``w_per_tb_s``. 0 where
    the windows were not measured.
    """
    windows = (opcost or {}).get("host", {}).get("power", {})
    floor, packed = windows.get("floor", {}), windows.get("packed", {})
    if not (floor.get("avg_power_w") and packed.get("avg_power_w") and packed.get("duration_s")):
        return 0.0
    tb_s = float(packed["bytes"]) / float(packed["duration_s"]) / 1e12
    extra = float(packed["avg_power_w"]) - float(floor["avg_power_w"]) - w_per_tb_s * tb_s
    return max(0.0, extra)


def _host_extras(opcost: dict[str, Any] | None, speed: _HostSpeed) -> dict[str, float]:
    """The host's per-call costs beyond the operators (the op-cost file's ``host``)."""
    h = (opcost or {}).get("host")
    if not h:
        return {}
    probes = h.get("speed_probes", {})

    def at_speed(name: str) -> float:
        return speed(float(h[name]), probes.get(name))

    loop = at_speed("loop_us")
    return {
        "host_only_op_us": max(0.0, (at_speed("view_us") + at_speed("transpose_us")) / 2 - loop),
        "module_call_us": max(0.0, at_speed("module_us") - loop),
    }


def _dispatch_penalty(opcost: dict[str, Any] | None) -> tuple[tuple[int, float], ...]:
    """``(k, fraction)``: how much more a call costs with ``k`` operators called in turn.

    From the op-cost file's ``mix_calls`` (the implementations' own calls in turn), else
    its ``mix`` (cheap operators on one tensor): each a ratio within one short rep, so
    the host's speed cancels, taken relative to the round-robin of one (which adds only
    its own loop's overhead); never negative; empty without either.
    """
    host = (opcost or {}).get("host") or {}
    mix = host.get("mix_calls") or host.get("mix")
    if not mix:
        return ()
    rows = {int(r["k"]): float(r["rel"]) for r in mix["rows"]}
    one = 1.0 + rows.get(1, 0.0)  # the round-robin's own loop overhead, at k = 1
    return tuple(sorted((k, max(0.0, (1.0 + rel) / one - 1.0)) for k, rel in rows.items()))


def _glue(opcost: dict[str, Any] | None, reference_us: float | None) -> dict[str, float]:
    """Python glue per eager launch, by implementation, at the baseline host's quiet speed.

    From the op-cost file's ``glue`` section (:mod:`gpubench.hostglue`): measured in
    units of the probe, so times the baseline's quiet reference (as measured where there
    is none); ``packed`` takes ``dense``'s.
    """
    per_kernel = ((opcost or {}).get("glue") or {}).get("per_kernel") or {}
    out = {
        impl: max(0.0, v["per_probe"] * reference_us if reference_us else v["us"])
        for impl, v in per_kernel.items()
    }
    if "dense" in out:
        out.setdefault("packed", out["dense"])
    return out


def calibrate_from_baseline(baseline: Baseline, opcost: dict[str, Any] | None = None) -> Calibrated:
    """Derive the GPU model's calibration from a baseline's microbenchmarks.

    Args:
        baseline: A :class:`gpubench.schema.Baseline`.
        opcost: The per-call microbenchmark (``gpubench.opcost``), if measured.

    Raises:
        ValueError: The file has no usable microbenchmarks.
    """
    micros = [r.micro for r in baseline.runs if r.micro is not None and r.micro.status == "ok"]
    if not micros:
        raise ValueError("the baseline has no microbenchmarks to calibrate from")
    hbm = [b.gb_per_s for m in micros for b in m.bandwidth if b.name == "hbm_read"]
    l2 = [(b.bytes, b.ms * 1e3) for m in micros for b in m.bandwidth if b.name == "l2_read"]
    gemv = [
        (g.weight_bytes, g.us) for m in micros for g in m.gemv if g.kind == "bf16" and g.batch == 1
    ]
    eager = [m.launch_eager_us for m in micros if m.launch_eager_us]
    node = [m.launch_graph_node_us for m in micros if m.launch_graph_node_us]
    if not (hbm and len(l2) >= 2 and len(gemv) >= 2 and eager and node):
        raise ValueError("the baseline's microbenchmarks lack HBM, L2, GEMV or launch figures")
    _, l2_bw = _fit(l2)
    mm_floor, _ = _fit(gemv)
    launch_w = [
        m.launch_power.avg_power_w
        for m in micros
        if m.launch_power is not None and m.launch_power.avg_power_w
    ]
    idle_w = [r.idle.avg_power_w for r in baseline.runs if r.idle.avg_power_w]
    floor_w = median(launch_w) if launch_w else median(idle_w)
    per_tb = []
    for m in micros:
        if m.hbm_power is not None and m.hbm_power.avg_power_w and m.hbm_power_bytes:
            tb_s = m.hbm_power_bytes / m.hbm_power.duration_s / 1e12
            per_tb.append((m.hbm_power.avg_power_w - floor_w) / tb_s)
    per_tflop = []
    for m in micros:
        if m.gemm_power is not None and m.gemm_power.avg_power_w and m.gemm_power_flops:
            tflop_s = m.gemm_power_flops / m.gemm_power.duration_s / 1e12
            per_tflop.append((m.gemm_power.avg_power_w - floor_w) / tflop_s)
    speed = _HostSpeed(quiet_reference_of(baseline))
    kernels, hosts = _op_costs(opcost, micros, median(eager), speed)
    captured_us, captured_bytes, captured_watts = _kernel_times(opcost)
    switch_us, block_gb_per_s = _kernel_context(opcost)
    kernels.update(captured_us)
    w_per_tb = median(per_tb) if per_tb else 0.0
    cal = GpuCalibration(
        kernel_floor_us=median(node),
        matmul_floor_us=mm_floor,
        active_idle_w=floor_w,
        w_per_tb_s=w_per_tb,
        w_per_tflop_s=median(per_tflop) if per_tflop else 0.0,
        source="microbenchmarks of "
        + ", ".join(sorted({r.environment.date_utc[:10] for r in baseline.runs})),
        kernel_us=kernels,
        host_us=hosts,
        kernel_bytes=captured_bytes,
        kernel_watts=captured_watts,
        switch_us=switch_us,
        block_gb_per_s=block_gb_per_s,
        in_context=_in_context(opcost),
        w_packed_busy=_packed_watts(opcost, w_per_tb),
        dispatch_penalty=_dispatch_penalty(opcost),
        glue_us=_glue(opcost, speed.reference_us),
        **_host_extras(opcost, speed),
    )
    return Calibrated(
        hbm_gb_per_s=median(hbm),
        l2_gb_per_s=l2_bw,
        eager_launch_us=median(eager),
        calibration=cal,
    )
