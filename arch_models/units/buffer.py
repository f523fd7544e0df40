"""On-chip buffers: capacity, ports, double buffering, and their access energy.

A weight buffer's half (or whole, when single buffered) bounds one DMA transfer; its
slots are a SimPy ``Container`` (two when double buffered): a transfer takes a slot, the
array frees it when the chunk is consumed, so a full buffer back-pressures the DMA and an
empty one stalls the array. An activation or state buffer too small for what it must hold
sends that traffic to off-chip memory instead (the engine checks capacities).

Energy: ``<memory>_pj_per_byte`` per byte written or read (``bram``, ``uram``, ``m20k``,
``lutram``).

Resources: ``ceil(capacity / block)`` blocks, at least ``ceil(width / max port width)``
(36 Kb BRAM and 288 Kb URAM at up to 72 bits, UG573; 20 Kb M20K at up to 40 bits).
"""

from __future__ import annotations

import functools

import simpy

from arch_models.catalog.models import Device
from arch_models.spec.units import Buffer
from arch_models.units.base import BuildContext, Resources, UnitModel, memory_blocks

__all__ = ["BufferModel"]


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
