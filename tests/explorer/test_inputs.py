"""What a YAML input is, by its content, and which design a search space fits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arch_models.spec import Arch, SpecError, load_arch
from arch_models.validation.source import parse_yaml, read_yaml
from explorer.inputs import designs_beside, fit_space, input_kind
from explorer.space import load_space
from tests.conftest import EXAMPLES


def test_kind_by_content() -> None:
    assert input_kind(read_yaml(EXAMPLES / "u280_hbm.yaml")) == "design"
    assert input_kind(read_yaml(EXAMPLES / "u280_hbm_space.yaml")) == "space"
    # not a mapping: the description's validator says what is wrong
    assert input_kind(parse_yaml("- 1\n", "list.yaml")) == "design"
    # a description missing its fields is still a description (its problems are listed)
    assert input_kind(parse_yaml("version: 1\nclock_mhz: 100\n", "d.yaml")) == "design"
    with pytest.raises(SpecError, match=r"x\.yaml:2 <root>: is neither an architecture"):
        input_kind(parse_yaml("# notes\nname: x\n", "x.yaml"))


def test_fit_prefers_earlier_tiers_and_names_the_closest() -> None:
    space = load_space(EXAMPLES / "u280_small_space.yaml")
    u280, d5005, h200 = (
        load_arch(EXAMPLES / f) for f in ("u280_hbm.yaml", "d5005_paper_core.yaml", "h200.yaml")
    )
    asked: list[str] = []

    def tiers() -> Iterator[list[Arch]]:
        asked.append("first")
        yield [u280]
        asked.append("second")
        yield [d5005]

    fit = fit_space(space, tiers())
    assert fit.design is u280 and fit.space.paths["tmac.lanes"] == "units[2].lanes"
    assert asked == ["first"]  # the later tier is never read
    assert fit_space(space, []).design is None
    with pytest.raises(SpecError) as info:
        fit_space(space, [[h200, d5005]])
    head = str(info.value.problems[0])
    assert "fits none of the designs h200.yaml (h200-sxm), d5005_paper_core.yaml" in head
    assert "closest, " in head


def test_designs_beside_reads_only_valid_designs(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text((EXAMPLES / "d5005_paper_core.yaml").read_text())
    (tmp_path / "s.yaml").write_text((EXAMPLES / "d5005_space.yaml").read_text())
    (tmp_path / "broken.yaml").write_text("version: 1\nclock_mhz: -1\n")
    (tmp_path / "notes.txt").write_text("clock_mhz: 1\n")
    found = designs_beside(tmp_path / "s.yaml")
    assert [a.spec.name for a in found] == ["d5005-paper-core"]
