"""On-chip buffers: capacity, ports, double buffering, and their access energy.

A weight buffer's half (or whole, when single buffered) bounds one DMA transfer; its
slots are a SimPy ``Container`` (two when double buffered): a transfer takes a slot, the
array frees it when the chunk is consumed, so a full buffer back-pressures the DMA and an
empty one stalls the array. An activation or state buffer too small for what it must hold
sends that traffic to off-chip memory instead (the engine checks capacities).

Energy: ``<memory>_pj_per_byte`` per byte written or read (``bram``, ``uram``, ``m20k``,
``lutram``).

Resources: ``ceil(capacity / block)`` blocks, at least ``ceil(width / max port width)``
(36 Kb BRAM and 288 Kb URAM at up to 72 bits, UG573; 20 Kb M20K at up to 40 bits). The
RTL twin's stores are RAMs with registered reads (``tmac_ram``), counted as Yosys maps them
(:func:`ram_logic`: distributed or block RAM, whichever its cost model prefers) with the
banking, gearbox and shifters around them (:func:`weight_buffer_logic`,
:func:`act_store_logic`, :func:`result_store_logic`).
"""

from __future__ import annotations

import functools

import simpy

from arch_models.catalog.models import Device
from arch_models.spec.units import Buffer
from arch_models.units.base import BuildContext, Resources, UnitModel, memory_blocks
from arch_models.units.logic import Logic, clog2

__all__ = [
    "BufferModel",
    "act_store_logic",
    "ram_logic",
    "result_store_logic",
    "weight_buffer_logic",
]

#: Width of the RTL's addresses and indices.
_INDEX_BITS = 32


#: Yosys's ``memory_libmap`` costs for ``synth_xilinx -family xcup`` (its
#: ``lutrams_xcu.txt`` and ``brams_xc4v.txt``): a distributed-RAM primitive 16, a RAMB18
#: 129, a RAMB36 257; it maps a memory to whichever is cheapest.
_LUTRAM_COST = 16
_RAMB18_COST = 129
_RAMB36_COST = 257
#: Simple-dual-port shapes (depth, width) of each (UG573, Ch. 1: with parity bits).
_RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
_RAMB36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
#: LUT sites of a RAM32M16 (32 x 14 bits, simple dual port) and a RAM64M8 (64 x 7 bits).
_LUTRAM_SITES = 8


