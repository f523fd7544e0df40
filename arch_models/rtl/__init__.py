"""The RTL twin of the FPGA units: synthesizable SystemVerilog and its test bench.

``tmac_core`` (``tmac_core.sv`` and the modules it instantiates, shipped with the
package) is one core's ternary matrix-vector datapath: the weight DMA with its stream
FIFO, the double-buffered weight buffer, the adder-tree array with 2-bit or 5-trit
weight decode, and the activation import and result export, parameterised by the
description's fields (:class:`RtlParams`). It computes what the functional model does,
bit for bit (every adder-tree node wrapped or saturated to the accumulator), and its
schedule is the one the engine models (:mod:`arch_models.units.ternary`). Verilator
builds and runs its test bench (:mod:`arch_models.rtl.sim`); ``cosim.rtl_check``
compares its cycles with the engine's. Yosys synthesises it (:mod:`arch_models.rtl.synth`)
and :mod:`arch_models.rtl.estimate` gives the resource model's figures for the same core.

The synthesizable sources stay within what Verilator 5.006 (``--lint-only -Wall``),
Yosys 0.23's ``read_verilog -sv`` and Icarus 11 accept: no ``string``-typed parameters
(untyped ones carry ``WEIGHT_PACKING``), no ``return``, no casts to a parameter's width,
no loops over unpacked arrays in ``always_ff``. The test bench (queues, ``$fscanf``)
needs Verilator.

Storage: the weight buffer, the activation store and the result store are RAMs with a
registered read (``tmac_ram``: one write port, one read port, a write to the word being
read bypassed to it), banked where one read spans several words (a step's weight window,
an export beat), so that synthesis maps them to block or LUT RAM. Their reads are
addressed a cycle ahead (the sequencer's next position, the export's next beat), which
keeps every cycle of the schedule. Zero skipping reads a tile's activations as one word
and holds the tile's weight codes in registers.
"""

from arch_models.rtl.estimate import CoreEstimate, core_estimate
from arch_models.rtl.params import RtlParams, RtlUnsupportedError
from arch_models.rtl.sim import (
    RTL_DIR,
    SOURCES,
    MemoryTiming,
    RtlEvents,
    RtlRun,
    RtlToolError,
    build,
    lint,
    run,
)
from arch_models.rtl.stream import (
    WeightStream,
    from_beats,
    pack_2bit,
    pack_5trit,
    to_beats,
    weight_stream,
)
from arch_models.rtl.synth import SynthCounts, synthesize, yosys_family

__all__ = [
    "RTL_DIR",
    "SOURCES",
    "CoreEstimate",
    "MemoryTiming",
    "RtlEvents",
    "RtlParams",
    "RtlRun",
    "RtlToolError",
    "RtlUnsupportedError",
    "SynthCounts",
    "WeightStream",
    "build",
    "core_estimate",
    "from_beats",
    "lint",
    "pack_2bit",
    "pack_5trit",
    "run",
    "synthesize",
    "to_beats",
    "weight_stream",
    "yosys_family",
]
