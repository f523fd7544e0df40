"""``cosim rtlcheck``: the documented JSON for a small design; bad inputs refused cleanly.

Two sequences of the tiny model's matvecs under every named memory timing, through the
RTL (Verilator) and the engine: every run has both counts, deterministic timings agree
within 0.5% and random stalls within 5%. A GPU description, a design the RTL does not
build, a missing file, an unknown timing and a missing Verilator each exit 2 with a
message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import arch_models.rtl.sim as rtl_sim
from cosim.rtl_check import TIMINGS, parse_timing
from cosim_cli.main import main
from tests.conftest import EXAMPLES
from tests.rtl.conftest import BENCH_DESIGN, needs_verilator

KEYS = {
    "design", "model", "seed", "configs", "max_transactions", "verilator", "rtl_params",
    "timings", "runs", "mean_abs_error_pct", "worst_abs_error_pct", "worst_run",
}  # fmt: skip
RUN_KEYS = {"run", "timing", "matvecs", "weights", "rtl_cycles", "model_cycles", "error_pct"}


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(BENCH_DESIGN))
    return path


@needs_verilator
@pytest.mark.rtl
def test_json_has_the_documented_keys(bench: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rtlcheck", str(bench), "--configs", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == KEYS
    assert report["configs"] == 2 and report["design"] == "rtl-bench"
    assert set(report["timings"]) == set(TIMINGS)
    assert len(report["runs"]) == 2 * len(TIMINGS)
    assert report["rtl_params"]["LANES"] == 4 and report["rtl_params"]["BEAT_BITS"] == 32
    for run in report["runs"]:
        assert set(run) == RUN_KEYS and run["rtl_cycles"] > 0 and run["matvecs"] >= 3
        stalls = report["timings"][run["timing"]]["stall_probability"] > 0
        assert abs(run["error_pct"]) <= (5.0 if stalls else 0.5), run
    worst = max(abs(r["error_pct"]) for r in report["runs"])
    assert report["worst_abs_error_pct"] == pytest.approx(worst)


@needs_verilator
@pytest.mark.rtl
def test_table_and_own_timings(bench: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rtlcheck", str(bench), "--configs", "1", "--timings", "L20/I3"]) == 0
    out = capsys.readouterr().out
    assert "RTL cycles" in out and "L20/I3" in out and "mean |error|" in out


def test_bad_inputs_exit_2(bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "a GPU description has no RTL twin": [str(EXAMPLES / "h200.yaml")],
        "cannot read file": [str(tmp_path / "missing.yaml")],
        "is not in supported list": [str(bench), "--timings", "every-cycle,sometimes"],
        "--configs must be at least 1": [str(bench), "--configs", "0"],
    }
    for message, args in cases.items():
        assert main(["rtlcheck", *args]) == 2, args
        assert message in capsys.readouterr().err


def test_a_design_the_rtl_does_not_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = yaml.safe_load((EXAMPLES / "u280_hbm.yaml").read_text())
    design["units"][2]["zero_skipping"] = True
    design["units"][2]["accumulator_overflow"] = "saturate"
    path = tmp_path / "zs.yaml"
    path.write_text(yaml.safe_dump(design))
    assert main(["rtlcheck", str(path), "--configs", "1"]) == 2
    err = capsys.readouterr().err
    assert "the RTL twin does not build this design: zero skipping with a saturating" in err


def test_without_verilator(
    bench: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(rtl_sim.shutil, "which", lambda name: None)
    assert main(["rtlcheck", str(bench), "--configs", "1"]) == 2
    assert "apt-get install verilator" in capsys.readouterr().err


def test_timings_by_name_or_spelled_out() -> None:
    assert parse_timing("latency-30") == ("latency-30", TIMINGS["latency-30"])
    _, t = parse_timing("l20/i3/s0.1")
    assert (t.latency_cycles, t.beat_interval_cycles, t.stall_probability) == (20, 3, 0.1)
