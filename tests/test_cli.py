"""Smoke tests of every ``cosim`` subcommand: exit codes, output shape, no tracebacks."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cosim_cli.main import COMMANDS, build_parser, main
from gpubench.schema import read_baseline, shipped_baseline_paths
from tests.conftest import EXAMPLES, ROOT, example_designs

ARCH_FILES = [str(p) for p in example_designs()]
BROKEN = ROOT / "tests/arch/broken"


def test_validate_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *ARCH_FILES]) == 0
    out = capsys.readouterr().out
    assert "d5005-paper-core" in out and "u280-hbm-16core" in out and "h200-sxm" in out


def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(BROKEN / "fields.yaml")
    assert main(["validate", "--json", ARCH_FILES[0], bad]) == 2
    results = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in results] == [True, False]
    assert results[0]["summary"]["device"]
    assert any("lanes: must be a power of two (got 48)" in p for p in results[1]["problems"])


def test_validate_bad_file_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BROKEN / "cross_field.yaml")]) == 2
    err = capsys.readouterr().err
    assert "8 problems" in err
    assert "cross_field.yaml:9 units[0].channels: must be <= 32" in err
    assert "Traceback" not in err


def test_schema_stdout_and_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "units" in schema["properties"]
    out = tmp_path / "arch.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == schema


def test_schema_unwritable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path / "no" / "such" / "dir.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_devices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--sources"]) == 0
    out = capsys.readouterr().out
    assert "alveo-u280" in out and "nvidia-h200" in out and "DS963" in out
    assert main(["devices", "--json", "--kind", "gpu"]) == 0
    parts = {d["id"] for d in json.loads(capsys.readouterr().out)}
    assert parts == {"nvidia-a100", "nvidia-h100", "nvidia-h200"}


def test_console_script_and_module_entry() -> None:
    """The installed entry point runs without a traceback on bad input."""
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "validate", str(BROKEN / "garbage.bin.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "not UTF-8 text" in proc.stderr and "Traceback" not in proc.stderr


def test_simulate_json_and_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    arch = str(EXAMPLES / "d5005_paper_core.yaml")
    out = tmp_path / "res"
    code = main(
        [
            "simulate",
            arch,
            "--model",
            "paper-block-d512",
            "--tokens",
            "1",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    for key in (
        "tokens_per_s",
        "ms_per_token",
        "avg_power_w",
        "energy_per_token_j",
        "bound_tokens_per_s",
        "bottleneck",
        "fits",
        "resources",
    ):
        assert key in summary
    assert summary["resources"]["alm"]["available"] == 933120
    rungs = {r["rung"]: r for r in summary["fidelity"]}
    assert set(rungs) == {"paper", "rtl_cycles", "rtl_energy_events", "yosys_resources"}
    assert rungs["rtl_cycles"]["applies"] is True and "command" in rungs["rtl_cycles"]
    assert rungs["paper"]["fitted_constant"] is False
    assert (out / "events.parquet").exists() and (out / "design.yaml").exists()
    # An existing folder is not replaced without --force.
    assert (
        main(["simulate", arch, "--model", "paper-block-d512", "--tokens", "1", "--out", str(out)])
        == 2
    )
    assert "use --force" in capsys.readouterr().err


def test_simulate_table_and_bad_model(capsys: pytest.CaptureFixture[str]) -> None:
    arch = str(EXAMPLES / "d5005_paper_core.yaml")
    assert main(["simulate", arch, "--model", "paper-block-d512", "--tokens", "1"]) == 0
    text = capsys.readouterr().out
    assert "ms/token" in text and "checked: the unit models' timing on the paper" in text
    assert main(["simulate", arch, "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", str(EXAMPLES / "h200.yaml"), "--model", "370m", "--impl", "dense"],
        ["baseline", "measure", "--out", "x.json", "--dry-run"],
    ],
)
def test_a_missing_extra_says_what_to_install(argv: list[str], tmp_path: Path) -> None:
    """Without torch (as on a machine without the gpu extra): exit 2 and the pip command."""
    code = (
        "import sys; sys.modules['torch'] = None\n"  # import torch fails as if not installed
        "from cosim_cli.main import main\n"
        f"raise SystemExit(main({argv!r}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'mmfree-cosim[gpu]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_simulate_compares_with_the_fastest_measured_gpu(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arch = str(EXAMPLES / "u280_hbm.yaml")
    assert main(["simulate", arch, "--model", "370m", "--tokens", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    gpu = summary["gpu_comparison"]
    # the fastest batch-1 case of 370M over every shipped baseline, and the ratios to it
    cases = [
        (c.decode_ms_per_token, path.name, c.impl)
        for path in shipped_baseline_paths()
        for c in read_baseline(path).cases
        if c.status == "ok" and c.model == "370m" and c.batch == 1 and c.decode_ms_per_token
    ]
    ms, source, impl = min(cases)
    assert (gpu["ms_per_token"], gpu["source"], gpu["impl"]) == (ms, source, impl)
    assert gpu["tokens_per_s_ratio"] == pytest.approx(summary["tokens_per_s"] / gpu["tokens_per_s"])
    assert gpu["energy_per_token_ratio"] == pytest.approx(
        gpu["energy_per_token_j"] / summary["energy_per_token_j"]
    )
    # a model no baseline measured has no comparison
    assert main(["simulate", arch, "--model", "tiny", "--tokens", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["gpu_comparison"] is None


def _parsers(parser: argparse.ArgumentParser, prefix: str = "cosim") -> list[tuple[str, Any]]:
    """Every subcommand's parser (nested ones too), with its command line."""
    found: list[tuple[str, Any]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix} {name}", sub))
                found.extend(_parsers(sub, f"{prefix} {name}"))
    return found


