"""Fuzzing: damaged traces and checkpoints give a result or the package's error, never another.

A bounded number of Hypothesis examples keeps this quick; :mod:`tests.workloads.fuzzing`
runs as many seeded cases as a benchmark asks for (``run_trace_cases(n, seed)``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workloads.fuzzing import (
    DataChooser,
    checkpoint_case,
    run_checkpoint_cases,
    run_trace_cases,
    trace_case,
)

_SETTINGS = settings(
    max_examples=60,
    deadline=None,  # the per-case bound is the fuzzer's own (CASE_SECONDS)
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI stays reproducible
)


@_SETTINGS
@given(st.data())
def test_damaged_traces_read_or_raise_trace_error(data: st.DataObject) -> None:
    assert trace_case(DataChooser(data)) in ("valid", "TraceError")


@_SETTINGS
@given(st.data())
def test_damaged_checkpoints_load_or_raise_workload_error(data: st.DataObject) -> None:
    outcome = checkpoint_case(DataChooser(data))
    assert outcome in ("valid", "CheckpointError", "ModelConfigError")


def test_seeded_runs_count_their_outcomes() -> None:
    traces = run_trace_cases(40, seed=7)
    assert sum(traces.values()) == 40 and traces["TraceError"] > 0
    assert set(traces) <= {"valid", "TraceError"}
    checkpoints = run_checkpoint_cases(40, seed=7)
    assert sum(checkpoints.values()) == 40 and checkpoints["valid"] > 0
    assert set(checkpoints) <= {"valid", "CheckpointError", "ModelConfigError"}
