"""The page: a header (study, status, notices), five views, and the stores between them.

Every view's container is always in the page and shown or hidden by the tab bar, so each
callback's outputs exist whichever tab is open; the costly views compute only while
their tab is open. Ids are plain strings except the figures', which are
``{"type": "figure", "name": ...}`` so one switch sets every camera button to PNG or SVG.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dash import dcc, html

from dashboards import figures
from dashboards.gpu import GPU_ALL, GPU_FASTEST
from dashboards.state import IMPORTANCE_MAX_TRIALS
from dashboards.views import IMAGE_FORMATS, detail_view, graph

__all__ = [
    "GENERATOR_RUNTIME",
    "INDEX_STRING",
    "RENDERER",
    "TABS",
    "UNUSED_LIBRARIES",
    "build_layout",
    "page_scripts",
]

#: The views: (tab value, label).
TABS = (
    ("pareto", "Pareto"),
    ("design", "Design"),
    ("compare", "Compare"),
    ("study", "Study"),
    ("export", "Export"),
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #222; background: #fafafa; }
/* min-width: the Pareto figure's least width (figures.PARETO_MIN_WIDTH_PX) + paddings */
.page { max-width: 1400px; min-width: 1170px; margin: 0 auto; padding: 10px 18px 40px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; margin-bottom: 8px; }
header h1 { font-size: 18px; margin: 0 8px 0 0; }
#study { min-width: 220px; }
#status { color: #444; font-size: 13px; flex: 1 1 260px; }
.image-format label { margin-right: 8px; font-size: 13px; }
.notice { border-radius: 6px; padding: 8px 12px; margin: 6px 0; font-size: 14px; }
.notice-error { background: #fdecea; border: 1px solid #f5c2c0; }
.notice-warning { background: #fff6e0; border: 1px solid #f3d98b; }
.notice-info { background: #e8f1fb; border: 1px solid #b9d3ee; }
.notice-detail { color: #555; margin-top: 3px; font-family: ui-monospace, monospace;
                 font-size: 12px; white-space: pre-wrap; }
.notice-hint { margin-top: 3px; }
.view { background: #fff; border: 1px solid #ddd; border-top: none; padding: 12px; }
.controls { display: flex; flex-wrap: wrap; gap: 18px; align-items: center; margin-bottom: 6px;
            font-size: 14px; }
.controls label { margin-right: 8px; }
.control-label { margin-right: 8px; white-space: nowrap; }
.row { display: flex; flex-wrap: wrap; gap: 16px; }
.col { flex: 1 1 460px; min-width: 0; }
.table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
.table th, .table td { border-bottom: 1px solid #eee; padding: 4px 10px 4px 0; text-align: left;
                       vertical-align: top; }
.table tr.gpu td { background: #f3f3f3; }
.compare-table td, .compare-table th { padding-right: 14px; }
.badge { font-size: 12px; padding: 2px 8px; border-radius: 10px; vertical-align: middle;
         color: #fff; }
.badge-feasible { background: #4c78a8; } .badge-infeasible { background: #999; }
.badge-failed { background: #d62728; }
.reason { color: #a33; } .params { color: #555; font-size: 13px; }
.hint { color: #666; font-style: italic; }
.yaml { background: #f6f6f6; padding: 10px; font-size: 12px; max-height: 520px; overflow: auto; }
.preview { background: #f6f6f6; padding: 10px; font-size: 12px; max-height: 480px;
           overflow: auto; white-space: pre; }
button { font-size: 14px; padding: 5px 12px; border: 1px solid #4c78a8; border-radius: 5px;
         background: #4c78a8; color: #fff; cursor: pointer; }
button:hover { background: #3b5f86; }
.message { font-size: 13px; color: #555; margin-left: 8px; }
#pareto-selection { font-size: 13px; }
.hover-card { font-size: 12px; line-height: 1.45; white-space: nowrap; }
#pareto-tooltip, #pareto-tooltip * { pointer-events: none; }
"""

