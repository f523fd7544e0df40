"""The page's content as pure functions: data in, Dash components and figures out.

Callbacks (:mod:`dashboards.callbacks`) only unpack their inputs, call one function here
and return what it gives, so everything the page shows is testable without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import yaml
from dash import dcc, html, no_update

from dashboards import figures
from dashboards.data import PARAM_PREFIX, STATUSES, Notice, StudySnapshot
from dashboards.designs import DesignRecord, trial_number
from dashboards.gpu import GPU_FASTEST, GPU_MODES, GpuPoint, fastest_points
from dashboards.names import ENERGY_UNIT, energy_text, resource_name, value_text
from explorer.records import StudyAttr

__all__ = [
    "IMAGE_FORMATS",
    "MAX_COMPARE",
    "add_to_compare",
    "compare_rows",
    "compare_view",
    "detail_view",
    "failed_view",
    "figure_config",
    "graph",
    "hover_card",
    "notices_view",
    "numerics_view",
    "pareto_view",
    "selected_from_click",
    "status_text",
    "study_view",
]

#: Formats the figures' camera button saves.
IMAGE_FORMATS = ("png", "svg")
#: Designs Compare holds at most (GPU baselines come on top).
MAX_COMPARE = 4


def figure_config(name: str, image_format: str = "png") -> dict[str, Any]:
    """Return a graph's config: the camera button saves ``<name>.<png|svg>``."""
    fmt = image_format if image_format in IMAGE_FORMATS else "png"
    return {
        "displaylogo": False,
        "showSendToCloud": False,
        "toImageButtonOptions": {
            "format": fmt,
            "filename": name,
            "scale": 2 if fmt == "png" else 1,
        },
    }


def graph(
    name: str, figure: Any, image_format: str = "png", *, clear_on_unhover: bool = False
) -> dcc.Graph:
    """Return a graph whose id joins the page's PNG/SVG switch (``{"type": "figure"}``)."""
    return dcc.Graph(
        id={"type": "figure", "name": name},
        figure=figure,
        config=cast(Any, figure_config(name, image_format)),
        clear_on_unhover=clear_on_unhover,
    )


def notices_view(notices: Sequence[Notice]) -> list[Any]:
    """Return one box per notice (error, warning or info)."""
    out = []
    for n in notices:
        parts: list[Any] = [html.Strong(n.title)]
        if n.detail:
            parts.append(html.Div(n.detail, className="notice-detail"))
        if n.hint:
            parts.append(html.Div(n.hint, className="notice-hint"))
        out.append(html.Div(parts, className=f"notice notice-{n.level}", role="alert"))
    return out


def status_text(snap: StudySnapshot | Notice) -> str:
    """Return the header's status line."""
    if isinstance(snap, Notice):
        return "no study loaded"
    return snap.summary_line()


# ----------------------------------------------------------------------------- Pareto


def selected_from_click(click: Mapping[str, Any] | None) -> str | None:
    """Return the design key of a clicked Pareto point (``None`` for anything else).

    Trial points carry their trial number as ``customdata``; results-folder points carry
    their key; GPU points and lines are not selectable.
    """
    if not click or not click.get("points"):
        return None
    data = click["points"][0].get("customdata")
    if not isinstance(data, list):  # a trial point carries its number alone
        data = [data]
    if not data or data[0] is None:
        return None
    first = data[0]
    if isinstance(first, bool):
        return None
    if isinstance(first, int | float) and float(first).is_integer() and first >= 0:
        return f"trial:{int(first)}"
    if isinstance(first, str) and first.startswith("results:"):
        return first
    if isinstance(first, str) and first.isdigit():
        return f"trial:{int(first)}"
    return None


