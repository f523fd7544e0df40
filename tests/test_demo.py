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


def test_demo_refuses_a_taken_port_before_any_work(tmp_path: Path) -> None:
    """With the dashboard's port taken the script stops at once (no set-up, no study)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        for args, extra in ((["--port", str(port)], {}), ([], {"PORT": str(port)})):
            env = {**os.environ, "OUT_DIR": str(tmp_path / "out"), **extra}
            env.pop("DEMO_NO_DASHBOARD", None)
            run = subprocess.run(
                ["bash", str(ROOT / "scripts" / "demo.sh"), *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert run.returncode == 2, run.stderr
            assert f"cannot serve the dashboard on 127.0.0.1:{port} (Address already in use)" in (
                run.stderr
            )
            assert "PORT=" in run.stderr and run.stdout == ""
    assert not (tmp_path / "out").exists()
    bad = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), "--port", "http"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2 and "within 0..65535 (got 'http')" in bad.stderr
