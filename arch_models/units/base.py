"""What every unit model shares: its scope, clock, energy table and the run's recorder.

A unit model is a small SimPy class per description ``kind``. It owns three models of
its block: *timing* (cycles for a piece of work, and SimPy processes that spend them),
*energy* (picojoules per event from the device's sourced coefficients) and *resources*
(LUT/ALM, FF, BRAM/M20K/URAM, DSP as a function of its parameters).

Resource estimates are counted in generic logic elements (LE: LUT6-equivalents; what each
kind of structure costs, fitted to Yosys's synthesis of the RTL twin, is in
:mod:`arch_models.units.logic`) and converted to the device's own logic cells by
:func:`logic_cells` with the catalog's ``le_per_lut`` / ``le_per_alm``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

import simpy

from arch_models.catalog.models import Device
from arch_models.energy import EnergyTable
from arch_models.spec.arch import Arch
from arch_models.spec.units import UnitBase
from arch_models.units.recorder import Recorder

__all__ = ["BuildContext", "Resources", "UnitModel", "logic_cells", "memory_blocks"]

S = TypeVar("S", bound=UnitBase)
Resources = dict[str, float]

#: Bits and maximum port width of each block-RAM primitive (UG573, UG579; S10 M20K UG).
_BLOCK_RAM: Mapping[str, tuple[str, int, int]] = {
    "bram": ("bram_36k", 36 * 1024, 72),
    "uram": ("uram", 288 * 1024, 72),
    "m20k": ("m20k", 20 * 1024, 40),
}


@dataclass
class BuildContext:
    """Shared state of one simulation: environment, design, energy table, recorder."""

    env: simpy.Environment
    arch: Arch
    energy: EnergyTable
    recorder: Recorder

    @property
    def clock_mhz(self) -> float:
        """Return the core clock."""
        return self.arch.spec.clock_mhz

    @property
    def ns_per_cycle(self) -> float:
        """Return the core clock period in ns."""
        return 1000.0 / self.arch.spec.clock_mhz


def logic_cells(device: Device, le: float) -> Resources:
    """Convert logic elements to the device's logic cells (``lut`` or ``alm``).

    Args:
        device: The target (its ``resource_costs`` give LE per cell).
        le: Logic elements (LUT6-equivalents).

    Returns:
        ``{"lut": n}`` or ``{"alm": n}``.
    """
    res = device.resources.available() if device.resources else {}
    for cell in ("lut", "alm"):
        if cell in res:
            coeff = device.resource_costs.get(f"le_per_{cell}")
            per = float(coeff.value) if coeff is not None else 1.0
            return {cell: le / per}
    return {}


def memory_blocks(memory: str, bits: float, width_bits: int, device: Device) -> Resources:
    """Return the block RAMs (or LUT-RAM logic) holding ``bits`` at ``width_bits`` wide.

    Args:
        memory: ``bram``, ``uram``, ``m20k`` or ``lutram``.
        bits: Capacity needed.
        width_bits: Port width; wide ports need blocks side by side.
        device: The target (for LUT-RAM's logic cells).
    """
    if memory == "lutram":
        return logic_cells(device, math.ceil(bits / 64))
    kind, block_bits, max_width = _BLOCK_RAM[memory]
    blocks = max(math.ceil(bits / block_bits), math.ceil(width_bits / max_width))
    return {kind: float(blocks)}


class UnitModel(Generic[S]):
    """Base of every unit model.

    The engine builds a design from the registry (:data:`arch_models.units.UNIT_MODELS`):
    for each block, its model's :meth:`create` once per core or, with ``placement =
    "device"``, once for the device. A unit that runs vector operations (its block kind's
    ``executes``) prices them in :meth:`work`; of the units of a core that can run an op,
    the most specialised (fewest ``executes``; then file order) runs it.

    Attributes:
        kind: The unit's kind in result rows (the ``kind`` column).
        placement: ``core`` (one per core) or ``device`` (one, shared by all cores).
        ctx: The simulation's shared context.
        scope: Dotted name of this instance (``top.core0.tmac``), the ``unit`` column.
        spec: The validated block.
    """

    kind: ClassVar[str] = ""
    placement: ClassVar[Literal["core", "device"]] = "core"

    def __init__(self, ctx: BuildContext, scope: str, spec: S) -> None:
        self.ctx = ctx
        self.scope = scope
        self.spec = spec
        self.busy_ns = 0.0

    @property
    def executes(self) -> frozenset[str]:
        """Return the op kinds this unit runs (its block kind's ``executes``)."""
        return self.spec.executes

    @classmethod
    def create(cls, ctx: BuildContext, scope: str, spec: S) -> Self:
        """Build this unit for a simulation.

        A model that needs more of the design than its block reads it from ``ctx.arch``.
        """
        return cls(ctx, scope, spec)

    def work(self, op: str, elements: int) -> tuple[float, float]:
        """Return (ns, dynamic energy in pJ) to run ``op`` over ``elements`` elements.

        Raises:
            ValueError: The unit does not run ``op``.
        """
        raise ValueError(f"{self.scope} ({self.kind}) does not run {op!r} operations")

    @property
    def env(self) -> simpy.Environment:
        """Return the SimPy environment."""
        return self.ctx.env

    def cycles_to_ns(self, cycles: float) -> float:
        """Convert core clock cycles to ns."""
        return cycles * self.ctx.ns_per_cycle

    def record(self, kind: str, op: str, name: str, step: int, phase: str, **kw: Any) -> None:
        """Append a row for this unit (starting now unless ``t_ns`` is given)."""
        t = kw.pop("t_ns", self.env.now)
        self.busy_ns += kw.get("busy_ns", 0.0)
        self.ctx.recorder.add(t, self.scope, kind, op, name, step, phase, **kw)

    @classmethod
    def resources(cls, spec: S, device: Device) -> Resources:
        """Return this block's resource use (one instance) on ``device``."""
        return {}