def hover_card(snap: StudySnapshot | Notice, hover: Mapping[str, Any] | None) -> Any:
    """Return ``(show, bbox, children)`` of the Pareto plot's tooltip for a hovered trial.

    The figure carries only trial numbers; the card (status, figures and every searched
    parameter) is made here from the study table.
    """
    hidden = (False, no_update, no_update)
    if isinstance(snap, Notice) or not hover or not hover.get("points"):
        return hidden
    point = hover["points"][0]
    key = selected_from_click({"points": [point]})
    number = trial_number(key)
    if number is None or "bbox" not in point:
        return hidden
    rows = snap.table[snap.table["trial"] == number]
    if rows.empty:
        return hidden
    row = rows.iloc[0]
    batch = row.get("batch")
    several = isinstance(batch, int | float) and math.isfinite(batch) and batch > 1
    lines: list[Any] = [
        html.B(f"trial {number} · {row['status']} · simulated (estimate)"),
        html.Br(),
        f"{_fmt(row['tokens_per_s'], ',.1f')} tokens/s"
        + (f" (all {int(batch)} sequences)" if several else "")
        + f" · {_fmt(row['avg_power_w'], '.3g')} W · "
        f"{energy_text(row['energy_per_token_j'])} · "
        f"{_fmt(row['ms_per_token'], '.3g')} ms/token" + (" each" if several else ""),
    ]
    ttft = row.get("time_to_first_token_ms")
    if isinstance(ttft, int | float) and math.isfinite(ttft) and ttft > 0:
        lines += [html.Br(), f"first token in {_fmt(ttft, '.3g')} ms"]
    for name in snap.params:
        value = row.get(PARAM_PREFIX + name)
        lines += [html.Br(), f"{name} = {_plain(value)}"]
    if row["reason"]:
        lines += [html.Br(), html.Span(str(row["reason"])[:200], className="reason")]
    return True, point["bbox"], html.Div(lines, id="hover-card", className="hover-card")


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def pareto_view(
    snap: StudySnapshot | Notice,
    gpu: Sequence[GpuPoint],
    extra: Sequence[DesignRecord],
    *,
    selected: str | None,
    log_axes: bool,
    batches: Sequence[int] | None,
    gpu_mode: str = GPU_FASTEST,
    x_axis: str = "avg_power_w",
) -> Any:
    """Return the Pareto figure of a study (or a figure saying why there is none).

    ``gpu_mode`` is ``fastest`` (the fastest measured case of the study's model at each
    batch size, :func:`~dashboards.gpu.fastest_points`) or ``all`` (every measured case);
    ``x_axis`` is ``avg_power_w`` or ``batch`` (:data:`dashboards.figures.X_AXES`).

    Raises:
        ValueError: ``gpu_mode`` is neither.
    """
    if gpu_mode not in GPU_MODES:
        raise ValueError(f"'gpu_mode' must be in {GPU_MODES} (got {gpu_mode!r})")
    if isinstance(snap, Notice):
        return figures.empty_figure(snap.title, 560)
    number = trial_number(selected)
    model = snap.model
    wanted = set(batches) if batches is not None else None
    points = [p for p in gpu if p.model == model and (wanted is None or p.batch in wanted)]
    if gpu_mode == GPU_FASTEST:
        points = fastest_points(points)
    more = [
        (
            r.key,
            r.label,
            float(r.summary["tokens_per_s"]),
            float(r.summary["avg_power_w"]),
            float(r.summary.get("energy_per_token_j") or math.nan),
        )
        for r in extra
        if _finite(r.summary.get("tokens_per_s"))
        and _finite(r.summary.get("avg_power_w"))
        and str(r.summary.get("model")) == model
    ]
    against = "batch" if x_axis == "batch" else "average power"
    title = f"{snap.name}: tokens/s against {against}, model {model}"
    return figures.pareto_figure(
        snap.table,
        points,
        selected=number,
        log_axes=log_axes,
        title=title,
        extra=more,
        uirevision=f"{snap.name}:{log_axes}:{x_axis}",
        objectives=snap.objectives,
        x_axis=x_axis,
    )


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def failed_view(snap: StudySnapshot | Notice, limit: int = 20) -> Any:
    """Return a short list of trials without figures (failed or refused), newest first."""
    if isinstance(snap, Notice) or snap.table.empty:
        return ""
    t = snap.table
    nofig = t[~(t["tokens_per_s"] > 0)]
    if nofig.empty:
        return ""
    rows = nofig.sort_values("trial", ascending=False).head(limit)
    body = [
        html.Tr([html.Td(int(r.trial)), html.Td(r.status), html.Td(str(r.reason)[:160])])
        for r in rows.itertuples()
    ]
    return html.Details(
        [
            html.Summary(f"{len(nofig)} trials without figures (not on the plot)"),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th("trial"), html.Th("status"), html.Th("reason")])),
                    html.Tbody(body),
                ],
                className="table",
            ),
        ]
    )


