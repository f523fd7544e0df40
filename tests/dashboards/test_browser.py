"""The dashboard in a real browser (Debian's Chromium under Playwright).

One walk through the views on a real study (click a Pareto point and see its detail, add
two designs to Compare, download an export and read it), a live update, and a corrupt
study that shows its message. Each view's screenshot lands in test-artifacts/dashboard/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dashboards.state import DashboardConfig
from tests.dashboards.conftest import STUDY, add_trial_copy, shot

#: The GPU cases' names on the page (dashboards.names).
PACKED_B1 = "H200 packed 2-bit, CUDA graph, batch 1"
DENSE_B1 = "H200 dense bf16, CUDA graph, batch 1"

pytestmark = pytest.mark.slow

#: Page coordinates of a trial's point on the Pareto plot (Plotly's own axis mapping).
POINT_JS = """(trial) => {
  const gd = document.querySelector('#view-pareto .js-plotly-plot');
  const box = gd.getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  for (const t of gd._fullData) {
    if (!t.meta || t.meta.kind !== 'trials') continue;
    for (let i = 0; i < t.customdata.length; i++) {
      if (Number(t.customdata[i]) === trial) {
        return [box.left + xa._offset + xa.l2p(xa.d2l(t.x[i])),
                box.top + ya._offset + ya.l2p(ya.d2l(t.y[i]))];
      }
    }
  }
  return null;
}"""

PLOTTED_JS = """() => {
  const gd = document.querySelector('#view-pareto .js-plotly-plot');
  if (!gd || !gd._fullData) return [];
  const out = [];
  for (const t of gd._fullData) {
    if (t.meta && t.meta.kind === 'trials') {
      t.customdata.forEach((c, i) => out.push([Number(c), t.meta.status, t.x[i], t.y[i]]));
    }
  }
  return out;
}"""

#: The labels of the measured GPU trace(s) on the Pareto plot.
GPU_LABELS_JS = """() => document.querySelector('#view-pareto .js-plotly-plot').data
  .filter(t => (t.name || '').startsWith('measured GPU')).map(t => t.text)"""


def _wait_for_plot(page: Any) -> dict[str, list[int]]:
    """Wait for the points; return by status the trials drawn where no other one is."""
    page.wait_for_function(f"() => ({PLOTTED_JS})().length > 0")
    points = page.evaluate(PLOTTED_JS)
    spots = [(x, y) for _, _, x, y in points]
    out: dict[str, list[int]] = {}
    for n, status, x, y in sorted(points):
        if spots.count((x, y)) == 1:
            out.setdefault(status, []).append(n)
    return out


def _settled_point(page: Any, trial: int) -> list[float]:
    """The trial's page coordinates once two reads 0.25 s apart agree.

    A plot on a tab shown again is resized by Plotly after the tab appears; coordinates
    read before that would point beside the trial.
    """
    last = None
    for _ in range(40):
        page.evaluate("() => window.scrollTo(0, 0)")
        xy = page.evaluate(POINT_JS, trial)
        assert xy is not None, f"trial {trial} is not on the plot"
        if xy == last:
            return list(xy)
        last = xy
        page.wait_for_timeout(250)
    raise AssertionError(f"trial {trial}'s point kept moving")


def _click_trial(page: Any, trial: int, attempts: int = 4) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    label = f"#hover-card:has-text('trial {trial} ·')"
    for attempt in range(attempts):
        xy = _settled_point(page, trial)
        page.mouse.move(xy[0] - 30, xy[1] - 30)
        page.mouse.move(xy[0], xy[1], steps=3)
        # Plotly clicks the point it last hovered: wait for this one's hover label first.
        try:
            page.wait_for_selector(label, timeout=10_000)
            break
        except PlaywrightTimeout:  # the plot moved under the pointer: look again
            if attempt == attempts - 1:
                raise
    page.mouse.click(xy[0], xy[1])
    page.wait_for_selector(f"#selection-text:has-text('trial {trial} ')")


def test_walk_through_every_view(
    page: Any, serve: Any, study_db: Path, baseline_file: Path, tmp_path: Path
) -> None:
    url = serve(
        DashboardConfig(storage=str(study_db), study=STUDY, baselines=[baseline_file], refresh_s=0)
    )
    page.goto(url)
    alone = _wait_for_plot(page)
    # Dash's polyfill is not loaded (the page's own generator runtime stands in for it):
    # the browser's own string parsing, not the polyfill's slower script copies, which
    # take U+180E for white space
    assert page.evaluate(
        "() => ['\\u180e'.trim().length === 1, isNaN(parseInt('\\u180e1')),"
        " isNaN(parseFloat('\\u180e1')), window._babelPolyfill === undefined,"
        " typeof regeneratorRuntime.wrap]"
    ) == [True, True, True, True, "function"]
    expect_text = page.locator("#status")
    assert re.search(
        r"16 trials \(\d+ feasible, \d+ infeasible, 2 failed\)", expect_text.inner_text()
    )
    gpu = page.evaluate(GPU_LABELS_JS)
    assert gpu == [[PACKED_B1 + " (fastest measured)"]]  # the fastest by default
    page.click("#gpu-mode label:has-text('all')")
    page.wait_for_function(f"() => JSON.stringify(({GPU_LABELS_JS})()).includes('dense')")
    assert page.evaluate(GPU_LABELS_JS) == [[DENSE_B1, PACKED_B1]]
    shot(page, "1-pareto")
    page.click("#gpu-mode label:has-text('fastest')")
    page.wait_for_function(f"() => !JSON.stringify(({GPU_LABELS_JS})()).includes('dense')")
    assert page.evaluate(GPU_LABELS_JS) == [[PACKED_B1 + " (fastest measured)"]]
    page.click("#image-format label:has-text('SVG')")
    page.wait_for_function(
        "() => document.querySelector('#view-pareto .js-plotly-plot')"
        "._context.toImageButtonOptions.format === 'svg'"
    )

    first, second = alone["feasible"][0], alone["infeasible"][0]
    _click_trial(page, first)
    assert "layout.cores = " in page.locator("#hover-card").inner_text()  # key parameters
    shot(page, "1b-pareto-selected")
    page.click("#tab-design")
    page.wait_for_selector(f"#detail-title:has-text('trial {first}')")
    assert "kind: ternary_array" in page.locator("#detail-yaml").text_content()
    figures = "document.querySelectorAll('#view-design .js-plotly-plot').length"
    page.wait_for_function(f"() => {figures} >= 3")  # the bounds, resources, energy figures
    page.click("#timeline-button")
    page.wait_for_selector("#timeline .js-plotly-plot", timeout=60_000)
    page.click("#detail-add")
    page.wait_for_selector("#detail-message:has-text('added trial')")
    shot(page, "2-design")

    page.click("#tab-pareto")
    _click_trial(page, second)
    page.click("#pareto-add")
    page.wait_for_selector("#pareto-message:has-text('Compare (2)')")
    page.click("#tab-compare")
    rows = page.locator("#compare-table tbody tr")
    rows.nth(2).wait_for()
    labels = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert labels == [f"trial {first}", f"trial {second}", PACKED_B1]
    shot(page, "3-compare")

    page.click("#tab-study")
    page.wait_for_selector("#study-body .js-plotly-plot")
    page.click("#importance-button")
    page.wait_for_selector("#importance .js-plotly-plot", timeout=60_000)
    shot(page, "4-study")

    page.click("#tab-export")
    page.wait_for_selector("#export-title:has-text('trial')")
    page.check("#export-format label:has-text('sv (') input")  # older Dash: no value attribute
    page.wait_for_selector("#export-preview:has-text('package')")
    with page.expect_download() as info:
        page.click("#export-button")
    download = info.value
    text = Path(download.path()).read_text()
    assert download.suggested_filename.endswith("_pkg.sv")
    assert f"study: {STUDY}, trial {second} (infeasible)" in text
    assert "package " in text and "localparam" in text and "endpackage" in text
    shot(page, "5-export")
    assert not page.errors


def test_live_update_and_corrupt_study(
    page: Any, serve: Any, study_copy: Path, baseline_file: Path, tmp_path: Path
) -> None:
    url = serve(
        DashboardConfig(
            storage=str(study_copy), study=STUDY, baselines=[baseline_file], refresh_s=1
        )
    )
    page.goto(url)
    _wait_for_plot(page)
    page.wait_for_selector("#status:has-text('16 trials')")
    add_trial_copy(study_copy)
    page.wait_for_selector("#status:has-text('17 trials')", timeout=15_000)

    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database\n" * 100)
    page.goto(
        serve(DashboardConfig(storage=str(corrupt), study="x", baselines=[tmp_path / "none.json"]))
    )
    notice = page.locator(".notice-error").first
    notice.wait_for()
    assert "Cannot read study 'x'" in notice.inner_text()
    page.wait_for_selector(".notice-warning:has-text('no such file')")
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    shot(page, "6-corrupt-study")
    assert not page.errors


#: For each control label, the gap in pixels to the control beside it.
LABEL_GAPS_JS = """() => Array.from(document.querySelectorAll('.control-label')).map(s => {
  const next = s.nextElementSibling;
  const target = next && (next.querySelector('input') || next);
  if (!target || !s.offsetParent) return [s.textContent, null];
  return [s.textContent,
          target.getBoundingClientRect().left - s.getBoundingClientRect().right];
})"""


def test_state_survives_a_missing_trial_and_a_study_switch(
    page: Any, serve: Any, study_copy: Path, baseline_file: Path
) -> None:
    import optuna

    url = f"sqlite:///{study_copy}"
    optuna.copy_study(from_study_name=STUDY, from_storage=url, to_storage=url, to_study_name="big")
    page.goto(
        serve(
            DashboardConfig(
                storage=str(study_copy), study=STUDY, baselines=[baseline_file], refresh_s=0
            )
        )
    )
    alone = _wait_for_plot(page)
    gaps = dict(page.evaluate(LABEL_GAPS_JS))
    for label in ("save figures as", "axes", "GPU batch sizes", "GPU"):
        assert gaps[label] is not None and gaps[label] >= 6, (label, gaps)

    feasible, infeasible = alone["feasible"][0], alone["infeasible"][0]
    page.click("#tab-design")

    def show(trial: int) -> None:
        page.fill("#trial-input", str(trial))
        page.press("#trial-input", "Enter")

    show(feasible)
    page.wait_for_selector(f"#detail-title:has-text('trial {feasible}')")
    show(999)
    page.wait_for_selector("#trial-message:has-text('no trial 999 in this study')")
    assert f"trial {feasible}" in page.locator("#detail-title").inner_text()  # kept
    page.click("#detail-add")
    page.wait_for_selector("#detail-message:has-text('Compare (1)')")
    show(infeasible)
    page.wait_for_selector(f"#detail-title:has-text('trial {infeasible}')")
    page.click("#detail-add")
    page.wait_for_selector("#detail-message:has-text('Compare (2)')")

    page.click("#study")
    page.get_by_role("option", name="big").click()
    page.wait_for_selector("#detail:has-text('Click a point')")  # the selection is dropped
    show(feasible)
    page.wait_for_selector(f"#detail-title:has-text('trial {feasible}')")
    page.click("#detail-add")
    page.wait_for_selector("#detail-message:has-text('Compare (3)')")

    page.click("#tab-compare")
    rows = page.locator("#compare-table tbody tr")
    rows.nth(3).wait_for()
    labels = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert labels[:3] == [
        f"trial {feasible} of {STUDY}",
        f"trial {infeasible} of {STUDY}",
        f"trial {feasible} of big",
    ]
    bars = page.evaluate(
        "() => document.querySelector('#compare-body .js-plotly-plot').data[0].marker.pattern.shape"
    )
    assert bars[:3] == ["", "/", ""]  # the design that does not fit is hatched
    shot(page, "7-compare-two-studies")
    page.click("#compare-clear")
    page.wait_for_selector("#compare-resources-note:has-text('GPU baselines have no')")
    assert not page.errors
