"""The results recorder: one row per unit event or interval, columnar while running.

Every unit model appends rows here; :meth:`Recorder.frame` turns them into the tidy
pandas frame of a run (``t_ns, unit, op, name, step, phase, bytes, energy_pj, busy_ns,
stall_ns``). The ``unit`` column is the unit's dotted scope (``top.core3.tmac``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["COLUMNS", "Recorder"]

COLUMNS = (
    "t_ns",
    "unit",
    "kind",
    "op",
    "name",
    "step",
    "phase",
    "bytes",
    "energy_pj",
    "busy_ns",
    "stall_ns",
)


@dataclass
class Recorder:
    """Accumulates event rows (columnar lists until :meth:`frame`)."""

    _cols: dict[str, list[object]] = field(default_factory=lambda: {c: [] for c in COLUMNS})

    def add(
        self,
        t_ns: float,
        unit: str,
        kind: str,
        op: str,
        name: str,
        step: int,
        phase: str,
        *,
        nbytes: int = 0,
        energy_pj: float = 0.0,
        busy_ns: float = 0.0,
        stall_ns: float = 0.0,
    ) -> None:
        """Append one row (``t_ns`` is the interval's start)."""
        c = self._cols
        c["t_ns"].append(t_ns)
        c["unit"].append(unit)
        c["kind"].append(kind)
        c["op"].append(op)
        c["name"].append(name)
        c["step"].append(step)
        c["phase"].append(phase)
        c["bytes"].append(nbytes)
        c["energy_pj"].append(energy_pj)
        c["busy_ns"].append(busy_ns)
        c["stall_ns"].append(stall_ns)

    def __len__(self) -> int:
        return len(self._cols["t_ns"])

    def frame(self) -> pd.DataFrame:
        """Return the rows as a tidy frame with compact dtypes."""
        df = pd.DataFrame(self._cols)
        for col in ("unit", "kind", "op", "name", "phase"):
            df[col] = df[col].astype("category")
        df["step"] = df["step"].astype("int32")
        df["bytes"] = df["bytes"].astype("int64")
        return df
