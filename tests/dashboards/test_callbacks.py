"""The page's logic without a browser: each callback's function on a real study."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from dash import Patch, no_update

from dashboards import callbacks, views
from dashboards.app import create_app
from dashboards.data import PARAM_PREFIX
from dashboards.state import Dashboard, DashboardConfig
from tests.dashboards.conftest import STUDY

#: The GPU cases' names on the page (dashboards.names).
PACKED_B16 = "H200 packed 2-bit, CUDA graph, batch 16"
PACKED_B1 = "H200 packed 2-bit, CUDA graph, batch 1"
DENSE_B1 = "H200 dense bf16, CUDA graph, batch 1"


@pytest.fixture
def board(study_db: Path, baseline_file: Path) -> Dashboard:
    return Dashboard(DashboardConfig(storage=str(study_db), study=STUDY, baselines=[baseline_file]))


def _trials(board: Dashboard, status: str) -> list[int]:
    snap: Any = board.snapshot(STUDY)
    return [int(n) for n in snap.table.loc[snap.table["status"] == status, "trial"]]


def test_refresh_reports_changes_only(board: Dashboard) -> None:
    version, status, notices, batches, gpu = callbacks.on_refresh(board, STUDY, None)
    assert version.startswith(f"{STUDY}|{STUDY}:1|gpu1")
    assert "16 trials (7 feasible, 7 infeasible, 2 failed)" in status
    assert notices == []
    assert [b["value"] for b in batches] == [1, 16]
    assert [g["label"] for g in gpu] == [
        DENSE_B1,
        PACKED_B1,
        PACKED_B16,
    ]
    assert callbacks.on_refresh(board, STUDY, version) == (no_update,) * 5


def test_pareto_figure_and_selection_patch(board: Dashboard) -> None:
    table: Any = board.snapshot(STUDY).table
    first, second = _trials(board, "feasible")[:2]
    watts = float(table.loc[table["trial"] == first, "avg_power_w"].iloc[0])
    fig = callbacks.on_pareto(
        board, STUDY, "log", [1], f"trial:{first}", ["version.data"], gpu_mode="all"
    )
    names = [t.name for t in fig.data]
    assert names[0] == "selected" and list(fig.data[0].x) == [pytest.approx(watts)]
    assert "feasible (7)" in names and "failed (2), 2 without figures" in names
    assert "infeasible (7), 4 without figures" in names
    assert "measured GPU (2)" in names and "iso-J/token" in names
    assert fig.layout.xaxis.type == "log" and fig.layout.coloraxis.colorbar.ticktext
    feasible = next(t for t in fig.data if t.name == "feasible (7)")
    assert feasible.hoverinfo == "none"
    assert sorted(feasible.customdata) == _trials(board, "feasible")  # trial numbers only
    linear = callbacks.on_pareto(board, STUDY, "linear", [16], None, ["axes.value"], "all")
    assert linear.layout.xaxis.type == "linear"
    assert next(t for t in linear.data if t.name.startswith("measured")).text == (
        PACKED_B16 + " (aggregate of 16 sequences)",
    )
    patch = callbacks.on_pareto(board, STUDY, "log", [1], f"trial:{second}", ["selected.data"])
    assert isinstance(patch, Patch)
    ops = patch.to_plotly_json()["operations"]
    assert [op["location"] for op in ops] == [["data", 0, "x"], ["data", 0, "y"]]


def _gpu_trace(fig: Any) -> Any:
    return next((t for t in fig.data if t.name.startswith("measured GPU")), None)


def test_pareto_shows_the_fastest_gpu_case_by_default(board: Dashboard) -> None:
    def shown(batches: list[int] | None, *mode: str) -> list[str]:
        fig = callbacks.on_pareto(board, STUDY, "log", batches, None, ["version.data"], *mode)
        trace = _gpu_trace(fig)
        return [] if trace is None else [d[0] for d in trace.customdata]

    # batch 1: packed (12,000 tokens/s) beats dense (9,000); the 370m case is another model
    fig = callbacks.on_pareto(board, STUDY, "log", [1], None, ["version.data"])
    trace = _gpu_trace(fig)
    assert trace.name == "measured GPU (1)"
    assert trace.text == (PACKED_B1 + " (fastest measured)",)
    assert trace.customdata[0][6] == PACKED_B1 + " (fastest measured)"  # the hover
    assert shown([1]) == shown([1], "fastest") == ["gpu:0:1"]
    assert shown([1, 16]) == ["gpu:0:1", "gpu:0:2"]  # one per batch size selected
    assert shown([]) == []
    assert shown([1, 16], "all") == ["gpu:0:0", "gpu:0:1", "gpu:0:2"]
    all_b1 = _gpu_trace(callbacks.on_pareto(board, STUDY, "log", [1], None, [], "all"))
    assert all_b1.customdata[0][6] == DENSE_B1 + " (measured)"
    # Compare starts with the same case
    assert callbacks.default_gpu_choice(board, STUDY) == shown([1])
    # the first render (the layout's figure) shows the fastest too
    first = callbacks.initial_state(board, STUDY)["figure"]
    assert _gpu_trace(first).text == (PACKED_B1 + " (fastest measured)",)
    with pytest.raises(ValueError, match=r"'gpu_mode' must be in \('fastest', 'all'\)"):
        callbacks.on_pareto(board, STUDY, "log", [1], None, [], "fast")


def test_hover_card_shows_the_design(board: Dashboard) -> None:
    snap: Any = board.snapshot(STUDY)
    table = snap.table
    over = table[
        (table["status"] == "infeasible")
        & (table["state"] == "COMPLETE")
        & (table[PARAM_PREFIX + "tmac.rows_parallel"] == 256)
    ]
    n = int(over["trial"].iloc[0])  # simulated, but over the device's resources
    bbox = {"x0": 1, "x1": 2, "y0": 3, "y1": 4}
    show, where, card = views.hover_card(snap, {"points": [{"customdata": n, "bbox": bbox}]})
    text = str(card)
    assert show is True and where == bbox
    assert f"trial {n} · infeasible" in text and "tmac.rows_parallel = 256" in text
    assert "lut: needs" in text  # why it is infeasible
    assert "first token in" in text  # every FPGA trial has its time to first token
    assert "sequences)" not in text  # batch 1: no aggregate to explain
    gpu = {"points": [{"customdata": ["gpu:0:0"], "bbox": bbox}]}
    assert views.hover_card(snap, gpu)[0] is False
    # a design decoding a batch says its tokens/s are all its sequences'
    batched = dataclasses.replace(snap, table=table.assign(batch=16.0))
    text = str(views.hover_card(batched, {"points": [{"customdata": n, "bbox": bbox}]})[2])
    assert "tokens/s (all 16 sequences)" in text and "ms/token each" in text


def test_clicks_select_designs_gpu_points_do_not() -> None:
    point = {"points": [{"customdata": 7}]}
    assert callbacks.on_select(point, None, "pareto") == "trial:7"
    gpu = {"points": [{"customdata": ["gpu:0:1", "tiny", 0.02]}]}
    assert callbacks.on_select(gpu, None, "pareto") is no_update
    assert callbacks.on_select({"points": [{}]}, None, "pareto") is no_update
    assert callbacks.on_select(None, 3, "trial-go") == "trial:3"
    assert callbacks.on_select(None, -1, "trial-go") is no_update
    assert views.selected_from_click({"points": [{"customdata": ["results:2"]}]}) == "results:2"
    assert callbacks.on_select(point, None, "study") == ""  # another study: no selection


def test_a_typed_trial_that_does_not_exist_keeps_the_selection(board: Dashboard) -> None:
    trial = _trials(board, "feasible")[0]
    assert callbacks.on_trial_input(board, STUDY, trial) == (f"trial:{trial}", "")
    key, message = callbacks.on_trial_input(board, STUDY, 999)
    assert key is no_update and message.startswith("no trial 999 in this study")
    assert callbacks.on_trial_input(board, STUDY, -1)[0] is no_update
    assert callbacks.on_trial_input(board, STUDY, None)[0] is no_update
    assert callbacks.on_trial_input(board, STUDY, 2.5)[0] is no_update


@pytest.fixture
def two_studies(study_copy: Path, baseline_file: Path) -> Dashboard:
    """The study and a copy of it under another name (another model's study, in effect)."""
    import optuna

    url = f"sqlite:///{study_copy}"
    optuna.copy_study(from_study_name=STUDY, from_storage=url, to_storage=url, to_study_name="big")
    return Dashboard(
        DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[baseline_file])
    )


