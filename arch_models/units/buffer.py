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
RTL twin's stores are counted as what they synthesise to: the weight buffer, read
asynchronously at several words a cycle, as distributed RAM with a copy per read port
(:func:`weight_buffer_logic`); the activation and result stores as registers with their
write and read multiplexers (:func:`register_store_logic`).
"""

from __future__ import annotations

import functools

import simpy

from arch_models.catalog.models import Device
from arch_models.spec.units import Buffer
from arch_models.units.base import BuildContext, Resources, UnitModel, memory_blocks
from arch_models.units.logic import Logic, clog2

__all__ = ["BufferModel", "register_store_logic", "weight_buffer_logic"]

#: Width of the RTL's addresses and indices.
_INDEX_BITS = 32
#: Depth of one distributed-RAM LUT in its shallow mode (UG574: 32 x 2 bits).
_LUTRAM_DEPTH = 32


def _aligned_bits(width: int) -> int:
    """Return the low offset bits known zero when offsets step by ``width`` bits."""
    return (width & -width).bit_length() - 1


def weight_buffer_logic(half_beats: int, beat_bits: int, window_bytes: int) -> Logic:
    """Return the RTL's double-buffered weight buffer as it synthesises.

    Two halves of ``half_beats`` words of one beat; the array reads a window of
    ``window_bytes`` bytes at any byte each cycle: the words it may touch are read
    asynchronously (a distributed-RAM copy per read port), addressed by an adder and a
    bound check each, and shifted to the window's first byte.

    Args:
        half_beats: Words of one half.
        beat_bits: Bits of a word (one memory beat).
        window_bytes: Bytes one read returns.
    """
    beat_bytes = beat_bits // 8
    ports = -(-window_bytes // beat_bytes) + 1
    depth = 2 * half_beats
    rows = -(-depth // _LUTRAM_DEPTH) * _LUTRAM_DEPTH
    out = Logic(
        lutram_bits=rows * beat_bits * ports,
        adder_bits=2 * _INDEX_BITS * ports,
        mux_inputs=beat_bits * ports * (-(-depth // 64) if depth > 64 else 0),
    )
    if beat_bytes > 1:
        out += Logic(mux_inputs=8 * window_bytes * beat_bytes)
    return out


def register_store_logic(
    words: int,
    word_bits: int,
    *,
    write_ports: int = 1,
    read_bits: int,
) -> Logic:
    """Return a store built of registers, written a word per port and read by a mux.

    A write places a word at bit ``index × word_bits`` of the store. For a power-of-two
    word the offset's low bits are known zero and the write is a word decode; otherwise
    ``index × word_bits`` is an index product and each port is a shifter of the word and
    of its mask into the store (a stage per offset bit not known zero, each as wide as the
    bits the word may have reached, and one that clears an offset past the end). Each bit
    then chooses between its old value and the ports. A read returns ``read_bits`` at bit
    ``index × read_bits``: a shifter with a stage per index bit not known zero (a 32-bit
    index; past the store it reads undefined bits, which the synthesis does not prune).

    Args:
        words: Words stored.
        word_bits: Bits of a word.
        write_ports: Words written in one cycle.
        read_bits: Bits one read returns (the read offset's step).
    """
    bits = words * word_bits
    out = Logic(
        register_bits=bits,
        mux_inputs=bits * (write_ports + 1)
        + 2 * read_bits * (_INDEX_BITS - _aligned_bits(read_bits)),
        adder_bits=_INDEX_BITS * write_ports,
    )
    if word_bits & (word_bits - 1):
        # stage i moves the word by 2**(aligned + i) bits: its 2:1 muxes span the bits the
        # word may reach so far; the last stage clears an offset past the end
        aligned = _aligned_bits(word_bits)
        reach, muxes = 0, bits
        for i in range(max(0, clog2(bits) - aligned)):
            reach += 1 << (aligned + i)
            muxes += min(bits, word_bits + reach)
        out += Logic(mux_inputs=2 * 2 * write_ports * muxes, multipliers=write_ports)
    return out


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
