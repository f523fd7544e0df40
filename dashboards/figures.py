"""Plotly figures of the dashboard: pure functions of tables and summaries.

Each function takes plain data (the study table, a summary dict, GPU points) and returns a
``plotly.graph_objects.Figure``; nothing here reads files or knows about Dash. The Pareto
plot draws every trial with WebGL (``Scattergl``) and sends only each point's trial number
with it (the hover card is made on the server), so 10,000 trials stay responsive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards._labels import STAR_PX, Box, place_labels, text_box
from dashboards.data import STATUSES
from dashboards.gpu import GpuPoint
from dashboards.names import ENERGY_UNIT, energy_text, millijoules, part_name, resource_name
from explorer.objectives import DEFAULT_OBJECTIVES, front_mask
from explorer.pareto import front_name

__all__ = [
    "COMPARE_METRICS",
    "OBJECTIVE_LABELS",
    "PALETTE",
    "SELECTED_TRACE",
    "best_feasible_so_far",
    "bounds_figure",
    "compare_figure",
    "compare_resources_figure",
    "empty_figure",
    "energy_figure",
    "hypervolume_figure",
    "hypervolume_history",
    "importance_figure",
    "iso_energy_levels",
    "pareto_figure",
    "progress_figure",
    "resources_figure",
    "unit_heatmap_figure",
    "utilisation_figure",
]

TEMPLATE = "plotly_white"
#: Index of the Pareto figure's "selected" ring (patched when the selection changes).
SELECTED_TRACE = 0
#: How the page names the study's objectives (their summary keys are never shown).
OBJECTIVE_LABELS = {
    "tokens_per_s": "throughput, tokens/s (higher is better)",
    "avg_power_w": "average power, W (lower is better)",
}
#: Colours of designs in Compare (GPU baselines get greys).
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2")
_GPU_COLOURS = ("#444444", "#888888", "#222222", "#aaaaaa")
#: Colour of GPU stars measured at a batch above 1 (aggregate tokens/s), and their labels.
_GPU_B16 = "#8c2d04"
_GPU_FONT_PX = 11
_ISO_FONT_PX = 10
#: Places an iso-J/token label tries along the plot's edge (its end's, then slid).
_ISO_SLIDES = 5
#: The Pareto figure's margins (fixed, so label placement knows where the plot is).
_MARGIN = (("l", 70), ("r", 120), ("t", 150), ("b", 60))
#: The least width the Pareto figure is drawn at (the page keeps it at least this wide).
#: Labels are placed for it and given in data coordinates: a wider figure stretches the
#: gaps between them horizontally and never shrinks one (boxes keep their pixel size).
PARETO_MIN_WIDTH_PX = 1100
PARETO_HEIGHT_PX = 600
#: What the Pareto plot's x axis may show: summary key → axis title.
X_AXES = {
    "avg_power_w": "average power (W)",
    "batch": "batch (sequences a decode step serves)",
}
#: Up to this many GPU points are labelled in full on the plot; more get short names.
_FULL_LABELS = 4
#: Marker symbols by status. Infeasible designs are rings too, drawn as circles with a
#: clear fill and a coloured border: WebGL draws those natively, where "circle-open" makes
#: Plotly compute a distance-field texture for the symbol on every first render.
_STATUS_SYMBOL = {"feasible": "circle", "infeasible": "circle", "failed": "x"}
#: Metrics of the Compare bars: (key, title, better).
COMPARE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("tokens_per_s", "tokens/s", "higher"),
    ("avg_power_w", "W", "lower"),
    ("energy_per_token_j", ENERGY_UNIT, "lower"),
    ("ms_per_token", "ms/token", "lower"),
    ("max_resource_utilisation", "worst resource %", "lower"),
)


def empty_figure(message: str, height: int = 360) -> go.Figure:
    """Return a blank figure that says ``message`` (no data yet, or none to show)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": 15, "color": "#666"},
    )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 20, "r": 20, "t": 30, "b": 20},
    )
    return fig


# ----------------------------------------------------------------------------- Pareto


def iso_energy_levels(j_min: float, j_max: float) -> list[float]:
    """Return 'nice' J/token values (1, 2, 5 × 10^k) spanning ``[j_min, j_max]``."""
    if not (j_min > 0 and j_max > 0 and math.isfinite(j_min) and math.isfinite(j_max)):
        return []
    lo, hi = math.floor(math.log10(j_min)), math.ceil(math.log10(j_max))
    levels = [m * 10.0**k for k in range(lo, hi + 1) for m in (1, 2, 5)]
    inside = [v for v in levels if j_min <= v <= j_max]
    if len(inside) > 7:
        inside = [v for v in inside if str(v).lstrip("0.").startswith("1")] or inside[::2]
    return inside or [10.0 ** round(math.log10(math.sqrt(j_min * j_max)))]


#: The Pareto plot's colour scale, low J/token (good) to high: Viridis reversed.
_ENERGY_SCALE = np.array(
    [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in plotly.colors.sequential.Viridis[::-1]],
    dtype=float,
)


