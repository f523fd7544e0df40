"""Average power and energy per token of a run.

``P = static + clock + dynamic``: the device's static power (catalog ``power.static_w``,
the idle card including board), the clock network's power (``clock_mw_per_mhz_per_kff``
× clock × thousands of flip-flops used) and the dynamic energy of every recorded event
(ternary adds, accumulations, buffer accesses, off-chip bytes, vector ops) over the decode
window. Every coefficient comes from the catalog or the description, with its source.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from arch_models.energy import EnergyTable, MissingCoefficientError
from arch_models.resources import ResourceReport
from arch_models.spec.arch import Arch

__all__ = ["power_summary"]


def power_summary(
    arch: Arch, frame: pd.DataFrame, window_ns: float, tokens: int, resources: ResourceReport
) -> dict[str, Any]:
    """Return average W, J per token and their breakdowns over the decode window.

    Raises:
        MissingCoefficientError: The device lacks its static power or clock coefficient.
    """
    device = arch.device
    if device.power.static_w is None:
        raise MissingCoefficientError(
            f"device {device.id!r} has no power.static_w; add it to the catalog entry or "
            f"under device.overrides.power with a source"
        )
    static_w = float(device.power.static_w.value)
    table = EnergyTable(device)
    kff = resources.used.get("ff", 0.0) / 1000
    clock_w = table.get("clock_mw_per_mhz_per_kff") * arch.spec.clock_mhz * kff / 1000
    dec = frame[frame["phase"] == "decode"]
    by_kind = dec.groupby("kind", observed=True)["energy_pj"].sum()
    seconds = window_ns / 1e9
    dynamic_j = {str(k): float(v) / 1e12 for k, v in by_kind.items()}
    breakdown_w = {"static": static_w, "clock": clock_w}
    breakdown_w.update({k: v / seconds for k, v in dynamic_j.items()})
    avg = sum(breakdown_w.values())
    per_token = {k: v * seconds / tokens for k, v in breakdown_w.items()}
    return {
        "avg_power_w": avg,
        "energy_per_token_j": avg * seconds / tokens,
        "breakdown_w": breakdown_w,
        "breakdown_j_per_token": per_token,
    }
