"""The link catalog: the serial links that join cards to each other and to their host.

One YAML file per link type under ``catalog/links/`` (PCIe to the host; 100 Gigabit
Ethernet or Aurora between cards), each figure a :class:`~arch_models.catalog.models.Sourced`
value whose source is a key of the file's ``references`` (a standard, a product guide,
or an estimate that says it is one). A system description names its links by id.

A link's payload bandwidth per direction is ``lanes × gbit_per_s_per_lane × efficiency``
(the lane rate after line coding, times the fraction of it that carries payload after
packet or frame headers); a transfer takes its bytes over that bandwidth and then the
one-way latency; each bit moved costs ``energy_pj_per_bit``; each card end of a
card-to-card link draws ``port_static_w`` (its cage's module) for as long as the system runs.
"""

from __future__ import annotations

from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import field_validator

from arch_models.catalog.loader import entry_from_document, validated_entries
from arch_models.catalog.models import Sourced
from arch_models.validation.base import SpecModel

__all__ = ["LinkType", "get_link", "link_catalog"]


class LinkType(SpecModel):
    """One kind of link (both directions alike).

    Attributes:
        id: Catalog id (the file's name).
        name: For display.
        role: ``host`` (card to host) or ``card`` (card to card).
        lanes: Serial lanes per direction.
        gbit_per_s_per_lane: Lane rate after line coding.
        efficiency: Fraction of that rate carrying payload.
        latency_ns: One-way latency of a small transfer.
        energy_pj_per_bit: Energy per payload bit moved (both ends).
        port_static_w: Power of each card end while the system runs.
        references: Citations for the ``source`` keys.
    """

    id: str
    name: str
    role: Literal["host", "card"]
    lanes: Sourced[int]
    gbit_per_s_per_lane: Sourced[float]
    efficiency: Sourced[float]
    latency_ns: Sourced[float]
    energy_pj_per_bit: Sourced[float]
    port_static_w: Sourced[float]
    references: dict[str, str]

    @field_validator("lanes", "gbit_per_s_per_lane", "efficiency")
    @classmethod
    def _positive(cls, v: Sourced[int] | Sourced[float]) -> Sourced[int] | Sourced[float]:
        if v.value <= 0:
            raise ValueError(f"must be positive (got {v.value})")
        return v

    @field_validator("efficiency")
    @classmethod
    def _fraction(cls, v: Sourced[float]) -> Sourced[float]:
        if v.value > 1:
            raise ValueError(f"must be at most 1 (got {v.value})")
        return v

    @field_validator("latency_ns", "energy_pj_per_bit", "port_static_w")
    @classmethod
    def _not_negative(cls, v: Sourced[float]) -> Sourced[float]:
        if v.value < 0:
            raise ValueError(f"must not be negative (got {v.value})")
        return v

    @property
    def bytes_per_ns(self) -> float:
        """Return the payload bandwidth per direction (bytes/ns = GB/s)."""
        return self.lanes.value * self.gbit_per_s_per_lane.value * self.efficiency.value / 8


@cache
def link_catalog() -> dict[str, LinkType]:
    """Return every bundled link type by id.

    Raises:
        SpecError: A link file is invalid.
    """
    folder = Path(str(resources.files("arch_models.catalog") / "links"))
    entries = validated_entries(
        sorted(folder.glob("*.yaml")), partial(entry_from_document, LinkType)
    )
    return {k: link for k, (link, _) in entries.items()}


def get_link(link_id: str) -> LinkType:
    """Return one link type.

    Raises:
        KeyError: With the known ids.
    """
    links = link_catalog()
    if link_id not in links:
        raise KeyError(f"unknown link {link_id!r}; known: {', '.join(sorted(links))}")
    return links[link_id]
