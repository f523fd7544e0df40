"""Figures as pure functions: the Pareto plot's parts, iso-J/token lines, hypervolume."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dashboards import figures
from dashboards.data import FIGURE_COLUMNS, PARAM_PREFIX
from dashboards.gpu import GpuPoint
from dashboards.names import energy_text


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    watts = rng.uniform(20, 45, n)
    tps = rng.uniform(500, 3000, n)
    status = rng.choice(["feasible", "infeasible", "failed"], n, p=[0.7, 0.2, 0.1])
    table = pd.DataFrame({"trial": np.arange(n), "state": "COMPLETE", "status": status})
    for col in FIGURE_COLUMNS:
        table[col] = np.nan
    table["tokens_per_s"] = np.where(status == "failed", np.nan, tps)
    table["avg_power_w"] = np.where(status == "failed", np.nan, watts)
    table["energy_per_token_j"] = table["avg_power_w"] / table["tokens_per_s"]
    table["ms_per_token"] = 1e3 / table["tokens_per_s"]
    table["bottleneck"] = "off-chip memory bandwidth (60% busy)"
    table[PARAM_PREFIX + "tmac.lanes"] = rng.choice([16, 32, 64], n)
    return table


def _gpu(tps: float, watts: float) -> GpuPoint:
    return GpuPoint(
        "gpu:0:0",
        "H200 dense bf16, CUDA graph, batch 1",
        "H200",
        "370m",
        "dense",
        "graph",
        1,
        tps,
        watts,
        watts / tps,
        1e3 / tps,
        1.2,
        "h200.json",
        "2026-11-29",
    )


def test_pareto_figure_of_many_trials() -> None:
    table = _table(10_000)
    fig = figures.pareto_figure(table, [_gpu(150.0, 140.0)], selected=3)
    kinds = {t.name.split(" (")[0]: t for t in fig.data}
    assert set(kinds) >= {"selected", "feasible", "infeasible", "failed", "Pareto front"}
    assert kinds["feasible"].type == "scattergl" and len(kinds["feasible"].x) == (
        (table["status"] == "feasible").sum()
    )
    assert "without figures" in next(t.name for t in fig.data if t.name.startswith("failed"))
    assert kinds["measured GPU"].marker.symbol == "star"
    front = kinds["Pareto front"]
    assert list(front.x) == sorted(front.x)  # a staircase from low to high power
    levels = [a.text for a in fig.layout.annotations if a.name.startswith("iso:")]
    assert levels and all(text.endswith("/token") for text in levels)


def test_pareto_figure_of_an_empty_study() -> None:
    table = _table(0)
    fig = figures.pareto_figure(table, [])
    assert [t.name for t in fig.data][:4] == [
        "selected",
        "feasible (0)",
        "infeasible (0)",
        "failed (0)",
    ]


def test_iso_energy_levels_and_colour_ticks() -> None:
    assert figures.iso_energy_levels(0.004, 0.06) == pytest.approx([0.005, 0.01, 0.02, 0.05])
    assert figures.iso_energy_levels(0.0, 1.0) == []
    vals, text = figures._colour_ticks(math.log10(3.7e-4), math.log10(4.5e-4))
    assert len(vals) >= 3 and text[0] == "0.38 mJ"  # one unit on the page: millijoules


def test_hypervolume_of_a_staircase() -> None:
    table = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3],
            "status": ["feasible", "feasible", "infeasible", "feasible"],
            "tokens_per_s": [100.0, 200.0, 500.0, 150.0],
            "avg_power_w": [10.0, 20.0, 1.0, 5.0],
        }
    )
    trials, volume, ref = figures.hypervolume_history(table, reference_w=30.0)
    assert list(trials) == [0, 1, 2, 3] and ref == 30.0
    # after trial 3: 150 x (30 - 5) + (200 - 150) x (30 - 20)
    assert list(volume) == pytest.approx([2000.0, 2000.0 + 100 * 10, 3000.0, 3750.0 + 500.0])


def test_detail_figures_say_when_there_is_nothing() -> None:
    for make in (figures.resources_figure, figures.energy_figure, figures.bounds_figure):
        fig = make({})
        assert fig.layout.annotations and "not simulated" in fig.layout.annotations[0].text
    fig = figures.bounds_figure(
        {
            "tokens_per_s": 100.0,
            "bound_tokens_per_s": 150.0,
            "memory_bound_tokens_per_s": 1e6,
            "binding_bound": "compute",
            "fraction_of_memory_bound": 1e-4,
        }
    )
    assert fig.layout.xaxis.type == "log"


def test_best_feasible_so_far_steps_through_infeasible_trials() -> None:
    table = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3, 4, 5],
            "status": ["infeasible", "feasible", "infeasible", "failed", "feasible", "infeasible"],
            "tokens_per_s": [900.0, 100.0, 500.0, math.nan, 80.0, 1e4],
            "avg_power_w": [1.0] * 6,
        }
    )
    best = figures.best_feasible_so_far(table)
    assert math.isnan(best[0])  # no feasible trial yet
    assert list(best[1:]) == [100.0, 100.0, 100.0, 100.0, 100.0]  # never broken, never raised
    line = next(t for t in figures.progress_figure(table).data if t.name == "best feasible so far")
    assert line.line.shape == "hv" and list(line.y[1:]) == [100.0] * 5


def test_study_figures_name_objectives_in_words() -> None:
    table = pd.DataFrame(
        {
            "trial": [0, 1],
            "status": ["feasible", "feasible"],
            "tokens_per_s": [100.0, 200.0],
            "avg_power_w": [10.0, 20.0],
        }
    )
    fig = figures.hypervolume_figure(table)
    title = fig.layout.title.text
    assert "area" in title and "22 W" in title and "faster or draws less power" in title
    assert fig.layout.yaxis.title.text == "area (tokens/s × W)"
    imp = figures.importance_figure({"tokens_per_s": {"a": 1.0}, "avg_power_w": {"a": 1.0}})
    names = [t.name for t in imp.data]
    assert names == [
        figures.OBJECTIVE_LABELS["tokens_per_s"],
        figures.OBJECTIVE_LABELS["avg_power_w"],
    ]
    assert not any("_" in n for n in names)


def test_bounds_say_how_much_of_each_bound_is_reached() -> None:
    fig = figures.bounds_figure(
        {"tokens_per_s": 100.0, "bound_tokens_per_s": 200.0, "binding_bound": "compute"}
    )
    simulated, bound = fig.data[0].text
    assert simulated == "100.0 tok/s" and "100%" not in simulated
    assert bound == "200.0 tok/s (simulated reaches 50% of it)"


def test_compare_marks_designs_that_do_not_fit() -> None:
    rows = [
        {"label": "trial 1", "gpu": False, "status": "feasible", "tokens_per_s": 10.0},
        {"label": "trial 2", "gpu": False, "status": "infeasible", "tokens_per_s": 99.0},
        {"label": "H200", "gpu": True, "status": "measured", "tokens_per_s": 50.0},
    ]
    for bars in figures.compare_figure(rows).data:
        assert list(bars.marker.pattern.shape) == ["", "/", ""]
        assert list(bars.x) == ["trial 1", "trial 2 (does not fit)", "H200"]
        assert bars.text[1].endswith("· does not fit") and "fit" not in bars.text[0]


def _label_boxes(fig: Any, width: int) -> list[tuple[str, float, float, float, float]]:
    """Every annotation's text box in pixels, the figure drawn ``width`` pixels wide.

    Boxes are estimated from text length × font size; positions are read from the layout
    as Plotly reads them (pixel offsets, or axis units where ``axref`` names the axis).
    """
    h = fig.layout.height
    m, xr, yr = fig.layout.margin, fig.layout.xaxis.range, fig.layout.yaxis.range

    def pixel(x: float, y: float) -> tuple[float, float]:
        return (
            m.l + (x - xr[0]) / (xr[1] - xr[0]) * (width - m.l - m.r),
            h - m.b - (y - yr[0]) / (yr[1] - yr[0]) * (h - m.t - m.b),
        )

    out = []
    for a in fig.layout.annotations:
        px, py = pixel(a.x, a.y)
        if a.showarrow and a.axref == "x":
            cx, cy = pixel(a.ax, a.ay)
        elif a.showarrow:
            cx, cy = px + a.ax, py + a.ay
        else:
            cx, cy = px + (a.xshift or 0), py - (a.yshift or 0)
        bw, bh = len(a.text) * a.font.size * 0.6 + 4, a.font.size * 1.2 + 4
        out.append((a.text, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2))
    return out


@pytest.mark.parametrize("model", ["370m", "1.3b", "2.7b"])
@pytest.mark.parametrize("batches", [[1], [16], [1, 16]])
def test_gpu_and_iso_labels_of_the_shipped_baselines_do_not_overlap(
    model: str, batches: list[int]
) -> None:
    from dashboards.gpu import load_baselines, points_for_model
    from gpubench.schema import shipped_baseline_paths

    points, _ = load_baselines(shipped_baseline_paths())
    shown = points_for_model(points, model, batches)  # the "all" GPU mode
    assert len(shown) >= 10
    fig = figures.pareto_figure(_table(300), shown)
    # placed for the least width the page draws the figure at; any wider one only
    # spreads the labels apart (the page's widest is 1400 less its paddings)
    for width in (figures.PARETO_MIN_WIDTH_PX, 1250, 1338, 1900):
        boxes = _label_boxes(fig, width)
        for i, (text, *a) in enumerate(boxes):
            for other, *b in boxes[:i]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, f"{text!r} overlaps {other!r} at {width} px"
            inside = a[0] >= fig.layout.margin.l and a[2] <= width - fig.layout.margin.r
            assert inside, f"{text!r} leaves the plot at {width} px"
    # every star is labelled (its own annotation, a leader line to it), and no J/token
    # label covers a star
    gpu = next(t for t in fig.data if t.name.startswith("measured GPU"))
    width, m = figures.PARETO_MIN_WIDTH_PX, fig.layout.margin
    xr, yr, h = fig.layout.xaxis.range, fig.layout.yaxis.range, fig.layout.height
    iso = [b for b in _label_boxes(fig, width) if b[0].endswith("J/token")]
    for x, y in zip(gpu.x, gpu.y, strict=True):
        sx = m.l + (math.log10(x) - xr[0]) / (xr[1] - xr[0]) * (width - m.l - m.r)
        sy = h - m.b - (math.log10(y) - yr[0]) / (yr[1] - yr[0]) * (h - m.t - m.b)
        for text, x0, y0, x1, y1 in iso:
            assert x1 <= sx - 8 or sx + 8 <= x0 or y1 <= sy - 8 or sy + 8 <= y0, (text, x, y)
    stars = [a for a in fig.layout.annotations if a.showarrow]
    assert len(stars) == len(gpu.x) == len(shown)
    assert [a.text for a in stars] == list(gpu.text)
    assert {(a.x, a.y) for a in stars} == {
        (math.log10(x), math.log10(y)) for x, y in zip(gpu.x, gpu.y, strict=True)
    }
    # batch 16 says its tokens/s are an aggregate: in the legend and each star's hover
    if 16 in batches:
        assert any("aggregate of 16 sequences" in (t.name or "") for t in fig.data)
    for p, data in zip(shown, gpu.customdata, strict=True):
        assert "(measured)" in data[6]
        assert ("aggregate of 16 sequences" in data[6]) == (p.batch == 16)


def test_every_iso_line_is_labelled_at_its_end() -> None:
    fig = figures.pareto_figure(_table(300), [_gpu(150.0, 140.0)])
    lines = [t for t in fig.data if (t.meta or {}).get("kind") == "iso"]
    labels = [a for a in fig.layout.annotations if (a.name or "").startswith("iso:")]
    assert len(lines) >= 3 and len(labels) == len(lines)
    boxes = {b[0]: b[1:] for b in _label_boxes(fig, figures.PARETO_MIN_WIDTH_PX)}
    xr, yr, m = fig.layout.xaxis.range, fig.layout.yaxis.range, fig.layout.margin
    for line, label in zip(lines, labels, strict=True):
        j = line.meta["j_per_token"]
        assert label.text == energy_text(j)
        # beside the line's end: its box within a few pixels of it
        end_x = m.l + (math.log10(line.x[-1]) - xr[0]) / (xr[1] - xr[0]) * (
            figures.PARETO_MIN_WIDTH_PX - m.l - m.r
        )
        end_y = (
            fig.layout.height
            - m.b
            - (math.log10(line.x[-1] / j) - yr[0])
            / (yr[1] - yr[0])
            * (fig.layout.height - m.t - m.b)
        )
        x0, y0, x1, y1 = boxes[label.text]
        assert x0 - 6 <= end_x <= x1 + 6 and y0 - 6 <= end_y <= y1 + 6, label.text


def test_an_iso_label_slides_along_the_edge_off_a_gpu_star() -> None:
    import plotly.graph_objects as go

    from dashboards._labels import STAR_PX, Box

    size = (figures.PARETO_MIN_WIDTH_PX, figures.PARETO_HEIGHT_PX)
    frame = figures._Frame.of([20.0, 45.0, 140.0], [500.0, 3000.0, 150.0], True, size)
    alone = figures._iso_lines(go.Figure(), frame)
    assert len(alone) >= 3
    for k, box in enumerate(alone):  # a star where each label was, one at a time
        star = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
        moved = figures._iso_lines(go.Figure(), frame, [star])
        assert moved[:k] == alone[:k] and moved[k + 1 :] == alone[k + 1 :]
        r = STAR_PX
        clear = Box(star[0] - r, star[1] - r, star[0] + r, star[1] + r)
        assert not moved[k].overlaps(clear)
        assert not any(moved[k].overlaps(b) for b in moved[:k] + moved[k + 1 :])
        # along the edge its line ends on (the same top or the same right side), near its end
        w, h = box.x1 - box.x0, box.y1 - box.y0
        along_top = moved[k].y0 == box.y0 and 0 < abs(moved[k].x0 - box.x0) <= 2 * w
        along_right = moved[k].x0 == box.x0 and 0 < abs(moved[k].y0 - box.y0) <= 2 * h
        assert along_top or along_right, (box, moved[k])


def test_simulated_points_say_so_and_measured_ones_too() -> None:
    fig = figures.pareto_figure(
        _table(50), [_gpu(150.0, 140.0)], extra=[("results:0", "u280", 900.0, 30.0, 0.03)]
    )
    for t in fig.data:
        kind = (t.meta or {}).get("kind")
        if kind == "trials" or t.name == "u280":
            assert t.legendgrouptitle.text == "FPGA designs, simulated (estimate):"
    assert "simulated (estimate)" in next(t for t in fig.data if t.name == "u280").hovertemplate
    assert "simulated" in fig.layout.coloraxis.colorbar.title.text
    gpu = next(t for t in fig.data if t.name.startswith("measured GPU"))
    assert gpu.customdata[0][6] == "H200 dense bf16, CUDA graph, batch 1 (measured)"
    assert gpu.text == ("H200 dense bf16, CUDA graph, batch 1",)  # few: in full on the plot


def test_trial_colours_follow_the_colour_bar() -> None:
    """Colours computed on the server sit on the colour bar's scale (Viridis, reversed)."""
    import plotly.colors

    viridis = plotly.colors.sequential.Viridis
    colours = figures.energy_colours(np.array([-3.0, -1.0, -2.0, np.nan, -9.0]), -3.0, -1.0)
    assert colours[0] == viridis[-1].lower()  # the lowest J/token: the scale's yellow end
    assert colours[1] == viridis[0].lower()  # the highest: its dark end
    assert colours[2] not in (colours[0], colours[1])
    assert colours[4] == colours[0]  # beyond the bar: its end colour
    fig = figures.pareto_figure(_table(6), [])
    feasible = next(t for t in fig.data if t.name.startswith("feasible"))
    assert all(str(c).startswith("#") for c in feasible.marker.color)
    assert fig.layout.coloraxis.cmin < fig.layout.coloraxis.cmax
    # infeasible designs are rings of the same colours: a clear fill, the colour on the
    # border, and a symbol WebGL draws without a distance-field texture
    table = _table(40)
    fig = figures.pareto_figure(table, [])
    ring = next(t for t in fig.data if t.name.startswith("infeasible"))
    assert ring.marker.symbol == "circle" and ring.marker.color == "rgba(0,0,0,0)"
    part = table[(table["status"] == "infeasible") & (table["tokens_per_s"] > 0)]
    assert len(part) >= 3
    lo, hi = fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax
    expected = figures.energy_colours(np.log10(part["energy_per_token_j"].to_numpy()), lo, hi)
    assert list(ring.marker.line.color) == expected and ring.marker.line.width == 1.5


