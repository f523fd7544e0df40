"""Hypothesis mutations of valid descriptions never produce a traceback or a hang.

Each mutated file must either be refused with a :class:`SpecError` whose problems are all
well-formed ``file:line path: message`` lines, or validate and then simulate (or be
refused by the engine with a SimulationError), within seconds; see
:mod:`tests.arch.fuzzing`. About 1,900 cases per run; ``benchmarks/fuzz.py`` runs more.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arch_models.spec import parse_yaml, validate_arch
from tests.arch.fuzzing import (
    DATA,
    aliased,
    check_description,
    dump,
    garbage,
    mutated,
    run_cases,
    tagged_values,
)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_never_crash(case: tuple[str, str]) -> None:
    check_description(*case, run=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_that_validate_also_simulate(case: tuple[str, str]) -> None:
    check_description(*case)


@settings(max_examples=300, deadline=None)
@given(garbage())
def test_garbage_bytes_never_crash(case: tuple[str, bytes]) -> None:
    check_description(*case)


@settings(max_examples=200, deadline=None)
@given(tagged_values())
def test_explicit_tags_never_crash(case: tuple[str, str]) -> None:
    check_description(*case)


@settings(max_examples=50, deadline=None)
@given(aliased())
def test_aliases_never_crash(case: tuple[str, str]) -> None:
    check_description(*case)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(DATA)), st.integers(1, 150))
def test_deep_nesting_never_crashes(name: str, depth: int) -> None:
    data = copy.deepcopy(DATA[name])
    nested: Any = 1
    for _ in range(depth):
        nested = {"x": [nested]}
    data["units"][0]["lanes"] = nested
    check_description(name, dump(data))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(DATA)), st.integers(2**31, 2**200))
def test_huge_numbers_are_clean_errors(name: str, big: int) -> None:
    data = copy.deepcopy(DATA[name])
    data["clock_mhz"] = big
    data["units"][0]["name"] = "x" * (big % 500)
    check_description(name, dump(data))


def test_the_benchmark_runner_counts_outcomes() -> None:
    counts = run_cases(30, seed=1)
    assert sum(v for k, v in counts.items() if k != "slowest_ms") == 30
    assert counts["refused"] > 0


def test_valid_examples_round_trip_through_dump(tmp_path: Path) -> None:
    for name, data in DATA.items():
        validate_arch(parse_yaml(dump(data), name))
