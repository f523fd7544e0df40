"""The study's answer: the Pareto front of feasible designs, a pick from it, and its files.

:func:`trials_frame` has one row per counted trial (status, figures, parameters by
path); :func:`pareto_front` keeps the feasible designs no other feasible design beats on
the study's objectives (tokens/s higher and watts lower unless its space named others,
:mod:`explorer.objectives`), one row per distinct design, best first.
:func:`pick_trial` chooses a trial by number or by a named rule over the front (see
:data:`PICKS`). :func:`write_front` writes the front as CSV and Parquet and a plot as HTML
and PNG (PNG through kaleido and a Chromium browser), each atomically, refusing to replace
files without ``force``.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from explorer._files import check_targets, write_atomic
from explorer.errors import ExplorerError
from explorer.objectives import DEFAULT_OBJECTIVES, METRICS, front_mask, objectives_of
from explorer.records import StudyAttr, TrialRecord
from explorer.table import COLUMNS, trials_table

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from optuna import Study
    from optuna.trial import FrozenTrial

    from gpubench.fastest import Fastest

__all__ = [
    "FRONT_FORMATS",
    "PICKS",
    "front_figure",
    "front_name",
    "front_of",
    "gpu_label",
    "pareto_front",
    "pareto_mask",
    "pick_trial",
    "trials_frame",
    "write_front",
]

#: Formats :func:`write_front` writes.
FRONT_FORMATS = ("csv", "parquet", "html", "png")

_HEAD = [
    "trial",
    "state",
    "status",
    "tokens_per_s",
    "avg_power_w",
    "energy_per_token_j",
    "tokens_per_joule",
    "bottleneck",
    "fits",
    "reason",
    "ms_per_token",
    "time_to_first_token_ms",
]


def trials_frame(study: Study) -> pd.DataFrame:
    """Return one row per counted trial of a study (retried and unfinished ones left out).

    Columns: ``trial, state, status, tokens_per_s, avg_power_w, energy_per_token_j,
    tokens_per_joule, bottleneck, fits, reason, ms_per_token, time_to_first_token_ms`` (of
    :mod:`explorer.table`'s table), then one column per parameter path.
    """
    table = trials_table(TrialRecord.of(t) for t in study.get_trials(deepcopy=False))
    params = [c for c in table.columns if c not in COLUMNS]
    return table[_HEAD + params]


def pareto_front(study: Study) -> pd.DataFrame:
    """Return the front: feasible designs no other beats on the study's objectives.

    The objectives are those the study optimises (:func:`explorer.objectives.objectives_of`;
    tokens/s and watts unless its space named others). A design beats another when it is
    at least as good in every objective and strictly better in one
    (:func:`explorer.objectives.front_mask`, which the dashboard draws too): two designs
    with the same figures are both on the front. Repeats of a design (same parameters)
    appear once, under their first trial. Sorted by the first objective, best first;
    columns as :func:`trials_frame`.
    """
    return front_of(trials_frame(study), objectives_of(study.user_attrs))


def front_of(frame: pd.DataFrame, objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> pd.DataFrame:
    """Return the front of a :func:`trials_frame` over ``objectives`` (see :func:`pareto_front`)."""
    ok = frame[(frame["status"] == "feasible") & (frame["state"] == "COMPLETE")].copy()
    if ok.empty:
        return ok.reset_index(drop=True)
    params = [c for c in ok.columns if c not in _HEAD]
    ok["_key"] = [
        json.dumps({p: _plain(r[p]) for p in params}, sort_keys=True, default=str)
        for _, r in ok.iterrows()
    ]
    ok = ok.sort_values("trial").drop_duplicates("_key").drop(columns="_key")
    ok = ok[front_mask(ok[list(objectives)].to_numpy(dtype=float), objectives)]
    ok = ok.sort_values(
        list(objectives),
        ascending=[METRICS[n].direction == "minimize" for n in objectives],
        kind="stable",
    )
    return ok.reset_index(drop=True)


def pareto_mask(tokens_per_s: np.ndarray, watts: np.ndarray) -> np.ndarray:
    """Return which points no other beats on both (higher tokens/s, lower watts).

    A point repeated exactly is kept every time it appears.
    """
    return front_mask(np.column_stack([tokens_per_s, watts]), DEFAULT_OBJECTIVES)


def _plain(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v.item() if hasattr(v, "item") else v


def _max_tps(front: pd.DataFrame) -> int:
    return int(front.loc[front["tokens_per_s"].idxmax(), "trial"])


def _min_power(front: pd.DataFrame) -> int:
    return int(front.loc[front["avg_power_w"].idxmin(), "trial"])


def _max_tpj(front: pd.DataFrame) -> int:
    return int(front.loc[front["tokens_per_joule"].idxmax(), "trial"])


def _knee(front: pd.DataFrame) -> int:
    tps = front["tokens_per_s"].astype(float)
    watts = front["avg_power_w"].astype(float)
    span_t = (tps.max() - tps.min()) or 1.0
    span_w = (watts.max() - watts.min()) or 1.0
    dist = ((tps.max() - tps) / span_t) ** 2 + ((watts - watts.min()) / span_w) ** 2
    return int(front.loc[dist.idxmin(), "trial"])


#: Named picks over the front: name → (rule, description).
PICKS: dict[str, tuple[Callable[[pd.DataFrame], int], str]] = {
    "max-tokens-per-s": (_max_tps, "the fastest design on the front"),
    "min-power": (_min_power, "the lowest-power design on the front"),
    "max-tokens-per-joule": (_max_tpj, "the most energy-efficient design (fewest J/token)"),
    "knee": (_knee, "the design closest to the ideal (fastest and lowest power, normalised)"),
}


def pick_trial(study: Study, pick: int | str) -> FrozenTrial:
    """Choose a trial: by number, or by a named rule over the front (see :data:`PICKS`).

    Args:
        study: The study.
        pick: A trial number (``7`` or ``"7"``) or a pick name.

    Returns:
        The ``FrozenTrial``; a picked trial always holds a valid design (feasible, or
        infeasible only through a constraint when chosen by number).

    Raises:
        ExplorerError: Unknown pick, no such trial, an empty front, or a trial without a
            valid design (failed, invalid or unfinished).
    """
    from optuna.trial import TrialState

    if isinstance(pick, str) and not pick.lstrip("-").isdigit():
        if pick not in PICKS:
            raise ExplorerError(f"pick {pick!r} is not in supported list: {', '.join(PICKS)}")
        front = pareto_front(study)
        if front.empty:
            raise ExplorerError(
                f"study {study.study_name!r} has no feasible design yet; nothing to pick"
            )
        number = PICKS[pick][0](front)
    else:
        number = int(pick)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        last = max(trials) if trials else -1
        raise ExplorerError(f"study {study.study_name!r} has no trial {number} (trials 0..{last})")
    trial = trials[number]
    record = TrialRecord.of(trial)
    if trial.state != TrialState.COMPLETE or not record.design:
        status = record.status or trial.state.name.lower()
        reason = record.reason or trial.state.name.lower()
        raise ExplorerError(
            f"trial {number} of {study.study_name!r} has no valid design to export "
            f"({status}: {reason})"
        )
    return trial


def gpu_label(gpu: Fastest) -> str:
    """Return a GPU case's name on a plot, as the dashboard writes it.

    ``H100 80GB HBM3 fused graph b1 (fastest measured)``: card, implementation, launch,
    batch.
    """
    card = gpu.gpu.replace("NVIDIA ", "").strip() or gpu.gpu
    c = gpu.case
    return f"{card} {c.impl} {c.launch} b{c.batch} (fastest measured)"


def front_figure(
    study: Study, frame: pd.DataFrame | None = None, gpu: Fastest | None = None
) -> go.Figure:
    """Return a Plotly figure: every simulated design, the front drawn as a line.

    Args:
        study: The study.
        frame: Its :func:`trials_frame`, if already read.
        gpu: A measured GPU case to draw beside the designs, as a labelled star (the
            fastest of the study's model at batch 1, :func:`gpubench.fastest.fastest_shipped`);
            the axes are then logarithmic, the GPU being a decade away.
    """
    import plotly.graph_objects as go

    frame = trials_frame(study) if frame is None else frame
    objectives = objectives_of(study.user_attrs)
    front = front_of(frame, objectives)
    fig = go.Figure()
    for status, color in (("infeasible", "#bbbbbb"), ("feasible", "#4c78a8")):
        part = frame[(frame["status"] == status) & frame["tokens_per_s"].notna()]
        fig.add_trace(
            go.Scatter(
                x=part["avg_power_w"],
                y=part["tokens_per_s"],
                mode="markers",
                name=f"{status} ({len(part)})",
                marker={"color": color, "size": 7},
                text=[f"trial {n}" for n in part["trial"]],
                hovertemplate="%{text}<br>%{x:.3f} W<br>%{y:,.1f} tok/s<extra></extra>",
            )
        )
    if not front.empty:
        line = front.sort_values("avg_power_w")
        staircase = tuple(objectives) == DEFAULT_OBJECTIVES  # else the front's projection
        fig.add_trace(
            go.Scatter(
                x=line["avg_power_w"],
                y=line["tokens_per_s"],
                mode="lines+markers" if staircase else "markers",
                name=front_name(objectives, len(front)),
                line={"color": "#e45756", "shape": "hv"},
                marker={"color": "#e45756", "size": 9},
                text=[f"trial {n}" for n in line["trial"]],
                hovertemplate="%{text}<br>%{x:.3f} W<br>%{y:,.1f} tok/s<extra></extra>",
            )
        )
    axis = "linear"
    c = gpu.case if gpu is not None else None
    if gpu is not None and c is not None and c.tokens_per_s and c.avg_power_w:
        label = gpu_label(gpu)
        fig.add_trace(
            go.Scatter(
                x=[c.avg_power_w],
                y=[c.tokens_per_s],
                mode="markers+text",
                name="measured GPU (fastest of the model, batch 1)",
                text=[label],
                textposition="bottom left",
                marker={"symbol": "star", "size": 16, "color": "#222"},
                hovertemplate=(
                    f"{label} ({gpu.source})<br>%{{x:.3g}} W<br>%{{y:,.1f}} tok/s<extra></extra>"
                ),
            )
        )
        axis = "log"
    model = study.user_attrs.get(StudyAttr.MODEL, "?")
    xs = [*frame["avg_power_w"], c.avg_power_w if axis == "log" and c else math.nan]
    ys = [*frame["tokens_per_s"], c.tokens_per_s if axis == "log" and c else math.nan]
    fig.update_layout(
        title=f"{study.study_name}: tokens/s vs average power ({model})",
        xaxis={"title": {"text": "average power (W)"}, "type": axis, **_ticks(xs, axis)},
        yaxis={"title": {"text": "tokens/s"}, "type": axis, **_ticks(ys, axis)},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        margin={"t": 110},
        template="plotly_white",
        width=900,
        height=600,
    )
    return fig


def front_name(objectives: Sequence[str], count: int) -> str:
    """The front's legend entry: its size, and its objectives unless they are the plot's."""
    if tuple(objectives) == DEFAULT_OBJECTIVES:
        return f"Pareto front ({count})"
    names = ", ".join(METRICS[n].label for n in objectives)
    return f"Pareto front of {names} ({count})"


def _ticks(values: Sequence[Any], axis: str) -> dict[str, Any]:
    """Ticks at 1, 2, 3, 5 x 10^k over the values' span on a log axis (plotly's crowd)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v)) and v > 0]
    if axis != "log" or not vals:
        return {}
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    ticks = [m * 10.0**k for k in range(lo, hi + 1) for m in (1, 2, 3, 5)]
    ticks = [t for t in ticks if min(vals) / 2 <= t <= max(vals) * 2]
    return {"tickvals": ticks, "ticktext": [f"{t:,g}" for t in ticks], "tickangle": 0}


