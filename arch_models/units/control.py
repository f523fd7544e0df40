"""Instruction dispatch: the fixed cost between one operation and the next.

Timing: ``op_overhead_cycles`` before every op a core executes (decode, issue, and the
handshake with the functional unit). Resources: a small sequencer and instruction memory,
estimated at 1,500 LE, 2,000 FF and 4 block RAMs' worth of instruction store (32 Kib).
"""

from __future__ import annotations

from arch_models.catalog.models import Device
from arch_models.spec.units import Control
from arch_models.units.base import Resources, UnitModel, logic_cells, memory_blocks

__all__ = ["DEFAULT_CONTROL", "ControlModel"]

#: Used when a description has no ``control`` block: no dispatch overhead.
DEFAULT_CONTROL = Control(kind="control", name="control", op_overhead_cycles=0)


class ControlModel(UnitModel[Control]):
    """Per-op dispatch overhead of one core."""

    kind = "control"

    @property
    def overhead_cycles(self) -> int:
        """Return the cycles charged before each op."""
        return self.spec.op_overhead_cycles

    @classmethod
    def resources(cls, spec: Control, device: Device) -> Resources:
        """Sequencer logic and instruction store (estimate)."""
        res = device.resources.available() if device.resources else {}
        ram = "m20k" if "m20k" in res else "bram"
        out = logic_cells(device, 1500)
        out["ff"] = 2000.0
        for k, v in memory_blocks(ram, 32 * 1024, 32, device).items():
            out[k] = out.get(k, 0.0) + v
        return out
