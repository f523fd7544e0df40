"""Search spaces: validated like architecture files, bound to a design, sampled by Optuna."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from arch_models.spec import load_arch
from arch_models.validation import SpecError
from explorer.space import load_space
from tests.conftest import EXAMPLES
from tests.explorer.conftest import D5005, DATA, U280


def _problems(path: Path, arch_path: Path | None = None) -> list[str]:
    arch = load_arch(arch_path) if arch_path else None
    with pytest.raises(SpecError) as info:
        load_space(path, arch)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("arch", "space", "size"),
    [(U280, "u280_hbm_space.yaml", 573440), (D5005, "d5005_space.yaml", 240)],
)
def test_example_spaces_bind(arch: Path, space: Path, size: int) -> None:
    s = load_space(EXAMPLES / space, load_arch(arch))
    assert s.size() == size
    assert all(p.startswith(("units[", "clock_mhz")) for p in s.paths.values())


def test_paths_resolve_unit_names() -> None:
    s = load_space(EXAMPLES / "u280_hbm_space.yaml", load_arch(U280))
    assert s.paths["tmac.lanes"] == "units[2].lanes"
    assert s.paths["layout.cores"] == "units[0].cores"
    assert s.paths["clock_mhz"] == "clock_mhz"


def test_field_problems_all_reported_with_lines() -> None:
    """Every problem of the file at once, each with file:line and dotted path."""
    assert _problems(DATA / "broken_fields.yaml") == [
        "broken_fields.yaml:3 name: must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ (got 'broken fields')",
        "broken_fields.yaml:4 paramters: unknown key (did you mean 'parameters'?)",
        "broken_fields.yaml:6 constraints.power_cap_w: must be > 0 (got -5)",
        "broken_fields.yaml:7 constraints.accuracy: give max_abs_dlogit, min_top1_agreement "
        "or both",
        "broken_fields.yaml:9 parameters['layout.cores']: high must be >= low (8) (got 4)",
        "broken_fields.yaml:10 parameters.clock_mhz: give either choices or a range "
        "(low, high, step, log), not both",
        "broken_fields.yaml:11 parameters['tmac.lanes'].choices: must be distinct (got 32 twice)",
        "broken_fields.yaml:12 parameters['wbuf.capacity_kib']: high - low must be a multiple "
        "of step 64 (got 436)",
        "broken_fields.yaml:13 parameters['hbm.channels']: log cannot be combined with a step",
        "broken_fields.yaml:14 parameters['tmac.zero_skipping'].choices: must have at least 1 "
        "item(s) (got a list of 0)",
    ]


def test_design_problems_all_reported_with_lines() -> None:
    """Against the design: missing fields, invalid values, conditions, duplicates."""
    problems = _problems(DATA / "broken_design.yaml", U280)
    expected = [
        "broken_design.yaml:5 parameters['tmac.lanes'].choices[1]: units[2].lanes must be a "
        "power of two (got 48)",
        "broken_design.yaml:6 parameters['tmac.lanez']: no such field units[2].lanez in the design",
        "broken_design.yaml:7 parameters['units[2]']: units[2] is not a single value",
        "broken_design.yaml:8 parameters['units[2].kind']: units[2].kind cannot be searched",
        "broken_design.yaml:9 parameters['wbuf.capacity_kib'].when['tmac.rows_parallel']: names "
        "no parameter",
        "broken_design.yaml:10 parameters['hbm.channels'].choices[1]: units[1].channels must be "
        "<= 32",
        "broken_design.yaml:10 parameters['hbm.channels'].when['tmac.lanes']: 128 is not a value "
        "'tmac.lanes' can take",
        "broken_design.yaml:11 parameters['units[1].channels']: names the same field as "
        "'hbm.channels' (units[1].channels)",
        "broken_design.yaml:12 parameters.clock_mhz.high: clock_mhz must be within alveo-u280's "
        "clock range",
        "broken_design.yaml:13 parameters['layout.split'].choices[1]: units[0].split must be one "
        "of 'rows' or 'layers' (got 'columns')",
        "broken_design.yaml:14 parameters['wbuf.double_buffered'].choices[0]: "
        "units[3].double_buffered must be true or false (got 1)",
        "broken_design.yaml:14 parameters['wbuf.double_buffered'].choices[1]: "
        "units[3].double_buffered must be true or false (got 0)",
        "broken_design.yaml:19 parameters['act.holds'].when['units[9].lanes']: names no parameter",
    ]
    assert len(problems) == len(expected)
    for got, want in zip(problems, expected, strict=True):
        assert got.startswith(want), (got, want)


def test_unreadable_and_not_yaml(tmp_path: Path) -> None:
    assert _problems(tmp_path / "missing.yaml") == [
        "missing.yaml:0 <root>: cannot read file: No such file or directory"
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nparameters: [\n")
    assert _problems(bad)[0].startswith("bad.yaml:3 <root>: not valid YAML")


def test_version_and_later_condition(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "version: 2\nname: s\nparameters:\n"
        "  tmac.lanes: {choices: [32], when: {clock_mhz: 200.0}}\n"
        "  clock_mhz: {choices: [200.0]}\n"
    )
    assert _problems(p) == [
        "s.yaml:1 version: unsupported format version 2; this tool reads version 1",
    ]
    p.write_text(p.read_text().replace("version: 2", "version: 1"))
    assert _problems(p) == [
        "s.yaml:4 parameters['tmac.lanes'].when.clock_mhz: must name a parameter listed before "
        "this one",
    ]


def test_ranges_and_distributions(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "version: 1\nname: s\nparameters:\n"
        "  layout.cores: {low: 4, high: 32, step: 4}\n"
        "  clock_mhz: {low: 150.0, high: 300.0, step: 50.0}\n"
        "  hbm.latency_ns: {low: 100.0, high: 200.0, log: true}\n"
        "  tmac.rows_parallel: {low: 4, high: 64, log: true}\n"
    )
    s = load_space(p, load_arch(U280))
    params = s.parameters
    assert params["layout.cores"].kind == "int"
    assert params["layout.cores"].values() == [4, 8, 12, 16, 20, 24, 28, 32]
    assert params["clock_mhz"].values() == [150.0, 200.0, 250.0, 300.0]
    assert params["hbm.latency_ns"].values() is None  # continuous
    assert isinstance(
        params["tmac.rows_parallel"].distribution(), optuna.distributions.IntDistribution
    )
    assert s.size() == float("inf")
    with pytest.raises(ValueError, match="a grid needs a step or choices"):
        s.grid()


def test_suggest_respects_conditions() -> None:
    """A parameter whose condition fails is not suggested and keeps the base value."""
    s = load_space(EXAMPLES / "d5005_space.yaml", load_arch(D5005))
    base = {
        "ddr.path_bits_per_cycle": 16,
        "tmac.lanes": 8,
        "ddr.path_latency_cycles": 8,
        "clock_mhz": 120.0,
    }
    limited = s.suggest(optuna.trial.FixedTrial({**base, "ddr.max_outstanding": 1}))
    assert limited == {
        "units[0].path_bits_per_cycle": 16,
        "units[1].lanes": 8,
        "units[0].max_outstanding": 1,
        "units[0].path_latency_cycles": 8,
        "clock_mhz": 120.0,
    }
    unlimited = s.suggest(optuna.trial.FixedTrial({**base, "ddr.max_outstanding": None}))
    assert "units[0].path_latency_cycles" not in unlimited
    assert unlimited["units[0].max_outstanding"] is None


def test_suggest_needs_binding() -> None:
    s = load_space(EXAMPLES / "d5005_space.yaml")
    with pytest.raises(RuntimeError, match="bind the space"):
        s.suggest(optuna.trial.FixedTrial({}))


def test_as_dict_is_plain_data() -> None:
    s = load_space(EXAMPLES / "u280_hbm_space.yaml", load_arch(U280))
    d = s.as_dict()
    assert d["parameters"]["tmac.lanes"]["choices"] == [16, 32, 64, 128]
    assert d["constraints"]["power_cap_w"] == 45
