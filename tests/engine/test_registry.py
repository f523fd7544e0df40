"""The system is built from the unit registry: a new kind is one file plus one entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from arch_models.spec import load_arch
from arch_models.spec.arch import ArchSpec
from arch_models.spec.units import UNIT_KINDS
from arch_models.units import UNIT_MODELS
from arch_models.validation.errors import SpecError
from cosim.engine import simulate
from tests.conftest import EXAMPLES
from tests.engine import toy_unit
from tests.engine.synth import synthetic_workload

WORKLOAD = synthetic_workload(layers=2, d=512, inter=1536, vocab=1024, steps=2)


@pytest.fixture
def toy_kind() -> Iterator[None]:
    toy_unit.register()
    try:
        yield
    finally:  # leave the registry as the other tests expect it
        UNIT_KINDS.pop(toy_unit.KIND)
        UNIT_MODELS.pop(toy_unit.KIND)
        ArchSpec.model_rebuild(force=True)


def _design(tmp_path: Path, per_cycle: int | None) -> Path:
    doc = yaml.safe_load((EXAMPLES / "u280_hbm.yaml").read_text())
    if per_cycle is not None:
        doc["units"].append(
            {"kind": "lut_activation", "name": "act_lut", "elements_per_cycle": per_cycle}
        )
    path = tmp_path / f"toy_{per_cycle}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_registered_kind_is_described_built_simulated_and_counted(
    toy_kind: None, tmp_path: Path
) -> None:
    plain = simulate(load_arch(_design(tmp_path, None)), WORKLOAD)
    arch = load_arch(_design(tmp_path, 64))
    toy = simulate(arch, WORKLOAD)
    frame = toy.frame
    rows = frame[frame["unit"].astype(str) == "top.core0.act_lut"]
    assert set(rows["op"].astype(str)) == {"sigmoid", "silu"}
    assert (rows["energy_pj"] > 0).all() and (rows["busy_ns"] > 0).all()
    vector = frame[frame["unit"].astype(str) == "top.core0.rowwise"]
    assert not set(vector["op"].astype(str)) & {"sigmoid", "silu"}  # taken off the vector unit
    assert toy.summary["utilisation"][toy_unit.KIND] > 0
    # 64 elements a cycle beats the 16-lane vector unit's sigmoid and SiLU.
    assert toy.summary["ms_per_token"] < plain.summary["ms_per_token"]
    # a slower table is slower: the unit's own timing is what the engine replays
    slow = simulate(load_arch(_design(tmp_path, 1)), WORKLOAD)
    assert slow.summary["ms_per_token"] > toy.summary["ms_per_token"]


def test_resources_follow_the_registry(toy_kind: None, tmp_path: Path) -> None:
    from arch_models.resources import estimate_resources

    arch = load_arch(_design(tmp_path, 64))
    report = estimate_resources(arch)
    assert report.by_unit["act_lut"]["ff"] == 64 * 16 * arch.spec.layout.cores


def test_unregistered_kind_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"unknown kind 'lut_activation'; known: .*ternary_array"):
        load_arch(_design(tmp_path, 64))


def test_a_kind_cannot_be_registered_twice(toy_kind: None) -> None:
    with pytest.raises(ValueError, match="already registered"):
        toy_unit.register()
