"""Per-unit utilisation over time, from a results frame or a trial's replay.

A study stores each trial's summary, not its per-event frame: :class:`Resimulator` asks
the explorer to replay the trial (:mod:`explorer.replay`) and turns what cannot be
replayed into a notice for the page.

:func:`utilisation_over_time` turns a frame into busy fractions per unit kind in time
bins: every event's busy interval ``[t_ns, t_ns + busy_ns)`` is split exactly across the
bins it spans, and a kind's busy time is divided by its instance count, chosen so that the
decode-window average equals the summary's ``utilisation`` figure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dashboards.data import Notice

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

__all__ = [
    "Resimulator",
    "TimelineError",
    "phase_spans",
    "utilisation_by_unit",
    "utilisation_over_time",
]


class TimelineError(Exception):
    """A trial whose timeline cannot be made; carries the notice to show."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.title)
        self.notice = notice


def _instances(frame: pd.DataFrame, summary: dict[str, Any]) -> dict[str, int]:
    """Instances per unit kind, consistent with the summary's decode-window utilisation."""
    util = summary.get("utilisation") or {}
    tokens = summary.get("decode_tokens") or 0
    ms = summary.get("ms_per_token") or 0
    window = float(tokens) * float(ms) * 1e6
    decode = frame[frame["phase"].astype(str) == "decode"]
    busy = decode.groupby(decode["kind"].astype(str))["busy_ns"].sum()
    units = frame.groupby(frame["kind"].astype(str))["unit"].nunique()
    out: dict[str, int] = {}
    for kind, n_units in units.items():
        u = util.get(kind)
        b = float(busy.get(kind, 0.0))
        if isinstance(u, int | float) and u > 0 and window > 0 and b > 0:
            out[str(kind)] = max(1, round(b / (float(u) * window)))
        else:
            out[str(kind)] = max(1, int(n_units))
    return out


def utilisation_over_time(
    frame: pd.DataFrame, summary: dict[str, Any], bins: int = 160
) -> pd.DataFrame:
    """Return busy fractions per unit kind over time.

    Args:
        frame: The per-event frame (``t_ns, unit, kind, phase, busy_ns`` used).
        summary: The run's summary (``utilisation``, ``decode_tokens``, ``ms_per_token``).
        bins: Time bins over the whole run.

    Returns:
        Columns ``start_us, end_us, kind, busy`` (0..1 per instance, averaged over the
        kind's instances), one row per kind and bin; empty for an empty frame.
    """
    cols = ["start_us", "end_us", "kind", "busy"]
    if frame.empty or bins < 1:
        return pd.DataFrame(columns=cols)
    start = frame["t_ns"].to_numpy(dtype=float)
    dur = np.maximum(frame["busy_ns"].to_numpy(dtype=float), 0.0)
    t0, t1 = float(start.min()), float((start + dur).max())
    if t1 <= t0:
        return pd.DataFrame(columns=cols)
    edges = np.linspace(t0, t1, bins + 1)
    width = np.diff(edges)
    kinds = frame["kind"].astype(str).to_numpy()
    n_of = _instances(frame, summary)
    parts = []
    for kind in sorted(set(kinds)):
        sel = kinds == kind
        s, d = start[sel], dur[sel]
        busy = np.clip(_busy_in_bins(s, d, edges) / (width * n_of.get(kind, 1)), 0.0, 1.0)
        parts.append(
            pd.DataFrame(
                {
                    "start_us": edges[:-1] / 1e3,
                    "end_us": edges[1:] / 1e3,
                    "kind": kind,
                    "busy": busy,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _busy_in_bins(start: np.ndarray, dur: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Busy time of intervals ``[start, start + dur)`` inside each bin (split exactly)."""
    cum = np.array([np.clip(e - start, 0.0, dur).sum() for e in edges])
    return np.diff(cum)


def _unit_key(unit: str) -> tuple[Any, ...]:
    """Sort ``top.core10.tmac`` after ``top.core9.tmac``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", unit))


def utilisation_by_unit(
    frame: pd.DataFrame, summary: dict[str, Any], bins: int = 120
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return busy fractions per unit over time (a heatmap's rows).

    A unit shared by a kind's instances (one memory unit with several channel groups)
    is divided by the instances it stands for, as in :func:`utilisation_over_time`.

    Returns:
        Unit names (in scope order), bin centres in µs, and a ``units × bins`` array.
    """
    if frame.empty or bins < 1:
        return [], np.array([]), np.zeros((0, 0))
    start = frame["t_ns"].to_numpy(dtype=float)
    dur = np.maximum(frame["busy_ns"].to_numpy(dtype=float), 0.0)
    edges = np.linspace(float(start.min()), float((start + dur).max()), bins + 1)
    width = np.maximum(np.diff(edges), 1e-12)
    n_of = _instances(frame, summary)
    units = frame["unit"].astype(str).to_numpy()
    kinds = frame["kind"].astype(str).to_numpy()
    names = sorted(set(units), key=_unit_key)
    per_kind = {k: len(set(units[kinds == k])) for k in set(kinds)}
    rows = []
    for name in names:
        sel = units == name
        kind = str(kinds[sel][0])
        share = max(1.0, n_of.get(kind, 1) / max(per_kind.get(kind, 1), 1))
        rows.append(np.clip(_busy_in_bins(start[sel], dur[sel], edges) / (width * share), 0, 1))
    return names, (edges[:-1] + edges[1:]) / 2e3, np.vstack(rows)


def phase_spans(frame: pd.DataFrame) -> list[tuple[str, float, float]]:
    """Return ``(phase, start_us, end_us)`` for each phase of the run, in time order."""
    if frame.empty:
        return []
    end = frame["t_ns"] + frame["busy_ns"].clip(lower=0)
    spans = []
    for phase, idx in frame.groupby(frame["phase"].astype(str)).groups.items():
        spans.append(
            (str(phase), float(frame.loc[idx, "t_ns"].min()) / 1e3, float(end[idx].max()) / 1e3)
        )
    return sorted(spans, key=lambda s: s[1])


class Resimulator:
    """Trials' per-event frames, replayed by the explorer (:class:`explorer.replay.Replayer`).

    Args:
        storage: The study's storage URL or SQLite file (where its trace cache lives).
        keep: How many frames to keep.
        model_files: Model configurations given on the command line, which a study's
            model may name (stored fields are never opened as paths).
    """

    def __init__(
        self, storage: str | None, keep: int = 6, model_files: Sequence[str | Path] = ()
    ) -> None:
        from explorer.replay import Replayer

        self.storage = storage
        self.keep = keep
        self.replayer = Replayer.for_storage(storage, keep, model_files)

    def cache_dir(self) -> Path:
        """Return the explorer's cache folder for this storage (``<db>.cache``)."""
        return self.replayer.cache_dir

    def frame(self, study: Study, trial: FrozenTrial) -> pd.DataFrame:
        """Return a trial's per-event frame (simulated on first request).

        Raises:
            TimelineError: The trial has no valid design, or the simulation failed.
        """
        from explorer.replay import NotSimulatedError, ReplayError

        try:
            return self.replayer.frame(study, trial)
        except NotSimulatedError as exc:
            raise TimelineError(
                Notice("info", f"Trial {exc.number} was not simulated", exc.reason)
            ) from None
        except ReplayError as exc:
            raise TimelineError(
                Notice(
                    "warning",
                    f"Cannot simulate trial {exc.number} again for its timeline",
                    exc.detail,
                )
            ) from None
