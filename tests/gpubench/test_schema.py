"""The baseline file: round trip, a clear refusal of anything else, merging."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from gpubench.errors import BaselineError
from gpubench.schema import (
    SCHEMA_VERSION,
    baseline_from_dict,
    baseline_to_dict,
    default_baseline_path,
    merge_baselines,
    read_baseline,
    shipped_baseline_paths,
    write_baseline,
)
from tests.gpubench import sample


def test_round_trip(tmp_path: Path) -> None:
    b = sample.baseline()
    path = write_baseline(tmp_path / "sub" / "h200.json", b)
    assert read_baseline(path) == b
    data = json.loads(path.read_text())
    assert list(data)[:2] == ["schema", "schema_version"]
    assert data["schema_version"] == SCHEMA_VERSION
    assert not list(tmp_path.glob("sub/.h200.json.*")), "temporary file left behind"


def _data() -> dict[str, Any]:
    return baseline_to_dict(sample.baseline())


def test_other_version_refused() -> None:
    data = _data()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(BaselineError, match=r"x.json: schema_version 2 is not supported .*reads 1"):
        baseline_from_dict(data, "x.json")


def test_not_a_baseline() -> None:
    with pytest.raises(BaselineError, match="not a GPU baseline"):
        baseline_from_dict({"schema": "mmfree-cosim/trace", "schema_version": 1}, "t.json")
    with pytest.raises(BaselineError, match="a JSON object is expected"):
        baseline_from_dict([1, 2], "t.json")


def test_every_problem_listed() -> None:
    data = _data()
    c = data["cases"][0]
    c["decode_ms_per_token"] = "fast"
    c["impl"] = "cuda-magic"
    del c["prefill_ms"]
    c["surprise"] = 1
    data["cases"][1]["tokens_per_s"] = -3.0
    data["runs"][0]["environment"]["sm_count"] = 1.5
    # (rules across fields, such as a null needing its reason, are checked once every
    # field has its type: test_null_needs_reason_and_failure_needs_reason)
    with pytest.raises(BaselineError) as info:
        baseline_from_dict(data, "h.json")
    problems = info.value.problems
    assert 'cases[0].decode_ms_per_token: must be a number (got "fast")' in problems
    assert any(p.startswith("cases[0].impl: must be one of reference, dense") for p in problems)
    assert "cases[0].prefill_ms: required field missing" in problems
    assert "cases[0].surprise: unknown field" in problems
    assert "cases[1].tokens_per_s: must be a finite number >= 0 (got -3.0)" in problems
    assert "runs[0].environment.sm_count: must be an integer (got 1.5)" in problems
    assert str(info.value).startswith("h.json: ")


def test_null_needs_reason_and_failure_needs_reason() -> None:
    data = _data()
    data["cases"][0]["avg_power_w"] = None
    data["cases"][2]["reason"] = None
    data["cases"][1]["run"] = 4
    data["cases"][1]["batch"] = 0
    with pytest.raises(BaselineError) as info:
        baseline_from_dict(data, "h.json")
    assert info.value.problems == (
        "cases[0].avg_power_w: null without a reason in null_reasons",
        "cases[1].run: no run 4 (the file has 1)",
        "cases[1].batch: must be >= 1 (got 0)",
        "cases[2].reason: a error case needs a reason",
    )


def test_write_refuses_invalid(tmp_path: Path) -> None:
    b = sample.baseline()
    bad = dataclasses.replace(b, cases=[dataclasses.replace(b.cases[0], avg_power_w=None)])
    with pytest.raises(BaselineError, match="null without a reason"):
        write_baseline(tmp_path / "x.json", bad)
    nan = dataclasses.replace(b, cases=[dataclasses.replace(b.cases[0], prefill_ms=float("nan"))])
    with pytest.raises(BaselineError, match="not writable as JSON"):
        write_baseline(tmp_path / "x.json", nan)
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ('{"schema": "mmfree-cosim/gpu-baseline", "schema_version": 1,', "x.json:1 not valid JSON"),
        ('{"schema": "mmfree-cosim/gpu-baseline", "schema_version": 1}', "3 problems"),
    ],
)
def test_corrupt_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=message):
        read_baseline(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no such file"):
        read_baseline(tmp_path / "none.json")


def test_merge() -> None:
    a = sample.baseline()
    b_run = sample.run("python3 -m gpubench measure --models 2.7b --out b.json")
    b = dataclasses.replace(
        a,
        runs=[b_run],
        cases=[
            sample.case("2.7b", "reference", "eager", 16),  # replaces the error case
            dataclasses.replace(sample.case(), status="error", reason="late failure"),
        ],
        notes=[],
    )
    merged = merge_baselines([a, b], ["a.json", "b.json"])
    assert len(merged.runs) == 2
    keys = [c.key for c in merged.cases]
    assert keys == [
        ("370m", "dense", "graph", 1),
        ("370m", "dense", "graph", 16),
        ("2.7b", "reference", "eager", 16),
    ]
    late = merged.case("2.7b", "reference", "eager", 16)
    assert late is not None and late.status == "ok" and merged.run_of(late) is merged.runs[1]
    kept = merged.case("370m", "dense", "graph", 1)
    assert kept is not None and kept.status == "ok" and kept.run == 0
    replaced = "2.7b/reference/eager/16 from b.json replaces an earlier error"
    assert any(replaced in n for n in merged.notes)
    baseline_from_dict(baseline_to_dict(merged))


def test_default_path_in_package() -> None:
    path = default_baseline_path()
    assert path.parts[-3:] == ("gpubench", "data", "h200.json")


def test_fields_added_later_read_from_older_files() -> None:
    """A file from a harness without the host probe reads, the probe null with why."""
    data = _data()
    for case in data["cases"]:
        for name in ("host_probe_us", "host_probe_after_us", "decode_host_cpu_ms_per_token"):
            case.pop(name)
        for name in ("decode_quiet_ms_per_token", "quiet_steps", "tagged_ms", "tagged_probe_us"):
            case.pop(name, None)
    b = baseline_from_dict(data)
    ok = next(c for c in b.cases if c.status == "ok")
    assert ok.host_probe_us is None and ok.decode_quiet_ms_per_token is None
    assert ok.tagged_ms == [] and "tagged_ms" not in ok.null_reasons  # a list: empty, no reason
    assert ok.null_reasons["host_probe_us"] == (
        "not measured by the harness version that wrote this run"
    )
    del data["cases"][0]["decode_ms_per_token"]  # an original field is still required
    with pytest.raises(BaselineError, match=r"cases\[0\]\.decode_ms_per_token: required"):
        baseline_from_dict(data)


def test_every_measured_file_reads_and_the_package_ships_the_baseline() -> None:
    """The files in baselines/ are valid, and the package's copy is the same measurement."""
    root = Path(__file__).resolve().parents[2] / "baselines"
    files = [root / "h200.json", *sorted((root / "h200_eager_repeats").glob("rep*.json"))]
    assert len(files) >= 6
    for path in files:
        assert read_baseline(path).cases, path
    shipped = default_baseline_path()
    assert (root / "h200.json").read_bytes() == shipped.read_bytes()
    opcost = root / "h200_opcost.json"
    assert opcost.read_bytes() == shipped.with_name("h200_opcost.json").read_bytes()
    # every card's file: the package ships the same measurement
    for path in shipped_baseline_paths():
        assert (root / path.name).read_bytes() == path.read_bytes(), path.name
        assert read_baseline(path).cases, path.name