def test_every_subcommand_help_has_a_description() -> None:
    """``cosim X --help`` says what X does, beyond the one line of ``cosim --help``."""
    parsers = _parsers(build_parser())
    assert {name for name, _ in parsers} >= {f"cosim {c}" for c in COMMANDS}
    for name, sub in parsers:
        assert sub.description, f"{name} --help has no description"
        assert "".join(sub.description.split()) in "".join(sub.format_help().split())
        assert len(sub.description) > 40, f"{name}: {sub.description!r} is not a description"


SPACE_FILES = sorted(str(p) for p in EXAMPLES.glob("*_space.yaml"))


def test_validate_every_example_designs_and_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    """``cosim validate examples/*.yaml``: the search spaces beside the designs are valid."""
    assert SPACE_FILES
    assert main(["validate", *sorted(str(p) for p in EXAMPLES.glob("*.yaml"))]) == 0
    out = capsys.readouterr().out
    assert "valid search spaces" in out and "u280-hbm-16core" in out
    assert main(["validate", "--json", *SPACE_FILES]) == 0
    by_name = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert {r["kind"] for r in by_name.values()} == {"space"}
    small, d5005 = by_name["u280_small_space.yaml"], by_name["d5005_space.yaml"]
    # the sizes the files' own comments state; each found its design in its folder
    assert small["summary"]["designs"] == 216 and small["summary"]["design"] == "u280_hbm.yaml"
    assert d5005["summary"]["designs"] == 240
    assert d5005["summary"]["fits"] == ["d5005_paper_core.yaml"]
    assert by_name["u280_hbm_space.yaml"]["summary"]["power_cap_w"] == 45
    assert by_name["u280_hbm_space.yaml"]["summary"]["max_time_to_first_token_ms"] is None


def test_validate_space_against_its_design(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A space's values and paths are checked against the design it is found with."""
    (tmp_path / "u280_hbm.yaml").write_text((EXAMPLES / "u280_hbm.yaml").read_text())
    text = (EXAMPLES / "u280_small_space.yaml").read_text()
    bad = tmp_path / "bad_space.yaml"
    bad.write_text(
        text.replace("tmac.lanes: {choices: [32, 64, 128]}", "tmac.lanes: {choices: [32, 48]}")
    )
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "does not fit the design u280_hbm.yaml (u280-hbm-16core)" in err
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip().startswith("tmac."))
    assert (
        f"bad_space.yaml:{line} parameters['tmac.lanes'].choices[1]: units[2].lanes must be a "
        "power of two (got 48)" in err
    )
    # --design names the design; the same space does not fit the D5005 core
    good = EXAMPLES / "u280_small_space.yaml"
    d5005 = str(EXAMPLES / "d5005_paper_core.yaml")
    assert main(["validate", str(good), "--design", d5005]) == 2
    err = capsys.readouterr().err
    assert "does not fit the design d5005_paper_core.yaml" in err
    assert "parameters['hbm.channels']: no such field or unit 'hbm'" in err
    # among the files given, the one it fits is its design
    assert main(["validate", "--json", str(good), d5005, str(EXAMPLES / "u280_hbm.yaml")]) == 0
    space = json.loads(capsys.readouterr().out)[0]
    assert space["summary"]["fits"] == ["u280_hbm.yaml"]
    # alone in a folder without naming its design: valid as a space, no design
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "s.yaml").write_text(text.replace("design: u280_hbm.yaml\n", ""))
    assert main(["validate", str(alone / "s.yaml")]) == 0
    assert "none found (give --design ARCH.yaml)" in capsys.readouterr().out
    # naming a design that is not there is an error at that line
    (alone / "named.yaml").write_text(text)
    assert main(["validate", str(alone / "named.yaml")]) == 2
    assert "named.yaml:5 design: no such file: u280_hbm.yaml" in capsys.readouterr().err
    assert main(["validate", str(good), "--design", str(good)]) == 2
    assert "is a search space, not an architecture description" in capsys.readouterr().err


def test_validate_a_file_that_is_neither(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = tmp_path / "notes.yaml"
    f.write_text("version: 1\nname: notes\ntodo: [a, b]\n")
    assert main(["validate", "--json", str(f)]) == 2
    [result] = json.loads(capsys.readouterr().out)
    assert result["kind"] == "neither"
    assert result["problems"] == [
        "notes.yaml:1 <root>: is neither an architecture description (it has none of "
        "device, clock_mhz, units), a system (it has no cards) nor a search space (it has "
        "no parameters)"
    ]
