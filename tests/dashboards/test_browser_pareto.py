"""The Pareto plot's labels as the browser draws them (Debian's Chromium under Playwright).

Only a browser knows where Plotly put each text: the GPU star labels and the iso-J/token
labels must not overlap one another, with every GPU case and both batch sizes shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboards.state import DashboardConfig
from tests.dashboards.conftest import STUDY, shot

#: The GPU cases' names on the page (dashboards.names).
PACKED_B16 = "H200 packed 2-bit, CUDA graph, batch 16"
PACKED_B1 = "H200 packed 2-bit, CUDA graph, batch 1"
DENSE_B1 = "H200 dense bf16, CUDA graph, batch 1"

pytestmark = pytest.mark.slow

#: Every annotation's text and its drawn box on the page.
BOXES_JS = """() => [...document.querySelectorAll('#view-pareto .annotation')].map(a => {
  const r = a.querySelector('.annotation-text-g').getBoundingClientRect();
  return [a.textContent, r.left, r.top, r.right, r.bottom];
})"""


def _serve(serve: Any, study_db: Path, baselines: list[Path]) -> str:
    """The URL of the test study's dashboard with these GPU baselines."""
    return str(
        serve(DashboardConfig(storage=str(study_db), study=STUDY, baselines=baselines, refresh_s=0))
    )


def test_pareto_labels_do_not_overlap(
    page: Any, serve: Any, study_db: Path, baseline_file: Path
) -> None:
    page.goto(_serve(serve, study_db, [baseline_file]))
    page.click("#gpu-mode label:has-text('all')")
    page.click("#gpu-batches label:has-text('16')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#view-pareto .annotation')]"
        ".some(a => a.textContent.includes('aggregate of 16 sequences'))"
    )
    page.wait_for_timeout(500)
    boxes = page.evaluate(BOXES_JS)
    texts = [b[0] for b in boxes]
    assert PACKED_B16 + " (aggregate of 16 sequences)" in texts
    assert {DENSE_B1, PACKED_B1} <= set(texts)
    assert any(t.endswith("J/token") for t in texts)  # the iso-J/token lines' labels
    for i, (text, *a) in enumerate(boxes):
        for other, *b in boxes[:i]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, f"{text!r} overlaps {other!r} on the page"
    legend = page.locator("#view-pareto .legend").text_content() or ""
    assert "simulated (estimate)" in legend and "aggregate of 16 sequences" in legend
    shot(page, "pareto-all-gpu-b1-b16")
    assert not page.errors


@pytest.mark.parametrize("width", [1400, 1170])
def test_every_shipped_gpu_case_is_labelled_clear_of_the_others(
    page: Any, serve: Any, study_db: Path, shipped_as_tiny: list[Path], width: int
) -> None:
    """All 30 measured 370M cases of both cards, the widest page and the narrowest one."""
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(_serve(serve, study_db, shipped_as_tiny))
    page.click("#gpu-mode label:has-text('all')")
    page.click("#gpu-batches label:has-text('16')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#view-pareto .annotation')].length >= 30"
    )
    page.wait_for_timeout(500)
    boxes = page.evaluate(BOXES_JS)
    plot = page.evaluate(
        "() => { const r = document.querySelector('#view-pareto .nsewdrag')"
        ".getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
    )
    gpu = [b for b in boxes if not b[0].endswith("J/token")]
    assert len(gpu) == 30
    for i, (text, *a) in enumerate(boxes):
        inside = a[0] >= plot[0] - 1 and a[2] <= plot[2] + 1 and a[1] >= plot[1] - 1
        assert inside and a[3] <= plot[3] + 1, f"{text!r} leaves the plot at {width} px"
        for other, *b in boxes[:i]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, f"{text!r} overlaps {other!r} at {width} px"
    shot(page, f"pareto-shipped-all-{width}")
    assert not page.errors


def test_the_batch_axis_shows_designs_against_the_gpus_batch_figures(
    page: Any, serve: Any, study_db: Path, baseline_file: Path
) -> None:
    page.goto(_serve(serve, study_db, [baseline_file]))
    page.click("#gpu-batches label:has-text('16')")
    page.click("#pareto-x label:has-text('batch')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#view-pareto .xtitle')]"
        ".some(t => t.textContent.startsWith('batch'))"
    )
    stars = page.evaluate(
        """() => {
          const gd = document.querySelector('#view-pareto .js-plotly-plot');
          const t = gd.data.find(d => (d.name || '').startsWith('measured GPU'));
          return Array.from(t.x);
        }"""
    )
    assert sorted(stars) == [1, 16]  # the fastest case at each batch size
    title = page.locator("#view-pareto .gtitle").text_content() or ""
    assert "tokens/s against batch" in title
    assert page.locator("#view-pareto .annotation", has_text="J/token").count() == 0
    shot(page, "pareto-batch-axis")
    assert not page.errors


def test_the_page_starts_even_when_plotly_does_not_load(
    page: Any, serve: Any, study_db: Path, baseline_file: Path
) -> None:
    url = _serve(serve, study_db, [baseline_file])
    page.route("**/plotly.min.js", lambda route: route.abort())
    page.goto(url)
    page.wait_for_selector("#status:has-text('16 trials')")  # Dash started all the same