# ----------------------------------------------------------------------------- detail


def _fmt(v: Any, spec: str = ",.4g", unit: str = "") -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float) and math.isfinite(v):
        return f"{v:{spec}}{unit}"
    return "n/a"


def _milli(joules: Any) -> Any:
    """Joules in millijoules (the page's energy unit); anything else unchanged."""
    ok = isinstance(joules, int | float) and not isinstance(joules, bool)
    return joules * 1e3 if ok else joules


def _key_figures(record: DesignRecord) -> html.Table:
    s = record.summary
    batch = s.get("batch") or 1
    each = " (each sequence)" if batch > 1 else ""
    rows = [
        (
            f"tokens/s (all {batch} sequences)" if batch > 1 else "tokens/s",
            _fmt(s.get("tokens_per_s"), ",.2f"),
        ),
        ("ms/token" + each, _fmt(s.get("ms_per_token"), ",.4f")),
        ("average power", _fmt(s.get("avg_power_w"), ".3f", " W")),
        ("energy/token", energy_text(s.get("energy_per_token_j"), 4)),
        ("bottleneck", str(s.get("bottleneck") or "n/a")),
        (
            "design bound",
            f"{_fmt(s.get('bound_tokens_per_s'), ',.1f')} tok/s ({s.get('binding_bound') or '?'})",
        ),
        ("memory-bandwidth bound", f"{_fmt(s.get('memory_bound_tokens_per_s'), ',.1f')} tok/s"),
        ("of the memory bound", _fmt(s.get("fraction_of_memory_bound"), ".1%")),
        ("fits the device", _fmt(s.get("fits"))),
        (
            "device · clock · cores",
            f"{s.get('device', '?')} · {_fmt(s.get('clock_mhz'), 'g', ' MHz')} · "
            f"{s.get('cores', '?')}",
        ),
        ("model", str(s.get("model", "?"))),
    ]
    if s.get("time_to_first_token_ms") is not None:  # results from before it was recorded lack it
        rows.insert(2, ("time to first token", _fmt(s["time_to_first_token_ms"], ",.3f", " ms")))
    cards = s.get("cards")
    if isinstance(cards, list) and cards:  # a system: its cards, not one device
        links = record.design.get("links") or {}
        system_rows = [
            (
                "cards · mapping",
                f"{len(cards)} · {s.get('mapping', '?')} "
                f"({s.get('sequences_in_flight', 1)} group(s) of sequences in flight)",
            ),
            ("links", f"card to card {links.get('card', '?')}, host {links.get('host', '?')}"),
        ]
        drop = {"memory-bandwidth bound", "of the memory bound", "device · clock · cores"}
        rows = [r for r in rows if r[0] not in drop]
        rows[-1:-1] = system_rows
        rows = [(("fits the devices" if k == "fits the device" else k), v) for k, v in rows]
    return html.Table(
        html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in rows]),
        className="table key-figures",
    )


