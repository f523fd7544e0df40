"""``cosim dashboard``: it serves, prints its URL, and refuses bad arguments cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cosim_cli.main import main
from tests.conftest import ROOT
from tests.dashboards.conftest import STUDY


def _serve(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim", "dashboard", "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    return err


@pytest.mark.slow
def test_serves_a_study_on_loopback(study_db: Path, baseline_file: Path, tmp_path: Path) -> None:
    proc, line = _serve(
        ["--storage", str(study_db), "--study", STUDY, "--baseline", str(baseline_file)], tmp_path
    )
    try:
        assert line.startswith("dashboard on http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"mmfree-cosim dashboard" in resp.read()
    finally:
        err = _stop(proc)
    assert f"read 16 trials of '{STUDY}'" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_without_arguments_it_explains_the_missing_example(tmp_path: Path) -> None:
    proc, line = _serve([], tmp_path)
    try:
        assert line.startswith("dashboard on http://127.0.0.1:"), line
    finally:
        err = _stop(proc)
    assert "No study storage at sqlite:///out/example_study.db" in err


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--port", "70000"]) == 2
    assert "--port must be within 0..65535" in capsys.readouterr().err
    assert main(["dashboard", "--refresh", "-1"]) == 2


def test_a_port_in_use_is_a_clean_error(
    study_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code = main(
            ["dashboard", "--storage", str(study_db), "--study", STUDY, "--port", str(port)]
        )
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use;" in err
    assert ": 1;" not in err and "Port" not in err  # no exit code, no werkzeug print
