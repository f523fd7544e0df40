"""Fixed costs a design may hide: dispatch issued ahead, barriers only at reductions, a
quantiser fused into the norm before it.

Hand-computed on one core at 250 MHz (4 ns a cycle) with a 16-lane vector unit whose add
takes ``ceil(n / 16)`` cycles plus its 1-cycle latency.
"""

from __future__ import annotations

import pytest

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


def _norm_then_quantise(n: int) -> Workload:
    ops = (
        Op("norm", "x.norm", 0, 0, 0, n, -1, 2 * n, 2 * n),
        Op("quantise", "x.quant", 0, 0, 0, n, -1, 2 * n, n),
    )
    steps = (Step(0, "decode", ops), Step(1, "decode", ops))
    return Workload(model={"name": "t", "layers": 1, "d": n}, matrices={}, steps=steps)


def test_a_norm_unit_that_fuses_the_quantiser_takes_its_op_dispatch_and_barrier() -> None:
    # 16-element norm unit with a 24-cycle rsqrt, 16-lane vector unit whose quantise is
    # two passes plus its 4-cycle latency (examples/u280_hbm.yaml)
    base = evolve(
        load_arch(EXAMPLES / "u280_hbm.yaml"),
        {"layout.cores": 1, "ctrl.op_overhead_cycles": OVERHEAD},
    )
    work = _norm_then_quantise(256)
    norm, quant = 2 * 16 + 24, 2 * 16 + 4  # cycles on one core
    apart = simulate(base, work)
    fused = simulate(evolve(base, {"rms.fuse_quantise": True}), work)
    assert apart.ms_per_token * 1e6 == (2 * OVERHEAD + norm + quant) * NS
    assert fused.ms_per_token * 1e6 == (OVERHEAD + norm) * NS
    # the quantiser's arithmetic moves to the norm unit: its energy is still counted
    assert apart.fpga is not None and fused.fpga is not None
    e0, e1 = apart.fpga.energy_breakdown_j_per_token, fused.fpga.energy_breakdown_j_per_token
    assert e1.get("vector_unit", 0.0) == 0.0 < e0["vector_unit"]
    assert e1["norm_unit"] == pytest.approx(e0["norm_unit"] + e0["vector_unit"], rel=1e-12)
    assert fused.tokens_per_s <= fused.bound_tokens_per_s
    # four cores meeting at every reduction: the quantiser's barrier goes too
    rows = {"layout.cores": 4, "layout.sync_cycles": 100, "layout.sync": "reductions"}
    apart = simulate(evolve(base, rows), work)
    fused = simulate(evolve(base, {**rows, "rms.fuse_quantise": True}), work)
    norm, quant = 2 * 4 + 24, 2 * 4 + 4  # 64 elements a core
    assert apart.ms_per_token * 1e6 == (2 * OVERHEAD + norm + quant + 2 * 100) * NS
    assert fused.ms_per_token * 1e6 == (OVERHEAD + norm + 100) * NS


def test_fusing_the_quantiser_costs_each_norm_lane_a_multiplier_and_logic() -> None:
    from arch_models.resources import estimate_resources

    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    apart = estimate_resources(arch).by_unit["rms"]
    fused = estimate_resources(evolve(arch, {"rms.fuse_quantise": True})).by_unit["rms"]
    lanes, cores = 16, arch.spec.layout.cores
    assert fused["dsp"] - apart["dsp"] == (lanes + 4) * cores  # one DSP48E2 a multiplier
    assert fused["lut"] > apart["lut"] and fused["ff"] > apart["ff"]


def test_a_quantiser_is_fused_only_after_a_norm_of_its_own_vector() -> None:
    arch = evolve(
        load_arch(EXAMPLES / "u280_hbm.yaml"),
        {"layout.cores": 1, "ctrl.op_overhead_cycles": OVERHEAD, "rms.fuse_quantise": True},
    )
    n = 256
    ops = (  # a quantise after an add, and one after a norm of another length
        Op("add", "a", 0, 0, 0, n, -1, 2 * n, 2 * n),
        Op("quantise", "a.quant", 0, 0, 0, n, -1, 2 * n, n),
        Op("norm", "b.norm", 0, 0, 0, n // 2, -1, n, n),
        Op("quantise", "c.quant", 0, 0, 0, n, -1, 2 * n, n),
    )
    steps = (Step(0, "decode", ops), Step(1, "decode", ops))
    work = Workload(model={"name": "t", "layers": 1, "d": n}, matrices={}, steps=steps)
    add, quant, norm = 16 + 1, 2 * 16 + 4, 2 * 8 + 24
    assert simulate(arch, work).ms_per_token * 1e6 == (4 * OVERHEAD + add + 2 * quant + norm) * NS
