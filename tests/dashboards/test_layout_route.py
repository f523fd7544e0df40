"""The page's layout request: Dash's own JSON, made once per study version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from plotly.io.json import to_json_plotly

from dashboards.app import create_app
from dashboards.state import DashboardConfig
from tests.dashboards.conftest import STUDY, add_trial_copy


def _app(study: Path, baseline: Path) -> Any:
    return create_app(DashboardConfig(storage=str(study), study=STUDY, baselines=[baseline]))


def test_the_layout_is_dashs_own_and_is_made_again_when_the_study_changes(
    study_copy: Path, baseline_file: Path
) -> None:
    app = _app(study_copy, baseline_file)
    client = app.server.test_client()
    first = client.get("/_dash-layout")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert json.loads(first.data) == json.loads(to_json_plotly(app.get_layout()))
    assert client.get("/_dash-layout").data == first.data  # unchanged study: the same bytes
    assert "16 trials" in first.data.decode()
    add_trial_copy(study_copy)
    after = client.get("/_dash-layout")
    assert "17 trials" in after.data.decode() and after.data != first.data
    # other requests are Dash's, and a foreign Host is still refused before any of them
    assert client.get("/_dash-dependencies").status_code == 200
    refused = client.get("/_dash-layout", headers={"Host": "evil.example"})
    assert refused.status_code == 400


def test_the_page_preloads_its_layout_and_starts_dash_once_plotly_ran(
    study_copy: Path, baseline_file: Path
) -> None:
    from dashboards.layout import RENDERER

    app = _app(study_copy, baseline_file)
    page = app.server.test_client().get("/").data.decode()
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{path}">' in page
    assert RENDERER in page and 'id="plotly-js"' in page
    assert page.index('id="plotly-js"') < page.index(RENDERER)
    # the lazily loaded chunks the first view renders (its graph, its dropdowns) are
    # fetched at once, and exist where Dash's chunk loader will ask for them
    chunks = re.findall(r'<link rel="preload" as="script" href="([^"]+)">', page)
    assert {c.rsplit("/", 1)[-1] for c in chunks} >= {"async-graph.js", "async-dropdown.js"}
    for chunk in chunks:
        assert app.server.test_client().get(chunk).status_code == 200, chunk


def test_the_page_loads_no_script_of_a_library_no_view_renders(
    study_copy: Path, baseline_file: Path
) -> None:
    """Dash registers every library ``import dash`` imports; the page loads only what it uses."""
    import dashboards
    from dashboards.layout import GENERATOR_RUNTIME, UNUSED_LIBRARIES

    app = _app(study_copy, baseline_file)
    client = app.server.test_client()
    page = client.get("/").data.decode()
    scripts = re.findall(r'<script src="([^"]+)"></script>', page)
    libraries = {s.split("/_dash-component-suites/", 1)[1].split("/")[1] for s in scripts}
    assert {"deps", "dash-renderer", "dcc", "html"} <= libraries
    assert not libraries & set(UNUSED_LIBRARIES)
    # Dash's polyfill is not among them: the page's own generator runtime is, inline
    # (nothing in it can end the script element or look like one of Dash's placeholders)
    assert not any("polyfill" in s for s in scripts)
    assert "</script" not in GENERATOR_RUNTIME.lower() and "{%" not in GENERATOR_RUNTIME
    assert page.count(GENERATOR_RUNTIME) == 1
    assert page.index(GENERATOR_RUNTIME) < page.index("dash_renderer")
    # ... and nothing the page renders or a callback returns comes from them
    layout = client.get("/_dash-layout").data.decode()
    assert '"namespace": "dash_table"' not in layout and '"namespace":"dash_table"' not in layout
    for source in Path(dashboards.__file__).parent.glob("*.py"):
        text = source.read_text()
        for name in UNUSED_LIBRARIES:
            assert not re.search(rf"\b(import|from)\s+(dash\.)?{name}\b", text), source
            assert not re.search(rf"from dash import [^\n]*\b{name}\b", text), source
