"""The page's callbacks: thin wrappers over :mod:`dashboards.views`.

Each ``on_*`` function is the whole of one callback, a plain function of the dashboard
state and the callback's inputs, tested without a browser; :func:`register` wires them to
the page's ids. Requests carry only a study name (from the storage's own list), design keys
(``trial:<n>``, ``results:<i>``), format names and button clicks: nothing names a file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from dash import ALL, Input, Output, Patch, State, ctx, html, no_update

from dashboards import figures, views
from dashboards.data import Notice, StudySnapshot
from dashboards.designs import DesignRecord, qualify, split_study, trial_number
from dashboards.gpu import GPU_FASTEST, fastest_points
from dashboards.layout import TABS
from dashboards.names import energy_text
from dashboards.state import Dashboard
from explorer.records import TrialRecord

__all__ = [
    "initial_state",
    "on_compare",
    "on_compare_edit",
    "on_detail",
    "on_export",
    "on_export_preview",
    "on_importance",
    "on_pareto",
    "on_refresh",
    "on_select",
    "on_selection_note",
    "on_study",
    "on_timeline",
    "on_trial_input",
    "register",
]

log = logging.getLogger(__name__)


def _version(board: Dashboard, study: str | None, snap: StudySnapshot | Notice) -> str:
    data = f"{snap.name}:{snap.version}" if isinstance(snap, StudySnapshot) else snap.title
    return f"{study}|{data}|gpu{board.gpu_version}"


def on_refresh(
    board: Dashboard, study: str | None, current: str | None
) -> tuple[Any, Any, Any, Any, Any]:
    """Read new trials and baselines; return version, status, notices, GPU options.

    Returns ``no_update`` everywhere when nothing changed, so a running study's page is
    redrawn only when a trial finishes.
    """
    board.refresh(study)
    snap = board.snapshot(study)
    version = _version(board, study, snap)
    if version == current:
        return no_update, no_update, no_update, no_update, no_update
    model = snap.model if isinstance(snap, StudySnapshot) else None
    gpu = board.gpu_for(model) if model else []
    batches = sorted({p.batch for p in gpu})
    batch_options = [{"label": f"batch {b}", "value": b} for b in batches]
    gpu_options = [{"label": p.label, "value": p.key} for p in gpu]
    return (
        version,
        views.status_text(snap),
        views.notices_view(board.notices(study)),
        batch_options,
        gpu_options,
    )


def initial_state(board: Dashboard, study: str | None) -> dict[str, Any]:
    """Return what the page shows before any callback runs (see :func:`on_refresh`).

    The layout carries the data version, status, notices, GPU options (and Compare's
    first GPU case) and the Pareto figure, so the first render needs no callback round
    trip; the first refresh then finds nothing changed.
    """
    board.refresh(study)
    snap = board.snapshot(study)
    key = (study, _version(board, study, snap))
    return board.first_page(key, lambda: _initial_state(board, study))


def _initial_state(board: Dashboard, study: str | None) -> dict[str, Any]:
    version, status, notices, batches, gpu = on_refresh(board, study, None)
    snap = board.snapshot(study)
    model = snap.model if isinstance(snap, StudySnapshot) else None
    batch_values = [b["value"] for b in batches]
    figure = views.pareto_view(
        snap,
        board.gpu_for(model) if model else [],
        [s.record for s in board.saved],
        selected=None,
        log_axes=True,
        batches=[1] if 1 in batch_values or not batch_values else batch_values[:1],
        gpu_mode=GPU_FASTEST,
    )
    return {
        "version": version,
        "status": status,
        "notices": notices,
        "batches": batches,
        "gpu": gpu,
        "gpu_value": default_gpu_choice(board, study),
        "figure": figure,
        "failed": views.failed_view(snap),
    }


def on_pareto(
    board: Dashboard,
    study: str | None,
    axes: str,
    batches: Sequence[int] | None,
    selected: str | None,
    triggered: Sequence[str] = (),
    gpu_mode: str = GPU_FASTEST,
    x_axis: str = "avg_power_w",
) -> Any:
    """Return the Pareto figure, or only a patch of its ring when just the selection moved.

    ``triggered`` names the inputs that changed (``ctx.triggered_prop_ids``); ``gpu_mode``
    is the GPU cases shown (``fastest``: the fastest per batch size; ``all``); ``x_axis``
    what the x axis shows (average power or batch).
    """
    snap = board.snapshot(study)
    if list(triggered) == ["selected.data"] and isinstance(snap, StudySnapshot):
        patch = Patch()
        x: list[float] = []
        y: list[float] = []
        number = trial_number(selected)
        if number is not None:
            row = snap.table[snap.table["trial"] == number]
            if len(row) and row["tokens_per_s"].iloc[0] > 0:
                at = row[x_axis].iloc[0] if x_axis in row else 1.0
                x = [float(at) if at == at else 1.0]  # NaN: a study from before batch was kept
                y = [float(row["tokens_per_s"].iloc[0])]
        patch["data"][figures.SELECTED_TRACE]["x"] = x
        patch["data"][figures.SELECTED_TRACE]["y"] = y
        return patch
    model = snap.model if isinstance(snap, StudySnapshot) else None
    return views.pareto_view(
        snap,
        board.gpu_for(model) if model else [],
        [s.record for s in board.saved],
        selected=selected,
        log_axes=axes != "linear",
        batches=batches,
        gpu_mode=gpu_mode,
        x_axis=x_axis,
    )


def on_select(click: dict[str, Any] | None, trial_number: Any, triggered: str | None) -> Any:
    """Return the design key a click or the trial box selects (``no_update`` otherwise).

    Another study drops the selection (its trial numbers name other designs): ``""``.
    """
    if triggered == "study":
        return ""
    if triggered in ("trial-go", "trial-input"):
        if isinstance(trial_number, int | float) and trial_number >= 0:
            return f"trial:{int(trial_number)}"
        return no_update
    key = views.selected_from_click(click)
    return key if key is not None else no_update


def on_trial_input(board: Dashboard, study: str | None, number: Any) -> tuple[Any, str]:
    """Return the design key a typed trial number selects, and the message beside the box.

    A number the study has no trial of keeps the selection (``no_update``) and says so.
    """
    if not isinstance(number, int | float) or isinstance(number, bool) or number < 0:
        return no_update, "type a trial number (0 or more)"
    if not float(number).is_integer():
        return no_update, f"trial numbers are whole numbers (got {number})"
    key = f"trial:{int(number)}"
    if board.record(study, key) is None:
        return no_update, f"no trial {int(number)} in this study ({study}); selection unchanged"
    return key, ""


def on_selection_note(board: Dashboard, study: str | None, selected: str | None) -> Any:
    """Return the line under the Pareto plot about the selected design."""
    record = board.record(study, selected)
    if record is None:
        return "Click a point to select its design; the Design tab shows it in full."
    s = record.summary

    def num(key: str, spec: str) -> str:
        v = s.get(key)
        return format(v, spec) if isinstance(v, int | float) else "n/a"

    text = (
        f"Selected {record.label} ({record.status}): {num('tokens_per_s', ',.1f')} tokens/s, "
        f"{num('avg_power_w', '.3g')} W, {energy_text(s.get('energy_per_token_j'))}, "
        f"{s.get('bottleneck', '')}. Open the Design tab for its detail."
    )
    return html.Span(text, id="selection-text")


def on_detail(board: Dashboard, study: str | None, selected: str | None, image_format: str) -> Any:
    """Return the Design tab's content for the selected design."""
    if selected and board.record(study, selected) is None:
        return html.P(
            f"There is no {str(selected).replace(':', ' ')} in this study.", className="hint"
        )
    return views.detail_view(board.record(study, selected), image_format)


