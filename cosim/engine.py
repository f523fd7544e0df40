"""The co-simulation engine: build → connect → run → collect.

:func:`simulate` replays a :class:`~arch_models.workload.Workload` through an FPGA design
and returns a :class:`SimResult`: the tidy per-event frame (one row per unit event or
interval: ``t_ns, unit, kind, op, name, step, phase, bytes, energy_pj, busy_ns, stall_ns``)
and a summary with throughput, power, energy per token, the analytical bounds, the
bottleneck, utilisation and resources. The summary's public keys are listed in
:data:`SUMMARY_KEYS`; they are stable (added to, never renamed).

Every run checks that it is not faster than its own bounds (bytes / bandwidth, array
busy time, vector busy time per core): a violation is a bug and raises.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import simpy

from arch_models.energy import EnergyTable
from arch_models.resources import estimate_resources
from arch_models.sim_env import CountingEnvironment
from arch_models.spec.arch import Arch
from arch_models.units import BuildContext, Recorder
from arch_models.workload import ELEMENTWISE_OPS, Workload
from cosim import __version__
from cosim.bounds import Bounds, compute_bounds
from cosim.errors import SimulationError
from cosim.fpga import FpgaSystem, SimOptions
from cosim.power import power_summary
from cosim.run_result import SUMMARY_KEYS, FpgaFigures, SimResult, SimStats

__all__ = ["SUMMARY_KEYS", "SimResult", "SimulationError", "mirror_cores", "simulate"]


def _utilisation(frame: pd.DataFrame, window_ns: float, system: FpgaSystem) -> dict[str, float]:
    """Return busy fraction per unit kind over the decode window (mean over instances)."""
    if window_ns <= 0 or frame.empty:
        return {}
    dec = frame[frame["phase"] == "decode"]
    busy = dec.groupby("kind", observed=True)["busy_ns"].sum()
    instances = {"offchip": system.mem.groups if system.mem else 1}
    out = {}
    for kind, total in busy.items():
        n = instances.get(str(kind), len(system.cores))
        out[str(kind)] = round(float(total) / (n * window_ns), 4)
    return out


def mirror_cores(frame: pd.DataFrame, system: FpgaSystem) -> pd.DataFrame:
    """Replicate the simulated core's rows for every identical core (see ``_symmetric``)."""
    if not system.mirrored:
        return frame
    n = len(system.cores)
    units = frame["unit"].astype(str)
    parts = [frame]
    core0 = units.str.startswith("top.core0.")
    # Shared-unit rows are the simulated core's own transfers, except the embedding row
    # read, which only core 0 makes.
    shared = ~units.str.startswith("top.core") & (frame["op"].astype(str) != "embedding")
    for c in range(1, n):
        copy = frame[core0 | shared].copy()
        copy["unit"] = units[core0 | shared].str.replace("top.core0.", f"top.core{c}.", regex=False)
        parts.append(copy)
    out = pd.concat(parts, ignore_index=True)
    out["unit"] = out["unit"].astype("category")
    for col in ("kind", "op", "name", "phase"):
        out[col] = out[col].astype("category")
    return out.sort_values("t_ns", kind="stable", ignore_index=True)


def _channel_peak_gb_per_s(system: FpgaSystem) -> float:
    """Return the peak bandwidth of the memory channels in use (ignoring core paths)."""
    mem = system.mem
    return mem.used_channels * mem.spec.bandwidth_gb_per_s_per_channel if mem else 0.0


def _deliverable_peak_gb_per_s(system: FpgaSystem) -> float:
    """Return the peak bandwidth the design can draw from memory (channels or paths)."""
    mem = system.mem
    if mem is None:
        return 0.0
    return min(_channel_peak_gb_per_s(system), len(system.cores) * mem.path_bytes_per_ns())


def _bottleneck(util: dict[str, float], bounds: Bounds) -> str:
    """Name the unit kind with the highest utilisation, with the binding bound."""
    if not util:
        return bounds.binding
    kind = max(util, key=lambda k: util[k])
    labels = {
        "offchip": "off-chip memory bandwidth",
        "ternary_array": "ternary array compute",
        "vector_unit": "vector unit",
        "norm_unit": "norm unit",
    }
    return f"{labels.get(kind, kind)} ({util[kind]:.0%} busy)"