def test_compare_keeps_designs_of_two_studies(two_studies: Dashboard) -> None:
    board = two_studies
    feasible = _trials(board, "feasible")
    keys, _, _ = callbacks.on_compare_edit(board, STUDY, [], f"trial:{feasible[0]}", "pareto-add")
    # switching study keeps Compare, and the same trial number of the other study is new
    assert callbacks.on_compare_edit(board, "big", keys, "", "study")[0] == keys
    keys, options, message = callbacks.on_compare_edit(
        board, "big", keys, f"trial:{feasible[0]}", "pareto-add"
    )
    assert keys == [f"trial:{feasible[0]}:{STUDY}", f"trial:{feasible[0]}:big"]
    assert message.startswith(f"added trial {feasible[0]} to Compare (2)")
    assert [o["label"] for o in options] == [
        f"trial {feasible[0]} of {STUDY}",
        f"trial {feasible[0]} of big",
    ]
    body = str(callbacks.on_compare(board, "big", keys, [], "png"))
    assert f"trial {feasible[0]} of {STUDY}" in body and f"trial {feasible[0]} of big" in body
    # a key naming a study the storage does not hold resolves to nothing
    assert board.record(STUDY, f"trial:{feasible[0]}:nosuch") is None
    assert board.record(STUDY, f"trial:{feasible[0]}:../x.db") is None


