"""The resource model's estimate of exactly what ``tmac_core`` holds.

One core of the RTL twin is the array (trees, reducers, decode, pipeline, step
sequencer), the double-buffered weight buffer, the weight DMA with its fill queue and
optional stream FIFO, the activation and result stores, and the matvec dispatch. Each is
counted by its unit's own code (:func:`~arch_models.units.ternary.array_logic`,
:func:`~arch_models.units.buffer.weight_buffer_logic`,
:func:`~arch_models.units.buffer.register_store_logic`,
:func:`~arch_models.units.memory.stream_logic`,
:func:`~arch_models.units.control.dispatch_logic`) and priced by the same fitted
:data:`~arch_models.units.logic.LOGIC_COSTS` the design estimate uses. The stores are
counted as the RTL builds them (RAMs with registered reads, mapped to distributed or
block RAM as Yosys's cost model chooses); the design prices its buffers at the capacity
its description states (:attr:`CoreEstimate.design_memory`), for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from arch_models.rtl.params import RtlParams
from arch_models.spec.arch import Arch
from arch_models.spec.units import Buffer, TernaryArray
from arch_models.units.buffer import (
    BufferModel,
    act_store_logic,
    result_store_logic,
    weight_buffer_logic,
)
from arch_models.units.control import dispatch_logic
from arch_models.units.logic import LOGIC_COSTS, Logic, LogicCosts
from arch_models.units.memory import stream_logic
from arch_models.units.ternary import array_logic, window_bytes

__all__ = ["CoreEstimate", "core_estimate", "core_logic"]


@dataclass(frozen=True)
class CoreEstimate:
    """The model's resources for one ``tmac_core``.

    Attributes:
        lut: LUT6-equivalents (logic, distributed RAM and shift registers).
        ff: Flip-flops.
        dsp: DSP slices.
        bram_36k: Block RAM (36 Kb equivalents) the RTL's stores map to.
        uram: UltraRAM the RTL's stores take (none).
        logic: Counted structure per block (``array``, ``weight_buffer``, ...).
        design_memory: What the design's own buffers (weights, activations) are priced
            at as the description states them (block RAM kinds), for comparison.
    """

    lut: float
    ff: float
    dsp: float
    bram_36k: float
    uram: float
    logic: dict[str, Logic]
    design_memory: dict[str, float]


def core_logic(arch: Arch, params: RtlParams) -> dict[str, Logic]:
    """Return the counted structure of ``tmac_core`` per block.

    Args:
        arch: The validated description the parameters were read from.
        params: Its core's RTL parameters (:meth:`RtlParams.of_arch`).
    """
    spec = arch.spec.units_of(TernaryArray)[0]
    p = params
    # with zero skipping a step reads a whole tile of weights and of activations
    window = p.full_tile_bytes if p.zero_skip else window_bytes(spec)
    read_acts = p.tile_cols if p.zero_skip else p.lanes
    return {
        "array": array_logic(spec, max_cols=p.max_cols),
        "weight_buffer": weight_buffer_logic(p.half_beats, p.beat_bits, window),
        "weight_stream": stream_logic(
            p.beat_bits, p.path_fifo_beats, p.path_beat_interval_cycles, p.max_outstanding
        ),
        "activation_store": act_store_logic(
            p.max_cols, p.activation_bits, p.act_path_bits, read_acts, p.lanes
        ),
        "result_store": result_store_logic(
            -(-p.max_rows // p.trees), p.trees * p.accumulator_bits, p.out_path_bits
        ),
        "dispatch": dispatch_logic(
            p.act_path_bits, p.out_path_bits, p.activation_bits, p.accumulator_bits
        ),
    }


def core_estimate(
    arch: Arch, *, max_rows: int, max_cols: int, costs: LogicCosts = LOGIC_COSTS
) -> CoreEstimate:
    """Estimate one ``tmac_core`` of ``arch`` built for matvecs up to ``max_rows × max_cols``.

    Args:
        arch: A validated description the RTL can build (:meth:`RtlParams.of_arch`).
        max_rows: Rows the result store holds.
        max_cols: Columns the activation store holds.
        costs: The prices (default: the fitted ones).

    Raises:
        RtlUnsupportedError: The RTL cannot build the description.
    """
    params = RtlParams.of_arch(arch, max_rows=max_rows, max_cols=max_cols)
    blocks = core_logic(arch, params)
    total = Logic()
    for logic in blocks.values():
        total += logic
    design: dict[str, float] = {}
    for buf in arch.spec.units_of(Buffer):
        if buf.holds in ("weights", "activations"):
            for kind, n in BufferModel.resources(buf, arch.device).items():
                design[kind] = design.get(kind, 0.0) + n
    return CoreEstimate(
        lut=costs.le(total),
        ff=costs.ff(total),
        dsp=costs.dsp(total),
        bram_36k=costs.bram_36k(total),
        uram=0.0,
        logic=blocks,
        design_memory=design,
    )