def energy_colours(log_j: np.ndarray, lo: float, hi: float) -> list[str]:
    """Colours of points by log10 J/token on the colour bar's scale (``lo`` to ``hi``).

    Computed here rather than by Plotly in the browser: mapping ten thousand values
    through a colour scale is a tenth of a second of the page's first render there.
    """
    pos = np.clip((np.asarray(log_j, dtype=float) - lo) / (hi - lo or 1.0), 0.0, 1.0)
    pos = np.nan_to_num(pos, nan=1.0) * (len(_ENERGY_SCALE) - 1)
    low = np.minimum(pos.astype(int), len(_ENERGY_SCALE) - 2)
    frac = (pos - low)[:, None]
    rgb = np.rint(_ENERGY_SCALE[low] * (1 - frac) + _ENERGY_SCALE[low + 1] * frac).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.tolist()]


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _colour_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks (log10 J/token positions, J labels): 1-2-5 decades, or linear steps."""
    j_lo, j_hi = 10.0**lo, 10.0**hi
    if j_hi / j_lo >= 8:
        vals = iso_energy_levels(j_lo, j_hi)
    else:
        step = _nice_step(j_hi - j_lo, 4)
        first = math.ceil(j_lo / step) * step
        vals = [first + k * step for k in range(8) if first + k * step <= j_hi * (1 + 1e-9)]
    vals = vals or [j_lo, j_hi]
    return [math.log10(v) for v in vals], [millijoules(float(f"{v:.3g}")) for v in vals]


def pareto_figure(
    table: pd.DataFrame,
    gpu: Sequence[GpuPoint] = (),
    *,
    selected: int | None = None,
    log_axes: bool = True,
    title: str = "",
    extra: Sequence[tuple[str, str, float, float, float]] = (),
    uirevision: str = "pareto",
    size: tuple[int, int] = (PARETO_MIN_WIDTH_PX, PARETO_HEIGHT_PX),
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    x_axis: str = "avg_power_w",
) -> go.Figure:
    """Return tokens/s against watts for every trial, with GPU baselines and iso-J/token lines.

    Feasible trials are filled circles and infeasible ones open circles, both coloured by
    J/token; failed trials with figures are red crosses; trials without figures (failed,
    or refused by the validator) are counted in the legend. The Pareto front of the
    feasible trials is a line, GPU baselines are labelled stars, and the selected trial
    is ringed (always the first trace, :data:`SELECTED_TRACE`).

    Args:
        table: The study table (:class:`~dashboards.data.StudySnapshot`).
        gpu: Measured GPU points (those without watts are left out).
        selected: Trial number to ring.
        log_axes: Logarithmic axes (iso-J/token lines are then straight).
        title: Figure title.
        extra: More designs (key, label, tokens/s, W, J/token), e.g. results folders.
        uirevision: Keeps zoom and legend choices across refreshes while unchanged.
        x_axis: What the x axis shows: ``avg_power_w`` (watts, with iso-J/token lines) or
            ``batch`` (the sequences a step serves: designs against the GPU's batch-1 and
            batch-16 figures; results folders, which record no batch, are left out).
        objectives: The study's objectives (:mod:`explorer.objectives`): the front drawn
            is theirs (a staircase for tokens/s and W; ringed designs otherwise).
        size: Width and height in pixels the labels are placed for (the height is the
            figure's; the width is the least the page draws it at: labels are placed in
            data coordinates, so a wider figure only spreads them further apart).

    Trials and results folders are simulated estimates (the legend and hover say so); GPU
    points are measured. Every GPU star and every iso-J/token line is labelled, the GPU
    labels placed clear of each other (:func:`dashboards._labels.place_labels`).
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {', '.join(X_AXES)} (got {x_axis!r})")
    by_batch = x_axis == "batch"
    fig = go.Figure()
    if table.empty:
        plotted = table
    else:
        plotted = table.copy()
        if by_batch:  # studies from before the batch was recorded ran one sequence
            plotted["batch"] = plotted.get("batch", pd.Series(1.0, index=plotted.index))
            plotted["batch"] = plotted["batch"].fillna(1.0)
        plotted = plotted[np.isfinite(plotted["tokens_per_s"]) & np.isfinite(plotted[x_axis])]
        plotted = plotted[(plotted["tokens_per_s"] > 0) & (plotted[x_axis] > 0)]
    if by_batch:
        extra = ()
    coloured = plotted[plotted["status"] != "failed"]
    energy = coloured["energy_per_token_j"].to_numpy(dtype=float)
    energy = energy[np.isfinite(energy) & (energy > 0)]
    gpu_pts = [p for p in gpu if p.plottable]
    gpu_energy = [
        p.energy_per_token_j or (p.avg_power_w or 0) / (p.tokens_per_s or 1) for p in gpu_pts
    ]
    lo = float(np.log10(energy.min())) if len(energy) else -3.0
    hi = float(np.log10(energy.max())) if len(energy) else -1.0
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    tickvals, ticktext = _colour_ticks(lo, hi)
    sel = plotted[plotted["trial"] == selected] if selected is not None else plotted.iloc[:0]
    fig.add_trace(
        go.Scatter(
            x=sel[x_axis],
            y=sel["tokens_per_s"],
            mode="markers",
            name="selected",
            marker={
                "symbol": "circle-open",
                "size": 22,
                "color": "#d62728",
                "line": {"width": 3, "color": "#d62728"},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for status in STATUSES:
        part = plotted[plotted["status"] == status]
        n_all = int((table["status"] == status).sum()) if not table.empty else 0
        missing = n_all - len(part)
        name = f"{status} ({n_all})" + (f", {missing} without figures" if missing else "")
        marker: dict[str, Any] = {"symbol": _STATUS_SYMBOL[status], "size": 8}
        if status == "failed":
            marker.update(color="#d62728", size=9)
        else:
            log_j = np.log10(np.clip(part["energy_per_token_j"].to_numpy(float), 1e-12, None))
            colours = energy_colours(log_j, lo, hi)
            if status == "infeasible":  # a ring: the colour on the border only
                marker.update(
                    color="rgba(0,0,0,0)", line={"width": 1.5, "color": colours}, opacity=0.7
                )
            else:
                marker.update(color=colours, line={"width": 0})
        fig.add_trace(
            go.Scattergl(
                x=part[x_axis].to_numpy(),
                y=part["tokens_per_s"].to_numpy(),
                mode="markers",
                name=name,
                marker=marker,
                customdata=part["trial"].astype(int).tolist(),  # a list: Dash reads it per point
                hoverinfo="none",  # the page's tooltip shows the design (see views.hover_card)
                meta={"kind": "trials", "status": status},
                legendgroup="simulated",
                legendgrouptitle={"text": "FPGA designs, simulated (estimate):"},
            )
        )
    fig.add_trace(  # the colour bar's trace: the trials carry their colours, computed here
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name="energy per token (colour bar)",
            marker={"color": [lo], "coloraxis": "coloraxis"},
            showlegend=False,
            hoverinfo="skip",
            meta={"kind": "colourbar"},
        )
    )
    feasible = plotted[plotted["status"] == "feasible"]
    if len(feasible) and all(n in feasible for n in objectives):
        mask = front_mask(feasible[list(objectives)].to_numpy(dtype=float), objectives)
        front = feasible[mask].sort_values(x_axis)
        # the front of tokens/s and W is a staircase here; of other objectives, or on the
        # batch axis, its designs are ringed (their front is not a line in this plane)
        staircase = tuple(objectives) == DEFAULT_OBJECTIVES and not by_batch
        fig.add_trace(
            go.Scatter(
                x=front[x_axis],
                y=front["tokens_per_s"],
                mode="lines" if staircase else "markers",
                name=front_name(objectives, len(front)),
                line={"color": "#e45756", "width": 2, "shape": "hv"},
                marker={
                    "symbol": "diamond-open",
                    "size": 13,
                    "color": "#e45756",
                    "line": {"width": 2, "color": "#e45756"},
                },
                hoverinfo="skip",
                meta={"kind": "front", "objectives": list(objectives)},
            )
        )
    for i, (key, label, tps, watts, jpt) in enumerate(extra):
        fig.add_trace(
            go.Scatter(
                x=[watts],
                y=[tps],
                mode="markers+text",
                name=label,
                legendgroup="simulated",
                legendgrouptitle={"text": "FPGA designs, simulated (estimate):"},
                text=[label],
                textposition="bottom center",
                marker={"symbol": "diamond", "size": 13, "color": PALETTE[(i + 2) % len(PALETTE)]},
                customdata=[[key]],
                hovertemplate=(
                    f"<b>{label}</b>, simulated (estimate)<br>%{{y:,.1f}} tokens/s · "
                    f"%{{x:.3g}} W · {energy_text(jpt)}<extra></extra>"
                ),
            )
        )

    def gpu_x(p: GpuPoint) -> float:
        return float(p.batch) if by_batch else float(p.avg_power_w or 0)

    xs = list(plotted[x_axis]) + [gpu_x(p) for p in gpu_pts]
    xs += [e[3] for e in extra]
    ys = list(plotted["tokens_per_s"]) + [p.tokens_per_s or 0 for p in gpu_pts]
    ys += [e[2] for e in extra]
    frame = _Frame.of(xs, ys, log_axes, size)
    star_px = [frame.pixel(gpu_x(p), p.tokens_per_s or 0) for p in gpu_pts]
    iso_boxes = [] if by_batch else _iso_lines(fig, frame, star_px)
    if gpu_pts:
        texts = _gpu_labels(gpu_pts)
        b16 = [p.batch != 1 for p in gpu_pts]
        fig.add_trace(
            go.Scatter(
                x=[gpu_x(p) for p in gpu_pts],
                y=[p.tokens_per_s for p in gpu_pts],
                mode="markers",  # the labels are annotations placed clear of each other
                name=f"measured GPU ({len(gpu_pts)})",
                text=texts,
                marker={
                    "symbol": "star",
                    "size": 16,
                    "color": [_GPU_B16 if b else "#222" for b in b16],
                    "line": {"color": "#fff", "width": 1},
                },
                customdata=[
                    [
                        p.key,
                        p.model,
                        e * 1e3,
                        p.ms_per_token or math.nan,
                        p.source,
                        p.date,
                        _hover(p),
                        p.avg_power_w or math.nan,
                    ]
                    for p, e in zip(gpu_pts, gpu_energy, strict=True)
                ],
                hovertemplate=(
                    "<b>%{customdata[6]}</b><br>model %{customdata[1]} · "
                    "%{y:,.1f} tokens/s · %{customdata[7]:.3g} W<br>"
                    "%{customdata[2]:.3g} mJ/token · "
                    "%{customdata[3]:.3g} ms/token<br>%{customdata[4]}, %{customdata[5]}"
                    "<extra></extra>"
                ),
                meta={"kind": "gpu"},
            )
        )
        if any(b16):
            batch = next(p.batch for p in gpu_pts if p.batch != 1)
            fig.add_trace(  # a legend entry only: what a batch-16 star's tokens/s are
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=(
                        f"GPU at batch {batch} (×{batch}): tokens/s are the aggregate of "
                        f"{batch} sequences"
                    ),
                    marker={"symbol": "star", "size": 16, "color": _GPU_B16},
                    hoverinfo="skip",
                )
            )
        font = _GPU_FONT_PX
        anchors = [frame.pixel(gpu_x(p), p.tokens_per_s or 0) for p in gpu_pts]
        offsets = place_labels(anchors, texts, font, frame.area, obstacles=iso_boxes)
        for p, text, (px, py), (dx, dy), b in zip(
            gpu_pts, texts, anchors, offsets, b16, strict=True
        ):
            ax, ay = frame.axis_units(px + dx, py + dy)
            fig.add_annotation(
                x=frame.data_x(gpu_x(p)),
                y=frame.data_y(p.tokens_per_s or 0),
                ax=ax,  # the label's centre in axis units (see PARETO_MIN_WIDTH_PX)
                ay=ay,
                axref="x",
                ayref="y",
                text=text,
                showarrow=True,
                arrowhead=0,
                arrowwidth=1,
                arrowcolor="#999",
                standoff=7,
                font={"size": font, "color": _GPU_B16 if b else "#333"},
                bgcolor="rgba(255,255,255,0.8)",
                borderpad=2,
                name=f"gpu:{p.key}",
            )
    axis = "log" if log_axes else "linear"
    fig.update_layout(
        template=TEMPLATE,
        # the title at the very top, the legend's rows (its group title, the traces, the
        # batch notes) between it and the plot: the top margin holds both
        title={
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 0.99,
            "yanchor": "top",
        },
        xaxis={
            "title": {"text": X_AXES[x_axis]},
            "type": axis,
            "range": list(frame.x_range),
            **(_batch_ticks(xs) if by_batch else _log_ticks(xs, log_axes)),
        },
        yaxis={
            "title": {"text": "tokens/s"},
            "type": axis,
            "range": list(frame.y_range),
            **_log_ticks(ys, log_axes),
        },
        coloraxis={
            "colorscale": "Viridis",
            "reversescale": True,
            "cmin": lo,
            "cmax": hi,
            "colorbar": {
                "title": {"text": "mJ/token<br>(simulated)"},
                "tickvals": tickvals,
                "ticktext": ticktext,
                "len": 0.75,
                "y": 0.4,
            },
        },
        legend={
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 12},
            "groupclick": "toggleitem",
        },
        height=size[1],
        margin=dict(_MARGIN, autoexpand=False),
        clickmode="event",
        hovermode="closest",
        uirevision=uirevision,
    )
    return fig


