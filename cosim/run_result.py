"""The one result of a run, FPGA or GPU: frozen, typed, and its stable JSON form.

:class:`SimResult` holds the headline figures every run has (:data:`SUMMARY_KEYS`), the
design and model it ran, and the platform's own figures: :class:`FpgaFigures` (bounds,
utilisation, power breakdown, what stays on chip, the SimPy run's cost) with the tidy
per-event frame, or :class:`GpuFigures` (kernels, HBM traffic, the calibration used).
:meth:`SimResult.to_json` gives the summary dict whose keys are the public ``--json``
interface: stable, added to, never renamed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from arch_models.spec.arch import Arch

__all__ = ["SUMMARY_KEYS", "FpgaFigures", "GpuFigures", "OnChip", "SimResult", "SimStats"]

#: Keys every summary has (the public ``--json`` interface).
SUMMARY_KEYS = (
    "tokens_per_s",
    "ms_per_token",
    "avg_power_w",
    "energy_per_token_j",
    "bound_tokens_per_s",
    "bottleneck",
    "fits",
    "resources",
)


@dataclass(frozen=True, kw_only=True)
class OnChip:
    """What an FPGA design keeps on chip (decided from its buffer capacities).

    Attributes:
        weights_resident: Every core's weights fit its weight buffer.
        state_on_chip: The recurrent state fits.
        activations_on_chip: The largest activation vector fits.
        notes: Why, in words.
    """

    weights_resident: bool
    state_on_chip: bool
    activations_on_chip: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SimStats:
    """What the SimPy run cost.

    Attributes:
        events: SimPy events scheduled.
        rows: Rows of the event frame.
        wall_s: Wall time of the whole simulation.
        run_s: Wall time of the event loop.
        max_transactions: The fidelity knob used.
        mirrored_cores: Whether identical cores were simulated once.
    """

    events: int
    rows: int
    wall_s: float
    run_s: float
    max_transactions: int
    mirrored_cores: bool


@dataclass(frozen=True, kw_only=True)
class FpgaFigures:
    """An FPGA run's own figures (see the engine for their meaning)."""

    fit_problems: tuple[str, ...]
    binding_bound: str
    bounds_ns_per_token: Mapping[str, float]
    memory_bound_tokens_per_s: float
    channel_bound_tokens_per_s: float
    fraction_of_memory_bound: float
    offchip_bytes_per_token: float
    utilisation: Mapping[str, float]
    power_breakdown_w: Mapping[str, float]
    energy_breakdown_j_per_token: Mapping[str, float]
    onchip: OnChip
    stall_ms_per_token: float
    prefill_ms: float
    prompt_tokens: int
    time_to_first_token_ms: float = 0.0
    batch: int = 1
    decode_tokens: int
    clock_mhz: float
    cores: int
    seed: int
    sim: SimStats
    versions: Mapping[str, str]
    elementwise_ops_per_token: int


