"""Conformance: every unit kind obeys the rules any hardware model must.

For each kind, a parameter that adds resources is swept upward on an example design
(see CASES): simulated time per token must not increase, resources must not decrease,
every event's energy is non-negative, and no run beats its own analytical bound (the
engine raises if one does). Runs use a small synthetic MatMul-free-shaped workload.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest

from arch_models.resources import estimate_resources
from arch_models.spec import Arch, load_arch
from arch_models.spec.evolve import evolve
from cosim.engine import simulate
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload


@cache
def _arch(name: str) -> Arch:
    return load_arch(EXAMPLES / name)


@cache
def _workload(zero_fraction: float = 1 / 3) -> object:
    return synthetic_workload(
        layers=2, d=512, inter=1536, vocab=1024, steps=2, zero_fraction=zero_fraction
    )


U280 = "u280_hbm.yaml"
D5005 = "d5005_paper_core.yaml"
#: kind → (example, path, increasing values that add resources)
CASES = {
    "ternary_array.lanes": (U280, "tmac.lanes", [16, 32, 64, 128]),
    "ternary_array.rows_parallel": (U280, "tmac.rows_parallel", [2, 4, 8, 16]),
    "ternary_array.count": (D5005, "tmac.count", [1, 2, 4]),
    "vector_unit.ops_per_cycle": (D5005, "rowwise.ops_per_cycle", [1, 2, 8, 32]),
    "norm_unit.elements_per_cycle": (D5005, "rms.elements_per_cycle", [1, 4, 16]),
    "hbm.channels": (U280, "hbm.channels", [16, 24, 32]),
    "ddr4.path_bits_per_cycle": (D5005, "ddr.path_bits_per_cycle", [8, 16, 64, 512]),
    "hbm.efficiency": (U280, "hbm.efficiency", [0.3, 0.6, 0.9]),
    "buffer.capacity_kib": (U280, "wbuf.capacity_kib", [32, 64, 256]),
    "core_layout.cores": (U280, "layout.cores", [4, 8, 16]),
    "clock_mhz": (U280, "clock_mhz", [100, 200, 300]),
}
#: kind → (example, path, values that *remove* cost: time must not increase)
CHEAPER = {
    "control.op_overhead_cycles": (D5005, "ctrl.op_overhead_cycles", [64, 8, 0]),
    "core_layout.sync_cycles": (U280, "layout.sync_cycles", [256, 32, 0]),
    "buffer.double_buffered": (U280, "wbuf.double_buffered", [False, True]),
    "ternary_array.zero_skipping": (U280, "tmac.zero_skipping", [False, True]),
    "ternary_array.handoff_bubble_cycles": (U280, "tmac.handoff_bubble_cycles", [16, 2, 0]),
    "ternary_array.start_latency_cycles": (U280, "tmac.start_latency_cycles", [64, 4, 0]),
    "ddr4.path_beat_interval_cycles": (D5005, "ddr.path_beat_interval_cycles", [8, 4, 1]),
    "ddr4.max_outstanding": (D5005, "ddr.max_outstanding", [1, 4, None]),
}


def _run(example: str, path: str, value: object) -> tuple[float, dict[str, float], float]:
    arch = evolve(_arch(example), {path: value})
    result = simulate(arch, _workload())  # type: ignore[arg-type]
    assert (result.frame["energy_pj"] >= 0).all()
    assert result.summary["energy_per_token_j"] > 0
    assert result.summary["tokens_per_s"] <= result.summary["bound_tokens_per_s"] * (1 + 1e-9)
    return (
        result.summary["ms_per_token"],
        estimate_resources(arch).used,
        result.summary["energy_per_token_j"],
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_more_resources_never_slower(case: str) -> None:
    example, path, values = CASES[case]
    runs = [_run(example, path, v) for v in values]
    times = [r[0] for r in runs]
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(times)), times
    if case != "clock_mhz" and not case.startswith(("hbm", "ddr4")):
        for (_, lo, _), (_, hi, _) in itertools.pairwise(runs):
            assert all(hi.get(k, 0) >= v - 1e-9 for k, v in lo.items()), (lo, hi)
    assert times[-1] < times[0] or case in (
        "ternary_array.count",
        "norm_unit.elements_per_cycle",
    ), times


@pytest.mark.parametrize("case", sorted(CHEAPER))
def test_less_overhead_never_slower(case: str) -> None:
    example, path, values = CHEAPER[case]
    times = [_run(example, path, v)[0] for v in values]
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(times)), times
