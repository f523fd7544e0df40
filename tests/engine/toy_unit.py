"""A toy unit kind, as a user would add one: one file (block + unit model), one entry.

``lut_activation`` computes sigmoid and SiLU from a table, ``elements_per_cycle`` at a
time after a ``latency_cycles`` lookup, so a design that has one takes those ops off its
vector unit. Registered by :func:`register` (the one entry).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from arch_models.catalog.models import Device
from arch_models.spec.units import UnitBase
from arch_models.units import UnitModel, register_unit_kind
from arch_models.units.base import BuildContext, Resources, logic_cells

KIND = "lut_activation"


class LutActivation(UnitBase):
    """A table-lookup activation unit (one per core)."""

    kind: Literal["lut_activation"]
    executes = frozenset({"sigmoid", "silu"})
    elements_per_cycle: Annotated[int, Field(ge=1, le=4096)]
    latency_cycles: Annotated[int, Field(ge=0, le=1000)] = 2


class LutActivationModel(UnitModel[LutActivation]):
    """Sigmoid and SiLU by table lookup."""

    kind = KIND

    def __init__(self, ctx: BuildContext, scope: str, spec: LutActivation) -> None:
        super().__init__(ctx, scope, spec)
        self.pj_op = ctx.energy.get("vector_op_pj_per_op")

    def work(self, op: str, elements: int) -> tuple[float, float]:
        """One pass at ``elements_per_cycle``, plus the lookup latency."""
        if op not in self.executes:
            return super().work(op, elements)
        cycles = math.ceil(elements / self.spec.elements_per_cycle) + self.spec.latency_cycles
        return self.cycles_to_ns(cycles), elements * self.pj_op

    @classmethod
    def resources(cls, spec: LutActivation, device: Device) -> Resources:
        """A 256-entry table per lane in logic (an estimate for the test)."""
        out = logic_cells(device, spec.elements_per_cycle * 64)
        out["ff"] = float(spec.elements_per_cycle * 16)
        return out


def register() -> None:
    """The one entry: descriptions may now say ``kind: lut_activation``."""
    register_unit_kind(KIND, LutActivation, LutActivationModel)
