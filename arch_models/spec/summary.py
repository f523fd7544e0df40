"""A few headline figures of a validated description (what ``cosim validate`` shows).

These are read straight off the description; nothing here simulates anything.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from arch_models.spec.arch import Arch
from arch_models.spec.units import OffChipMemory, TernaryArray

__all__ = ["summarize"]


def summarize(arch: Arch) -> dict[str, Any]:
    """Return headline figures of a design.

    Args:
        arch: A validated description.

    Returns:
        ``name``, ``device``, ``device_kind``, ``clock_mhz``, ``cores``,
        ``offchip_peak_gb_per_s`` (all off-chip blocks), ``ternary_adds_per_cycle``
        (all cores), ``unit_kinds`` (count per kind).
    """
    spec = arch.spec
    cores = spec.layout.cores
    adds = sum(a.adds_per_cycle for a in spec.units_of(TernaryArray)) * cores
    peak = sum(m.peak_gb_per_s for m in spec.units_of(OffChipMemory))
    return {
        "name": spec.name,
        "device": arch.device.id,
        "device_kind": arch.device.kind,
        "clock_mhz": spec.clock_mhz,
        "cores": cores,
        "offchip_peak_gb_per_s": round(peak, 6),
        "ternary_adds_per_cycle": adds,
        "unit_kinds": dict(Counter(u.kind for u in spec.units)),
    }