def test_compare_of_gpu_cases_only_explains_the_missing_resources(board: Dashboard) -> None:
    body = callbacks.on_compare(board, STUDY, [], callbacks.default_gpu_choice(board, STUDY), "png")
    text = str(body)
    assert "compare-resources'" not in text.replace('"', "'")  # no empty resource panel
    assert "GPU baselines have no LUT, DSP or memory-block figures" in text
    trial = _trials(board, "feasible")[0]
    text = str(callbacks.on_compare(board, STUDY, [f"trial:{trial}"], [], "png"))
    assert "compare-resources" in text and "GPU baselines have no" not in text


def test_detail_of_a_trial_and_of_nothing(board: Dashboard) -> None:
    trial = _trials(board, "feasible")[0]
    text = str(callbacks.on_detail(board, STUDY, f"trial:{trial}", "png"))
    assert f"trial {trial}" in text and "kind: ternary_array" in text
    assert "accuracy cost" in text and "not measured" in text
    # the fidelity ladder: what is checked against what (the RTL twin builds these designs)
    assert "What is checked" in text and "vs this project's RTL (Verilator)" in text
    assert "Click a point" in str(callbacks.on_detail(board, STUDY, None, "png"))
    assert "There is no trial 999" in str(callbacks.on_detail(board, STUDY, "trial:999", "png"))
    failed = _trials(board, "failed")[0]
    text = str(callbacks.on_detail(board, STUDY, f"trial:{failed}", "png"))
    assert "no coefficient for this case (test)" in text and "not simulated" in text


def test_compare_holds_four_designs_and_gpu_cases(board: Dashboard) -> None:
    keys: list[str] = []
    for n in range(5):
        keys, options, message = callbacks.on_compare_edit(board, STUDY, keys, f"trial:{n}", "x")
    assert keys == [f"trial:{n}:{STUDY}" for n in range(4)]  # each key carries its study
    assert message == "Compare holds 4 designs; remove one first"
    assert options[1] == {"label": "trial 1", "value": f"trial:1:{STUDY}"}
    assert callbacks.on_compare_edit(board, STUDY, keys, "trial:1", "x")[2] == (
        "trial 1 is already in Compare"
    )
    assert callbacks.on_compare_edit(board, STUDY, keys, None, "compare-clear")[0] == []
    assert callbacks.on_compare_edit(board, STUDY, keys, "trial:1", "study")[0] == keys
    gpu = callbacks.default_gpu_choice(board, STUDY)
    assert gpu == ["gpu:0:1"]  # the fastest batch-1 case of the study's model
    body = str(callbacks.on_compare(board, STUDY, ["trial:0", "trial:7"], gpu, "svg"))
    assert "trial 0" in body and "trial 7" in body and PACKED_B1 in body
    records = [board.record(STUDY, "trial:0")]
    rows = views.compare_rows([r for r in records if r], board.gpu_for("tiny"))
    assert [r["gpu"] for r in rows] == [False, True, True, True]
    assert rows[1]["energy_per_token_j"] == pytest.approx(180.0 / 9000.0)