def on_timeline(
    board: Dashboard, study: str | None, selected: str | None, image_format: str, run: bool
) -> Any:
    """Return the utilisation-over-time figure (simulating a trial again when ``run``)."""
    from dashboards.timeline import (
        TimelineError,
        phase_spans,
        utilisation_by_unit,
        utilisation_over_time,
    )

    saved = board.saved_design(selected)
    if saved is not None:
        frame, summary = saved.frame, saved.record.summary
    else:
        optuna_study, trial = board.trial(study, selected)
        if trial is None:
            return html.P("Select a design first.", className="hint")
        if isinstance((trial.user_attrs.get("design") or {}).get("card_designs"), list):
            return html.P(
                f"Trial {trial.number} is a system of cards: its timeline is not replayed; "
                "each card's and link's figures are above.",
                className="hint",
            )
        if not run:
            return html.P(
                f"Press 'Simulate its timeline' to replay trial {trial.number} and see how "
                "busy each unit is over time.",
                className="hint",
            )
        if optuna_study is None:
            return html.P("Select a design first.", className="hint")
        try:
            frame = board.resim.frame(optuna_study, trial)
        except TimelineError as exc:
            return views.notices_view([exc.notice])
        summary = dict(TrialRecord.of(trial).summary)
    util = utilisation_over_time(frame, summary)
    units, centres, busy = utilisation_by_unit(frame, summary)
    kinds = figures.utilisation_figure(util, phase_spans(frame))
    return html.Div(
        [
            views.graph("timeline", kinds, image_format),
            html.Details(
                [
                    html.Summary(f"per unit ({len(units)} units)"),
                    views.graph(
                        "timeline-units",
                        figures.unit_heatmap_figure(units, centres, busy),
                        image_format,
                    ),
                ]
            ),
        ]
    )