def system_view(summary: Mapping[str, Any]) -> Any:
    """Return a system's cards (share, power, fit, weights on chip) and links (traffic)."""
    head = ["card", "design", "device", "share", "W", "fits", "weights on chip"]
    cards = [
        [
            str(c.get("index", i)),
            str(c.get("design", "")),
            str(c.get("device", "")),
            str(c.get("share", "")),
            _fmt(c.get("avg_power_w"), ".3g"),
            "yes" if c.get("fits") else "no: " + "; ".join(c.get("fit_problems") or []),
            "yes" if (c.get("onchip") or {}).get("weights_resident") else "no (streamed)",
        ]
        for i, c in enumerate(summary.get("cards") or [])
    ]
    link_head = ["link", "type", "bytes/token", "busy", "W"]
    links = [
        [
            str(x.get("name", "")),
            str(x.get("link", "")),
            _fmt(x.get("bytes_per_token"), ",.0f"),
            _fmt(x.get("busy"), ".2%"),
            _fmt(x.get("avg_power_w"), ".3g"),
        ]
        for x in summary.get("links") or []
    ]

    def table(header: list[str], rows: list[list[str]], name: str) -> html.Table:
        return html.Table(
            [
                html.Thead(html.Tr([html.Th(h) for h in header])),
                html.Tbody([html.Tr([html.Td(v) for v in r]) for r in rows]),
            ],
            className=f"table {name}",
        )

    return html.Div([table(head, cards, "system-cards"), table(link_head, links, "system-links")])


def numerics_view(record: DesignRecord) -> Any:
    """Return the design's number formats and, when the study measured it, their cost."""
    units = _card_design(record)[0].get("units") or []  # a system: its first card group's
    rows: list[tuple[str, str]] = []
    for u in units:
        if not isinstance(u, dict):
            continue
        if u.get("kind") == "ternary_array":
            rows.append(
                (
                    f"{u.get('name')} (ternary array)",
                    f"{u.get('activation_bits', '?')}-bit activations, "
                    f"{u.get('accumulator_bits', '?')}-bit accumulators, "
                    f"{u.get('weight_packing', '?')} weights",
                )
            )
        elif u.get("kind") == "vector_unit":
            approx = u.get("sigmoid", "?")
            detail = (
                f"{u.get('lut_entries')}-entry LUT"
                if approx == "lut"
                else f"{u.get('pwl_segments')}-segment order-{u.get('pwl_order')} PWL"
            )
            rows.append(
                (
                    f"{u.get('name')} (vector unit)",
                    f"fixed<{u.get('data_bits', '?')}.{u.get('frac_bits', '?')}>, "
                    f"sigmoid/SiLU by {detail}",
                )
            )
    cost = record.summary.get("numerics_cost")
    if isinstance(cost, dict):
        rows.append(
            (
                "accuracy cost",
                f"max |Δlogit| {_fmt(cost.get('max_abs_dlogit'), '.3g')}, top-1 agreement "
                f"{_fmt(cost.get('top1_agreement'), '.1%')} on model {cost.get('model', '?')} "
                "(functional model, against float)",
            )
        )
    else:
        rows.append(
            (
                "accuracy cost",
                "not measured: the study's search space sets no accuracy bound "
                "(add constraints.accuracy to it to measure each design's numerics)",
            )
        )
    return html.Table(
        html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in rows]),
        className="table",
    )


def fidelity_view(record: DesignRecord) -> Any:
    """Return which of the design's figures are checked against what, and by how much.

    The rungs of the fidelity ladder (:mod:`arch_models.fidelity`) that concern the
    design: the paper calibration, the RTL twin's cycles and energy events, Yosys
    resources; each says what it measured, with the command, or why it does not cover
    this design. Everything else is the model's estimate.
    """
    from arch_models.fidelity import fidelity_of
    from arch_models.spec.arch import validate_arch
    from arch_models.validation.errors import SpecError
    from arch_models.validation.source import Document

    design, system = _card_design(record)
    try:
        arch = validate_arch(Document(data=design, filename=f"{record.label}.yaml"))
    except (SpecError, ValueError, TypeError) as exc:
        return html.P(f"the stored description does not validate: {exc}", className="reason")
    items = [
        html.Li(rung.describe(), className="checked" if rung.applies else "unchecked")
        for rung in fidelity_of(arch)
    ]
    text = (
        "Figures not listed as checked (power, per-event energies, bandwidth efficiencies) "
        "are the model's estimates from sourced coefficients."
    )
    if system:
        text = (
            "For its cards' design (the first card group's). The links' bandwidth, "
            "latency and energy are their catalog figures, not checked here. " + text
        )
    return html.Div([html.Ul(items, id="detail-fidelity"), html.P(text, className="hint")])


