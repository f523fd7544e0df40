"""Broken descriptions give exactly the expected problems (golden files).

Each ``broken/NAME.yaml`` has a ``broken/NAME.expected`` listing every problem line the
validator must report, in order. Regenerate one with
``cosim validate broken/NAME.yaml 2>&1 | tail -n +2 | sed 's/^  //'`` after checking it
by eye.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from arch_models.spec import SpecError, load_arch

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))


def test_there_are_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_problems(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    with pytest.raises(SpecError) as info:
        load_arch(path)
    assert [str(p) for p in info.value.problems] == expected
    # One error, every problem, each on its own line of the message.
    assert str(info.value).splitlines() == expected


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.yaml:0 <root>: cannot read file"):
        load_arch(tmp_path / "missing.yaml")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "evil.yaml"
    f.write_text("version: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match=r"evil\.yaml:1 version: unsupported YAML tag"):
        load_arch(f)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "deep.yaml"
    f.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match=r"deep\.yaml:1 .*(nesting|not valid YAML)"):
        load_arch(f)