def on_compare_edit(
    board: Dashboard,
    study: str | None,
    current: Sequence[str] | None,
    selected: str | None,
    triggered: str | None,
) -> tuple[Any, Any, str]:
    """Add the selected design to Compare, or clear it; return value, options, message.

    Compare holds trials as ``trial:<n>:<study>``, so another study keeps it: designs of
    two studies (a 370M and a 1.3B study) are compared side by side.
    """
    if triggered == "compare-clear":
        return [], [], "cleared"
    keys = [k for k in (current or []) if isinstance(k, str)]
    if triggered == "study":
        return keys, _compare_options(board, study, keys), ""
    record = board.record(study, selected) if selected else None
    if selected and record is None:
        return (
            keys,
            _compare_options(board, study, keys),
            (f"{str(selected).replace(':', ' ')} is not a design of this study"),
        )
    key = qualify(selected, study) if selected else None
    keys, message = views.add_to_compare(keys, key, record.label if record else None)
    return keys, _compare_options(board, study, keys), message


def _compare_records(
    board: Dashboard, study: str | None, keys: Sequence[str]
) -> list[tuple[str, DesignRecord]]:
    """Return Compare's ``(key, record)`` pairs; labels name the study when several are held."""
    pairs = [(k, r) for k in keys if (r := board.record(study, k)) is not None]
    studies = {split_study(k)[1] or study for k, _ in pairs if k.startswith("trial:")}
    if len(studies) < 2:
        return pairs
    return [
        (
            k,
            dataclasses.replace(r, label=f"{r.label} of {r.origin}")
            if k.startswith("trial:")
            else r,
        )
        for k, r in pairs
    ]


def _compare_options(
    board: Dashboard, study: str | None, keys: Sequence[str]
) -> list[dict[str, str]]:
    labels = {k: r.label for k, r in _compare_records(board, study, keys)}
    return [{"label": labels.get(k, k), "value": k} for k in keys]


def on_compare(
    board: Dashboard,
    study: str | None,
    keys: Sequence[str] | None,
    gpu_keys: Sequence[str] | None,
    image_format: str,
) -> Any:
    """Return Compare's table and bars."""
    records = [r for _, r in _compare_records(board, study, list(keys or []))]
    wanted = set(gpu_keys or [])
    gpu = [p for p in board.gpu_for(None) if p.key in wanted]
    return views.compare_view(views.compare_rows(records, gpu), image_format)


