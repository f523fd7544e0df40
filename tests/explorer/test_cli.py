"""Smoke tests of ``cosim explore``, ``cosim pareto`` and ``cosim export``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arch_models.rtl import SOURCES
from cosim_cli.main import main
from tests.explorer.conftest import DATA, U280

STUDY = "u280-hbm-16core.small.tiny"


@pytest.fixture
def study_db(small_space: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "studies.db"
    args = ["explore", str(U280), "--space", str(small_space), "--model", "tiny"]
    assert main([*args, "--trials", "6", "--storage", str(db), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"Pareto front of {STUDY}" in out and "6 trials" in out
    return db


def test_explore_pareto_export(
    study_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    front_dir = tmp_path / "front"
    args = ["--storage", str(study_db), "--study", STUDY]
    assert main(["pareto", *args, "--out", str(front_dir), "--format", "csv,parquet,html"]) == 0
    assert "tmac.lanes" in capsys.readouterr().out  # columns named as in the space file
    assert sorted(p.name for p in front_dir.iterdir()) == [
        f"{STUDY}.front.{ext}" for ext in ("csv", "html", "parquet")
    ]
    assert main(["pareto", *args, "--out", str(front_dir), "--format", "csv"]) == 2
    assert "already exists; use --force" in capsys.readouterr().err
    hw = tmp_path / "hw"
    pick = ["--pick", "max-tokens-per-joule"]
    assert main(["export", *args, *pick, "--out", str(hw), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    n = printed["trial"]
    # the parameter files, and the RTL bundle unless the RTL does not build the design
    assert sorted(p.name for p in hw.iterdir()) == sorted(Path(f).name for f in printed["files"])
    assert len(printed["files"]) == (5 if "rtl" in printed["skipped"] else 5 + 13)
    assert main(["export", *args, "--trial", str(n), "--format", "json", "--out", str(hw)]) == 2
    assert "use --force" in capsys.readouterr().err
    assert main(["export", *args, "--trial", str(n), "--format", "json", "--out", str(hw),
                 "--force", "--json"]) == 0  # fmt: skip
    written = json.loads(capsys.readouterr().out)
    assert written["trial"] == n
    assert written["files"] == [str(hw / f"u280_hbm_16core_trial{n}.json")]
    assert (
        json.loads((hw / f"u280_hbm_16core_trial{n}.json").read_text())["provenance"]["trial"] == n
    )


def test_pareto_table_options(
    study_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--columns`` and ``--wide`` choose the table's columns; a bad name is one message."""
    args = ["pareto", "--storage", str(study_db), "--study", STUDY, "--out", str(tmp_path)]
    assert main([*args, "--format", "csv", "--columns", "trial,W,bottleneck"]) == 0
    header = capsys.readouterr().out.split("┡")[0]
    assert "bottleneck" in header and "tokens/s" not in header
    assert main([*args, "--format", "csv", "--force", "--wide"]) == 0
    header = capsys.readouterr().out.split("┡")[0]
    assert all(h in header for h in ("tokens/J", "bottleneck", "clock_mhz", "tmac.lanes"))
    assert main([*args, "--format", "csv", "--force", "--columns", "trial,nope"]) == 2
    assert "column 'nope' is not in supported list: trial, tokens/s" in capsys.readouterr().err