def _block_ram(width: int, depth: int) -> tuple[float, float]:
    """Return (libmap cost, 36 Kb equivalents) of the cheapest block-RAM tiling."""
    best = (float("inf"), 0.0)
    for shapes, cost, size in (
        (_RAMB18_SHAPES, _RAMB18_COST, 0.5),
        (_RAMB36_SHAPES, _RAMB36_COST, 1.0),
    ):
        for d, w in shapes:
            n = -(-width // w) * -(-depth // d)
            best = min(best, (float(n * cost), n * size))
    return best


def _lutram_prims(width: int, depth: int) -> int:
    """Return the distributed-RAM primitives of a ``width × depth`` simple-dual-port RAM."""
    if depth <= 32:
        return -(-width // 14)
    return -(-width // 7) * -(-depth // 64)


def ram_logic(width: int, depth: int, *, bypass_register: bool = True) -> Logic:
    """Return one ``tmac_ram`` (a RAM with a registered read and a write-first bypass).

    The memory goes where Yosys's ``memory_libmap`` puts it: distributed RAM (RAM32M16 up
    to 32 words, RAM64M8 beyond, with a read mux across 64-word pieces and the read
    register in flip-flops) or block RAM (the read register inside), whichever its costs
    make cheaper. Around it: the bypass register and its mux, and the address compare.

    Args:
        width: Bits of a word.
        depth: Words.
        bypass_register: Count the bypass's copy of the written word (banks written from
            one bus share one: synthesis merges equal registers).
    """
    prims = _lutram_prims(width, depth)
    cost, bram = _block_ram(width, depth)
    out = Logic(
        register_bits=(width if bypass_register else 0) + 1,
        mux_inputs=2 * width,
        adder_bits=2 * _INDEX_BITS,
    )
    if prims * _LUTRAM_COST <= cost:
        pieces = -(-depth // 64) if depth > 64 else 0
        return out + Logic(
            lutram_luts=prims * _LUTRAM_SITES,
            register_bits=width,
            mux_inputs=width * pieces,
        )
    return out + Logic(block_ram_36k=bram)


def _shifter(bits: int, stages: int) -> Logic:
    """Return a logarithmic shifter: ``stages`` stages of 2:1 muxes on ``bits`` bits."""
    return Logic(mux_inputs=2 * bits * stages)


def weight_buffer_logic(half_beats: int, beat_bits: int, window_bytes: int) -> Logic:
    """Return the RTL's double-buffered weight buffer as it synthesises.

    Two halves of ``half_beats`` words of one beat, interleaved over ``NB`` banks (a power
    of two at least the words a window may touch), each a RAM (:func:`ram_logic`) read a
    word a cycle at its own row (an adder and a compare each); after the RAMs' registers
    the window is cut out by a shifter whose stages keep only the bytes it can still come
    from (the largest first).

    Args:
        half_beats: Words of one half.
        beat_bits: Bits of a word (one memory beat).
        window_bytes: Bytes one read returns.
    """
    beat_bytes = beat_bits // 8
    words = (window_bytes + 2 * beat_bytes - 2) // beat_bytes
    log_nb = clog2(words) if words > 1 else 0
    banks = 1 << log_nb
    depth = -(-2 * half_beats // banks)
    # the banks take one write bus: one bypass register between them
    out = ram_logic(beat_bits, depth, bypass_register=False).times(banks)
    out += Logic(register_bits=beat_bits)
    out += Logic(adder_bits=(2 + 2 * banks) * _INDEX_BITS)
    off_bits = max(1, log_nb + clog2(beat_bytes))
    out += Logic(register_bits=off_bits)
    for k in range(off_bits):
        out += Logic(mux_inputs=2 * (window_bytes + (1 << k) - 1) * 8)
    return out


def act_store_logic(
    max_cols: int, act_bits: int, in_bits: int, read_acts: int, cols_step: int
) -> Logic:
    """Return the RTL's activation store: a gearbox packing import beats into RAM words.

    A word holds ``M`` reads (the fewest, a power of two, that hold a beat); a staging
    register fills from the beats through a shifter, the RAM (:func:`ram_logic`) takes a
    completed word, and a read selects one of the word's ``M`` reads (from the staging
    register when it reads the word being filled).

    Args:
        max_cols: Activations held.
        act_bits: Bits of one.
        in_bits: Bits of an import beat.
        read_acts: Activations one read returns (the array's lanes).
        cols_step: What every matvec's columns are a multiple of.
    """
    rd_bits = read_acts * act_bits
    log_m = clog2(-(-in_bits // rd_bits))
    m = 1 << log_m
    word = m * rd_bits
    depth = -(-max_cols // (m * read_acts))
    grain = (in_bits | word) & -(in_bits | word)
    fill_bits = max(1, clog2(word // grain))
    out = ram_logic(word, depth)
    out += _shifter(word + in_bits, fill_bits) + Logic(
        mux_inputs=2 * 2 * word,
        register_bits=word + fill_bits + _INDEX_BITS,
        adder_bits=3 * _INDEX_BITS,
    )
    if m * read_acts > cols_step:
        out += Logic(mux_inputs=2 * word, adder_bits=_INDEX_BITS, register_bits=1)
    if m > 1:
        out += Logic(mux_inputs=m * rd_bits, register_bits=log_m)
    return out


def result_store_logic(groups: int, group_bits: int, out_bits: int) -> Logic:
    """Return the RTL's result store: row groups' words read as a stream of beats.

    ``groups`` words of ``group_bits`` interleaved over ``NB`` banks (a power of two at
    least the words a beat may touch), each a RAM (:func:`ram_logic`) with a valid flag
    (words not written since the clear read as zero); after the RAMs' registers the words
    are put in order by a rotation and the beat cut out by a shifter.

    Args:
        groups: Words (row groups) held.
        group_bits: Bits of a word (a group's results).
        out_bits: Bits of an export beat.
    """
    words = (out_bits + 2 * group_bits - 2) // group_bits
    log_nb = clog2(words) if words > 1 else 0
    banks = 1 << log_nb
    depth = -(-groups // banks)
    grain = (out_bits | group_bits) & -(out_bits | group_bits)
    pos_bits = max(1, clog2(group_bits // grain))
    per_bank = ram_logic(group_bits, depth, bypass_register=False) + Logic(
        adder_bits=3 * _INDEX_BITS, register_bits=1, mux_inputs=group_bits
    )
    out = per_bank.times(banks)
    # one write bus: one bypass register between the banks
    out += Logic(adder_bits=3 * _INDEX_BITS, register_bits=group_bits + 2 * _INDEX_BITS + pos_bits)
    if banks > 1:
        out += Logic(mux_inputs=banks * banks * group_bits)
    return out + _shifter(banks * group_bits, pos_bits)


class BufferModel(UnitModel[Buffer]):
    """One buffer of one core."""

    kind = "buffer"

    def __init__(self, ctx: BuildContext, scope: str, spec: Buffer) -> None:
        super().__init__(ctx, scope, spec)
        n = 2 if spec.double_buffered else 1
        self.slots = simpy.Container(ctx.env, capacity=n, init=n)

    @functools.cached_property
    def pj_per_byte(self) -> float:
        """Return the energy of one byte written or read (looked up when first needed)."""
        return self.ctx.energy.get(f"{self.spec.memory}_pj_per_byte")

    @property
    def chunk_bytes(self) -> int:
        """Return the bytes one transfer may fill."""
        return self.spec.tile_capacity_bytes

    @classmethod
    def resources(cls, spec: Buffer, device: Device) -> Resources:
        """Block RAMs for the capacity at the port width."""
        return memory_blocks(spec.memory, spec.capacity_bytes * 8, spec.width_bits, device)