def _hover(point: GpuPoint) -> str:
    """A GPU point's name in its hover label: measured, and what batch-16 tokens/s are."""
    name = point.label if "measured" in point.label else f"{point.label} (measured)"
    return f"{name}, {point.batch_note}" if point.batch_note else name


def _gpu_labels(points: Sequence[GpuPoint]) -> list[str]:
    """On-plot labels of GPU points: in full when few, else short (the hover has the rest).

    A point measured at a batch above 1 says that its tokens/s are an aggregate.
    """
    if len(points) <= _FULL_LABELS:
        return [f"{p.label} ({p.batch_note})" if p.batch_note else p.label for p in points]
    return [p.short_label for p in points]


@dataclass(frozen=True)
class _Frame:
    """The Pareto plot's axis ranges and where they fall in pixels (y downwards)."""

    log_axes: bool
    x_range: tuple[float, float]  # axis units (log10 on log axes)
    y_range: tuple[float, float]
    lo: tuple[float, float]  # data: the least W and tokens/s shown
    hi: tuple[float, float]
    area: Box

    @classmethod
    def of(
        cls, xs: Sequence[float], ys: Sequence[float], log_axes: bool, size: tuple[int, int]
    ) -> _Frame:
        pts = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
        if not pts:
            pts = [(1.0, 1.0)]
        lo = (min(p[0] for p in pts) / 1.5, min(p[1] for p in pts) / 1.5)
        hi = (max(p[0] for p in pts) * 1.5, max(p[1] for p in pts) * 1.5)
        f = math.log10 if log_axes else float
        margin = dict(_MARGIN)
        area = Box(margin["l"], margin["t"], size[0] - margin["r"], size[1] - margin["b"])
        return cls(log_axes, (f(lo[0]), f(hi[0])), (f(lo[1]), f(hi[1])), lo, hi, area)

    def data_x(self, x: float) -> float:
        """Return ``x`` in axis units (annotations on log axes take log10)."""
        return math.log10(x) if self.log_axes else x

    def data_y(self, y: float) -> float:
        """Return ``y`` in axis units."""
        return math.log10(y) if self.log_axes else y

    def axis_units(self, px: float, py: float) -> tuple[float, float]:
        """Return the axis units (log10 on log axes) at a pixel position."""
        (x0, x1), (y0, y1), a = self.x_range, self.y_range, self.area
        return (
            x0 + (px - a.x0) / (a.x1 - a.x0) * (x1 - x0),
            y0 + (a.y1 - py) / (a.y1 - a.y0) * (y1 - y0),
        )

    def pixel(self, x: float, y: float) -> tuple[float, float]:
        """Return the pixel position of a data point."""
        (x0, x1), (y0, y1), a = self.x_range, self.y_range, self.area
        px = a.x0 + (self.data_x(x) - x0) / (x1 - x0) * (a.x1 - a.x0)
        py = a.y1 - (self.data_y(y) - y0) / (y1 - y0) * (a.y1 - a.y0)
        return px, py