def test_export_downloads_each_format(board: Dashboard) -> None:
    trial = _trials(board, "feasible")[0]
    data, message = callbacks.on_export(board, STUDY, f"trial:{trial}", "sv")
    import base64

    text = base64.b64decode(data["content"]).decode()
    ident = f"u280_hbm_16core_trial{trial}"
    assert data["filename"] == f"{ident}_pkg.sv" and message.startswith("downloaded")
    assert f"// study: {STUDY}, trial {trial} (feasible)" in text and "endpackage" in text
    assert f"package {ident}_pkg;" in text
    other = _trials(board, "feasible")[1]
    downloads = {
        callbacks.on_export(board, STUDY, f"trial:{n}", fmt)[0]["filename"]
        for n in (trial, other)
        for fmt in ("sv", "vh", "tcl", "json", "yaml", "all")
    }
    assert len(downloads) == 12  # two trials' downloads never share a name
    data, _ = callbacks.on_export(board, STUDY, f"trial:{trial}", "all")
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(data["content"]))).namelist()
    from arch_models.rtl import SOURCES

    bundle = [f"{ident}_{n}" for n in ("top.sv", "files.f", "synth.ys", "vivado.tcl")]
    bundle += [f"{ident}_quartus.tcl", f"{ident}_README.md", *SOURCES]
    assert sorted(names) == sorted(
        [
            f"{ident}_pkg.sv",
            f"{ident}_params.vh",
            f"{ident}_generics.tcl",
            f"{ident}.json",
            f"{ident}.yaml",
            *bundle,
        ]
    )
    data, _ = callbacks.on_export(board, STUDY, f"trial:{trial}", "rtl")
    rtl = zipfile.ZipFile(io.BytesIO(base64.b64decode(data["content"]))).namelist()
    assert data["filename"].endswith("-rtl.zip") and sorted(rtl) == sorted(
        [f"{ident}_pkg.sv", *bundle]
    )
    import yaml

    content = callbacks.on_export(board, STUDY, f"trial:{trial}", "yaml")[0]["content"]
    described = yaml.safe_load(base64.b64decode(content))
    assert described["name"] == f"u280-hbm-16core-trial{trial}"
    assert described["description"].startswith(f"Trial {trial} of study {STUDY}: u280-hbm-16core")
    assert "256 KiB URAM" not in described["description"]  # the base design's prose
    title, preview = callbacks.on_export_preview(board, STUDY, f"trial:{trial}", "yaml")
    assert title == f"Export trial {trial} (feasible) of {STUDY}" and "units:" in preview
    assert callbacks.on_export(board, STUDY, None, "sv") == (
        no_update,
        "select a design first (Pareto or Design tab)",
    )
    pruned = next(
        int(r.trial)
        for r in board.snapshot(STUDY).table.itertuples()  # type: ignore[union-attr]
        if r.state == "PRUNED"
    )
    message = callbacks.on_export(board, STUDY, f"trial:{pruned}", "sv")[1]
    assert message.startswith(f"trial {pruned} has no valid design to export (infeasible: invalid")


