"""The page's layout request: Dash's own JSON, made once per study version."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from optuna.trial import TrialState, create_trial
from plotly.io.json import to_json_plotly

from dashboards.app import create_app
from dashboards.state import DashboardConfig
from tests.dashboards.conftest import STUDY


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
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{study_copy}")
    done = next(t for t in study.trials if t.user_attrs.get("status") == "feasible")
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            values=done.values,
            params=done.params,
            distributions=done.distributions,
            user_attrs=done.user_attrs,
        )
    )
    after = client.get("/_dash-layout")
    assert "17 trials" in after.data.decode() and after.data != first.data
    # other requests are Dash's, and a foreign Host is still refused before any of them
    assert client.get("/_dash-dependencies").status_code == 200
    refused = client.get("/_dash-layout", headers={"Host": "evil.example"})
    assert refused.status_code == 400