def test_exports_of_trials_are_named_and_described_by_the_trial(
    study_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two trials exported into one folder: each set named and described as its own design."""
    import yaml

    from arch_models.spec import load_arch
    from explorer import load_study

    study = load_study(study_db, STUDY)
    base = load_arch(U280).spec
    hw = tmp_path / "hw"
    args = ["--storage", str(study_db), "--study", STUDY, "--out", str(hw), "--json"]
    files: dict[int, list[str]] = {}
    for number in (0, 1):
        assert main(["export", *args, "--trial", str(number)]) == 0
        files[number] = json.loads(capsys.readouterr().out)["files"]
    # nothing of trial 0 replaced by trial 1 (the RTL sources are the same for every design)
    assert set(files[0]) & set(files[1]) <= {str(hw / source) for source in SOURCES}
    assert len(list(hw.iterdir())) == len(set(files[0]) | set(files[1]))
    for number in (0, 1):
        trial = study.trials[number]
        name = f"u280-hbm-16core-trial{number}"
        ident = f"u280_hbm_16core_trial{number}"
        own = [Path(f).name for f in files[number] if Path(f).name not in SOURCES]
        ends = ["_pkg.sv", "_params.vh", "_generics.tcl", ".json", ".yaml"]
        if len(own) > len(ends):  # the RTL builds it: its bundle too
            ends += ["_top.sv", "_files.f", "_synth.ys", "_vivado.tcl", "_quartus.tcl"]
            ends += ["_README.md"]
        assert sorted(own) == sorted(f"{ident}{end}" for end in ends)
        described = yaml.safe_load((hw / f"{ident}.yaml").read_text())
        assert described["name"] == name
        text = described["description"]
        assert base.description.split(";")[0] not in text  # not the base's prose
        assert text.startswith(f"Trial {number} of study {STUDY}: u280-hbm-16core with ")
        params = trial.user_attrs["params_by_path"]
        keys = {v: k for k, v in study.user_attrs["space_paths"].items()}
        base_data = base.model_dump(mode="json")
        for path, value in params.items():
            changed = value != _value_at(base_data, path)
            assert (f"{keys[path]} {json.dumps(value)} (base " in text) == changed, (path, text)
        exported = json.loads((hw / f"{ident}.json").read_text())
        assert exported["design"] == name and exported["description"]["description"] == text
        assert exported["parameters"]["DESIGN_NAME"] == name
        assert f"package {ident}_pkg;" in (hw / f"{ident}_pkg.sv").read_text()
        assert f"design: {name} on alveo-u280" in (hw / f"{ident}_params.vh").read_text()


def _value_at(data: Any, path: str) -> Any:
    from arch_models.spec.evolve import parse_path

    for part in parse_path(path):
        data = data[part]
    return data


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_pareto_png(study_db: Path, tmp_path: Path) -> None:
    args = ["--storage", str(study_db), "--study", STUDY, "--out", str(tmp_path)]
    assert main(["pareto", *args, "--format", "png"]) == 0
    png = tmp_path / f"{STUDY}.front.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_plot_shows_the_fastest_measured_gpu(
    study_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plot holds the fastest measured case of the study's model, as the dashboard."""
    from explorer.pareto import gpu_label
    from gpubench.fastest import fastest_shipped

    args = ["pareto", "--storage", str(study_db), "--study", STUDY, "--format", "html"]
    assert main([*args, "--out", str(tmp_path / "tiny"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["gpu"] is None  # no GPU ran the tiny model
    assert "measured GPU" not in (tmp_path / "tiny" / f"{STUDY}.front.html").read_text()
    import optuna

    optuna.load_study(study_name=STUDY, storage=f"sqlite:///{study_db}").set_user_attr(
        "model", "370m"
    )  # as a 370M study
    best = fastest_shipped("370m", 1)
    assert best is not None
    assert main([*args, "--out", str(tmp_path / "370m"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["gpu"] == best.to_json()
    html = (tmp_path / "370m" / f"{STUDY}.front.html").read_text()
    label = gpu_label(best)
    assert label.startswith(f"{best.gpu.removeprefix('NVIDIA ')} {best.case.impl} ")
    assert label.endswith("b1 (fastest measured)")
    assert "measured GPU (fastest" in html and label in html and '"type":"log"' in html
    assert main([*args, "--out", str(tmp_path / "370m"), "--force"]) == 0
    assert f"the plot shows the GPU: {label}" in " ".join(capsys.readouterr().out.split())


def test_bad_input_is_one_clean_message(
    study_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    explore = ["explore", str(U280), "--model", "tiny", "--trials", "2"]
    assert main([*explore, "--space", str(DATA / "broken_fields.yaml")]) == 2
    err = capsys.readouterr().err
    assert "broken_fields.yaml:4 paramters: unknown key (did you mean 'parameters'?)" in err
    assert "Traceback" not in err
    storage = ["--storage", str(study_db)]
    assert main(["pareto", *storage, "--study", "nope", "--out", str(tmp_path)]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert main(["export", *storage, "--study", STUDY, "--trial", "99", "--out", "x"]) == 2
    assert "has no trial 99 (trials 0..5)" in capsys.readouterr().err
    assert main(["export", *storage, "--study", STUDY, "--trial", "0", "--format", "vhdl",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "'vhdl' is not in supported list" in capsys.readouterr().err


def test_module_entry_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "explore", str(U280), "--space",
         str(DATA / "broken_design.yaml"), "--model", "tiny", "--trials", "2",
         "--storage", str(tmp_path / "s.db")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "broken_design.yaml:5 parameters['tmac.lanes'].choices[1]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_explore_two_tier_says_what_its_sweep_and_rounds_did(
    small_space: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "studies.db"
    args = ["explore", str(U280), "--space", str(small_space), "--model", "tiny"]
    assert main([*args, "--trials", "10", "--storage", str(db), "--sampler", "two-tier",
                 "--json"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["two_tier"]["designs"] == 24 and doc["counts"]["done"] <= 10
    assert doc["two_tier"]["errors"]["all"]["tokens_per_s"]["designs"] == doc["counts"]["done"]
    assert doc["front"]
    assert main([*args, "--trials", "10", "--storage", str(db), "--sampler", "two-tier"]) == 0
    assert "analytical tier: 24 designs" in capsys.readouterr().err
