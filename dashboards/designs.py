"""Designs the page shows in detail, compares and exports: study trials and results folders.

Every design is a :class:`DesignRecord` under a string key: ``trial:<n>`` for trial *n* of
the study on show, ``trial:<n>:<study>`` for trial *n* of a named study of the storage
(what Compare holds, so designs of two studies can be compared), ``results:<i>`` for the
*i*-th ``--results`` folder (written by ``cosim simulate --out``), which also carries its
per-event frame. Keys come from the
page; a key is only ever looked up among what the dashboard loaded at start, so no
request names a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dashboards.data import Notice
from explorer.records import TrialRecord

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = [
    "DesignRecord",
    "SavedDesign",
    "load_results_folders",
    "parse_key",
    "qualify",
    "record_of_trial",
    "split_study",
]


@dataclass(frozen=True)
class DesignRecord:
    """One design with its simulated figures.

    Attributes:
        key: ``trial:<n>`` or ``results:<i>``.
        label: How the page names it (``trial 12``, ``u280-370m (results)``).
        status: ``feasible``, ``infeasible`` or ``failed``.
        reason: Why it is not feasible, or why it failed.
        summary: The simulation summary (``{}`` when it was not simulated).
        design: The resolved architecture description.
        params: Searched parameters (space key → value; empty for results folders).
        origin: The study's name, or the results folder.
        provenance: Which tier's figures these are and why the design was simulated
            (two-tier studies), in words; ``""`` when there is nothing to say.
    """

    key: str
    label: str
    status: str
    reason: str
    summary: dict[str, Any]
    design: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    provenance: str = ""


@dataclass(frozen=True)
class SavedDesign:
    """A results folder: its record and its per-event frame."""

    record: DesignRecord
    frame: pd.DataFrame


def parse_key(key: Any) -> tuple[str, int] | None:
    """Return ``(kind, index)`` of a design key, or ``None`` for anything else."""
    if not isinstance(key, str) or ":" not in key:
        return None
    kind, _, num = key.partition(":")
    if kind not in ("trial", "results") or not num.isdigit() or len(num) > 9:
        return None
    return kind, int(num)


def split_study(key: Any) -> tuple[Any, str | None]:
    """Return ``(trial:<n>, study)`` of a ``trial:<n>:<study>`` key; other keys as they are.

    Any other value comes back unchanged with ``None``: the study on show.
    """
    if not isinstance(key, str) or not key.startswith("trial:"):
        return key, None
    num, sep, study = key[len("trial:") :].partition(":")
    if not sep or not study:
        return key, None
    return f"trial:{num}", study


def qualify(key: str, study: str | None) -> str:
    """Return a trial key of the study on show as ``trial:<n>:<study>`` (others unchanged)."""
    if study and parse_key(key) is not None and key.startswith("trial:"):
        return f"{key}:{study}"
    return key


def trial_number(key: Any) -> int | None:
    """Return the trial number of a ``trial:N`` key, or ``None`` for any other value."""
    parsed = parse_key(key)
    return parsed[1] if parsed is not None and parsed[0] == "trial" else None


def record_of_trial(trial: FrozenTrial, study_name: str) -> DesignRecord:
    """Return the record of a frozen trial of an explorer study."""
    record = TrialRecord.of(trial)
    return DesignRecord(
        key=f"trial:{record.number}",
        label=f"trial {record.number}",
        status=record.status or "failed",
        reason=record.reason,
        summary=dict(record.summary),
        design=dict(record.design),
        params=dict(record.params),
        origin=study_name,
        provenance=_provenance(record),
    )


def _provenance(record: TrialRecord) -> str:
    """Say that a two-tier study's trial holds SimPy's figures, and why it was simulated."""
    if not record.tier_plan:
        return ""
    why = {
        "calibration": "to measure the analytical tier's error",
        "candidate": "as within the analytical tier's measured error of the front",
    }.get(record.tier_plan, record.tier_plan)
    est = record.analytical
    guess = ""
    if isinstance(est.get("tokens_per_s"), int | float) and isinstance(
        est.get("avg_power_w"), int | float
    ):
        guess = (
            f" (the analytical tier estimated {est['tokens_per_s']:,.0f} tokens/s at "
            f"{est['avg_power_w']:.1f} W)"
        )
    return f"Figures from the SimPy tier; the two-tier search simulated it {why}{guess}."


def load_results_folders(paths: Sequence[str | Path]) -> tuple[list[SavedDesign], list[Notice]]:
    """Read ``cosim simulate --out`` folders; an unreadable one becomes a notice."""
    from cosim.errors import ResultsError
    from cosim.results import load_result

    out: list[SavedDesign] = []
    notices: list[Notice] = []
    for path in paths:
        try:
            saved = load_result(Path(path))
        except ResultsError as exc:
            notices.append(
                Notice(
                    "warning",
                    f"Results folder {path} not shown",
                    " ".join(str(exc).split())[:400],
                    "Give a folder written by `cosim simulate --out`.",
                )
            )
            continue
        summary = dict(saved.summary)
        fits = summary.get("fits", True)
        record = DesignRecord(
            key=f"results:{len(out)}",
            label=f"{Path(path).name} (results)",
            status="feasible" if fits else "infeasible",
            reason="" if fits else "; ".join(summary.get("fit_problems") or []),
            summary=summary,
            design=dict(saved.design or {}),
            origin=str(path),
        )
        out.append(SavedDesign(record, saved.frame))
    return out, notices