@dataclass(frozen=True, kw_only=True)
class GpuFigures:
    """A GPU prediction's own figures.

    Attributes:
        kernels_per_step: Kernels one decode step launches.
        hbm_bytes_per_step: HBM bytes one step moves.
        hbm_tb_per_s: Their rate over the step.
        device_busy_ms: GPU busy time per step.
        impl: The implementation.
        launch: ``eager`` or ``graph``.
        batch: Sequences decoded together.
        calibration: The scalar figures the microbenchmarks set.
        events: Events the GPU model replayed.
        time_to_first_token_ms: The prompt pass's predicted time (``None`` where its
            kernels are not known: compiled and Triton-fused implementations).
        prompt_tokens: Its prompt positions (0 when not predicted).
    """

    kernels_per_step: int
    hbm_bytes_per_step: int
    hbm_tb_per_s: float
    device_busy_ms: float
    impl: str
    launch: str
    batch: int
    calibration: Mapping[str, Any]
    events: int
    time_to_first_token_ms: float | None = None
    prompt_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class SimResult:
    """A run's results, FPGA or GPU.

    Attributes:
        tokens_per_s: Decode throughput (all sequences of a batch).
        ms_per_token: Decode time per step: each sequence's time per token.
        avg_power_w: Average power over the decode window.
        energy_per_token_j: Energy per token.
        bound_tokens_per_s: The design's analytical floor, as throughput.
        bottleneck: What limits it, in words.
        fits: Whether it fits its device.
        resources: Per resource kind: used, available, utilisation.
        design: The description's name.
        device: The catalog part.
        model: The model run.
        arch: The design simulated.
        fpga: An FPGA run's own figures (``None`` for a GPU).
        gpu: A GPU prediction's own figures (``None`` for an FPGA).
        frame: One row per unit event or interval (FPGA runs).
        workload_meta: The workload's provenance (model config, trace manifest).
    """

    tokens_per_s: float
    ms_per_token: float
    avg_power_w: float
    energy_per_token_j: float
    bound_tokens_per_s: float
    bottleneck: str
    fits: bool
    resources: Mapping[str, Mapping[str, float]]
    design: str
    device: str
    model: str
    arch: Arch
    fpga: FpgaFigures | None = None
    gpu: GpuFigures | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    workload_meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.fpga is None) == (self.gpu is None):
            raise ValueError("a result has either FPGA or GPU figures")

    def to_json(self) -> dict[str, Any]:
        """Return the summary: the public ``--json`` keys, in their documented order."""
        head: dict[str, Any] = {k: getattr(self, k) for k in SUMMARY_KEYS}
        head["resources"] = {k: dict(v) for k, v in self.resources.items()}
        if self.fpga is not None:
            f = self.fpga
            return {
                **head,
                "fit_problems": list(f.fit_problems),
                "binding_bound": f.binding_bound,
                "bounds_ns_per_token": dict(f.bounds_ns_per_token),
                "memory_bound_tokens_per_s": f.memory_bound_tokens_per_s,
                "channel_bound_tokens_per_s": f.channel_bound_tokens_per_s,
                "fraction_of_memory_bound": f.fraction_of_memory_bound,
                "offchip_bytes_per_token": f.offchip_bytes_per_token,
                "utilisation": dict(f.utilisation),
                "power_breakdown_w": dict(f.power_breakdown_w),
                "energy_breakdown_j_per_token": dict(f.energy_breakdown_j_per_token),
                "onchip": {**asdict(f.onchip), "notes": list(f.onchip.notes)},
                "stall_ms_per_token": f.stall_ms_per_token,
                "prefill_ms": f.prefill_ms,
                "time_to_first_token_ms": f.time_to_first_token_ms,
                "batch": f.batch,
                "prompt_tokens": f.prompt_tokens,
                "decode_tokens": f.decode_tokens,
                "design": self.design,
                "device": self.device,
                "clock_mhz": f.clock_mhz,
                "cores": f.cores,
                "model": self.model,
                "seed": f.seed,
                "sim": asdict(f.sim),
                "versions": dict(f.versions),
                "elementwise_ops_per_token": f.elementwise_ops_per_token,
            }
        g = self.gpu
        assert g is not None
        return {
            **head,
            "kernels_per_step": g.kernels_per_step,
            "hbm_bytes_per_step": g.hbm_bytes_per_step,
            "hbm_tb_per_s": g.hbm_tb_per_s,
            "device_busy_ms": g.device_busy_ms,
            "model": self.model,
            "impl": g.impl,
            "launch": g.launch,
            "batch": g.batch,
            "device": self.device,
            "design": self.design,
            "calibration": dict(g.calibration),
            "sim": {"events": g.events},
            "time_to_first_token_ms": g.time_to_first_token_ms,
            "prompt_tokens": g.prompt_tokens,
        }

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """The summary (:meth:`to_json`), computed once; treat it as read-only."""
        return self.to_json()
