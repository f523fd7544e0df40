"""The host-speed probe and the selection of quiet steps (gpubench.hostspeed)."""

from __future__ import annotations

import dataclasses

import pytest

from gpubench.hostspeed import MIN_QUIET, probe_us, quiet_reference, quiet_steps
from tests.gpubench import sample


def test_probe_grows_with_its_loop() -> None:
    short = min(probe_us(500) for _ in range(5))
    long = min(probe_us(50_000) for _ in range(5))
    assert 0 < short < long


def test_reference_is_the_fifth_percentile() -> None:
    assert quiet_reference([]) is None
    probes = [200.0] * 10 + [330.0] * 90  # mostly slow: the quiet state still sets it
    assert quiet_reference(probes) == 200.0


def test_a_step_is_quiet_only_with_quiet_probes_on_both_sides() -> None:
    # steps 0-9 quiet (1 ms); step 10 between a quiet and a slow probe; 11-19 slow (2 ms)
    steps = [1.0] * 10 + [5.0] + [2.0] * 9
    probes = [200.0] * 11 + [330.0] * 10
    q = quiet_steps(steps, probes, reference_us=200.0)
    assert q.count == 10 and q.median_ms == 1.0 and q.reason is None


def test_too_few_quiet_steps_give_a_reason_not_a_number() -> None:
    steps = [1.0] * (MIN_QUIET - 1) + [2.0] * 5
    probes = [200.0] * MIN_QUIET + [330.0] * 5
    q = quiet_steps(steps, probes, reference_us=200.0)
    assert q.median_ms is None and q.count == MIN_QUIET - 1
    assert q.reason is not None and f"quiet for {MIN_QUIET - 1} of 12" in q.reason


def test_probes_must_bracket_the_steps() -> None:
    with pytest.raises(ValueError, match="3 probes for 3 steps"):
        quiet_steps([1.0, 1.0, 1.0], [200.0] * 3, 200.0)


def test_run_reference_spans_cases() -> None:
    """A case measured wholly in the slow state is judged against the run's quiet one."""
    from gpubench.measure import with_quiet_steps

    base = dataclasses.replace(sample.case(launch="eager"), null_reasons={})
    quiet = dataclasses.replace(base, tagged_ms=[1.0] * 20, tagged_probe_us=[200.0] * 21)
    slow = dataclasses.replace(base, batch=2, tagged_ms=[2.0] * 20, tagged_probe_us=[330.0] * 21)
    a, b = with_quiet_steps([quiet, slow])
    assert a.decode_quiet_ms_per_token == 1.0 and a.host_quiet_ref_us == 200.0
    assert b.decode_quiet_ms_per_token is None and b.quiet_steps == 0
    assert "quiet for 0 of 20" in b.null_reasons["decode_quiet_ms_per_token"]
    assert "quiet_steps" not in b.null_reasons
