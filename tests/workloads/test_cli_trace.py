"""``cosim trace``: the summary, and one clear error (exit 2, no traceback) for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cosim_cli.main import main
from workloads.checkpoint import write_checkpoint
from workloads.config import get_config
from workloads.trace import read_trace


def _trace(*args: str) -> list[str]:
    return ["trace", *args]


def test_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t"
    code = main(
        _trace(
            "--model",
            "tiny",
            "--prompt-tokens",
            "3",
            "--gen-tokens",
            "2",
            "--out",
            str(out),
            "--seed",
            "4",
            "--json",
        )
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    cfg = get_config("tiny")
    assert summary["ternary_weights_per_token"] == cfg.ternary_weights_per_token
    assert summary["weight_bytes_per_token"]["2bit"] == cfg.ternary_weights_per_token // 4
    assert set(summary["weight_bytes_per_token"]) == {"2bit", "5trit"}
    assert 0.25 < summary["zero_fraction"] < 0.37
    assert summary["trace_rows"] == 5 * summary["ops_per_step"]
    trace = read_trace(out)
    assert {k: trace.summary[k] for k in trace.summary} == {k: summary[k] for k in trace.summary}
    assert trace.manifest["command"][:4] == ["cosim", "trace", "--model", "tiny"]
    assert trace.manifest["seed"] == 4


def test_table_and_numerics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        _trace(
            "--model",
            "tiny",
            "--prompt-tokens",
            "2",
            "--gen-tokens",
            "2",
            "--out",
            str(tmp_path / "t"),
            "--act-bits",
            "6",
            "--elementwise",
            "fixed16.10",
            "--sigmoid",
            "lut:64",
            "--cost-tokens",
            "2",
        )
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "trace written to" in out and "top-1 agreement vs exact" in out
    manifest = read_trace(tmp_path / "t").manifest
    assert manifest["numerics"]["sigmoid"] == "lut:64@8"
    assert "--act-bits" in manifest["command"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "13b"], "unknown model '13b'; known: 370m, 1.3b, 2.7b"),
        (["--model", "tiny", "--elementwise", "fixed99"], "element format must be"),
        (["--model", "tiny", "--sigmoid", "lut"], "function approximation must be"),
        (["--model", "tiny", "--act-bits", "1"], "act_bits must be in 2..16"),
        (["--model", "tiny", "--gen-tokens", "-1"], "must be >= 0"),
    ],
)
def test_bad_input(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"--prompt-tokens": "2", "--gen-tokens": "2", "--out": str(tmp_path / "t")}
    for k, v in base.items():
        if k not in args:
            args = [*args, k, v]
    assert main(_trace(*args)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


def test_malformed_config_and_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text('{"model_type": "hgrn_bit", "hidden_size": 64, "num_hidden_layers": 1}')
    assert (
        main(
            _trace(
                "--model",
                str(cfg),
                "--prompt-tokens",
                "1",
                "--gen-tokens",
                "1",
                "--out",
                str(tmp_path / "t"),
            )
        )
        == 2
    )
    assert "vocab_size: required field missing" in capsys.readouterr().err
    ckpt = write_checkpoint(tmp_path / "ckpt", get_config("tiny"))
    (ckpt / "model.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes()[:1000])
    assert (
        main(
            _trace(
                "--model",
                str(ckpt),
                "--prompt-tokens",
                "1",
                "--gen-tokens",
                "1",
                "--out",
                str(tmp_path / "t"),
            )
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "exceeds the file" in err and "Traceback" not in err


def test_unwritable_out_fails_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert (
        main(
            _trace(
                "--model",
                "2.7b",
                "--prompt-tokens",
                "1",
                "--gen-tokens",
                "1",
                "--out",
                str(blocker / "t"),
            )
        )
        == 2
    )
    assert "is not a folder" in capsys.readouterr().err


def test_module_entry_point(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cosim",
            "trace",
            "--model",
            str(bad),
            "--prompt-tokens",
            "1",
            "--gen-tokens",
            "1",
            "--out",
            str(tmp_path / "t"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
