"""Hypothesis mutations of valid descriptions never produce a traceback.

Each mutated file must either validate or be refused with a :class:`SpecError` whose
problems are all well-formed ``file:line path: message`` lines. Any other exception is a
bug. Mutations: deleted keys, replaced values of random type (huge numbers, NaN, strings,
lists, mappings, deep nesting), added keys, and raw garbage bytes spliced into the text.
The case counts are the ``max_examples`` below (1,700 cases per run in total).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arch_models.spec import SpecError, parse_yaml, validate_arch
from tests.conftest import EXAMPLES

SOURCES = {
    p.name: p.read_text(encoding="utf-8")
    for p in sorted(EXAMPLES.glob("*.yaml"))
    if not p.stem.endswith("_space")
}
DATA = {name: yaml.safe_load(text) for name, text in SOURCES.items()}
PROBLEM_LINE = re.compile(r"^[^\s:]+\.yaml:\d+ [^\n]+: [^\n]+$")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["ternary_array", "hbm", "ddr4", "5trit", "2bit", "m20k", "uram", "rows"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _check(text: str | bytes, name: str) -> None:
    try:
        doc = parse_yaml(text, name)
        validate_arch(doc)
    except SpecError as exc:
        assert exc.problems
        for line in str(exc).splitlines():
            assert PROBLEM_LINE.match(line), line


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(DATA)))
    data = copy.deepcopy(DATA[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(values)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        else:
            parent.append(draw(values))
    return name, _dump(data)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_never_crash(case: tuple[str, str]) -> None:
    name, text = case
    _check(text, name)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(SOURCES)), st.binary(max_size=64), st.integers(0, 10_000))
def test_garbage_bytes_never_crash(name: str, junk: bytes, at: int) -> None:
    raw = SOURCES[name].encode()
    at %= len(raw)
    _check(raw[:at] + junk + raw[at:], name)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(DATA)), st.integers(1, 150))
def test_deep_nesting_never_crashes(name: str, depth: int) -> None:
    data = copy.deepcopy(DATA[name])
    nested: Any = 1
    for _ in range(depth):
        nested = {"x": [nested]}
    data["units"][0]["lanes"] = nested
    _check(_dump(data), name)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(DATA)), st.integers(2**31, 2**200))
def test_huge_numbers_are_clean_errors(name: str, big: int) -> None:
    data = copy.deepcopy(DATA[name])
    data["clock_mhz"] = big
    data["units"][0]["name"] = "x" * (big % 500)
    _check(_dump(data), name)


def test_valid_examples_round_trip_through_dump(tmp_path: Path) -> None:
    for name, data in DATA.items():
        validate_arch(parse_yaml(_dump(data), name))
