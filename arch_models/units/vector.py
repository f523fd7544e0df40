"""Row-wise (elementwise) and RMSNorm units.

Vector unit timing: a pass over ``n`` elements takes ``ceil(n / ops_per_cycle) × interval``
cycles plus the op's pipeline latency (``interval_cycles`` > 1 for iterative units).
``quantise`` is two passes (absmax, then scale and round); ``recurrence``
(``h = f ⊙ h + i``) is one fused pass with the multiply and add latencies.
Norm unit timing: a sum-of-squares pass, the reciprocal square root, a scaling pass.
Without a norm unit the vector unit does the norm in three passes plus a divide. A norm
unit that fuses the quantiser (``fuse_quantise``) takes the absmax in its first pass and
scales and rounds in its second (the quantiser's scale, 127 / absmax, needs no more time
than the reciprocal square root beside which it is formed): the quantise op after a norm
costs no time, only its energy (:meth:`NormUnitModel.fused_quantise_pj`).

Energy: ``vector_op_pj_per_op`` per element per pass (norm: two passes).

Resources: one multiplier per element lane (``dsp_per_multiplier`` from the catalog: one
DSP48E2 per 16×16 product; half an Intel DSP block, which holds two 18×19), fixed-point
datapath ``12 × data_bits`` LE per lane; a LUT sigmoid adds its table in block RAM (or
LUT-RAM when small), a piecewise fit ``pwl_segments × 2 × data_bits`` FF of coefficients
and ``pwl_order`` multipliers per lane.
"""

from __future__ import annotations

import math
from typing import ClassVar

from arch_models.catalog.models import Device
from arch_models.spec.units import NormUnit, VectorUnit
from arch_models.units.base import BuildContext, Resources, UnitModel, logic_cells, memory_blocks

__all__ = ["NormUnitModel", "VectorUnitModel", "dsp_per_multiplier"]


def dsp_per_multiplier(device: Device) -> float:
    """Return DSP blocks per 16×16 multiplier (catalog ``dsp_per_multiplier``, default 1)."""
    coeff = device.resource_costs.get("dsp_per_multiplier")
    return float(coeff.value) if coeff is not None else 1.0


def _add(a: Resources, b: Resources) -> Resources:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out


class VectorUnitModel(UnitModel[VectorUnit]):
    """Elementwise add, multiply, sigmoid, SiLU, quantise, recurrence."""

    kind = "vector_unit"
    #: (passes, latency fields) per op kind.
    OPS: ClassVar[dict[str, tuple[int, tuple[str, ...]]]] = {
        "add": (1, ("add",)),
        "mul": (1, ("mul",)),
        "sigmoid": (1, ("sigmoid",)),
        "silu": (1, ("silu",)),
        "quantise": (2, ("quantise",)),
        "recurrence": (1, ("mul", "add")),
        "norm": (3, ("mul", "div")),
    }

    def __init__(self, ctx: BuildContext, scope: str, spec: VectorUnit) -> None:
        super().__init__(ctx, scope, spec)
        self.pj_op = ctx.energy.get("vector_op_pj_per_op")

    def work(self, op: str, elements: int) -> tuple[float, float]:
        """Return (ns, pJ) of ``op`` over ``elements`` elements."""
        return self.cycles_to_ns(self.cycles(op, elements)), self.energy_pj(op, elements)

    def passes(self, op: str) -> int:
        """Return the passes over the data ``op`` needs."""
        return self.OPS[op][0]

    def cycles(self, op: str, elements: int) -> int:
        """Return cycles for ``op`` over ``elements`` elements."""
        passes, fields = self.OPS[op]
        lat: int = sum(getattr(self.spec.latency_cycles, f) for f in fields)
        interval: int = max(getattr(self.spec.interval_cycles, f) for f in fields)
        return passes * math.ceil(elements / self.spec.ops_per_cycle) * interval + lat

    def energy_pj(self, op: str, elements: int) -> float:
        """Return the dynamic energy of ``op`` over ``elements`` elements."""
        return self.passes(op) * elements * self.pj_op

    @classmethod
    def resources(cls, spec: VectorUnit, device: Device) -> Resources:
        """Multipliers, datapath and the sigmoid's table or fit (see module docstring)."""
        lanes = spec.ops_per_cycle
        mults = lanes * (1 + (spec.pwl_order if spec.sigmoid == "pwl" else 0))
        out = logic_cells(device, lanes * 12 * spec.data_bits)
        out["ff"] = float(lanes * 4 * spec.data_bits)
        out["dsp"] = mults * dsp_per_multiplier(device)
        if spec.sigmoid == "lut":
            bits = spec.lut_entries * spec.data_bits * lanes
            ram = "lutram" if bits <= 4096 * lanes else _block_ram_of(device)
            out = _add(out, memory_blocks(ram, bits, spec.data_bits, device))
        else:
            out["ff"] += spec.pwl_segments * 2 * spec.data_bits
        return out


class NormUnitModel(UnitModel[NormUnit]):
    """RMSNorm: sum of squares, reciprocal square root, scaling."""

    kind = "norm_unit"

    def __init__(self, ctx: BuildContext, scope: str, spec: NormUnit) -> None:
        super().__init__(ctx, scope, spec)
        self.pj_op = ctx.energy.get("vector_op_pj_per_op")

    def work(self, op: str, elements: int) -> tuple[float, float]:
        """Return (ns, pJ) of normalising ``elements`` elements."""
        if op != "norm":
            return super().work(op, elements)
        return self.cycles_to_ns(self.cycles(elements)), self.energy_pj(elements)

    def cycles(self, elements: int) -> int:
        """Return cycles to normalise ``elements`` elements."""
        return (
            2 * math.ceil(elements / self.spec.elements_per_cycle) + self.spec.rsqrt_latency_cycles
        )

    def energy_pj(self, elements: int) -> float:
        """Return the dynamic energy of normalising ``elements`` elements."""
        return 2 * elements * self.pj_op

    def fused_quantise_pj(self, elements: int) -> float:
        """Return the energy of quantising ``elements`` elements inside the norm's passes.

        The absmax compare in the first pass, the scale and round in the second: as many
        operations as the vector unit's two-pass quantiser.
        """
        return 2 * elements * self.pj_op

    @classmethod
    def resources(cls, spec: NormUnit, device: Device) -> Resources:
        """Square and scale multipliers per lane, accumulator, rsqrt (about 4 DSPs).

        Fusing the quantiser adds per lane an absmax comparator and the quantiser's scale
        multiplier and rounding (the quantiser's reciprocal beside the rsqrt: 4 DSPs).
        """
        lanes = spec.elements_per_cycle
        fused = spec.fuse_quantise
        logic = lanes * 2 * spec.accumulate_bits + 600
        logic += (lanes * 3 * spec.accumulate_bits + 600) if fused else 0
        out = logic_cells(device, logic)
        out["ff"] = float(lanes * 2 * spec.accumulate_bits + 400 + (lanes * 8 if fused else 0))
        out["dsp"] = (2 * lanes + 4 + ((lanes + 4) if fused else 0)) * dsp_per_multiplier(device)
        return out


def _block_ram_of(device: Device) -> str:
    res = device.resources.available() if device.resources else {}
    return "m20k" if "m20k" in res else "bram"
