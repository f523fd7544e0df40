"""Instruction dispatch: the fixed cost between one operation and the next.

Timing: ``op_overhead_cycles`` before every op a core executes (decode, issue, and the
handshake with the functional unit). Resources: a small sequencer and instruction memory,
estimated at 1,500 LE, 2,000 FF and 4 block RAMs' worth of instruction store (32 Kib).
The RTL twin's own dispatch (one matvec command: overhead, import, start, compute,
export) is :func:`dispatch_logic`.
"""

from __future__ import annotations

from arch_models.catalog.models import Device
from arch_models.spec.units import Control
from arch_models.units.base import Resources, UnitModel, logic_cells, memory_blocks
from arch_models.units.logic import Logic

__all__ = ["DEFAULT_CONTROL", "ControlModel", "dispatch_logic"]


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def dispatch_logic(
    act_path_bits: int, out_path_bits: int, activation_bits: int, accumulator_bits: int
) -> Logic:
    """Return the RTL twin's matvec dispatch: its state machine and the command's beats.

    The import and export beat counts are ``ceil(cols × activation_bits / act_path_bits)``
    and ``ceil(rows × accumulator_bits / out_path_bits)``: a division of a 16-bit shape's
    product (a quarter of a 32-bit one) unless the path is a power of two wide, a product
    (of a 16-bit shape, half a 32-bit one) unless the element is.

    Args:
        act_path_bits: Import width.
        out_path_bits: Export width.
        activation_bits: Bits of an activation.
        accumulator_bits: Bits of a result.
    """
    divisors = (act_path_bits, out_path_bits)
    factors = (activation_bits, accumulator_bits)
    return Logic(
        sequencers=1,
        dividers=0.25 * sum(0 if _pow2(n) else 1 for n in divisors),
        multipliers=0.5 * sum(0 if _pow2(n) else 1 for n in factors),
    )


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
