"""Device overrides: sourced figures replace the catalog's and are validated in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from arch_models.spec import SpecError, load_arch
from tests.conftest import EXAMPLES


def _with_device(tmp_path: Path, device_yaml: str, refs: str = "") -> Path:
    text = (EXAMPLES / "u280_hbm.yaml").read_text()
    text = text.replace("device:\n  part: alveo-u280\n", device_yaml)
    if refs:
        text = text.replace("references:\n", "references:\n" + refs)
    out = tmp_path / "design.yaml"
    out.write_text(text)
    return out


def test_override_applies(tmp_path: Path) -> None:
    path = _with_device(
        tmp_path,
        "device:\n  part: alveo-u280\n  overrides:\n    power:\n"
        "      static_w: {value: 31.5, source: bench}\n",
        '  bench: "Our bench, idle card, 2026"\n',
    )
    arch = load_arch(path)
    assert arch.device.power.static_w is not None
    assert arch.device.power.static_w.value == 31.5
    assert arch.device.citation(arch.device.power.static_w.source).startswith("Our bench")
    # The catalog itself is untouched.
    catalog_static = load_arch(EXAMPLES / "u280_hbm.yaml").device.power.static_w
    assert catalog_static is not None and catalog_static.value != 31.5


def test_override_errors_point_into_description(tmp_path: Path) -> None:
    path = _with_device(
        tmp_path,
        "device:\n  part: alveo-u280\n  overrides:\n    clock:\n"
        "      max_mhz: {value: -1, source: nowhere}\n    colour: red\n",
    )
    with pytest.raises(SpecError) as info:
        load_arch(path)
    text = str(info.value)
    assert "device.overrides: cannot override 'colour'; overridable: resources" in text
    assert "device.overrides.clock.max_mhz.source: unknown reference 'nowhere'" in text