def _card_design(record: DesignRecord) -> tuple[dict[str, Any], bool]:
    """A design's description, or a system's first card group's; and whether a system."""
    cards = record.design.get("card_designs")
    if isinstance(cards, list) and cards and isinstance(cards[0], dict):
        return cards[0], True
    return record.design, False


def detail_view(record: DesignRecord | None, image_format: str = "png") -> Any:
    """Return the Design tab for a design (or a prompt to pick one)."""
    if record is None:
        return html.P(
            "Click a point on the Pareto plot (or type a trial number above) to see its design.",
            className="hint",
        )
    status = html.Span(record.status, className=f"badge badge-{record.status}")
    head: list[Any] = [html.H3([f"{record.label} ", status], id="detail-title")]
    if record.reason:
        head.append(html.P(record.reason, className="reason"))
    if record.provenance:
        head.append(html.P(record.provenance, className="hint", id="detail-provenance"))
    if record.params:
        head.append(
            html.P(
                " · ".join(f"{k} = {value_text(v)}" for k, v in record.params.items()),
                className="params",
            )
        )
    s = record.summary
    body: list[Any] = [
        html.Div(
            [
                html.Div([html.H4("Key figures"), _key_figures(record)], className="col"),
                html.Div(
                    [
                        graph("bounds", figures.bounds_figure(s), image_format),
                        graph("resources", figures.resources_figure(s), image_format),
                    ],
                    className="col",
                ),
            ],
            className="row",
        ),
        html.Div(
            [
                html.Div(
                    [graph("energy", figures.energy_figure(s), image_format)], className="col"
                ),
                html.Div([html.H4("Numerics"), numerics_view(record)], className="col"),
            ],
            className="row",
        ),
        *([html.Div([html.H4("Cards and links"), system_view(s)])] if s.get("cards") else []),
        html.Div([html.H4("What is checked (fidelity ladder)"), fidelity_view(record)]),
        html.Details(
            [
                html.Summary("Resolved architecture description (YAML)"),
                html.Pre(
                    yaml.safe_dump(record.design, sort_keys=False, allow_unicode=True),
                    className="yaml",
                    id="detail-yaml",
                ),
            ],
            open=False,
        ),
    ]
    return html.Div(head + body)


# ----------------------------------------------------------------------------- compare


def add_to_compare(
    current: Sequence[str] | None, key: str | None, label: str | None = None
) -> tuple[list[str], str]:
    """Return the Compare list with ``key`` added, and a message (why it was not).

    ``label`` names the design in the message (default: the key, colons as spaces).
    """
    keys = [k for k in (current or []) if isinstance(k, str)]
    if not key:
        return keys, "select a design first (click a point on the Pareto plot)"
    name = label or key.replace(":", " ")
    if key in keys:
        return keys, f"{name} is already in Compare"
    if len(keys) >= MAX_COMPARE:
        return keys, f"Compare holds {MAX_COMPARE} designs; remove one first"
    return [*keys, key], f"added {name} to Compare ({len(keys) + 1})"


def compare_rows(records: Sequence[DesignRecord], gpu: Sequence[GpuPoint]) -> list[dict[str, Any]]:
    """Return one row per design and GPU case: the figures Compare shows."""
    rows: list[dict[str, Any]] = []
    for r in records:
        s = r.summary
        res = s.get("resources") or {}
        utils = [
            float(v["utilisation"])
            for v in res.values()
            if isinstance(v, dict) and isinstance(v.get("utilisation"), int | float)
        ]
        rows.append(
            {
                "key": r.key,
                "label": r.label,
                "gpu": False,
                "status": r.status,
                "device": s.get("device", "?"),
                "tokens_per_s": s.get("tokens_per_s"),
                "avg_power_w": s.get("avg_power_w"),
                "energy_per_token_j": s.get("energy_per_token_j"),
                "ms_per_token": s.get("ms_per_token"),
                "max_resource_utilisation": max(utils) if utils else None,
                "resources": res,
                "bottleneck": s.get("bottleneck", ""),
            }
        )
    for p in gpu:
        rows.append(
            {
                "key": p.key,
                "label": p.label,
                "gpu": True,
                "status": "measured",
                "device": p.gpu,
                "tokens_per_s": p.tokens_per_s,
                "avg_power_w": p.avg_power_w,
                "energy_per_token_j": p.energy_per_token_j,
                "ms_per_token": p.ms_per_token,
                "max_resource_utilisation": None,
                "resources": {},
                "bottleneck": f"peak memory {_fmt(p.peak_memory_gib, '.2f', ' GiB')}",
            }
        )
    return rows


