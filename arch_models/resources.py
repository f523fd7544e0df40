"""Resource use of a whole FPGA design against its device, and whether it fits.

Per-core blocks count once per core (``core_layout.cores``); off-chip interfaces and the
device shell once. The shell (PCIe, DMA, board management the platform reserves) comes
from the catalog's ``<resource>_per_shell`` figures where the entry has them.
"""

from __future__ import annotations

from dataclasses import dataclass

from arch_models.catalog.models import RESOURCE_KINDS
from arch_models.spec.arch import Arch
from arch_models.spec.units import CoreLayout
from arch_models.units import UNIT_MODELS

__all__ = ["ResourceReport", "estimate_resources"]

#: Above this utilisation a design is reported as not fitting (routing congestion).
MAX_UTILISATION = 1.0


@dataclass(frozen=True)
class ResourceReport:
    """Resources used and available per kind, with the verdict.

    Attributes:
        used: Estimated use per resource kind (whole design).
        available: The device's count per kind.
        by_unit: Use per description block (all its instances).
        fits: Whether every kind is within the device.
        problems: One line per kind that does not fit, with by how much.
    """

    used: dict[str, float]
    available: dict[str, int]
    by_unit: dict[str, dict[str, float]]
    fits: bool
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, dict[str, float]]:
        """Return ``{kind: {"used": u, "available": a, "utilisation": u/a}}``."""
        out = {}
        for kind in RESOURCE_KINDS:
            if kind in self.available or kind in self.used:
                used = round(self.used.get(kind, 0.0), 1)
                avail = self.available.get(kind, 0)
                out[kind] = {
                    "used": used,
                    "available": float(avail),
                    "utilisation": round(used / avail, 4) if avail else float("inf"),
                }
        return out


def estimate_resources(arch: Arch) -> ResourceReport:
    """Estimate a design's resources and check them against its device.

    Args:
        arch: A validated FPGA description.

    Returns:
        The report.
    """
    device = arch.device
    available = device.resources.available() if device.resources else {}
    cores = arch.spec.layout.cores
    used: dict[str, float] = {}
    by_unit: dict[str, dict[str, float]] = {}
    for unit in arch.spec.units:
        if isinstance(unit, CoreLayout):
            continue
        model = UNIT_MODELS.get(unit.kind)
        if model is None:
            continue
        per = model.resources(unit, device)
        n = 1 if model.placement == "device" else cores
        total = {k: v * n for k, v in per.items()}
        by_unit[unit.name] = total
        for k, v in total.items():
            used[k] = used.get(k, 0.0) + v
    shell = {
        k: float(fig.value) for k, fig in device.resource_costs.items() if k.endswith("_per_shell")
    }
    if shell:
        by_unit["shell"] = {k.removesuffix("_per_shell"): v for k, v in shell.items()}
        for k, v in by_unit["shell"].items():
            used[k] = used.get(k, 0.0) + v
    problems = []
    for kind, amount in sorted(used.items()):
        avail = available.get(kind, 0)
        if amount > avail * MAX_UTILISATION:
            if avail:
                problems.append(
                    f"{kind}: needs {amount:,.0f}, {device.id} has {avail:,} "
                    f"({amount / avail:.0%}, over by {amount - avail:,.0f})"
                )
            else:
                problems.append(f"{kind}: needs {amount:,.0f}, {device.id} has none")
    return ResourceReport(used, available, by_unit, not problems, tuple(problems))