def default_gpu_choice(board: Dashboard, study: str | None) -> list[str]:
    """Return the GPU cases Compare starts with: the fastest batch-1 case of the model.

    The fastest as the Pareto view's (:func:`~dashboards.gpu.fastest_points`).
    """
    snap = board.snapshot(study)
    if not isinstance(snap, StudySnapshot):
        return []
    return [p.key for p in fastest_points(board.gpu_for(snap.model), [1])]


def on_study(board: Dashboard, study: str | None, image_format: str) -> Any:
    """Return the Study tab's content."""
    return views.study_view(board.snapshot(study), image_format)


def on_importance(board: Dashboard, study: str | None, image_format: str) -> Any:
    """Return the parameter-importance figure (PED-ANOVA; cached per study version)."""
    snap = board.snapshot(study)
    if not isinstance(snap, StudySnapshot) or not study:
        return html.P("No study loaded.", className="hint")
    try:
        got = board.importance(study)
    except Exception as exc:  # shown, not raised: Optuna refuses some degenerate studies
        log.warning("importance failed", exc_info=True)
        return views.notices_view(
            [Notice("warning", "Cannot compute parameter importance", " ".join(str(exc).split()))]
        )
    remarks = [Notice("warning", "Optuna's remark on these importances", w) for w in got.warnings]
    return html.Div(
        [
            *views.notices_view(remarks),
            views.graph(
                "importance", figures.importance_figure(got.values, got.note), image_format
            ),
        ]
    )


def _export(board: Dashboard, study: str | None, selected: str | None, fmt: str) -> Any:
    from dashboards.export import export_record

    record = board.record(study, selected)
    if record is None:
        raise LookupError("select a design first (Pareto or Design tab)")
    optuna_study, trial = board.trial(study, selected)
    return export_record(record, fmt, study=optuna_study, trial=trial)


def on_export(
    board: Dashboard, study: str | None, selected: str | None, fmt: str
) -> tuple[Any, str]:
    """Return the download for the selected design in ``fmt``, and a message."""
    from arch_models.spec import SpecError
    from explorer import ExplorerError

    try:
        out = _export(board, study, selected, fmt)
    except (LookupError, ExplorerError, SpecError) as exc:
        return no_update, " ".join(str(exc).split())[:300]
    return (
        {"content": _b64(out.content), "filename": out.filename, "base64": True},
        f"downloaded {out.filename}",
    )


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def on_export_preview(
    board: Dashboard, study: str | None, selected: str | None, fmt: str
) -> tuple[str, str]:
    """Return the Export tab's title and a preview of the file."""
    from arch_models.spec import SpecError
    from explorer import ExplorerError

    record = board.record(study, selected)
    if record is None:
        return "Select a design (Pareto or Design tab) to export it.", ""
    title = f"Export {record.label} ({record.status}) of {record.origin}"
    try:
        out = _export(board, study, selected, fmt)
    except (LookupError, ExplorerError, SpecError) as exc:
        return title, f"cannot export: {' '.join(str(exc).split())[:300]}"
    if out.text is None:
        import io
        import zipfile

        names = zipfile.ZipFile(io.BytesIO(out.content)).namelist()
        return title, f"{out.filename}: " + ", ".join(names)
    return title, out.text


def _wire(app: Any, fn: Any, *dependencies: Any, **options: Any) -> None:
    """Register ``fn`` as a callback (Dash's decorator, called as a function)."""
    app.callback(*dependencies, **options)(fn)


