"""The fidelity ladder: which rungs concern a design, and recording a rung's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arch_models.fidelity import FIDELITY_FILE, RUNGS, fidelity_of, load_ladder, record_rung
from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from tests.conftest import EXAMPLES


def test_the_shipped_ladder_has_every_rung_with_its_command() -> None:
    ladder = load_ladder()
    assert set(ladder) == set(RUNGS), f"measure the missing rungs into {FIDELITY_FILE}"
    for name, rung in ladder.items():
        assert rung["command"].startswith("benchmarks/"), name
        assert rung["date"] and rung["versions"]["package"], name


def test_rungs_of_a_design_the_rtl_builds_and_of_one_it_does_not() -> None:
    ladder = {"rtl_cycles": {"mean_abs_error": 0.001, "worst_abs_error": 0.02, "cases": 5}}
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    rungs = {r.name: r for r in fidelity_of(arch, ladder)}
    assert rungs["rtl_cycles"].applies and rungs["rtl_cycles"].why_not == ""
    assert "mean |error| 0.10%, worst 2.00%, 5 cases" in rungs["rtl_cycles"].describe()
    assert not rungs["yosys_resources"].applies
    assert rungs["yosys_resources"].why_not == "not measured yet"
    odd = evolve(arch, {"tmac.zero_skipping": True, "tmac.accumulator_overflow": "saturate"})
    rung = {r.name: r for r in fidelity_of(odd, ladder)}["rtl_cycles"]
    assert not rung.applies and "zero skipping with a saturating accumulator" in rung.why_not
    assert rung.describe().startswith("not checked:")
    gpu = fidelity_of(load_arch(EXAMPLES / "h200.yaml"), {})
    assert [r.name for r in gpu] == ["gpu_model", "gpu_ttft"]


def test_recording_a_rung_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "fidelity.json"
    record_rung("rtl_cycles", {"mean_abs_error": 0.01, "command": "x"}, path)
    record_rung("paper", {"error": 0.005, "command": "y"}, path)
    record_rung("rtl_cycles", {"mean_abs_error": 0.02, "command": "x"}, path)
    data = json.loads(path.read_text())
    assert list(data["rungs"]) == ["paper", "rtl_cycles"]  # ladder order
    assert data["rungs"]["rtl_cycles"]["mean_abs_error"] == 0.02
    with pytest.raises(ValueError, match="unknown rung"):
        record_rung("nope", {}, path)
    path.write_text("{not json")
    assert load_ladder(path) == {}
