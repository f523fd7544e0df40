"""Hostile YAML: every file is answered with located problems, quickly, in bounded memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from arch_models.spec import load_arch
from arch_models.validation.errors import MAX_PROBLEMS, SpecError
from arch_models.validation.source import MAX_BYTES, MAX_VALUES, read_yaml
from tests.conftest import EXAMPLES


def _refused(path: Path, seconds: float = 5.0) -> SpecError:
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as info:
        load_arch(path)
    assert time.perf_counter() - t0 < seconds
    return info.value


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("version: !!int x\n", "version: bad scalar 'x' for tag !!int"),
        ("version: !!float abc\n", "version: bad scalar 'abc' for tag !!float"),
        ("version: !!bool maybe\n", "version: bad scalar 'maybe' for tag !!bool"),
        (
            "version: !!timestamp 2020-99-99\n",
            "version: bad scalar '2020-99-99' for tag !!timestamp",
        ),
    ],
)
def test_explicit_tags_with_bad_values(tmp_path: Path, text: str, wanted: str) -> None:
    path = tmp_path / "tags.yaml"
    path.write_text("name: x\n" + text)
    err = _refused(path)
    assert str(err.problems[0]).startswith(f"tags.yaml:2 {wanted}")


def test_an_alias_bomb_is_refused_at_the_value_limit(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    err = _refused(path)
    assert f"more than {MAX_VALUES:,} values" in str(err)


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "huge"])
def test_what_is_not_a_small_regular_file_is_refused_unread(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        path = Path("/dev/zero")  # endless
    else:
        with path.open("wb") as fh:  # sparse: its size is known without reading it
            fh.truncate(64 * MAX_BYTES)
    err = _refused(path, seconds=2.0)
    text = str(err)
    assert ("not a regular file" in text) if kind != "huge" else ("larger than" in text)
    assert err.problems[0].filename == path.name


def test_a_hundred_thousand_keys_list_the_first_problems_and_count_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("version: 1\n" + "".join(f"k{i}: {i}\n" for i in range(100_000)))
    err = _refused(path, seconds=30.0)  # LibYAML composes it in about a second
    assert len(err.problems) == MAX_PROBLEMS
    assert err.more > 99_000 and f"... and {err.more:,} more problems" in str(err)


def test_a_design_that_validates_can_run_every_operation(tmp_path: Path) -> None:
    text = (EXAMPLES / "u280_hbm.yaml").read_text()
    start = text.index("  - kind: vector_unit")
    end = text.index("  - kind: norm_unit")
    path = tmp_path / "novec.yaml"
    path.write_text(text[:start] + text[end:])
    err = _refused(path)
    assert "no block runs the model's 'add', 'mul', 'quantise'" in str(err)
    doc = read_yaml(path)
    assert doc.data["units"]  # the file itself is fine; the design cannot run the model