#: The HTML shell (Dash's default with the page's styles inline: no static files). Plotly
#: is fetched and run as soon as the page starts (``async``), while Dash loads and asks for
#: the layout; Dash's graph finds it defined. Left to Dash, it is fetched only once the
#: layout has rendered a graph, and the plot waits for it. The lazily loaded chunks of
#: Dash's components that the first view renders (its graph and its dropdowns) are
#: preloaded too: Dash's chunk loader asks for them only once the layout has rendered.
#: Starts Dash once Plotly has run (or failed to load): the page's first figure is drawn
#: as soon as its layout is rendered. Started before, Dash's graph mounts without Plotly
#: and waits, in about a third of first renders, some 0.85 s longer (measured with
#: benchmarks/dashboard.py); the layout and callbacks are preloaded meanwhile (above).
RENDERER = (
    "(function start() {"
    " var s = document.getElementById('plotly-js');"
    " if (window.Plotly || window.__plotlyFailed || !s) {"
    " window.renderer = new DashRenderer(); return; }"
    " s.addEventListener('load', start, {once: true});"
    " s.addEventListener('error', start, {once: true});"
    "})();"
)
#: Component libraries Dash registers (``import dash`` imports them all) whose components
#: no view renders: their scripts are left out of the page (its table's loader, 32 KB,
#: ran on the first render's critical path for nothing). A test checks that nothing
#: in the dashboard imports them.
UNUSED_LIBRARIES = ("dash_table",)
#: Dash's Babel polyfill (core-js 2 and Babel's generator runtime), which the page
#: replaces with :data:`GENERATOR_RUNTIME`.
_POLYFILL = r"deps/polyfill@[^/\"]*\.js"
_LEFT_OUT = re.compile(
    r'<script src="[^"]*/_dash-component-suites/dash/(?:(?:'
    + "|".join(re.escape(name) for name in UNUSED_LIBRARIES)
    + r')/[^"]*|'
    + _POLYFILL
    + r')"></script>\s*'
)
#: The generator runtime Dash's compiled scripts call, in place of Dash's polyfill: the
#: polyfill also rewires builtins every current browser has (typed arrays, string
#: trimming, number parsing), which cost about 0.1 s of a 10,000-trial first render
#: (running it, then Plotly slower on them). See ``generator_runtime.js``.
GENERATOR_RUNTIME = (Path(__file__).parent / "generator_runtime.js").read_text(encoding="utf-8")


def page_scripts(scripts: str) -> str:
    """Return Dash's script tags for the page, less the ones it does without.

    Those of :data:`UNUSED_LIBRARIES` go, and Dash's polyfill (the page carries
    :data:`GENERATOR_RUNTIME` instead).
    """
    return _LEFT_OUT.sub("", scripts)


INDEX_STRING = (
    """<!DOCTYPE html>
<html>
  <head>
    {%metas%}
    <title>{%title%}</title>
    {%favicon%}
    {%css%}
    <script async id="plotly-js" onerror="window.__plotlyFailed = true"
            src="/_dash-component-suites/plotly/package_data/plotly.min.js"></script>
    <link rel="preload" as="script" href="/_dash-component-suites/dash/dcc/async-graph.js">
    <link rel="preload" as="script" href="/_dash-component-suites/dash/dcc/async-dropdown.js">
    <link rel="preload" as="fetch" crossorigin="anonymous" href="/_dash-layout">
    <link rel="preload" as="fetch" crossorigin="anonymous" href="/_dash-dependencies">
    <style>"""
    + _CSS
    + """</style>
  </head>
  <body>
    {%app_entry%}
    <footer>{%config%}<script>"""
    + GENERATOR_RUNTIME
    + """</script>{%scripts%}{%renderer%}</footer>
  </body>
</html>"""
)


def _control(label: str, component: Any, title: str = "") -> html.Div:
    """A labelled control of a view's control row (``title``: its tooltip, if any)."""
    return html.Div(
        [html.Span(label, className="control-label"), component],
        style={"display": "flex"},
        title=title,
    )


