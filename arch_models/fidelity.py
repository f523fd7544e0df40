"""The fidelity ladder: which figures are checked against something outside the model.

Every figure the simulator gives is a model's. Some parts of those models are held
against a reference outside them, each by a benchmark that measures the error:

- ``paper``: the paper core's time per block against the paper's measurement (43 ms),
  ``benchmarks/predictions.py``;
- ``rtl_cycles``: the ternary array and weight stream's cycles against this project's
  own RTL in Verilator (:mod:`arch_models.rtl`), ``benchmarks/rtl_fidelity.py``;
- ``rtl_energy_events``: the events the energy model charges (weights into adders,
  array steps, buffer bytes, memory beats) against the RTL's counts; the energies per
  event stay sourced estimates;
- ``yosys_resources``: the resource model's LUT/FF against Yosys ``synth_xilinx`` of
  the RTL (coefficients fitted on half of the configurations, the error measured on the
  other half);
- ``gpu_model``: the GPU model's ms/token and watts against the measured baselines,
  ``benchmarks/gpu_fidelity.py``;
- ``gpu_ttft``: its time to first token (the prompt pass) against the baselines' measured
  prefill, the same benchmark (CUDA graphs and eager).

The measured figures live in ``fidelity.json`` beside this module, written by the
benchmarks (``--record``) with the command, date and versions that measured them, never
typed in. :func:`fidelity_of` says which rungs apply to a design (the RTL checks apply
only to a design the RTL twin can build) and what they measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arch_models.spec.arch import Arch

__all__ = ["FIDELITY_FILE", "Rung", "fidelity_of", "load_ladder", "record_rung"]

#: The measured rungs (package data).
FIDELITY_FILE = Path(__file__).with_name("fidelity.json")

#: The rungs in ladder order, with what each checks (shown when a rung is not measured).
RUNGS: dict[str, str] = {
    "paper": (
        "the unit models' timing on the paper's D5005 core (one design) vs the paper's "
        "measured 43 ms per block"
    ),
    "rtl_cycles": "ternary array and weight-stream cycles vs this project's RTL (Verilator)",
    "rtl_energy_events": "energy model's event counts vs the RTL's",
    "yosys_resources": "resource model's LUT/FF vs Yosys synth_xilinx of the RTL",
    "gpu_model": "GPU model's ms/token and W vs the measured baselines",
    "gpu_ttft": "GPU model's time to first token (prompt pass) vs the measured prefill",
}
_FPGA_RUNGS = ("paper", "rtl_cycles", "rtl_energy_events", "yosys_resources")


@dataclass(frozen=True)
class Rung:
    """One check of the fidelity ladder, as it applies to one design.

    Attributes:
        name: The rung (``rtl_cycles``, ...).
        what: What it checks against what.
        applies: Whether the check covers this design.
        why_not: Why it does not (``""`` when it does).
        measured: The benchmark's figures (``{}`` when not yet measured): e.g.
            ``mean_abs_error``, ``worst_abs_error`` (fractions), ``cases``, ``command``,
            ``date``, ``versions``.
    """

    name: str
    what: str
    applies: bool
    why_not: str
    measured: dict[str, Any]

    def describe(self) -> str:
        """Return one line: what the rung measured, or why it does not cover the design."""
        m = self.measured
        if not self.applies:
            return f"not checked: {self.what} ({self.why_not})"
        if "mean_abs_error" in m:
            figure = f"mean |error| {m['mean_abs_error']:.2%}"
            if "worst_abs_error" in m:
                figure += f", worst {m['worst_abs_error']:.2%}"
        elif "designs_equal" in m:
            figure = f"equal on {m['designs_equal']} of {m['designs']} designs"
        elif "error" in m:
            figure = f"error {m['error']:+.1%}"
        else:
            figure = "measured"
        n = m.get("cases")
        cases = f", {n} case{'' if n == 1 else 's'}" if n is not None else ""
        where = f"{m.get('command', '?')}, {m.get('date', '?')}"
        return f"checked: {self.what}: {figure}{cases} ({where})"

    def to_json(self) -> dict[str, Any]:
        """Return the rung as JSON-ready data (``simulate --json``'s ``fidelity`` entries)."""
        return {
            "rung": self.name,
            "what": self.what,
            "applies": self.applies,
            "why_not": self.why_not,
            **self.measured,
        }


def load_ladder(path: Path = FIDELITY_FILE) -> dict[str, dict[str, Any]]:
    """Return the measured rungs by name (empty when none is recorded)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    rungs = data.get("rungs") if isinstance(data, dict) else None
    return {k: v for k, v in rungs.items() if isinstance(v, dict)} if rungs else {}


def record_rung(name: str, measured: dict[str, Any], path: Path = FIDELITY_FILE) -> None:
    """Write one rung's measured figures into the ladder file (atomically), keeping the rest.

    Raises:
        ValueError: ``name`` is not a rung.
    """
    from safeio import dumps, write_atomic

    if name not in RUNGS:
        raise ValueError(f"unknown rung {name!r} (rungs: {', '.join(RUNGS)})")
    rungs = load_ladder(path)
    rungs[name] = measured
    ordered = {k: rungs[k] for k in RUNGS if k in rungs}
    write_atomic(path, dumps({"format": 1, "rungs": ordered}, indent=1) + "\n")


def _rtl_applies(arch: Arch) -> str:
    """Return why the RTL checks do not cover ``arch`` (``""`` when they do)."""
    from arch_models.rtl.params import RtlParams, RtlUnsupportedError

    try:
        RtlParams.of_arch(arch)
    except RtlUnsupportedError as exc:
        return f"the RTL twin does not build this design: {exc}"
    return ""


def fidelity_of(arch: Arch, ladder: dict[str, dict[str, Any]] | None = None) -> tuple[Rung, ...]:
    """Return the rungs of the ladder that concern ``arch``, with what they measured.

    Args:
        arch: A validated description (FPGA or GPU).
        ladder: The measured rungs (default: :func:`load_ladder`).
    """
    ladder = load_ladder() if ladder is None else ladder
    if arch.is_gpu:
        names: tuple[str, ...] = ("gpu_model", "gpu_ttft")
    else:
        names = _FPGA_RUNGS
    rtl_gap = "" if arch.is_gpu else _rtl_applies(arch)
    out = []
    for name in names:
        why = ""
        if name.startswith(("rtl_", "yosys_")):
            why = rtl_gap
        measured = dict(ladder.get(name, {}))
        if not measured:
            why = why or "not measured yet"
        out.append(Rung(name, RUNGS[name], applies=not why, why_not=why, measured=measured))
    return tuple(out)
