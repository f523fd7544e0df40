"""Soft logic as counted structure, and the fitted cost of each kind of structure.

A unit's LUTs and flip-flops are estimated in two steps. Its model counts the structures
its RTL builds (:class:`Logic`: adder bits, mux inputs, decoders, register bits, ...),
then :data:`LOGIC_COSTS` prices each kind of structure in LUT6-equivalents
(LE) or flip-flops. The prices are fitted, not guessed: least squares of Yosys 0.23
``synth_xilinx`` counts of this project's RTL twin (``tmac_core``) on a training half of
drawn configurations (``benchmarks/rtl_fidelity.py --fit``), and checked on the other
half (``benchmarks/rtl_fidelity.py``). Adder bits, distributed RAM and shift registers are
priced from the datasheet instead (UG574: a carry-chain bit takes the LUT beside it; a LUT
holds 64 bits of RAM or a 32-deep shift register), as are the DSPs of an index product;
a 5-trit decoder is priced at what Yosys makes of ``tmac_dec5`` alone (37 LUTs), since
the core keeps it as its own hierarchy (flattened into its neighbours, ABC made it two
to three times larger). A
ternary leaf is counted as what it is, a negation (adder bits) and a three-way select
(mux inputs), so its price per bit is ``le_per_adder_bit + 3 × le_per_mux_input``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["LOGIC_COSTS", "LOGIC_FEATURES", "Logic", "LogicCosts", "clog2"]


def clog2(n: int) -> int:
    """Return ``ceil(log2(n))`` (0 for ``n <= 1``), as SystemVerilog's ``$clog2``."""
    return max(0, (n - 1).bit_length())