def _radio(id_: str, options: dict[str, Any], value: Any) -> dcc.RadioItems:
    """Inline radio items: label → value."""
    return dcc.RadioItems(
        id=id_,
        options=[{"label": k, "value": v} for k, v in options.items()],
        value=value,
        inline=True,
    )


def _view(tab: str, children: list[Any], visible: bool = False) -> html.Div:
    return html.Div(
        children, id=f"view-{tab}", className="view", style=None if visible else {"display": "none"}
    )


def build_layout(
    studies: list[str],
    study: str,
    refresh_s: float,
    formats: list[tuple[str, str]],
    initial: dict[str, Any] | None = None,
) -> html.Div:
    """Return the page.

    Args:
        studies: Study names in the storage (the study dropdown).
        study: The study shown first.
        refresh_s: Seconds between checks for new trials (0: no live updates).
        formats: Export formats, ``(name, description)``.
        initial: What the page shows before any callback runs (the first render needs
            no round trip): ``version``, ``status``, ``notices``, ``batches`` and
            ``gpu`` (checklist options), ``gpu_value`` and ``figure`` (the Pareto plot); see
            :func:`dashboards.callbacks.initial_state`.
    """
    initial = initial or {}
    options = [{"label": n, "value": n} for n in (studies or ([study] if study else []))]
    placeholder = initial.get("figure") or figures.empty_figure("loading…", 560)
    batches = [o["value"] for o in initial.get("batches", [])]
    header = html.Header(
        [
            html.H1("mmfree-cosim · designs vs measured GPU"),
            dcc.Dropdown(
                id="study",
                options=options,
                value=study or None,
                clearable=False,
                placeholder="no study",
            ),
            html.Div(initial.get("status", ""), id="status"),
            html.Div(
                [
                    html.Span(
                        "save figures as", className="control-label", style={"fontSize": "13px"}
                    ),
                    dcc.RadioItems(
                        id="image-format",
                        options=[{"label": f.upper(), "value": f} for f in IMAGE_FORMATS],
                        value="png",
                        inline=True,
                        className="image-format",
                    ),
                ],
                style={"display": "flex", "alignItems": "center"},
            ),
        ]
    )
    pareto = _view(
        "pareto",
        [
            html.Div(
                [
                    _control("axes", _radio("axes", {"log": "log", "linear": "linear"}, "log")),
                    _control(
                        "x axis",
                        _radio("pareto-x", {"W": "avg_power_w", "batch": "batch"}, "avg_power_w"),
                        "W: tokens/s against average power, with lines of equal J/token; "
                        "batch: tokens/s against the sequences a step serves, designs "
                        "beside the GPU's batch-1 and batch-16 figures",
                    ),
                    _control(
                        "GPU batch sizes",
                        dcc.Checklist(
                            id="gpu-batches",
                            options=initial.get("batches", []),
                            value=[1] if 1 in batches or not batches else batches[:1],
                            inline=True,
                        ),
                    ),
                    _control(
                        "GPU",
                        _radio("gpu-mode", {"fastest": GPU_FASTEST, "all": GPU_ALL}, GPU_FASTEST),
                        "fastest: the fastest measured case of the model at each batch "
                        "size (lowest ms/token over every baseline); all: every measured "
                        "implementation",
                    ),
                    html.Button("Add selected to Compare", id="pareto-add", n_clicks=0),
                    html.Span("", id="pareto-message", className="message"),
                ],
                className="controls",
            ),
            html.Div(
                [
                    graph("pareto", placeholder, clear_on_unhover=True),
                    dcc.Tooltip(id="pareto-tooltip", direction="right", loading_text=""),
                ],
                # never narrower than its labels were placed for (a narrow window scrolls)
                style={"position": "relative", "minWidth": f"{figures.PARETO_MIN_WIDTH_PX}px"},
            ),
            html.Div(
                "Click a point to select its design; the Design tab shows it in full.",
                id="pareto-selection",
                className="hint",
            ),
            html.Div(initial.get("failed", ""), id="failed-list"),
        ],
        visible=True,
    )
    design = _view(
        "design",
        [
            html.Div(
                [
                    html.Label("trial", htmlFor="trial-input"),
                    dcc.Input(
                        id="trial-input",
                        type="number",
                        min=0,
                        step=1,
                        debounce=True,
                        style={"width": "140px"},
                    ),
                    html.Button("Show", id="trial-go", n_clicks=0),
                    html.Span("", id="trial-message", className="message"),
                    html.Button("Add to Compare", id="detail-add", n_clicks=0),
                    html.Span("", id="detail-message", className="message"),
                ],
                className="controls",
            ),
            html.Div(detail_view(None), id="detail"),
            html.H4("Per-unit utilisation over time"),
            html.Div(
                [
                    html.Button("Simulate its timeline", id="timeline-button", n_clicks=0),
                    html.Span(
                        "runs the design again on the study's trace (a few seconds)",
                        className="message",
                    ),
                ],
                className="controls",
            ),
            dcc.Loading(
                html.Div(html.P("Select a design first.", className="hint"), id="timeline"),
                type="dot",
            ),
        ],
    )
    compare = _view(
        "compare",
        [
            html.Div(
                [
                    html.Span("designs (up to 4)", className="control-label"),
                    dcc.Dropdown(
                        id="compare-keys",
                        options=[],
                        value=[],
                        multi=True,
                        placeholder="add designs from the Pareto or Design tab",
                        style={"minWidth": "360px"},
                    ),
                    html.Button("Clear", id="compare-clear", n_clicks=0),
                    html.Span("", id="compare-message", className="message"),
                ],
                className="controls",
            ),
            html.Div(
                [
                    html.Span("GPU baselines", className="control-label"),
                    dcc.Checklist(
                        id="compare-gpu",
                        options=initial.get("gpu", []),
                        value=initial.get("gpu_value", []),
                        inline=True,
                    ),
                ],
                className="controls",
            ),
            html.Div(id="compare-body"),
        ],
    )
    study_view = _view(
        "study",
        [
            html.Div(id="study-body"),
            html.Div(
                [
                    html.Button("Compute parameter importance", id="importance-button", n_clicks=0),
                    html.Span(
                        "Optuna's PED-ANOVA per objective "
                        f"(at most {IMPORTANCE_MAX_TRIALS:,} trials; seconds)",
                        className="message",
                    ),
                ],
                className="controls",
            ),
            dcc.Loading(html.Div(id="importance"), type="dot"),
        ],
    )
    export = _view(
        "export",
        [
            html.Div(
                "Select a design (Pareto or Design tab) to export it.",
                id="export-title",
                className="hint",
            ),
            html.Div(
                [
                    dcc.RadioItems(
                        id="export-format",
                        options=[{"label": f"{n} ({d})", "value": n} for n, d in formats],
                        value=formats[0][0] if formats else None,
                    ),
                ],
                className="controls",
            ),
            html.Div(
                [
                    html.Button("Download", id="export-button", n_clicks=0),
                    html.Span("", id="export-message", className="message"),
                ],
                className="controls",
            ),
            dcc.Download(id="export-download"),
            html.Pre("", id="export-preview", className="preview"),
        ],
    )
    return html.Div(
        [
            header,
            html.Div(initial.get("notices", []), id="notices"),
            dcc.Tabs(
                id="tabs",
                value="pareto",
                children=[
                    dcc.Tab(label=label, value=value, id=f"tab-{value}") for value, label in TABS
                ],
            ),
            pareto,
            design,
            compare,
            study_view,
            export,
            dcc.Store(id="version", data=initial.get("version", "")),
            # "" (not None): a Store whose data starts unset fires its callbacks on load.
            dcc.Store(id="selected", data=""),
            dcc.Store(id="image-format-applied", data="png"),
            dcc.Interval(
                id="refresh",
                interval=max(1.0, refresh_s) * 1000,
                disabled=refresh_s <= 0,
                n_intervals=0,
            ),
        ],
        className="page",
    )
