"""The page's layout request: Dash's own JSON, made once per study version."""

from __future__ import annotations

import json
import re
from pathlib import Path

from plotly.io.json import to_json_plotly

from dashboards.app import create_app
from dashboards.state import DashboardConfig
from tests.dashboards.conftest import STUDY, add_trial_copy


def test_the_layout_is_dashs_own_and_is_made_again_when_the_study_changes(
    study_copy: Path, baseline_file: Path
) -> None:
    app = create_app(
        DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[baseline_file])
    )
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

    app = create_app(
        DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[baseline_file])
    )
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
