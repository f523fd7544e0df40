"""Fixed costs a design may hide: dispatch issued ahead, barriers only at reductions.

Hand-computed on one core at 250 MHz (4 ns a cycle) with a 16-lane vector unit whose add
takes ``ceil(n / 16)`` cycles plus its 1-cycle latency.
"""

from __future__ import annotations

from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from arch_models.workload import Op, Step, Workload
from cosim.engine import simulate
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload

NS = 4.0  # one cycle at 250 MHz
OVERHEAD = 40


def _adds(*elements: int) -> Workload:
    ops = tuple(Op("add", f"a{i}", 0, 0, 0, n, -1, 2 * n, 2 * n) for i, n in enumerate(elements))
    steps = (Step(0, "decode", ops), Step(1, "decode", ops))
    return Workload(model={"name": "t", "layers": 1, "d": 64}, matrices={}, steps=steps)


def test_an_op_issued_ahead_waits_for_the_one_before_to_start_not_to_end() -> None:
    arch = evolve(
        load_arch(EXAMPLES / "u280_hbm.yaml"),
        {"layout.cores": 1, "ctrl.op_overhead_cycles": OVERHEAD},
    )
    work = _adds(16, 4096, 16)
    d0, d1, d2 = 1 + 1, 256 + 1, 1 + 1  # cycles of each add
    serial = simulate(arch, work).ms_per_token * 1e6
    assert serial == (3 * OVERHEAD + d0 + d1 + d2) * NS
    ahead = simulate(evolve(arch, {"ctrl.issue_ahead": True}), work).ms_per_token * 1e6
    # step 0: the first op is issued before the run; the second waits out the dispatch
    # (the first is shorter), the third is issued while the second runs: O + d1 + d2.
    # step 1: its first op starts O after the third of step 0 started, the second O after
    # that, the third at once: 2·O + d1. The mean of the two:
    assert ahead == (3 * OVERHEAD + 2 * d1 + d2) / 2 * NS


def test_cores_that_meet_only_at_reductions_skip_the_barrier_after_each_matvec() -> None:
    arch = evolve(load_arch(EXAMPLES / "u280_hbm.yaml"), {"layout.sync_cycles": 100})
    work = synthetic_workload(layers=2, d=512, inter=1536, vocab=2048, steps=3, prompt=1)
    per_step = work.decode_steps[0].ops
    matvecs = sum(op.is_matvec for op in per_step)
    every = simulate(arch, work)
    fewer = simulate(evolve(arch, {"layout.sync": "reductions"}), work)
    # weights stream from HBM meanwhile, so at most every matvec's barrier is saved
    saved = (every.ms_per_token - fewer.ms_per_token) * 1e6
    assert 0 < saved <= matvecs * 100 * NS + 1e-6
    assert fewer.tokens_per_s <= fewer.bound_tokens_per_s
    assert every.bound_tokens_per_s == fewer.bound_tokens_per_s