def simulate(
    arch: Arch,
    workload: Workload,
    *,
    options: SimOptions | None = None,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> SimResult:
    """Replay a workload through an FPGA design.

    Args:
        arch: A validated FPGA description.
        workload: The steps and matrices (from a trace).
        options: Fidelity knobs.
        seed: Recorded with the results (the simulation itself is deterministic).
        on_step: Called as ``on_step(done, total)`` after each step (progress).

    Returns:
        The results.

    Raises:
        SimulationError: The design cannot run this workload.
    """
    if arch.is_gpu:
        raise SimulationError(
            f"{arch.filename}: {arch.device.id} is a GPU; GPU descriptions are simulated by "
            f"the GPU model, not the FPGA engine"
        )
    if not workload.decode_steps:
        raise SimulationError("the workload has no decode step to measure")
    options = options or SimOptions()
    if workload.batch == 1:  # the design's batch (a workload batched already keeps its own)
        workload = workload.batched(arch.spec.layout.batch)
    wall0 = time.perf_counter()
    env = CountingEnvironment()
    ctx = BuildContext(env=env, arch=arch, energy=EnergyTable(arch.device), recorder=Recorder())
    system = FpgaSystem(arch, workload, ctx, options)
    try:
        system.build()
        system.connect()
    except (KeyError, ValueError) as exc:
        raise SimulationError(f"{arch.filename}: {exc}") from None
    bounds = compute_bounds(system)
    total = len(workload.steps)
    done = [0]

    def step_done(_: object) -> None:
        done[0] += 1
        if on_step:
            on_step(done[0], total)

    driver = system.run(step_done)
    run0 = time.perf_counter()
    env.run(until=driver)
    run_s = time.perf_counter() - run0
    events = env.scheduled
    frame = mirror_cores(ctx.recorder.frame(), system)

    decode = [s.index for s in workload.decode_steps]
    durations = np.array([system.step_end_ns[i] - system.step_start_ns[i] for i in decode])
    ns_per_token = float(durations.mean())
    # The weight DMA may start a step's first buffer fills before the step does (up to
    # the buffer's slots): the window may undercut the bound by that much, no more.
    floor = (len(decode) * bounds.step_ns - bounds.prefetch_ns) * (1 - 1e-9)
    if durations.sum() < floor - 1e-6:
        raise AssertionError(
            f"internal error: simulated {ns_per_token:.1f} ns/token beats the design's own "
            f"bound {bounds.step_ns:.1f} ns ({bounds.binding})"
        )
    window = float(durations.sum())
    batch = workload.batch
    resources = estimate_resources(arch)
    # every decode step makes one token of each sequence of the batch
    power = power_summary(arch, frame, window, len(decode) * batch, resources)
    util = _utilisation(frame, window, system)
    prefill = [s.index for s in workload.steps if s.phase == "prefill"]
    prefill_ns = (
        system.step_end_ns[prefill[-1]] - system.step_start_ns[prefill[0]] if prefill else 0.0
    )
    mem_peak = _deliverable_peak_gb_per_s(system)
    bytes_per_token = bounds.dram_bytes
    mem_bound_tps = batch * mem_peak * 1e9 / bytes_per_token if bytes_per_token else float("inf")
    tps = batch * 1e9 / ns_per_token
    # the first token of each sequence comes out of the last prompt step (or, without a
    # prompt, the first step)
    first = prefill[-1] if prefill else decode[0]
    ttft_ns = system.step_end_ns[first] - system.step_start_ns[workload.steps[0].index]
    return SimResult(
        tokens_per_s=tps,
        ms_per_token=ns_per_token / 1e6,
        avg_power_w=power["avg_power_w"],
        energy_per_token_j=power["energy_per_token_j"],
        bound_tokens_per_s=batch * 1e9 / bounds.step_ns,
        bottleneck=_bottleneck(util, bounds),
        fits=resources.fits,
        resources=resources.as_dict(),
        design=arch.spec.name,
        device=arch.device.id,
        model=str(workload.model.get("name", "?")),
        arch=arch,
        fpga=FpgaFigures(
            fit_problems=tuple(resources.problems),
            binding_bound=bounds.binding,
            bounds_ns_per_token=bounds.as_dict(),
            memory_bound_tokens_per_s=mem_bound_tps,
            channel_bound_tokens_per_s=batch
            * _channel_peak_gb_per_s(system)
            * 1e9
            / bytes_per_token
            if bytes_per_token
            else float("inf"),
            fraction_of_memory_bound=tps / mem_bound_tps if mem_bound_tps else 0.0,
            offchip_bytes_per_token=bytes_per_token,
            utilisation=util,
            power_breakdown_w=power["breakdown_w"],
            energy_breakdown_j_per_token=power["breakdown_j_per_token"],
            onchip=system.onchip,
            stall_ms_per_token=float(frame.loc[frame["phase"] == "decode", "stall_ns"].sum())
            / 1e6
            / len(decode),
            prefill_ms=prefill_ns / 1e6,
            time_to_first_token_ms=ttft_ns / 1e6,
            batch=batch,
            prompt_tokens=sum(workload.steps[i].positions for i in prefill),
            decode_tokens=len(decode),
            clock_mhz=arch.spec.clock_mhz,
            cores=arch.spec.layout.cores,
            seed=seed,
            sim=SimStats(
                events=int(events),
                rows=len(frame),
                wall_s=time.perf_counter() - wall0,
                run_s=run_s,
                max_transactions=options.max_transactions,
                mirrored_cores=system.mirrored,
            ),
            versions={
                "mmfree_cosim": __version__,
                "python": platform.python_version(),
                "simpy": simpy.__version__,
                "numpy": np.__version__,
                "pandas": pd.__version__,
            },
            elementwise_ops_per_token=sum(
                1 for op in workload.decode_steps[0].ops if op.kind in ELEMENTWISE_OPS
            ),
        ),
        frame=frame,
        workload_meta=dict(workload.meta),
    )
