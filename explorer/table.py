"""A study's trials as one table: one row per counted trial, the same columns for every reader.

:func:`trial_row` makes a trial's row from its :class:`~explorer.records.TrialRecord`:
:data:`COLUMNS` (status, the headline figures of its summary, a few derived ones), then
one column per searched parameter. :func:`trials_table` is the table of a study's
counted trials; :func:`table_of` makes the frame of rows already made (the dashboard keeps
its rows between refreshes). The front (:mod:`explorer.pareto`) and the dashboard's
table are this table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from explorer.records import TrialRecord, counted

__all__ = ["COLUMNS", "FIGURE_COLUMNS", "SUMMARY_FIELDS", "table_of", "trial_row", "trials_table"]

#: Summary figures copied into the table (numbers; ``NaN`` where the summary lacks one).
FIGURE_COLUMNS = (
    "tokens_per_s",
    "avg_power_w",
    "energy_per_token_j",
    "ms_per_token",
    "bound_tokens_per_s",
    "memory_bound_tokens_per_s",
    "fraction_of_memory_bound",
    "time_to_first_token_ms",
    "batch",
)
#: The columns of every row, before its parameter columns.
COLUMNS = (
    "trial",
    "state",
    "status",
    "reason",
    *FIGURE_COLUMNS,
    "tokens_per_joule",
    "bottleneck",
    "fits",
    "max_resource_utilisation",
)
#: The summary fields a row is made from (a reader may fetch just these).
SUMMARY_FIELDS = (*FIGURE_COLUMNS, "bottleneck", "fits", "resources")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def trial_row(record: TrialRecord, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a trial's row.

    Columns: ``trial, state, status`` (``failed`` when the trial has none), ``reason``,
    the :data:`FIGURE_COLUMNS` of its summary, ``tokens_per_joule`` (from J/token),
    ``bottleneck`` (``""`` when none), ``fits`` (``None`` when not simulated),
    ``max_resource_utilisation``; then one column per searched parameter.

    Args:
        record: The trial.
        params: Its parameter columns, name → value (default: ``params_by_path``, by
            canonical path).
    """
    s = record.summary
    figures = {k: _number(s.get(k)) for k in FIGURE_COLUMNS}
    jpt = figures["energy_per_token_j"]
    resources = s.get("resources") or {}
    utils = [_number(r.get("utilisation")) for r in resources.values() if isinstance(r, dict)]
    fits = s.get("fits")
    row: dict[str, Any] = {
        "trial": record.number,
        "state": record.state,
        "status": record.status or "failed",
        "reason": record.reason,
        **figures,
        "tokens_per_joule": 1.0 / jpt if jpt and math.isfinite(jpt) else math.nan,
        "bottleneck": str(s.get("bottleneck") or ""),
        "fits": fits if isinstance(fits, bool) else None,
        "max_resource_utilisation": max(utils) if utils else math.nan,
    }
    row.update(record.params_by_path if params is None else params)
    return row


def table_of(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return rows of :func:`trial_row` as a frame (:data:`COLUMNS` when there are none).

    Parameter columns follow :data:`COLUMNS`, in the order they first appear; a parameter
    a trial did not sample (its condition did not hold) is ``NaN``.
    """
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    params = [c for c in frame.columns if c not in COLUMNS]
    return frame[[*COLUMNS, *params]].reset_index(drop=True)


def trials_table(records: Iterable[TrialRecord]) -> pd.DataFrame:
    """Return one row per counted trial (:func:`~explorer.records.counted`), by number.

    Args:
        records: Every trial of a study.
    """
    return table_of(trial_row(r) for r in counted(records))
