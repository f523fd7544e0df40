"""A GPU memory hierarchy and issue path as SimPy processes: what batch-small decode costs.

Two processes: the *host* issues kernels (eagerly: the measured host time of each call,
else ``eager_launch_us``, plus a dispatch penalty that grows with how many other
operators ran since the call's operator last did, plus the host's cost of the views and
``nn.Module`` calls that launch nothing and of the Python glue between operators; from
a CUDA graph: one graph launch, then ``graph_launch_us`` of device-side scheduling per
node) into the *stream*, which runs them in order. A kernel's device time is

``floor + max(HBM bytes / HBM bandwidth + L2 bytes / L2 bandwidth, FLOPs / peak rate)``

(``floor`` is the matrix-product floor for GEMV/GEMM kernels, the tiny-kernel floor
otherwise)

where parameters come from HBM unless the whole model fits in half the L2, activations
come from L2 when they fit in a quarter of it (a producer just wrote them) and from HBM
otherwise, and matrix products run at the tensor-core rate, everything else at the fp32
rate. The step ends when the stream drains and the host has synchronised (``sync_us``).
Eager decode is launch-bound when the host is slower than the stream; graphs remove that.

Power: ``active_idle_w`` (the card with clocks up and kernels trickling) plus
``w_per_tb_s`` × achieved HBM bandwidth plus ``w_per_tflop_s`` × achieved tensor FLOP/s
plus ``w_packed_busy`` × the share of the step the packed GEMV occupies the SMs, the
coefficients calibrated on microbenchmarks only (see ``GpuCalibration``); a kernel whose
power was measured alone (``kernel_watts``) draws its own extra watts for its share of
the step instead of the traffic and FLOP terms.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import simpy

from arch_models.gpu_kernels import Kernel, KernelStep
from arch_models.sim_env import CountingEnvironment
from arch_models.spec.arch import Arch
from arch_models.spec.units import GpuL2, GpuSms, KernelLaunch, OffChipMemory

__all__ = ["GpuCalibration", "GpuModel", "GpuStepResult", "Launch"]

Launch = Literal["eager", "graph"]


@dataclass(frozen=True)
class GpuCalibration:
    """Figures a GPU model takes from microbenchmarks rather than datasheets.

    Attributes:
        kernel_floor_us: Device time of a tiny kernel in a graph (the per-kernel floor).
        matmul_floor_us: Fixed time of a matrix-product kernel (cuBLAS GEMV/GEMM).
        active_idle_w: Board power while kernels trickle with little memory traffic.
        w_per_tb_s: Extra watts per TB/s of HBM traffic.
        w_per_tflop_s: Extra watts per TFLOP/s of tensor-core work.
        w_packed_busy: Extra watts while the packed (2-bit) GEMV runs on every SM, beyond
            its HBM traffic: its unpacking keeps the SMs' integer units busy. A launch
            with fewer thread blocks than SMs draws it in proportion.
        source: Where the figures come from (the baseline file and its date).
        kernel_us: Measured device time of individual kernels replayed alone from a CUDA
            graph, by call (operator and argument shapes); used instead of the formula
            where present.
        host_us: Measured host time per eager launch, by call.
        kernel_bytes: Bytes a launch must move, by call, for measured kernels whose
            operands the profiler did not record (the fused implementation's table);
            counted as HBM traffic for power.
        switch_us: Extra device time of a graph node whose kernel differs from the one
            before it (a graph of distinct tiny kernels in turn against one repeated):
            added to every kernel timed back to back with itself or priced by formula.
        block_gb_per_s: Read bandwidth of one thread block (a one-block reduction by
            bytes read): a kernel of fewer blocks than SMs reads no faster than its blocks
            do (0: not measured). Matrix products (cuBLAS) are priced by the GEMV
            microbenchmark instead.
        in_context: Calls whose measured time is already a launch after a different
            kernel (no switch cost added).
        kernel_watts: Watts a measured kernel adds above the active floor while it runs
            (its own NVML window, beside that session's floor), by call: such a kernel's
            share of the step draws these instead of the traffic and FLOP terms.
        host_only_op_us: Host time of an operator that launches nothing (a view).
        module_call_us: Host time of an ``nn.Module`` call around its forward.
        dispatch_penalty: ``(k, fraction)`` pairs, ``k`` ascending: how much more an
            eager call costs the host than in a loop of its own when ``k`` distinct
            operators are called in turn (see :func:`dispatch_penalty`).
        glue_us: Host time of the Python between an implementation's operators, per
            kernel it launches eagerly, by implementation.
    """

    kernel_floor_us: float
    matmul_floor_us: float
    active_idle_w: float
    w_per_tb_s: float
    w_per_tflop_s: float
    source: str
    kernel_us: dict[str, float] = field(default_factory=dict)
    host_us: dict[str, float] = field(default_factory=dict)
    kernel_bytes: dict[str, float] = field(default_factory=dict)
    kernel_watts: dict[str, float] = field(default_factory=dict)
    switch_us: float = 0.0
    block_gb_per_s: float = 0.0
    in_context: frozenset[str] = frozenset()
    w_packed_busy: float = 0.0
    host_only_op_us: float = 0.0
    module_call_us: float = 0.0
    dispatch_penalty: tuple[tuple[int, float], ...] = ()
    glue_us: dict[str, float] = field(default_factory=dict)


def reuse_distances(names: list[str]) -> list[int]:
    """Each call's operator reuse distance in a step that repeats.

    The number of distinct other operators called since the call's operator last ran
    (0 when it ran just before), counting across the end of the previous identical step.
    """
    order: list[str] = []  # most recent first
    out: list[int] = []
    for k, name in enumerate(names + names):
        if name in order:
            d = order.index(name)
            order.pop(d)
        else:
            d = len(order)
        order.insert(0, name)
        if k >= len(names):
            out.append(d)
    return out


def dispatch_penalty(table: tuple[tuple[int, float], ...], distance: int) -> float:
    """The fraction a call at a reuse distance costs beyond its loop time (0 without a table).

    A round-robin of ``k`` operators gives each call the distance ``k - 1``; between
    measured sizes the penalty is linear in log2(k), beyond the largest it stays there.
    """
    if not table:
        return 0.0
    k = distance + 1
    if k <= table[0][0]:
        return table[0][1]
    for (k0, p0), (k1, p1) in itertools.pairwise(table):
        if k <= k1:
            f = (math.log2(k) - math.log2(k0)) / (math.log2(k1) - math.log2(k0))
            return p0 + f * (p1 - p0)
    return table[-1][1]


@dataclass(frozen=True)
class GpuStepResult:
    """One simulated decode step.

    Attributes:
        ns: Step time.
        device_busy_ns: Time the stream was running kernels.
        hbm_bytes: Bytes from/to HBM.
        l2_bytes: Bytes from/to L2.
        tensor_flops: Matrix-product FLOPs.
        kernels: Kernels launched.
        packed_sm_ns: Packed GEMV time weighted by the fraction of SMs it occupies.
        measured_w_ns: Extra watts times ns of the kernels with a measured power window.
        measured_hbm_bytes: HBM bytes of those kernels (priced by their windows).
        measured_flops: Matrix-product FLOPs of those kernels.
        host_ns: Time the host spent issuing the step's kernels.
        events: SimPy events processed.
    """

    ns: float
    device_busy_ns: float
    hbm_bytes: int
    l2_bytes: int
    tensor_flops: int
    kernels: int
    events: int
    packed_sm_ns: float = 0.0
    host_ns: float = 0.0
    measured_w_ns: float = 0.0
    measured_hbm_bytes: int = 0
    measured_flops: int = 0


class GpuModel:
    """A GPU from a validated description (gpu_sms, gpu_l2, hbm, kernel_launch blocks)."""

    def __init__(self, arch: Arch, calibration: GpuCalibration) -> None:
        spec = arch.spec
        self.sms: GpuSms = spec.units_of(GpuSms)[0]
        self.l2: GpuL2 = spec.units_of(GpuL2)[0]
        self.hbm: OffChipMemory = spec.units_of(OffChipMemory)[0]
        self.launch: KernelLaunch = spec.units_of(KernelLaunch)[0]
        self.cal = calibration
        self.arch = arch

    @property
    def hbm_bytes_per_ns(self) -> float:
        """Return sustained HBM bandwidth (bytes/ns = GB/s)."""
        return self.hbm.sustained_gb_per_s

    def split(self, k: Kernel, params_in_l2: bool) -> tuple[int, int]:
        """Return (HBM bytes, L2 bytes) of a kernel."""
        resident = self.l2.capacity_mib * 2**20 / 4
        hbm = sum(b for b in (*k.reads, *k.writes) if b > resident)
        l2 = sum(b for b in (*k.reads, *k.writes) if b <= resident)
        carried = k.param_bytes + sum(k.state)
        if params_in_l2:
            return hbm, l2 + carried
        return hbm + carried, l2

    def kernel_ns(self, k: Kernel, params_in_l2: bool) -> tuple[float, int, int]:
        """Return (device ns, HBM bytes, L2 bytes) of one kernel.

        A kernel whose call was measured alone takes that time (it already includes the
        per-node cost and its memory traffic as it runs in isolation); others take the
        floor-plus-traffic formula.
        """
        hbm, l2 = self.split(k, params_in_l2)
        switch = 0.0 if k.call in self.cal.in_context else self.cal.switch_us * 1e3
        measured = self.cal.kernel_us.get(k.call)
        if measured is not None:
            if not (hbm or l2):
                hbm = int(self.cal.kernel_bytes.get(k.call, 0))
            return measured * 1e3 + switch, hbm, l2
        mem_ns = hbm / self.hbm_bytes_per_ns + l2 / self.l2.bandwidth_gb_per_s
        if self.cal.block_gb_per_s and not k.tensor_core and 0 < k.blocks < self.sms.count:
            # each block runs on one SM: few blocks read at their own pace
            mem_ns = max(mem_ns, (hbm + l2) / (k.blocks * self.cal.block_gb_per_s))
        rate = self.sms.bf16_tflops if k.tensor_core else self.sms.fp32_tflops
        compute_ns = k.flops / (rate * 1e3)
        floor = self.cal.matmul_floor_us if k.tensor_core else self.cal.kernel_floor_us
        return floor * 1e3 + switch + max(mem_ns, compute_ns), hbm, l2

    def run_step(self, step: KernelStep, launch: Launch) -> GpuStepResult:
        """Simulate one decode step issued eagerly or from a CUDA graph."""
        env = CountingEnvironment()
        stream: simpy.Store = simpy.Store(env)
        # parameters and decode state are both read once a step: L2 keeps them only if all fit
        carried = step.param_bytes_total + step.state_bytes_total
        params_in_l2 = carried <= self.l2.capacity_mib * 2**20 / 2
        totals = {
            "busy": 0.0,
            "hbm": 0,
            "l2": 0,
            "flops": 0,
            "packed": 0.0,
            "host": 0.0,
            "w_ns": 0.0,
            "w_hbm": 0,
            "w_flops": 0,
        }
        done = env.event()
        n = len(step.kernels)

        def host() -> Generator[Any, Any, None]:
            if launch == "graph":
                yield env.timeout(self.launch.eager_launch_us * 1e3)  # one graph launch
                for k in step.kernels:
                    yield stream.put(k)
                totals["host"] = env.now
            else:
                generic = self.launch.eager_launch_us
                # what launches nothing still costs the host: spread evenly over the kernels
                extra_ns = 1e3 * (
                    (
                        step.host_only_ops * self.cal.host_only_op_us
                        + step.module_calls * self.cal.module_call_us
                    )
                    / max(1, n)
                    + self.cal.glue_us.get(step.impl, 0.0)
                )
                table = self.cal.dispatch_penalty
                distances = reuse_distances([k.name for k in step.kernels]) if table else []
                for i, k in enumerate(step.kernels):
                    us = self.cal.host_us.get(k.call, generic)
                    if table:
                        us *= 1.0 + dispatch_penalty(table, distances[i])
                    yield env.timeout(us * 1e3 + extra_ns)
                    yield stream.put(k)
                totals["host"] = env.now

        def device() -> Generator[Any, Any, None]:
            per_node = self.launch.graph_launch_us * 1e3 if launch == "graph" else 0.0
            for _ in range(n):
                k = yield stream.get()
                ns, hbm, l2 = self.kernel_ns(k, params_in_l2)
                ns += per_node
                totals["busy"] += ns
                if k.name.startswith("triton.packed"):
                    occupied = min(1.0, k.blocks / self.sms.count) if k.blocks else 1.0
                    totals["packed"] += ns * occupied
                totals["hbm"] += hbm
                totals["l2"] += l2
                totals["flops"] += k.flops if k.tensor_core else 0
                extra_w = self.cal.kernel_watts.get(k.call)
                if extra_w is not None:
                    totals["w_ns"] += extra_w * ns
                    totals["w_hbm"] += hbm
                    totals["w_flops"] += k.flops if k.tensor_core else 0
                yield env.timeout(ns)
            yield env.timeout(self.launch.sync_us * 1e3)
            done.succeed()

        env.process(host())
        env.process(device())
        env.run(until=done)
        return GpuStepResult(
            ns=env.now,
            device_busy_ns=float(totals["busy"]),
            hbm_bytes=int(totals["hbm"]),
            l2_bytes=int(totals["l2"]),
            tensor_flops=int(totals["flops"]),
            kernels=n,
            events=env.scheduled,
            packed_sm_ns=float(totals["packed"]),
            host_ns=float(totals["host"]),
            measured_w_ns=float(totals["w_ns"]),
            measured_hbm_bytes=int(totals["w_hbm"]),
            measured_flops=int(totals["w_flops"]),
        )

    def power_w(self, r: GpuStepResult) -> float:
        """Return average board power over a step."""
        seconds = r.ns / 1e9
        tb_s = (r.hbm_bytes - r.measured_hbm_bytes) / seconds / 1e12
        tflop_s = (r.tensor_flops - r.measured_flops) / seconds / 1e12
        packed = r.packed_sm_ns / r.ns if r.ns else 0.0
        measured = r.measured_w_ns / r.ns if r.ns else 0.0
        return (
            self.cal.active_idle_w
            + self.cal.w_per_tb_s * tb_s
            + self.cal.w_per_tflop_s * tflop_s
            + self.cal.w_packed_busy * packed
            + measured
        )
