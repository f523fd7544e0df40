"""The device catalog: required parts present, every figure sourced, user catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from arch_models.catalog import catalog, get_device
from arch_models.catalog.loader import CATALOG_ENV, _load
from arch_models.spec import SpecError

REQUIRED = {
    "intel-d5005",
    "alveo-u280",
    "alveo-u55c",
    "alveo-u250",
    "arty-a7-100t",
    "nvidia-h200",
    "nvidia-h100",
    "nvidia-a100",
}


def test_required_parts_present() -> None:
    assert set(catalog()) >= REQUIRED


def _figures(data: object) -> list[dict[str, object]]:
    if isinstance(data, dict):
        if set(data) == {"value", "source"}:
            return [data]
        return [f for k, v in data.items() if k != "references" for f in _figures(v)]
    if isinstance(data, list):
        return [f for v in data for f in _figures(v)]
    return []


@pytest.mark.parametrize("part", sorted(REQUIRED))
def test_every_figure_has_a_known_source(part: str) -> None:
    device = get_device(part)
    figures = _figures(device.model_dump(mode="json"))
    assert len(figures) >= 8
    for fig in figures:
        key = str(fig["source"]).split()[0]
        assert key in device.references, (part, fig)


def test_fpga_resources_and_memory() -> None:
    u280 = get_device("alveo-u280")
    assert u280.resources is not None
    assert u280.resources.available()["uram"] == 960
    hbm = u280.memory_of("hbm")
    assert hbm is not None and hbm.channels.value == 32
    d5005 = get_device("intel-d5005")
    assert d5005.resources is not None and "m20k" in d5005.resources.available()


def test_unknown_part_lists_known() -> None:
    with pytest.raises(KeyError, match=r"known parts: .*alveo-u280"):
        get_device("alveo-u999")


def test_user_catalog_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = Path(__file__).parents[2] / "arch_models/catalog/data/arty-a7-100t.yaml"
    text = src.read_text().replace("id: arty-a7-100t", "id: my-board")
    (tmp_path / "my-board.yaml").write_text(text)
    monkeypatch.setenv(CATALOG_ENV, str(tmp_path))
    _load.cache_clear()
    try:
        assert "my-board" in catalog()
    finally:
        _load.cache_clear()


def test_broken_user_catalog_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.yaml").write_text("id: bad\nname: x\nvendor: y\nkind: asic\n")
    monkeypatch.setenv(CATALOG_ENV, str(tmp_path))
    _load.cache_clear()
    try:
        with pytest.raises(SpecError, match=r"bad\.yaml:4 kind: must be one of"):
            catalog()
    finally:
        _load.cache_clear()
