"""``cosim simulate`` shows progress on standard error for every phase, not only the last."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

import cosim_cli.commands.simulate as simulate_command
from cosim_cli.main import main
from tests.conftest import EXAMPLES
from workloads.loading import clear_weight_cache


@pytest.mark.parametrize("as_json", [False, True])
def test_simulate_shows_weights_model_and_simulation_progress(
    as_json: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    err = io.StringIO()
    terminal = Console(file=err, force_terminal=True, width=100)
    monkeypatch.setattr(simulate_command, "stderr_console", lambda: terminal)
    monkeypatch.setenv("COSIM_CACHE_DIR", str(tmp_path / "cache"))  # an empty trace cache
    clear_weight_cache()  # the weights are built, not taken from an earlier test
    arch = str(EXAMPLES / "u280_hbm.yaml")
    args = ["simulate", arch, "--model", "tiny", "--tokens", "2", *(["--json"] if as_json else [])]
    assert main(args) == 0
    shown = err.getvalue()
    for phase in ("tiny: building weights", "tiny: running the model", "simulating"):
        assert phase in shown, phase
    assert "trace made, kept in" in shown
    out = capsys.readouterr().out
    if as_json:
        assert json.loads(out)["tokens_per_s"] > 0  # progress never on standard output
    assert "building weights" not in out
    # again: the trace comes from the cache, and says so
    err.truncate(0)
    err.seek(0)
    assert main(args) == 0
    again = err.getvalue()
    assert "tiny: trace from the cache" in again and "building weights" not in again
    capsys.readouterr()