def _compare_table(rows: Sequence[Mapping[str, Any]]) -> html.Table:
    kinds: list[str] = []
    for r in rows:
        kinds += [k for k in r["resources"] if k not in kinds]
    head = [
        "design",
        "status",
        "device",
        "tokens/s",
        "W",
        ENERGY_UNIT,
        "ms/token",
        *map(resource_name, kinds),
        "note",
    ]
    body = []
    for r in rows:
        res = r["resources"]
        cells = [
            r["label"],
            r["status"],
            r["device"],
            _fmt(r["tokens_per_s"], ",.2f"),
            _fmt(r["avg_power_w"], ".3g"),
            _fmt(_milli(r["energy_per_token_j"]), ".4g"),
            _fmt(r["ms_per_token"], ".4g"),
            *[_fmt((res.get(k) or {}).get("utilisation"), ".1%") if res else "—" for k in kinds],
            r["bottleneck"],
        ]
        body.append(html.Tr([html.Td(c) for c in cells], className="gpu" if r["gpu"] else ""))
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="table compare-table",
        id="compare-table",
    )


def compare_view(rows: Sequence[Mapping[str, Any]], image_format: str = "png") -> Any:
    """Return Compare's table and bars."""
    if not rows:
        return html.P(
            "Nothing to compare yet: select a design on the Pareto plot and press "
            "'Add to Compare' (up to 4), and tick GPU baselines above.",
            className="hint",
        )
    resources: Any
    if any(not r["gpu"] and r["resources"] for r in rows):
        resources = graph("compare-resources", figures.compare_resources_figure(rows), image_format)
    else:
        resources = html.P(
            "No FPGA resource use to compare: "
            + (
                "GPU baselines have no LUT, DSP or memory-block figures; add a design from the "
                "Pareto or Design tab to see its share of its device."
                if all(r["gpu"] for r in rows)
                else "none of these designs was simulated (failed designs have no resources)."
            ),
            className="hint",
            id="compare-resources-note",
        )
    return html.Div(
        [
            _compare_table(rows),
            graph("compare", figures.compare_figure(rows), image_format),
            resources,
        ]
    )


# ----------------------------------------------------------------------------- study


def study_view(snap: StudySnapshot | Notice, image_format: str = "png") -> Any:
    """Return the Study tab: counts, progress over trials and the hypervolume."""
    if isinstance(snap, Notice):
        return html.P(snap.title, className="hint")
    c = snap.counts()
    facts = [
        ("trials", f"{len(snap.table)} finished · {snap.running} running · {snap.waiting} waiting"),
        ("by status", " · ".join(f"{c[s]} {s}" for s in STATUSES)),
        ("model", snap.model),
        ("sampler", str(snap.attrs.get(StudyAttr.SAMPLER, "?"))),
        ("design", str(snap.attrs.get(StudyAttr.ARCH_PATH, "?"))),
        ("search space", str(snap.attrs.get(StudyAttr.SPACE_PATH, "?"))),
        ("storage", snap.storage),
        (
            "time to read the study",
            f"{snap.load_s:.2f} s for the latest read of its trials from the storage "
            "(every trial on the first read, only new ones on a refresh)",
        ),
    ]
    return html.Div(
        [
            html.Table(
                html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in facts]),
                className="table",
            ),
            graph("progress", figures.progress_figure(snap.table), image_format),
            graph("hypervolume", figures.hypervolume_figure(snap.table), image_format),
        ]
    )