def test_timeline_matches_the_summary(board: Dashboard) -> None:
    from dashboards.timeline import utilisation_by_unit, utilisation_over_time

    trial = _trials(board, "feasible")[0]
    assert "Press 'Simulate its timeline'" in str(
        callbacks.on_timeline(board, STUDY, f"trial:{trial}", "png", run=False)
    )
    shown = str(callbacks.on_timeline(board, STUDY, f"trial:{trial}", "png", run=True))
    assert "timeline-units" in shown
    study, frozen = board.trial(STUDY, f"trial:{trial}")
    frame = board.resim.frame(study, frozen)
    summary = frozen.user_attrs["summary"]
    util = utilisation_over_time(frame, summary, bins=400)
    assert set(util["kind"]) == set(summary["utilisation"])
    assert util["busy"].between(0, 1).all()
    units, centres, busy = utilisation_by_unit(frame, summary, bins=50)
    assert len(units) == busy.shape[0] and busy.shape[1] == len(centres) == 50
    # the decode window's mean busy fraction is the summary's figure
    start = frame.loc[frame["phase"] == "decode", "t_ns"].min() / 1e3
    decode = util[util["start_us"] >= start]
    for kind, expected in summary["utilisation"].items():
        got = decode.loc[decode["kind"] == kind, "busy"].mean()
        assert got == pytest.approx(expected, abs=0.05), kind
    failed = _trials(board, "failed")[0]
    assert "was not simulated" in str(
        callbacks.on_timeline(board, STUDY, f"trial:{failed}", "png", run=True)
    )


def test_study_view_and_importance(board: Dashboard) -> None:
    body = str(callbacks.on_study(board, STUDY, "png"))
    assert "progress" in body and "hypervolume" in body and "grid" in body
    assert "read in" not in body and "latest read of its trials from the storage" in body
    shown = callbacks.on_importance(board, STUDY, "png")
    fig = next(
        c for c in shown.children if getattr(c, "id", None) == views.graph("importance", {}).id
    ).figure
    assert {t.name for t in fig.data} == {
        "throughput, tokens/s (higher is better)",
        "average power, W (lower is better)",
    }
    assert "PED-ANOVA" in fig.layout.title.text


def test_app_layout_and_callbacks_are_wired(board: Dashboard) -> None:
    app = create_app(board=board)
    layout = app.layout()
    text = str(layout)
    for tab in ("pareto", "design", "compare", "study", "export"):
        assert f"view-{tab}" in text
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/assets/../../etc/passwd").status_code == 404
    assert len(app.callback_map) >= 15
    # the GPU mode control sits beside the batch sizes and drives the Pareto figure
    mode = next(c for c in layout._traverse() if getattr(c, "id", None) == "gpu-mode")
    assert mode.value == "fastest" and [o["value"] for o in mode.options] == ["fastest", "all"]
    pareto = next(v for v in app.callback_map.values() if "gpu-batches" in str(v["inputs"]))
    inputs = [(i["id"], i["property"]) for i in pareto["inputs"]]
    assert ("gpu-mode", "value") in inputs and ("gpu-batches", "value") in inputs


def test_results_folders_are_designs_too(
    study_db: Path, baseline_file: Path, tmp_path: Path
) -> None:
    from arch_models.spec import load_arch
    from cosim.engine import simulate
    from cosim.results import save_result
    from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
    from tests.dashboards.conftest import U280
    from workloads.trace import generate_trace

    arch = load_arch(U280)
    trace = generate_trace("tiny", prompt_tokens=1, gen_tokens=1, seed=0)
    result = simulate(arch, workload_from_trace(trace, design_elementwise_bytes(arch)))
    folder = save_result(result, tmp_path / "u280-tiny")
    board = Dashboard(
        DashboardConfig(
            storage=str(study_db), study=STUDY, baselines=[baseline_file], results=[folder]
        )
    )
    fig = callbacks.on_pareto(board, STUDY, "log", [1], None, ["version.data"])
    extra = next(t for t in fig.data if t.name == "u280-tiny (results)")
    assert list(extra.customdata[0]) == ["results:0"]
    record = board.record(STUDY, "results:0")
    # the U280 example does not fit with the RTL twin's arrays (README, the RTL twin)
    assert record is not None and record.status == ("feasible" if result.fits else "infeasible")
    assert "u280-tiny (results)" in str(callbacks.on_detail(board, STUDY, "results:0", "png"))
    shown = str(callbacks.on_timeline(board, STUDY, "results:0", "png", run=False))
    assert "timeline-units" in shown  # a results folder has its frame: no simulation needed
    data, _ = callbacks.on_export(board, STUDY, "results:0", "vh")
    assert data["filename"] == "u280_hbm_16core_params.vh"
    body = str(callbacks.on_compare(board, STUDY, ["results:0", "trial:0"], [], "png"))
    assert "u280-tiny (results)" in body and "trial 0" in body