def _batch_ticks(values: Sequence[float]) -> dict[str, Any]:
    """Ticks at the powers of two the batches span."""
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return {}
    top = max(0, math.ceil(math.log2(max(vals))))
    ticks = [2**k for k in range(top + 1)]
    return {"tickvals": ticks, "ticktext": [str(t) for t in ticks]}


def _log_ticks(values: Sequence[float], log_axes: bool) -> dict[str, Any]:
    """Ticks at 1, 2, 5 × 10^k across the data (Plotly's own log ticks label 20 as '2')."""
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not log_axes or not vals:
        return {}
    lo, hi = min(vals) / 1.5, max(vals) * 1.5
    ticks = [
        m * 10.0**k
        for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
        if lo <= m * 10.0**k <= hi
    ]
    if len(ticks) < 2:
        return {}
    return {"tickvals": ticks, "ticktext": [f"{t:,.10g}" for t in ticks]}


def _iso_lines(
    fig: go.Figure, frame: _Frame, stars: Sequence[tuple[float, float]] = ()
) -> list[Box]:
    """Dashed lines of constant J/token (tokens/s = W / J) across the plotted range.

    Each line is labelled with its J/token at its end (the plot's top or right edge),
    beside it on the side the line is not; where a GPU star (``stars``, pixels) or an
    earlier label is there, the label slides along the edge away from the line, by half
    its length (height at the right edge) at a time, to the first place clear of both.
    Returns the labels' boxes in pixels.
    """
    (x_lo, y_lo), (x_hi, y_hi) = frame.lo, frame.hi
    e_lo, e_hi = x_lo / y_hi, x_hi / y_lo
    xs_line = np.geomspace(x_lo, x_hi, 60) if frame.log_axes else np.linspace(x_lo, x_hi, 60)
    first = True
    boxes: list[Box] = []
    for level in iso_energy_levels(e_lo, e_hi):
        ys_line = xs_line / level
        inside = (ys_line >= y_lo) & (ys_line <= y_hi)
        if inside.sum() < 2:
            continue
        fig.add_trace(
            go.Scatter(
                x=xs_line[inside],
                y=ys_line[inside],
                mode="lines",
                line={"color": "#999", "width": 1, "dash": "dot"},
                name="iso-J/token",
                legendgroup="iso",
                showlegend=first,
                hovertemplate=f"{millijoules(level)}/token<extra></extra>",
                meta={"kind": "iso", "j_per_token": level},
            )
        )
        first = False
        # the line's end: where it leaves the plot at the top (y_hi) or the right (x_hi)
        end_x = min(x_hi, level * y_hi)
        end_y = end_x / level
        text = f"{millijoules(level)}/token"
        px, py = frame.pixel(end_x, end_y)
        at_top = end_x < x_hi
        # at the top the label hangs below and right of the end, at the right edge above
        # and left of it: the line (rising to the right) is on neither side
        w = text_box(text, _ISO_FONT_PX, 0, 0).x1 * 2
        h = text_box(text, _ISO_FONT_PX, 0, 0).y1 * 2
        places = []
        for k in range(_ISO_SLIDES):
            if at_top:  # sliding right, along the top
                x0 = min(px + 2 + k * w / 2, frame.area.x1 - w)
                places.append(Box(x0, py + 2, x0 + w, py + 2 + h))
            else:  # sliding up, along the right edge
                y0 = max(py - 2 - h - k * h / 2, frame.area.y0)
                places.append(Box(px - 2 - w, y0, px - 2, y0 + h))

        def clashes(b: Box) -> int:
            on_stars = sum(
                Box(x - STAR_PX, y - STAR_PX, x + STAR_PX, y + STAR_PX).overlaps(b)
                for x, y in stars
            )
            return on_stars + sum(b.overlaps(o) for o in boxes)

        box = min(places, key=clashes)  # the first of the least clashing
        boxes.append(box)
        cx, cy = frame.axis_units((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
        fig.add_annotation(  # at its centre in axis units, like the GPU labels
            x=cx,
            y=cy,
            text=text,
            showarrow=False,
            font={"size": _ISO_FONT_PX, "color": "#777"},
            xanchor="center",
            yanchor="middle",
            name=f"iso:{level:g}",
        )
    return boxes


# ----------------------------------------------------------------------------- detail


def resources_figure(summary: Mapping[str, Any]) -> go.Figure:
    """Return each resource's use against the device's capacity (percent bars).

    A system's cards each fit their own device: one bar per card and resource.
    """
    cards = [c for c in summary.get("cards") or [] if isinstance(c, Mapping)]
    if cards:
        return _card_resources_figure(cards)
    res = summary.get("resources") or {}
    if not res:
        return empty_figure("no resource estimate (the design was not simulated)", 260)
    kinds = list(res)
    util = [100.0 * float(res[k].get("utilisation") or 0.0) for k in kinds]
    text = [
        f"{float(res[k].get('used') or 0):,.0f} / {float(res[k].get('available') or 0):,.0f}"
        f" ({u:.1f}%)"
        for k, u in zip(kinds, util, strict=True)
    ]
    colours = ["#d62728" if u > 100 else "#4c78a8" for u in util]
    fig = go.Figure(
        go.Bar(
            x=util,
            y=[resource_name(k) for k in kinds],
            orientation="h",
            marker={"color": colours},
            text=text,
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.add_vline(x=100, line={"color": "#d62728", "dash": "dash", "width": 1})
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Resources used / device capacity", "x": 0.01},
        xaxis={"title": {"text": "% of the device"}, "range": [0, max(110.0, *util) * 1.05]},
        yaxis={"autorange": "reversed"},
        height=80 + 38 * len(kinds),
        margin={"l": 90, "r": 20, "t": 40, "b": 40},
    )
    return fig


def _card_resources_figure(cards: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Per card of a system: each resource's use against that card's device."""
    kinds = list(dict.fromkeys(k for c in cards for k in (c.get("resources") or {})))
    fig = go.Figure()
    top = 110.0
    for i, card in enumerate(cards):
        res = card.get("resources") or {}
        util = [100.0 * float((res.get(k) or {}).get("utilisation") or 0.0) for k in kinds]
        top = max(top, *util)
        fig.add_trace(
            go.Bar(
                x=util,
                y=[resource_name(k) for k in kinds],
                orientation="h",
                name=f"card {card.get('index', i)}: {card.get('design', '')}",
                marker={"color": PALETTE[i % len(PALETTE)]},
                text=[f"{u:.1f}%" for u in util],
                textposition="auto",
                hovertemplate=f"card {card.get('index', i)}, %{{y}}: %{{x:.1f}}%<extra></extra>",
            )
        )
    fig.add_vline(x=100, line={"color": "#d62728", "dash": "dash", "width": 1})
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Resources used / device capacity, per card", "x": 0.01},
        xaxis={"title": {"text": "% of the card's device"}, "range": [0, top * 1.05]},
        yaxis={"autorange": "reversed"},
        barmode="group",
        height=110 + 16 * len(kinds) * len(cards),
        margin={"l": 90, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _system_power_figure(summary: Mapping[str, Any]) -> go.Figure:
    """A system's average power by card and link, with its energy per token."""
    parts = [
        (f"card {c.get('index', i)} ({c.get('design', '')})", float(c.get("avg_power_w") or 0))
        for i, c in enumerate(summary.get("cards") or [])
    ]
    parts += [
        (f"link {link.get('name', '')}", float(link.get("avg_power_w") or 0))
        for link in summary.get("links") or []
    ]
    total = sum(w for _, w in parts) or 1.0
    jpt = summary.get("energy_per_token_j")
    fig = go.Figure(
        go.Bar(
            x=[w for _, w in parts],
            y=[n for n, _ in parts],
            orientation="h",
            marker={"color": "#54a24b"},
            text=[f"{w:.3g} W ({100 * w / total:.0f}%)" for _, w in parts],
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    head = f"Power by card and link: {total:.3g} W"
    if isinstance(jpt, int | float):
        head += f", {energy_text(float(jpt))}"
    fig.update_layout(
        template=TEMPLATE,
        title={"text": head, "x": 0.01},
        xaxis={"title": {"text": "W"}},
        yaxis={"autorange": "reversed"},
        height=80 + 30 * len(parts),
        margin={"l": 200, "r": 20, "t": 40, "b": 40},
    )
    return fig


def energy_figure(summary: Mapping[str, Any]) -> go.Figure:
    """Return the energy per token by component (mJ/token), with its average watts.

    A system (its summary has ``cards``) shows its power by card and link instead.
    """
    if summary.get("cards"):
        return _system_power_figure(summary)
    energy = summary.get("energy_breakdown_j_per_token") or {}
    power = summary.get("power_breakdown_w") or {}
    if not energy:
        return empty_figure("no energy breakdown (the design was not simulated)", 260)
    items = sorted(energy.items(), key=lambda kv: -float(kv[1] or 0))
    names = [k for k, _ in items]
    mj = [1e3 * float(v or 0) for _, v in items]
    total = sum(mj) or 1.0
    text = [
        f"{v:.3g} mJ ({100 * v / total:.0f}%) · {float(power.get(k) or 0):.3g} W"
        for k, v in zip(names, mj, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=mj,
            y=[part_name(k) for k in names],
            orientation="h",
            marker={"color": "#54a24b"},
            text=text,
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": f"Energy per token: {total:.3g} mJ", "x": 0.01},
        xaxis={"title": {"text": "mJ/token"}},
        yaxis={"autorange": "reversed"},
        height=80 + 34 * len(names),
        margin={"l": 100, "r": 20, "t": 40, "b": 40},
    )
    return fig


def bounds_figure(summary: Mapping[str, Any]) -> go.Figure:
    """Return simulated tokens/s against the design's own floor and the memory bound."""
    tps = summary.get("tokens_per_s")
    if not isinstance(tps, int | float):
        return empty_figure("no bounds (the design was not simulated)", 220)
    bound = summary.get("bound_tokens_per_s")
    mem = summary.get("memory_bound_tokens_per_s")
    rows = [("simulated", float(tps), "#4c78a8")]
    if isinstance(bound, int | float):
        binding = summary.get("binding_bound") or "?"
        rows.append((f"design bound ({binding})", float(bound), "#9ecae9"))
    if isinstance(mem, int | float):
        rows.append(("memory-bandwidth bound", float(mem), "#bbbbbb"))
    fig = go.Figure(
        go.Bar(
            x=[r[1] for r in rows],
            y=[r[0] for r in rows],
            orientation="h",
            marker={"color": [r[2] for r in rows]},
            text=[
                f"{r[1]:,.1f} tok/s"
                if i == 0
                else f"{r[1]:,.1f} tok/s (simulated reaches {100 * tps / r[1]:.0f}% of it)"
                for i, r in enumerate(rows)
            ],
            textposition="auto",
            hovertemplate="%{y}: %{x:,.1f} tokens/s<extra></extra>",
        )
    )
    values = [r[1] for r in rows if r[1] > 0]
    log_x = bool(values) and max(values) / min(values) > 20
    frac = summary.get("fraction_of_memory_bound")
    title = "Throughput against its bounds"
    if isinstance(frac, int | float):
        title += f": {100 * frac:.0f}% of the memory-bandwidth bound"
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "x": 0.01},
        xaxis={
            "title": {"text": "tokens/s" + (" (log)" if log_x else "")},
            "type": "log" if log_x else "linear",
        },
        yaxis={"autorange": "reversed"},
        height=80 + 40 * len(rows),
        margin={"l": 170, "r": 20, "t": 40, "b": 40},
    )
    return fig


def utilisation_figure(util: pd.DataFrame, spans: Sequence[tuple[str, float, float]]) -> go.Figure:
    """Return busy fraction per unit kind over time, prefill shaded."""
    if util.empty:
        return empty_figure("no events to show", 300)
    fig = go.Figure()
    for i, (kind, part) in enumerate(util.groupby("kind", sort=True)):
        mid = (part["start_us"] + part["end_us"]) / 2
        fig.add_trace(
            go.Scatter(
                x=mid,
                y=100 * part["busy"],
                mode="lines",
                name=part_name(str(kind)),
                line={"width": 1.6, "color": PALETTE[i % len(PALETTE)]},
                hovertemplate=(
                    f"{part_name(str(kind))}: %{{y:.0f}}% busy at %{{x:,.1f}} µs<extra></extra>"
                ),
            )
        )
    for phase, start, end in spans:
        if phase == "prefill":
            fig.add_vrect(x0=start, x1=end, fillcolor="#eeeeee", line_width=0, layer="below")
            fig.add_annotation(
                x=start, y=104, text="prefill", showarrow=False, xanchor="left", font={"size": 10}
            )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Utilisation over time (busy fraction per unit kind)", "x": 0.01},
        xaxis={"title": {"text": "time (µs)"}},
        yaxis={"title": {"text": "% busy"}, "range": [0, 108]},
        height=340,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def unit_heatmap_figure(
    units: Sequence[str], centres_us: np.ndarray, busy: np.ndarray
) -> go.Figure:
    """Return busy fraction per unit (rows) over time (columns)."""
    if not len(units):
        return empty_figure("no events to show", 300)
    fig = go.Figure(
        go.Heatmap(
            z=100 * busy,
            x=centres_us,
            y=list(units),
            zmin=0,
            zmax=100,
            colorscale="Blues",
            colorbar={"title": {"text": "% busy"}},
            hovertemplate="%{y}<br>%{x:,.1f} µs: %{z:.0f}% busy<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Utilisation over time per unit", "x": 0.01},
        xaxis={"title": {"text": "time (µs)"}},
        yaxis={"autorange": "reversed", "tickfont": {"size": 9}},
        height=min(1400, 140 + 13 * len(units)),
        margin={"l": 140, "r": 20, "t": 40, "b": 40},
    )
    return fig


# ----------------------------------------------------------------------------- compare


#: Compare shows these metrics scaled: utilisation in percent, energy in millijoules.
_COMPARE_SCALE = {"max_resource_utilisation": 100.0, "energy_per_token_j": 1e3}


def compare_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Return one bar panel per metric of :data:`COMPARE_METRICS`, one bar per design.

    Each row needs ``label``, ``gpu`` (bool) and the metric keys (``None`` when unknown).
    """
    if not rows:
        return empty_figure("add designs (Pareto or Design tab) or GPU baselines to compare")
    fig = make_subplots(
        rows=1,
        cols=len(COMPARE_METRICS),
        subplot_titles=[
            f"{t} ({'↑' if b == 'higher' else '↓'} better)" for _, t, b in COMPARE_METRICS
        ],
        horizontal_spacing=0.05,
    )
    colours = _row_colours(rows)
    misfit = [r.get("status") == "infeasible" for r in rows]
    for col, (key, title, _) in enumerate(COMPARE_METRICS, start=1):
        vals = [r.get(key) for r in rows]
        scale = _COMPARE_SCALE.get(key, 1.0)
        fig.add_trace(
            go.Bar(
                x=[
                    r["label"] + (" (does not fit)" if bad else "")
                    for r, bad in zip(rows, misfit, strict=True)
                ],
                y=[v * scale if isinstance(v, int | float) else None for v in vals],
                marker={
                    "color": colours,
                    # an infeasible design's figures are for a device it does not fit: hatched
                    "pattern": {
                        "shape": ["/" if bad else "" for bad in misfit],
                        "fgcolor": "#ffffff",
                        "solidity": 0.35,
                    },
                },
                text=[
                    _short(v * scale if isinstance(v, int | float) else v, key)
                    + (" · does not fit" if bad else "")
                    for v, bad in zip(vals, misfit, strict=True)
                ],
                textposition="auto",
                showlegend=False,
                hovertemplate=f"%{{x}}: %{{y:.4g}} {title}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(tickangle=-35)
    fig.update_layout(template=TEMPLATE, height=430, margin={"l": 40, "r": 20, "t": 50, "b": 120})
    return fig


def _short(v: Any, key: str) -> str:
    if not isinstance(v, int | float) or not math.isfinite(v):
        return "n/a"
    if key == "max_resource_utilisation":
        return f"{v:.0f}%"
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _row_colours(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    out, fpga, gpu = [], 0, 0
    for r in rows:
        if r.get("gpu"):
            out.append(_GPU_COLOURS[gpu % len(_GPU_COLOURS)])
            gpu += 1
        else:
            out.append(PALETTE[fpga % len(PALETTE)])
            fpga += 1
    return out


def compare_resources_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Return each design's use of each FPGA resource kind (percent of its device)."""
    fpga = [r for r in rows if not r.get("gpu") and r.get("resources")]
    if not fpga:
        return empty_figure("no FPGA design to compare resources of", 260)
    kinds: list[str] = []
    for r in fpga:
        kinds += [k for k in r["resources"] if k not in kinds]
    fig = go.Figure()
    colours = _row_colours(fpga)
    for r, colour in zip(fpga, colours, strict=True):
        res = r["resources"]
        fig.add_trace(
            go.Bar(
                name=r["label"],
                x=[resource_name(k) for k in kinds],
                y=[100 * float((res.get(k) or {}).get("utilisation") or 0) for k in kinds],
                marker={"color": colour},
                hovertemplate="%{x}: %{y:.1f}%<extra>" + r["label"] + "</extra>",
            )
        )
    fig.add_hline(y=100, line={"color": "#d62728", "dash": "dash", "width": 1})
    fig.update_layout(
        template=TEMPLATE,
        barmode="group",
        title={"text": "Resources (% of each design's device)", "x": 0.01},
        yaxis={"title": {"text": "%"}},
        height=340,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
    )
    return fig


# ----------------------------------------------------------------------------- study


def progress_figure(table: pd.DataFrame) -> go.Figure:
    """Return tokens/s of every trial by trial number, the best feasible so far, and counts."""
    if table.empty:
        return empty_figure("no finished trial yet")
    t = table.sort_values("trial")
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.65, 0.35],
        vertical_spacing=0.06,
        subplot_titles=["throughput of each trial (tokens/s)", "trials so far by status"],
    )
    colours = {"feasible": "#4c78a8", "infeasible": "#bbbbbb", "failed": "#d62728"}
    for status in STATUSES:
        part = t[(t["status"] == status) & np.isfinite(t["tokens_per_s"])]
        fig.add_trace(
            go.Scattergl(
                x=part["trial"],
                y=part["tokens_per_s"],
                mode="markers",
                name=status,
                legendgroup=status,
                marker={"size": 5, "color": colours[status]},
                hovertemplate="trial %{x}: %{y:,.1f} tokens/s<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=t["trial"],
            y=best_feasible_so_far(t),
            mode="lines",
            name="best feasible so far",
            line={"color": "#e45756", "shape": "hv"},
            hovertemplate="best feasible by trial %{x}: %{y:,.1f} tokens/s<extra></extra>",
        ),
        row=1,
        col=1,
    )
    below = 0
    for status in STATUSES:
        count = int((t["status"] == status).sum())
        if not count:
            continue
        # each band named at its right end (the areas have no legend entries of their own)
        fig.add_annotation(
            x=t["trial"].iloc[-1],
            y=below + count / 2,
            text=f"{status} {count}",
            showarrow=False,
            xanchor="left",
            xshift=6,
            font={"size": 11, "color": colours[status] if status != "infeasible" else "#777"},
            row=2,
            col=1,
        )
        below += count
        fig.add_trace(
            go.Scatter(
                x=t["trial"],
                y=(t["status"] == status).cumsum(),
                mode="lines",
                name=f"{status} (count)",
                legendgroup=status,
                showlegend=False,
                line={"color": colours[status]},
                stackgroup="counts",
                hovertemplate=f"{status}: %{{y}} by trial %{{x}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="tokens/s", row=1, col=1)
    fig.update_yaxes(title_text="trials", row=2, col=1)
    fig.update_xaxes(title_text="trial number", row=2, col=1)
    fig.update_layout(template=TEMPLATE, height=520, margin={"l": 60, "r": 110, "t": 40, "b": 40})
    return fig


def best_feasible_so_far(table: pd.DataFrame) -> np.ndarray:
    """Return the highest tokens/s of a feasible trial up to each row (rows in trial order).

    Infeasible and failed trials carry the best before them forward (the line is a
    step through every trial); rows before the first feasible trial are NaN.
    """
    feas = np.where(table["status"] == "feasible", table["tokens_per_s"], np.nan)
    best: np.ndarray = pd.Series(feas, dtype=float).cummax().ffill().to_numpy()
    return best


def hypervolume_history(
    table: pd.DataFrame, reference_w: float | None = None, points: int = 200
) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the dominated hypervolume of the feasible trials after each of some trials.

    The objectives are tokens/s (maximised, reference 0) and watts (minimised, reference
    ``reference_w``, default 1.1 × the highest feasible watts), so the hypervolume is in
    tokens/s × W. It is evaluated at up to ``points`` trial numbers.

    Returns:
        Trial numbers, the hypervolume after each, and the reference watts.
    """
    t = table.sort_values("trial")
    ok = (
        (t["status"] == "feasible") & np.isfinite(t["tokens_per_s"]) & np.isfinite(t["avg_power_w"])
    )
    if not ok.any():
        return np.array([]), np.array([]), math.nan
    tps_all = t["tokens_per_s"].to_numpy(dtype=float)
    w_all = t["avg_power_w"].to_numpy(dtype=float)
    ref = float(reference_w) if reference_w else float(w_all[ok.to_numpy()].max()) * 1.1
    trials = t["trial"].to_numpy()
    marks = np.unique(np.linspace(0, len(t) - 1, min(points, len(t))).round().astype(int))
    okv = ok.to_numpy()
    volumes = []
    for m in marks:
        sel = okv[: m + 1] & (w_all[: m + 1] < ref)
        volumes.append(_hypervolume_2d(tps_all[: m + 1][sel], w_all[: m + 1][sel], ref))
    return trials[marks], np.array(volumes), ref


def _hypervolume_2d(tps: np.ndarray, watts: np.ndarray, ref_w: float) -> float:
    """Area dominated by the points (tokens/s above 0, watts below ``ref_w``)."""
    if not len(tps):
        return 0.0
    order = np.lexsort((watts, -tps))  # fastest first, then lowest power
    w = watts[order]
    before = np.concatenate([[np.inf], np.minimum.accumulate(w)[:-1]])
    front = order[w < before]  # tokens/s and watts both decreasing along the front
    t_f, w_f = tps[front][::-1], watts[front][::-1]  # now increasing
    widths = np.diff(np.concatenate([[0.0], t_f]))
    return float(np.sum(widths * (ref_w - w_f)))


def hypervolume_figure(table: pd.DataFrame) -> go.Figure:
    """Return the hypervolume history of the feasible trials."""
    trials, volume, ref = hypervolume_history(table)
    if not len(trials):
        return empty_figure("no feasible trial yet: no hypervolume", 300)
    fig = go.Figure(
        go.Scatter(
            x=trials,
            y=volume,
            mode="lines",
            line={"color": "#4c78a8", "shape": "hv"},
            hovertemplate="after trial %{x}: %{y:,.4g} tokens/s·W<extra></extra>",
            name="hypervolume",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": (
                "Progress of the search: area beaten by the feasible designs so far"
                "<br><sup>the area of the (power, tokens/s) plane that some feasible design "
                f"is at least as fast and as frugal as, from 0 tokens/s and {ref:.3g} W "
                "(1.1 × the most power of a feasible design); it grows when a design is "
                "faster or draws less power than every one before</sup>"
            ),
            "x": 0.01,
        },
        xaxis={"title": {"text": "trial number"}},
        yaxis={"title": {"text": "area (tokens/s × W)"}},
        height=360,
        margin={"l": 70, "r": 20, "t": 80, "b": 40},
    )
    return fig


def importance_figure(importances: Mapping[str, Mapping[str, float]], note: str = "") -> go.Figure:
    """Return parameter importances, one bar group per objective (Optuna's PED-ANOVA)."""
    if not importances or not any(importances.values()):
        return empty_figure("no importances (too few complete trials)", 300)
    params: list[str] = []
    for imp in importances.values():
        params += [p for p in imp if p not in params]
    first = next(iter(importances.values()))
    params.sort(key=lambda p: first.get(p, 0.0))
    fig = go.Figure()
    for i, (objective, imp) in enumerate(importances.items()):
        label = OBJECTIVE_LABELS.get(objective, objective)
        fig.add_trace(
            go.Bar(
                x=[imp.get(p, 0.0) for p in params],
                y=params,
                orientation="h",
                name=label,
                marker={"color": PALETTE[i % len(PALETTE)]},
                hovertemplate="%{y}: %{x:.3f}<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="group",
        title={
            "text": "Parameter importance (Optuna PED-ANOVA)" + (f" · {note}" if note else ""),
            "x": 0.01,
        },
        xaxis={"title": {"text": "importance (sums to 1 per objective)"}},
        height=120 + 40 * len(params),
        margin={"l": 170, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig
