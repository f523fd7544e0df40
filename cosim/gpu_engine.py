"""Simulating a GPU decode: replay what the code launches on the GPU model.

:func:`simulate_gpu` takes one decode step's kernels (a
:class:`~arch_models.gpu_kernels.KernelStep`, the GPU model's workload, captured from the
harness's implementations by :func:`gpubench.capture.capture_harness_step`), builds the
GPU model from a description (``examples/h200.yaml``) with its estimated figures replaced
by the baseline's microbenchmarks (:mod:`cosim.gpu_calibration`), and replays the step
eagerly or from a CUDA graph. The summary has the FPGA summary's public keys.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from arch_models.gpu_kernels import KernelStep
from arch_models.gpu_model import GpuModel, Launch
from arch_models.spec.arch import Arch
from arch_models.spec.evolve import evolve
from arch_models.spec.units import OffChipMemory
from cosim.gpu_calibration import Calibrated, calibrate_from_baseline
from cosim.run_result import GpuFigures, SimResult

if TYPE_CHECKING:
    from gpubench.schema import Baseline

__all__ = ["calibrated_arch", "predict_gpu_prefill_ms", "simulate_gpu"]


def calibrated_arch(arch: Arch, cal: Calibrated) -> Arch:
    """Replace a GPU description's estimated figures by the microbenchmarks' values."""
    hbm = next(u for u in arch.spec.units_of(OffChipMemory) if u.kind == "hbm")
    peak = hbm.peak_gb_per_s
    return evolve(
        arch,
        {
            f"{hbm.name}.efficiency": min(1.0, cal.hbm_gb_per_s / peak),
            **{
                f"{u.name}.bandwidth_gb_per_s": cal.l2_gb_per_s
                for u in arch.spec.units
                if u.kind == "gpu_l2"
            },
            **{
                f"{u.name}.eager_launch_us": cal.eager_launch_us
                for u in arch.spec.units
                if u.kind == "kernel_launch"
            },
            **{
                f"{u.name}.graph_launch_us": 0.0
                for u in arch.spec.units
                if u.kind == "kernel_launch"
            },
        },
    )


def simulate_gpu(
    arch: Arch,
    step: KernelStep,
    launch: Launch,
    baseline: Baseline,
    opcost: dict[str, Any] | None = None,
) -> SimResult:
    """Predict decode ms/token, tokens/s and W of one implementation on a GPU.

    Args:
        arch: A GPU description.
        step: The kernels of one decode step of the implementation (its model, impl and
            batch are the step's).
        launch: ``eager`` or ``graph``.
        baseline: The measured baseline whose microbenchmarks calibrate the model.
        opcost: The per-call kernel microbenchmark, if measured.
    """
    model, impl, batch = step.model, step.impl, step.batch
    cal = calibrate_from_baseline(baseline, opcost)
    gpu = GpuModel(calibrated_arch(arch, cal), cal.calibration)
    r = gpu.run_step(step, launch)
    ms = r.ns / 1e6
    watts = gpu.power_w(r)
    hbm_tb_s = r.hbm_bytes / (r.ns / 1e9) / 1e12
    bound_ms = max(
        r.hbm_bytes / (cal.hbm_gb_per_s * 1e6),
        len(step.kernels) * cal.calibration.kernel_floor_us / 1e3,
    )
    return SimResult(
        tokens_per_s=batch * 1000 / ms,
        ms_per_token=ms,
        avg_power_w=watts,
        energy_per_token_j=watts * ms / 1000 / batch,
        bound_tokens_per_s=batch * 1000 / bound_ms,
        bottleneck=(
            "host launches"
            if launch == "eager" and r.host_ns > r.device_busy_ns
            else "kernel count (per-kernel floor)"
            if len(step.kernels) * cal.calibration.kernel_floor_us * 1e3 > r.device_busy_ns / 2
            else "HBM bandwidth"
        ),
        fits=True,
        resources={},
        design=arch.spec.name,
        device=arch.device.id,
        model=model,
        arch=arch,
        gpu=GpuFigures(
            kernels_per_step=len(step.kernels),
            hbm_bytes_per_step=r.hbm_bytes,
            hbm_tb_per_s=hbm_tb_s,
            device_busy_ms=r.device_busy_ns / 1e6,
            impl=impl,
            launch=launch,
            batch=batch,
            calibration={  # the scalar figures; the per-call tables stay out
                k: v
                for k, v in dataclasses.asdict(cal.calibration).items()
                if k not in ("kernel_us", "host_us", "kernel_bytes", "kernel_watts", "in_context")
            },
            events=r.events,
        ),
    )


def predict_gpu_prefill_ms(
    arch: Arch,
    prefill: KernelStep,
    launch: Launch,
    baseline: Baseline,
    opcost: dict[str, Any] | None = None,
) -> float:
    """Predict the prompt pass's time (the time to first token) of one implementation.

    The prompt pass's kernels (:func:`gpubench.capture.capture_harness_prefill`) are
    replayed like a decode step's, with the same calibration: calls the per-call
    microbenchmark timed take that time, the others the floor-plus-traffic formula.

    Args:
        arch: A GPU description.
        prefill: The kernels of the prompt pass.
        launch: ``eager`` or ``graph``.
        baseline: The measured baseline whose microbenchmarks calibrate the model.
        opcost: The per-call kernel microbenchmark, if measured.
    """
    cal = calibrate_from_baseline(baseline, opcost)
    gpu = GpuModel(calibrated_arch(arch, cal), cal.calibration)
    return gpu.run_step(prefill, launch).ns / 1e6
