"""Every shipped example loads, and its headline figures are what the files say."""

from __future__ import annotations

from pathlib import Path

import pytest

from arch_models.spec import load_arch
from arch_models.spec.summary import summarize
from arch_models.spec.units import Buffer, OffChipMemory, TernaryArray
from tests.conftest import EXAMPLES, example_designs

ARCH_EXAMPLES = example_designs()


def test_examples_exist() -> None:
    names = {p.name for p in ARCH_EXAMPLES}
    assert {"d5005_paper_core.yaml", "u280_hbm.yaml", "h200.yaml"} <= names


@pytest.mark.parametrize("path", ARCH_EXAMPLES, ids=lambda p: p.name)
def test_example_loads(path: Path) -> None:
    arch = load_arch(path)
    assert arch.spec.version == 1
    assert arch.filename == path.name


def test_paper_core_matches_paper() -> None:
    arch = load_arch(EXAMPLES / "d5005_paper_core.yaml")
    assert arch.device.id == "intel-d5005"
    assert arch.spec.clock_mhz == 60
    (ddr,) = arch.spec.units_of(OffChipMemory)
    assert ddr.kind == "ddr4" and ddr.path_bits_per_cycle == 8
    (tmac,) = arch.spec.units_of(TernaryArray)
    # 8 bits a cycle at 2 bits per weight = 4 weights a cycle.
    assert tmac.lanes * tmac.bits_per_weight == 8
    assert summarize(arch)["cores"] == 1


def test_u280_is_multicore_hbm() -> None:
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    s = summarize(arch)
    assert s["cores"] > 1
    assert s["offchip_peak_gb_per_s"] == pytest.approx(460)
    (tmac,) = arch.spec.units_of(TernaryArray)
    assert tmac.weight_packing == "5trit" and tmac.bits_per_weight == pytest.approx(1.6)
    wbuf = next(b for b in arch.spec.units_of(Buffer) if b.holds == "weights")
    assert wbuf.double_buffered and wbuf.tile_capacity_bytes >= tmac.tile_bytes


def test_h200_is_gpu_hierarchy() -> None:
    arch = load_arch(EXAMPLES / "h200.yaml")
    assert arch.is_gpu
    assert {u.kind for u in arch.spec.units} == {"gpu_sms", "gpu_l2", "hbm", "kernel_launch"}
    assert summarize(arch)["offchip_peak_gb_per_s"] == pytest.approx(4800)


def test_spec_is_frozen_and_evolvable() -> None:
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    tmac = arch.spec.units_of(TernaryArray)[0]
    with pytest.raises(Exception, match="frozen"):
        tmac.lanes = 128  # type: ignore[misc]
    wider = tmac.model_copy(update={"lanes": 128})
    assert wider.adds_per_cycle == 2 * tmac.adds_per_cycle
