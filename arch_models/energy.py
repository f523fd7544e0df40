"""Energy coefficients of a design, looked up by name with their sources.

Coefficients live in the device catalog (``energy:``), each with a source; a description
can override them (``device.overrides.energy``). Names state their unit:
``ternary_add_pj_per_op``, ``hbm_pj_per_byte``, ``clock_mw_per_mhz_per_kff`` ... A unit
model asks for what it needs; a missing coefficient is a clear error naming where to add
it, never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from arch_models.catalog.models import Device

__all__ = ["EnergyTable", "MissingCoefficientError"]


class MissingCoefficientError(KeyError):
    """A unit needs an energy coefficient the device does not define."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class EnergyTable:
    """The energy coefficients of one (possibly overridden) device."""

    device: Device

    def get(self, name: str) -> float:
        """Return a coefficient's value.

        Raises:
            MissingCoefficientError: Naming the device and how to supply it.
        """
        fig = self.device.energy.get(name)
        if fig is None:
            have = ", ".join(sorted(self.device.energy)) or "none"
            raise MissingCoefficientError(
                f"device {self.device.id!r} has no energy coefficient {name!r} (it has: {have}); "
                f"add it to the catalog entry or under device.overrides.energy with a source"
            )
        return float(fig.value)

    def source(self, name: str) -> str:
        """Return the full citation of a coefficient."""
        return self.device.citation(self.device.energy[name].source)
