"""The device catalog's data model: real parts with datasheet figures, each with a source.

Every figure is a :class:`Sourced` value whose ``source`` is a key of the entry's
``references`` map (a datasheet, user guide or paper, with section or table), so a user can
check where each number came from. A description may override figures of its device with
its own sourced values (``device.overrides``); the merged entry is validated again.

Resource kinds are named the same across vendors (``lut``, ``alm``, ``ff``, ``bram_36k``,
``m20k``, ``uram``, ``dsp``); a device lists only those it has.
"""

from __future__ import annotations

import re
from typing import Generic, Literal, TypeVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from arch_models.validation.base import SpecModel

__all__ = [
    "RESOURCE_KINDS",
    "ClockRange",
    "Device",
    "FabricResources",
    "GpuFigures",
    "MemorySystem",
    "PowerFigures",
    "Sourced",
]

T = TypeVar("T", int, float)

#: Resource kinds the tool knows, in display order.
RESOURCE_KINDS: tuple[str, ...] = ("lut", "alm", "ff", "bram_36k", "m20k", "uram", "dsp")

_COEFF_NAME = re.compile(r"^[a-z][a-z0-9_]*_(pj|nj|mw|w|fj)_per_[a-z0-9_]+$")
_RESOURCE_COEFF_NAME = re.compile(r"^[a-z][a-z0-9_]*_per_[a-z0-9_]+$")


class Sourced(SpecModel, Generic[T]):
    """A figure and where it comes from.

    Attributes:
        value: The figure, in the unit its field name states.
        source: Key of the file's ``references`` map, optionally with a locator after a
            space (``ds963 Table 1``).
    """

    value: T
    source: str = Field(min_length=1)

    @field_validator("source")
    @classmethod
    def _known_reference(cls, v: str, info: ValidationInfo) -> str:
        refs = (info.context or {}).get("references")
        if refs is not None:
            key = v.split()[0]
            if key not in refs:
                known = ", ".join(sorted(refs)) or "none defined"
                raise ValueError(f"unknown reference {key!r}; known: {known}")
        return v


class FabricResources(SpecModel):
    """Programmable-logic resources of an FPGA (only those the family has)."""

    lut: Sourced[int] | None = None
    alm: Sourced[int] | None = None
    ff: Sourced[int] | None = None
    bram_36k: Sourced[int] | None = None
    m20k: Sourced[int] | None = None
    uram: Sourced[int] | None = None
    dsp: Sourced[int] | None = None

    def available(self) -> dict[str, int]:
        """Return the resource kinds this device has and their counts."""
        out: dict[str, int] = {}
        for kind in RESOURCE_KINDS:
            fig = getattr(self, kind)
            if fig is not None:
                out[kind] = int(fig.value)
        return out


class MemorySystem(SpecModel):
    """An off-chip memory system attached to the device.

    Attributes:
        kind: The memory technology.
        channels: Independent interfaces a design can map to (DDR banks, HBM
            pseudo-channels; for GPUs the HBM stacks).
        capacity_gib: Total capacity.
        bandwidth_gb_per_s: Aggregate peak bandwidth in GB/s (1e9 bytes/s).
    """

    kind: Literal["ddr3", "ddr4", "lpddr4", "hbm2", "hbm2e", "hbm3", "hbm3e"]
    channels: Sourced[int]
    capacity_gib: Sourced[float]
    bandwidth_gb_per_s: Sourced[float]

    @field_validator("channels", "capacity_gib", "bandwidth_gb_per_s")
    @classmethod
    def _positive(cls, v: Sourced[int] | Sourced[float]) -> Sourced[int] | Sourced[float]:
        if v.value <= 0:
            raise ValueError(f"must be > 0 (got {v.value})")
        return v

    @property
    def family(self) -> str:
        """Return ``hbm`` or ``ddr`` (what a description's off-chip block kind maps to)."""
        return "hbm" if self.kind.startswith("hbm") else "ddr"