def register(app: Any, board: Dashboard) -> None:
    """Wire the callbacks to the page.

    The layout carries every view's first content (:func:`initial_state`), so no callback
    runs when the page loads: each one waits for its inputs to change.
    """
    fig = {"type": "figure", "name": "pareto"}

    def _refresh(_n: int, study: str | None, current: str | None) -> Any:
        return on_refresh(board, study, current)

    _wire(
        app,
        _refresh,
        Output("version", "data"),
        Output("status", "children"),
        Output("notices", "children"),
        Output("gpu-batches", "options"),
        Output("compare-gpu", "options"),
        Input("refresh", "n_intervals"),
        Input("study", "value"),
        State("version", "data"),
        prevent_initial_call=True,
    )

    def _gpu_default(options: list[dict[str, Any]], value: list[str], study: str | None) -> Any:
        valid = {o["value"] for o in options or []}
        kept = [v for v in value or [] if v in valid]
        return kept or default_gpu_choice(board, study)

    _wire(
        app,
        _gpu_default,
        Output("compare-gpu", "value"),
        Input("compare-gpu", "options"),
        State("compare-gpu", "value"),
        State("study", "value"),
        prevent_initial_call=True,
    )

    def _pareto(
        _v: str,
        axes: str,
        batches: list[int],
        mode: str,
        x_axis: str,
        selected: str | None,
        study: str,
    ) -> Any:
        triggered = list(ctx.triggered_prop_ids)
        return on_pareto(board, study, axes, batches, selected, triggered, mode, x_axis)

    _wire(
        app,
        _pareto,
        Output(fig, "figure"),
        Input("version", "data"),
        Input("axes", "value"),
        Input("gpu-batches", "value"),
        Input("gpu-mode", "value"),
        Input("pareto-x", "value"),
        Input("selected", "data"),
        State("study", "value"),
        prevent_initial_call=True,  # the layout carries the first figure
    )

    def _hover(hover: dict[str, Any] | None, study: str | None) -> Any:
        return views.hover_card(board.snapshot(study), hover)

    _wire(
        app,
        _hover,
        Output("pareto-tooltip", "show"),
        Output("pareto-tooltip", "bbox"),
        Output("pareto-tooltip", "children"),
        Input(fig, "hoverData"),
        State("study", "value"),
        prevent_initial_call=True,
    )

    def _failed(_v: str, study: str | None) -> Any:
        return views.failed_view(board.snapshot(study))

    _wire(
        app,
        _failed,
        Output("failed-list", "children"),
        Input("version", "data"),
        State("study", "value"),
        prevent_initial_call=True,
    )

    def _select(click: dict[str, Any] | None, _n: int, _s: int, study: str, number: Any) -> Any:
        triggered = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
        if triggered in ("trial-go", "trial-input"):
            return on_trial_input(board, study, number)
        return on_select(click, number, triggered), ""

    _wire(
        app,
        _select,
        Output("selected", "data"),
        Output("trial-message", "children"),
        Input(fig, "clickData"),
        Input("trial-go", "n_clicks"),
        Input("trial-input", "n_submit"),
        Input("study", "value"),
        State("trial-input", "value"),
        prevent_initial_call=True,
    )

    def _note(selected: str | None, study: str | None) -> Any:
        return on_selection_note(board, study, selected)

    _wire(
        app,
        _note,
        Output("pareto-selection", "children"),
        Input("selected", "data"),
        State("study", "value"),
        prevent_initial_call=True,
    )

    def _detail(selected: str | None, _v: str, study: str, fmt: str, typed: Any) -> Any:
        if ctx.triggered_id == "version" and not selected:
            return no_update, no_update
        number = trial_number(selected)
        return on_detail(board, study, selected, fmt), typed if number is None else number

    _wire(
        app,
        _detail,
        Output("detail", "children"),
        Output("trial-input", "value"),
        Input("selected", "data"),
        Input("version", "data"),
        State("study", "value"),
        State("image-format", "value"),
        State("trial-input", "value"),
        prevent_initial_call=True,
    )

    def _timeline(_n: int, selected: str | None, study: str, fmt: str) -> Any:
        return on_timeline(board, study, selected, fmt, ctx.triggered_id == "timeline-button")

    _wire(
        app,
        _timeline,
        Output("timeline", "children"),
        Input("timeline-button", "n_clicks"),
        Input("selected", "data"),
        State("study", "value"),
        State("image-format", "value"),
        prevent_initial_call=True,
    )

    def _compare_edit(
        _a: int, _b: int, _c: int, study: str, current: list[str], selected: str | None
    ) -> Any:
        keys, options, message = on_compare_edit(board, study, current, selected, ctx.triggered_id)
        return keys, options, message, message, message

    _wire(
        app,
        _compare_edit,
        Output("compare-keys", "value"),
        Output("compare-keys", "options"),
        Output("pareto-message", "children"),
        Output("detail-message", "children"),
        Output("compare-message", "children"),
        Input("pareto-add", "n_clicks"),
        Input("detail-add", "n_clicks"),
        Input("compare-clear", "n_clicks"),
        Input("study", "value"),
        State("compare-keys", "value"),
        State("selected", "data"),
        prevent_initial_call=True,
    )

    def _compare(keys: list[str], gpu: list[str], tab: str, study: str, fmt: str) -> Any:
        if tab != "compare":
            return no_update
        return on_compare(board, study, keys, gpu, fmt)

    _wire(
        app,
        _compare,
        Output("compare-body", "children"),
        Input("compare-keys", "value"),
        Input("compare-gpu", "value"),
        Input("tabs", "value"),
        State("study", "value"),
        State("image-format", "value"),
        prevent_initial_call=True,
    )

    def _study(_v: str, tab: str, study: str, fmt: str) -> Any:
        if tab != "study":
            return no_update
        return on_study(board, study, fmt)

    _wire(
        app,
        _study,
        Output("study-body", "children"),
        Input("version", "data"),
        Input("tabs", "value"),
        State("study", "value"),
        State("image-format", "value"),
        prevent_initial_call=True,
    )

    def _importance(_n: int, study: str, fmt: str) -> Any:
        return on_importance(board, study, fmt)

    _wire(
        app,
        _importance,
        Output("importance", "children"),
        Input("importance-button", "n_clicks"),
        State("study", "value"),
        State("image-format", "value"),
        prevent_initial_call=True,
    )

    def _preview(selected: str | None, fmt: str, tab: str, study: str) -> Any:
        if tab != "export":
            return no_update, no_update
        return on_export_preview(board, study, selected, fmt)

    _wire(
        app,
        _preview,
        Output("export-title", "children"),
        Output("export-preview", "children"),
        Input("selected", "data"),
        Input("export-format", "value"),
        Input("tabs", "value"),
        State("study", "value"),
        prevent_initial_call=True,
    )

    def _download(_n: int, selected: str | None, fmt: str, study: str) -> Any:
        return on_export(board, study, selected, fmt)

    _wire(
        app,
        _download,
        Output("export-download", "data"),
        Output("export-message", "children"),
        Input("export-button", "n_clicks"),
        State("selected", "data"),
        State("export-format", "value"),
        State("study", "value"),
        prevent_initial_call=True,
    )

    def _formats(fmt: str, ids: list[dict[str, str]]) -> Any:
        return [views.figure_config(i["name"], fmt) for i in ids]

    _wire(
        app,
        _formats,
        Output({"type": "figure", "name": ALL}, "config"),
        Input("image-format", "value"),
        State({"type": "figure", "name": ALL}, "id"),
        prevent_initial_call=True,
    )
    # A graph takes a new config only when it redraws; set the camera button's format on
    # the figures already drawn, in the page (no 10,000-point redraw).
    app.clientside_callback(
        """function (fmt) {
            document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
                if (gd._context) {
                    gd._context.toImageButtonOptions = Object.assign(
                        {}, gd._context.toImageButtonOptions,
                        {format: fmt, scale: fmt === "png" ? 2 : 1});
                }
                var title = "Download plot as " + fmt.toUpperCase();
                gd.querySelectorAll(".modebar-btn[data-title^='Download plot']").forEach(
                    function (b) { b.setAttribute("data-title", title); });
            });
            return fmt;
        }""",
        Output("image-format-applied", "data"),
        Input("image-format", "value"),
        prevent_initial_call=True,
    )

    def _tabs(tab: str) -> Any:
        return [None if value == tab else {"display": "none"} for value, _ in TABS]

    _wire(
        app,
        _tabs,
        *[Output(f"view-{value}", "style") for value, _ in TABS],
        Input("tabs", "value"),
        prevent_initial_call=True,
    )
