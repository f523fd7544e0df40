"""``cosim baseline show/merge/measure``: tables, and one clean error for a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosim_cli.main import main
from gpubench.schema import IMPLS, baseline_to_dict, read_baseline, write_baseline
from tests.gpubench import sample


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    return write_baseline(tmp_path / "h200.json", sample.baseline())


def test_show_table(sample_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "show", str(sample_file)]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA H200" in out and "driver 580.159.04" in out
    assert "command: python3 -m gpubench measure" in out
    assert "2,000.0" in out and "32,000.0" in out  # tokens/s of batch 1 and 16
    assert "error: OOM" in out
    assert "GEMV" in out and "3,900" in out
    assert "note: kernel checks" in out


def test_show_json(sample_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "show", "--json", str(sample_file)]) == 0
    assert json.loads(capsys.readouterr().out) == baseline_to_dict(sample.baseline())


def test_show_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    data = baseline_to_dict(sample.baseline())
    data["cases"][0]["decode_ms_per_token"] = "fast"
    bad.write_text(json.dumps(data))
    assert main(["baseline", "show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.json: 1 problem" in err and "cases[0].decode_ms_per_token" in err
    assert "Traceback" not in err
    bad.write_text("{ not json")
    assert main(["baseline", "show", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_show_other_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v9.json"
    data = baseline_to_dict(sample.baseline())
    data["schema_version"] = 9
    path.write_text(json.dumps(data))
    assert main(["baseline", "show", str(path)]) == 2
    assert "schema_version 9 is not supported" in capsys.readouterr().err


def test_show_defaults_to_the_shipped_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "show"]) == 0
    assert "NVIDIA H200" in capsys.readouterr().out


def test_show_default_when_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cosim_cli.commands.baseline as command

    monkeypatch.setattr(command, "default_baseline_path", lambda: tmp_path / "h200.json")
    assert main(["baseline", "show"]) == 2
    assert "no baseline is shipped yet" in capsys.readouterr().err


def test_merge(sample_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "merged.json"
    assert main(["baseline", "merge", str(sample_file), str(sample_file), "--out", str(out)]) == 0
    assert "2 runs, 3 cases" in capsys.readouterr().out
    assert len(read_baseline(out).runs) == 2


def test_measure_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    code = main(["baseline", "measure", "--out", "x.json", "--models", "370m", "--dry-run"])
    assert code == 0
    assert f"{4 * len(IMPLS)} cases; estimated" in capsys.readouterr().out  # 2 batches x 2 launches