def test_the_page_names_things_in_words() -> None:
    from dashboards import names

    assert names.resource_name("bram_36k") == "block RAM (36 Kb)"
    assert names.part_name("ternary_array") == "ternary array"
    assert names.part_name("some_new_unit") == "some new unit"  # never an identifier
    assert names.gpu_label("H100", "dense_compiled", "graph", 16) == (
        "H100 dense bf16 (torch.compile), CUDA graph, batch 16"
    )
    assert names.gpu_short_label("H200", "packed", "eager", 1) == "H200 packed eager"
    assert names.gpu_short_label("H200", "transformer_fast", "graph", 16) == (
        "H200 Transf++ fast graph ×16"
    )
    assert names.energy_text(0.009963) == "9.96 mJ/token" and names.energy_text(None) == "—"
    assert names.value_text(True) == "yes" and names.value_text(300.0) == "300"


def test_the_front_drawn_is_that_of_the_studys_objectives() -> None:
    from explorer.objectives import front_mask

    table = _table(200, seed=4)
    table["time_to_first_token_ms"] = np.random.default_rng(5).uniform(1, 9, len(table))
    plain = figures.pareto_figure(table)
    stairs = next(t for t in plain.data if (t.meta or {}).get("kind") == "front")
    assert stairs.mode == "lines" and stairs.name.startswith("Pareto front (")
    names = ("tokens_per_s", "energy_per_token_j", "time_to_first_token_ms")
    fig = figures.pareto_figure(table, objectives=names)
    front = next(t for t in fig.data if (t.meta or {}).get("kind") == "front")
    assert front.mode == "markers"
    assert front.name.startswith(
        "Pareto front of tokens/s, energy per token (J), time to first token (ms) ("
    )
    feasible = table[table["status"] == "feasible"]
    expected = feasible[front_mask(feasible[list(names)].to_numpy(float), names)]
    assert sorted(front.x) == sorted(expected["avg_power_w"])
    assert len(front.x) > len(stairs.x)  # a third objective keeps more designs