class ClockRange(SpecModel):
    """The clock frequencies a design on this device can use."""

    min_mhz: Sourced[float]
    max_mhz: Sourced[float]

    @model_validator(mode="after")
    def _ordered(self) -> ClockRange:
        if not 0 < self.min_mhz.value <= self.max_mhz.value:
            raise ValueError(
                f"needs 0 < min_mhz <= max_mhz (got {self.min_mhz.value}, {self.max_mhz.value})"
            )
        return self


class PowerFigures(SpecModel):
    """Published power figures; ``None`` where the vendor publishes none."""

    static_w: Sourced[float] | None = None
    idle_w: Sourced[float] | None = None
    max_w: Sourced[float] | None = None


class GpuFigures(SpecModel):
    """Datasheet figures of a GPU."""

    sms: Sourced[int]
    l2_mib: Sourced[float]
    bf16_dense_tflops: Sourced[float]
    fp32_tflops: Sourced[float]
    int8_dense_tops: Sourced[float]
    boost_clock_mhz: Sourced[float]


class Device(SpecModel):
    """One catalog part.

    Attributes:
        id: Catalog key used by descriptions (``device.part``).
        name: Marketing name.
        vendor: Maker.
        kind: ``fpga`` or ``gpu``.
        family: Device family (``stratix10``, ``virtex-ultrascale-plus``, ``hopper`` ...).
        part_number: The chip's ordering code.
        board: The board or card the part sits on, if any.
        resources: Fabric resources (FPGAs).
        gpu: GPU figures (GPUs).
        memory: Off-chip memory systems.
        clock: Usable clock range.
        power: Published power figures.
        energy: Energy coefficients, named ``<what>_<pj|nj|mw|w>_per_<unit>``.
        resource_costs: Resource coefficients, named ``<resource>_per_<unit>``.
        references: Citation for every source key used in this entry.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    vendor: str
    kind: Literal["fpga", "gpu"]
    family: str
    part_number: str
    board: str | None = None
    resources: FabricResources | None = None
    gpu: GpuFigures | None = None
    memory: list[MemorySystem] = Field(min_length=1)
    clock: ClockRange
    power: PowerFigures
    energy: dict[str, Sourced[float]] = Field(default_factory=dict)
    resource_costs: dict[str, Sourced[float]] = Field(default_factory=dict)
    references: dict[str, str] = Field(min_length=1)

    @field_validator("energy")
    @classmethod
    def _energy_names(cls, v: dict[str, Sourced[float]]) -> dict[str, Sourced[float]]:
        bad = [k for k in v if not _COEFF_NAME.match(k)]
        if bad:
            raise ValueError(
                f"coefficient names must state their unit, like 'ternary_add_pj_per_op' "
                f"(got {', '.join(bad)})"
            )
        return v

    @field_validator("resource_costs")
    @classmethod
    def _cost_names(cls, v: dict[str, Sourced[float]]) -> dict[str, Sourced[float]]:
        bad = [k for k in v if not _RESOURCE_COEFF_NAME.match(k)]
        if bad:
            raise ValueError(f"names must read '<resource>_per_<unit>' (got {', '.join(bad)})")
        return v

    @model_validator(mode="after")
    def _kind_sections(self) -> Device:
        if self.kind == "fpga" and self.resources is None:
            raise ValueError("an fpga entry needs 'resources'")
        if self.kind == "gpu" and self.gpu is None:
            raise ValueError("a gpu entry needs 'gpu'")
        return self

    def memory_of(self, family: str) -> MemorySystem | None:
        """Return the first memory system of a family (``hbm`` or ``ddr``), if any."""
        return next((m for m in self.memory if m.family == family), None)

    def citation(self, source: str) -> str:
        """Return the full citation for a figure's ``source`` string."""
        key, _, locator = source.partition(" ")
        text = self.references.get(key, key)
        return f"{text}, {locator}" if locator else text
