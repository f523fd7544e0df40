"""The engine predicts the RTL's cycles: the same matvecs, the same memory.

Four designs (a plain one; one with a stream FIFO, a beat interval, a hand-off bubble, a
start latency and 5-trit weights; one skipping zero weights; one whose controller issues
ahead, ``control.issue_ahead``, a 40-cycle dispatch), each under four memories:
a beat every cycle at latency 1, latency 20, a beat every third cycle, and random stalls
(a slot lost with probability 0.2). With deterministic memory the engine's count is the
RTL's (within 0.5%); with random stalls, within 2% (the engine prices the stalls as their
mean). The events the energy model charges (weights into adders, array steps, bubbles,
weight-buffer bytes, memory beats) equal the ones the bench counts in the RTL.
"""

from __future__ import annotations

import pytest

from arch_models.rtl import MemoryTiming
from cosim.rtl_check import compare, random_ops
from tests.rtl.conftest import bench_design, needs_verilator

pytestmark = [needs_verilator, pytest.mark.rtl]

DESIGNS = {
    "plain": {},
    "fifo-interval-bubble-5trit": {
        "hbm.path_fifo_beats": 6,
        "hbm.path_beat_interval_cycles": 2,
        "tmac.handoff_bubble_cycles": 2,
        "tmac.start_latency_cycles": 3,
        "tmac.weight_packing": "5trit",
    },
    "zero-skip-bubble": {
        "tmac.zero_skipping": True,
        "tmac.tile_cols": 64,
        "tmac.handoff_bubble_cycles": 1,
    },
    # the controller issues ahead: a long dispatch, hidden behind the matvec before
    "issue-ahead": {"ctrl.issue_ahead": True, "ctrl.op_overhead_cycles": 40},
}
TIMINGS = {
    "every-cycle": MemoryTiming(latency_cycles=1, beat_interval_cycles=1),
    "latency-20": MemoryTiming(latency_cycles=20, beat_interval_cycles=1),
    "every-third": MemoryTiming(latency_cycles=6, beat_interval_cycles=3),
    "stalls": MemoryTiming(
        latency_cycles=10, beat_interval_cycles=1, stall_probability=0.2, seed=3
    ),
}


@pytest.mark.parametrize("design", sorted(DESIGNS))
@pytest.mark.parametrize("timing", sorted(TIMINGS))
def test_engine_predicts_rtl_cycles(design: str, timing: str) -> None:
    arch = bench_design(**DESIGNS[design])
    ops = random_ops([(10, 32), (64, 64), (7, 16)], seed=1)
    t = TIMINGS[timing]
    agreement = compare(arch, ops, t)
    limit = 0.02 if t.stall_probability else 0.005
    assert abs(agreement.error) <= limit, agreement
    assert len(agreement.rtl_op_end_cycles) == 3
    # what the energy model charges is what the RTL did, event for event
    assert agreement.rtl_events == agreement.model_events


def test_single_matvec() -> None:
    agreement = compare(bench_design(), random_ops([(48, 64)], seed=2), TIMINGS["latency-20"])
    assert abs(agreement.error) <= 0.005, agreement


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_merged_transfers_agree_too(design: str) -> None:
    # the engine's default merges a matvec's fills into 4 transfers; booked fill by fill
    # they keep the unmerged schedule
    arch = bench_design(**DESIGNS[design])
    ops = random_ops([(64, 128), (96, 64)], seed=4)
    agreement = compare(arch, ops, TIMINGS["latency-20"], max_transactions=4)
    assert abs(agreement.error) <= 0.01, agreement