def test_the_batch_axis_sets_designs_beside_the_gpus_batch_figures() -> None:
    import dataclasses

    table = _table(120, seed=6)
    table["batch"] = np.random.default_rng(7).choice([1, 2, 4, 8, 16, 32], len(table))
    table.loc[table.index[:5], "batch"] = np.nan  # a study from before the batch was kept
    b1 = _gpu(150.0, 140.0)
    b16 = dataclasses.replace(b1, key="gpu:0:1", batch=16, tokens_per_s=1900.0)
    fig = figures.pareto_figure(table, [b1, b16], x_axis="batch")
    assert fig.layout.xaxis.title.text == figures.X_AXES["batch"]
    assert not [t for t in fig.data if (t.meta or {}).get("kind") == "iso"]  # no J/token lines
    gpu = next(t for t in fig.data if t.name.startswith("measured GPU"))
    assert list(gpu.x) == [1.0, 16.0]
    assert [d[7] for d in gpu.customdata] == [140.0, 140.0]  # the hover keeps their watts
    trials = [t for t in fig.data if (t.meta or {}).get("kind") == "trials"]
    shown = sorted(x for t in trials for x in t.x)
    expected = table[(table["tokens_per_s"] > 0)]["batch"].fillna(1.0)
    assert shown == sorted(expected)
    assert set(fig.layout.xaxis.tickvals) >= {1, 2, 4, 8, 16, 32}
    with pytest.raises(ValueError, match="x_axis must be one of"):
        figures.pareto_figure(table, x_axis="clock")
