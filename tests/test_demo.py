"""The README's first command: ``bash scripts/demo.sh`` runs through on a clean folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def test_demo_script_runs_until_the_dashboard(tmp_path: Path) -> None:
    """Set-up, validation, the paper core's simulation and a small study, all exit 0.

    Serving the dashboard is left out (``DEMO_NO_DASHBOARD=1``); the dashboard command
    on that study is tested in tests/dashboards/test_cli.py.
    """
    env = {**os.environ, "OUT_DIR": str(tmp_path), "TRIALS": "2", "DEMO_NO_DASHBOARD": "1"}
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-3000:])
    assert (tmp_path / "example_study.db").is_file()
    assert (tmp_path / "d5005-paper-block").is_dir()
    assert "valid" in run.stdout
