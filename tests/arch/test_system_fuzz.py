"""Hypothesis mutations of the example system never produce a traceback or a hang.

See :mod:`tests.arch.system_fuzzing`; ``benchmarks/fuzz.py`` runs many more.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.arch.system_fuzzing import ODD_DESIGNS, check_system, garbage_systems, mutated_systems


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_systems())
def test_system_mutations_never_crash(text: str) -> None:
    check_system(text)


@settings(max_examples=100, deadline=None)
@given(garbage_systems())
def test_system_garbage_never_crashes(text: bytes) -> None:
    check_system(text)


def test_odd_card_files_are_refused_where_they_are_named() -> None:
    for odd in ODD_DESIGNS:
        text = f"version: 1\nname: s\nmapping: rows\ncards:\n  - design: {odd!r}\n"
        assert check_system(text) == "refused", odd
