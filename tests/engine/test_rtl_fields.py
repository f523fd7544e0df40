"""The description fields RTL needs, in the engine: their defaults change nothing, and
each moves the timing the way the RTL does (cycle-exact agreement is tests/rtl's)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from arch_models.spec.units import OffChipMemory, TernaryArray
from arch_models.units.ternary import plan_matvec
from arch_models.workload import MatrixInfo
from cosim.bounds import compute_bounds
from cosim.engine import simulate
from cosim.fpga import FpgaSystem, SimOptions
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload


def _matrix(rows: int, cols: int) -> MatrixInfo:
    return MatrixInfo(0, "m", rows, cols, 64, np.full((rows, -(-cols // 64)), 40, np.uint8))


def test_defaults() -> None:
    a = TernaryArray(kind="ternary_array", name="t", lanes=8)
    assert (a.handoff_bubble_cycles, a.start_latency_cycles, a.accumulator_overflow) == (
        0,
        0,
        "wrap",
    )
    m = OffChipMemory(kind="ddr4", name="d", channels=1, bandwidth_gb_per_s_per_channel=10)
    assert (m.path_fifo_beats, m.path_beat_interval_cycles, m.beat_bytes) == (0, None, 64)


@pytest.mark.parametrize("skip", [False, True])
def test_bubble_adds_its_cycles_once_per_row_group(skip: bool) -> None:
    base = TernaryArray(
        kind="ternary_array", name="t", lanes=8, rows_parallel=4, zero_skipping=skip
    )
    bubbly = base.model_copy(update={"handoff_bubble_cycles": 5})
    m = _matrix(30, 200)  # 8 row groups (the last of 2 rows), 4 column tiles
    plain = plan_matvec(base, m, 0, 30, 64, 1 << 30)
    more = plan_matvec(bubbly, m, 0, 30, 64, 1 << 30)
    assert more.cycles - plain.cycles == 5 * 8
    assert more.nbytes == plain.nbytes
    # the trees idle in the bubbles: the accumulate energy is charged per step
    assert more.steps == plain.steps == plain.cycles
    assert sum(c.bubbles for c in more.chunks) == 5 * 8


def _system(changes: dict[str, object]) -> FpgaSystem:
    from arch_models.energy import EnergyTable
    from arch_models.sim_env import CountingEnvironment
    from arch_models.units import BuildContext, Recorder

    # a weight buffer small enough that the weights stream
    arch = evolve(load_arch(EXAMPLES / "u280_hbm.yaml"), {"wbuf.capacity_kib": 16, **changes})
    env = CountingEnvironment()
    ctx = BuildContext(env=env, arch=arch, energy=EnergyTable(arch.device), recorder=Recorder())
    system = FpgaSystem(arch, synthetic_workload(d=512, inter=1536), ctx, SimOptions())
    system.build()
    system.connect()
    return system


def test_beat_interval_caps_the_path_and_the_bound() -> None:
    free = _system({})
    slow = _system({"hbm.path_beat_interval_cycles": 4})
    assert slow.mem is not None and free.mem is not None
    assert slow.mem.path_bytes_per_ns() == pytest.approx(64 / (4 * 4.0))  # 64 B per 4 x 4 ns
    assert free.mem.path_bytes_per_ns() == math.inf
    assert compute_bounds(slow).memory_ns > compute_bounds(free).memory_ns


def test_fifo_credits_cap_the_path_and_widen_the_prefetch_allowance() -> None:
    none = _system({})
    fifo = _system({"hbm.path_fifo_beats": 4})
    assert fifo.mem is not None
    # four beats of 64 B per (150 ns latency + one beat's transfer), Little's law
    per_beat = 64 / fifo.mem.group_bytes_per_ns()
    assert fifo.mem.path_bytes_per_ns() == pytest.approx(4 * 64 / (150 + per_beat))
    assert compute_bounds(fifo).prefetch_ns > compute_bounds(none).prefetch_ns


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("hbm.path_fifo_beats", [1, 2, 8, 32]),
        ("hbm.path_beat_interval_cycles", [16, 8, 2]),
    ],
)
def test_path_limits_never_faster_when_tighter(path: str, values: list[int]) -> None:
    arch = evolve(load_arch(EXAMPLES / "u280_hbm.yaml"), {"wbuf.capacity_kib": 16})
    wl = synthetic_workload(d=512, inter=1536)
    times = [simulate(evolve(arch, {path: v}), wl).summary["ms_per_token"] for v in values]
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(times)), times
    assert times[-1] < times[0], times


def test_start_latency_is_paid_per_matvec() -> None:
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    wl = synthetic_workload(d=512, inter=1536)
    base = simulate(arch, wl).summary["ms_per_token"]
    later = simulate(evolve(arch, {"tmac.start_latency_cycles": 100}), wl).summary["ms_per_token"]
    matvecs = sum(op.is_matvec for op in wl.decode_steps[0].ops)
    assert later > base
    assert later - base <= matvecs * 100 * 4e-6 * (1 + 1e-9)  # at most 100 cycles of 4 ns each