@dataclass(frozen=True)
class Logic:
    """Counted structure of a block (every field is a count, summed over instances).

    Attributes:
        adder_bits: Bits of two-input adders, subtractors and comparators on carry chains.
        saturate_bits: Bits clamped by saturating adder nodes.
        mux_inputs: Data inputs of multiplexers, summed over their output bits (a shifter
            stage is a 2:1 mux on each of its bits: two inputs).
        decoders: 5-trit byte decoders (a byte to five 2-bit codes).
        dividers: Dividers (with their remainder) by a constant that is not a power of
            two, in 32-bit equivalents (an array divider grows with the square of its
            dividend's width: a 16-bit one counts a quarter).
        sequencers: Control blocks (a state machine with its 32-bit counters).
        lutram_bits: Distributed-RAM bits, times the read ports that each need a copy.
        lutram_luts: LUT sites of distributed-RAM primitives counted as mapped
            (:func:`~arch_models.units.buffer.ram_logic`).
        block_ram_36k: Block RAM, in 36 Kb equivalents (a RAMB18 is half).
        srl_bits: Register bits of delay chains of three or more stages (shift registers).
        register_bits: Flip-flops of the datapath (every one counted).
        multipliers: Products of a 32-bit index by a constant that is not a power of two.
    """

    adder_bits: float = 0.0
    saturate_bits: float = 0.0
    mux_inputs: float = 0.0
    decoders: float = 0.0
    dividers: float = 0.0
    sequencers: float = 0.0
    lutram_bits: float = 0.0
    lutram_luts: float = 0.0
    block_ram_36k: float = 0.0
    srl_bits: float = 0.0
    register_bits: float = 0.0
    multipliers: float = 0.0

    def __add__(self, other: Logic) -> Logic:
        """Return the structure of both blocks."""
        return Logic(
            **{
                f.name: getattr(self, f.name) + getattr(other, f.name)
                for f in dataclasses.fields(self)
            }
        )

    def times(self, n: float) -> Logic:
        """Return the structure of ``n`` copies."""
        return Logic(**{f.name: getattr(self, f.name) * n for f in dataclasses.fields(self)})

    def as_dict(self) -> dict[str, float]:
        """Return ``{field: count}``."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}


#: The structure kinds, in :class:`Logic`'s field order.
LOGIC_FEATURES = tuple(f.name for f in dataclasses.fields(Logic))


@dataclass(frozen=True)
class LogicCosts:
    """The price of each kind of structure (LE: LUT6-equivalents; FF: flip-flops).

    Attributes:
        le_per_adder_bit: LE per adder bit (UG574: the LUT beside its carry-chain bit).
        le_per_saturate_bit: LE per clamped bit (overflow test and clamp mux).
        le_per_mux_input: LE per mux data input (a LUT6 is a 4:1 mux: 0.25 at best).
        le_per_decoder: LE per 5-trit byte decoder (a 256-entry table: ten functions of
            the byte's eight bits).
        le_per_divider: LE per 32-bit division by a constant (an array divider).
        le_per_sequencer: LE per control block.
        le_per_lutram_bit: LE per distributed-RAM bit (UG574: 64 bits a LUT).
        le_per_srl_bit: LE per shift-register bit (UG574: a LUT is a 32-deep SRL).
        ff_per_register_bit: Flip-flops per datapath register bit.
        ff_per_sequencer: Flip-flops per control block (its state and counters).
        dsp_per_multiplier: DSP slices per index product (UG579: a 27x18 multiplier, two
            for a 32-bit operand).
        source: Where the fitted values come from.
    """

    le_per_adder_bit: float
    le_per_saturate_bit: float
    le_per_mux_input: float
    le_per_decoder: float
    le_per_divider: float
    le_per_sequencer: float
    le_per_lutram_bit: float
    le_per_srl_bit: float
    ff_per_register_bit: float
    ff_per_sequencer: float
    dsp_per_multiplier: float
    source: str

    def le(self, logic: Logic) -> float:
        """Return the LE of ``logic``."""
        return (
            self.le_per_adder_bit * logic.adder_bits
            + self.le_per_saturate_bit * logic.saturate_bits
            + self.le_per_mux_input * logic.mux_inputs
            + self.le_per_decoder * logic.decoders
            + self.le_per_divider * logic.dividers
            + self.le_per_sequencer * logic.sequencers
            + self.le_per_lutram_bit * logic.lutram_bits
            + logic.lutram_luts
            + self.le_per_srl_bit * logic.srl_bits
        )

    def ff(self, logic: Logic) -> float:
        """Return the flip-flops of ``logic``."""
        return (
            self.ff_per_register_bit * logic.register_bits
            + self.ff_per_sequencer * logic.sequencers
        )

    def bram_36k(self, logic: Logic) -> float:
        """Return the block RAM (36 Kb equivalents) of ``logic`` (counted, not priced)."""
        return logic.block_ram_36k

    def dsp(self, logic: Logic) -> float:
        """Return the DSP slices of ``logic``."""
        return self.dsp_per_multiplier * logic.multipliers


#: The fitted prices (see the module docstring; ``source`` says on what and when). The
#: fitted ones, with the structure kinds' sizes in those designs, are reproduced by
#: ``benchmarks/rtl_fidelity.py --fit``; adder bits, distributed RAM, shift registers and
#: DSPs per index product are the datasheets' (UG574, UG579), the decoder's Yosys's on
#: ``tmac_dec5`` alone (``tests/rtl/test_synth.py`` checks it), and a register bit is a
#: flip-flop: not fitted.
LOGIC_COSTS = LogicCosts(
    le_per_adder_bit=1.0,
    le_per_saturate_bit=0.4486,
    le_per_mux_input=0.2676,
    le_per_decoder=37.0,
    le_per_divider=0.0,
    le_per_sequencer=253.6042,
    le_per_lutram_bit=1 / 64,
    le_per_srl_bit=1.0,
    ff_per_register_bit=1.0,
    ff_per_sequencer=313.1885,
    dsp_per_multiplier=2.0,
    source=(
        "fitted to Yosys 0.23 synth_xilinx -family xcup of tmac_core on the 16 training "
        "designs of benchmarks/rtl_fidelity.py (--resource-configs 32 --resource-seed 0),"
        " 2026-12-05"
    ),
)