def write_front(
    study: Study,
    out_dir: str | Path,
    formats: Sequence[str] = FRONT_FORMATS,
    *,
    force: bool = False,
    stem: str | None = None,
    frame: pd.DataFrame | None = None,
    gpu: Fastest | None = None,
) -> list[Path]:
    """Write the front (CSV, Parquet) and its plot (HTML, PNG) into ``out_dir``.

    Args:
        study: The study.
        out_dir: The folder (created when missing).
        formats: Any of :data:`FRONT_FORMATS`.
        force: Replace existing files.
        stem: File name stem (default: the study's name).
        frame: The study's :func:`trials_frame`, if already read (the study is read once).
        gpu: A measured GPU case the plot shows beside the designs (see
            :func:`front_figure`).

    Returns:
        The files written, in the order of ``formats``.

    Raises:
        ExplorerError: Unknown format, files in the way, or a PNG that cannot be rendered.
    """
    bad = [f for f in formats if f not in FRONT_FORMATS]
    if bad:
        raise ExplorerError(
            f"format {bad[0]!r} is not in supported list: {', '.join(FRONT_FORMATS)}"
        )
    out = Path(out_dir)
    base = stem or _file_stem(study.study_name)
    targets = {f: out / f"{base}.front.{f}" for f in formats}
    check_targets(targets.values(), force)
    frame = trials_frame(study) if frame is None else frame
    front = front_of(frame, objectives_of(study.user_attrs))
    fig = front_figure(study, frame, gpu) if {"html", "png"} & set(formats) else None
    for fmt, path in targets.items():
        if fmt == "csv":
            write_atomic(path, front.to_csv(index=False))
        elif fmt == "parquet":
            buf = io.BytesIO()
            _parquet_ready(front).to_parquet(buf, index=False)
            write_atomic(path, buf.getvalue())
        elif fig is None:
            raise AssertionError("unreachable: the figure is made for html and png")
        elif fmt == "html":
            write_atomic(path, fig.to_html(include_plotlyjs=True, full_html=True))
        else:
            write_atomic(path, _png(fig))
    return list(targets.values())


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Give mixed-type parameter columns (``null`` among numbers) a type Parquet takes."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not _isnan(v)}
            if len(kinds) > 1:
                out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _png(fig: go.Figure) -> bytes:
    try:
        image: bytes = fig.to_image(format="png", scale=2)
    except Exception as exc:
        why = " ".join(str(exc).split())[:200]
        raise ExplorerError(
            f"cannot render the PNG plot ({type(exc).__name__}: {why}); "
            "it needs kaleido and a Chromium browser (Debian: apt-get install chromium), "
            "or leave png out of --format"
        ) from None
    return image


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "study"
