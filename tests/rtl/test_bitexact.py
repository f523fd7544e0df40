"""The RTL computes what the functional model computes, bit for bit.

Inputs are the real matvecs of a decode step of the tiny model (every BitLinear: the
i/f/g/o projections, the fused gate/up, the down projection and the LM head; the packed
weights the model streams and the token's quantised activations, recorded from its
``packed_product`` calls), and the expected outputs are the model's own accumulators for
the same ``Numerics``: exact at 24 bits, wrapping at 10 bits, saturating at 10 and 11
bits (every adder-tree node clamped, as ``workloads.matvec.adder_tree`` does), and with zero
skipping (the nonzero weights summed in another order, exact or wrapping). The bench
checks every export beat against files Python wrote from those results.
"""

from __future__ import annotations

import numpy as np
import pytest

from arch_models.rtl import MemoryTiming, RtlParams, run
from tests.rtl.conftest import needs_verilator, tiny_matvecs
from workloads.matvec import adder_tree

pytestmark = [needs_verilator, pytest.mark.rtl]

CASES = {
    # (accumulator bits, overflow, packing, lanes, rows_parallel, count, tile_cols, zero skip)
    "2bit-exact": (24, "wrap", "2bit", 16, 4, 1, 64, 0),
    "2bit-wrap10": (10, "wrap", "2bit", 4, 2, 2, 16, 0),
    "5trit-saturate10": (10, "saturate", "5trit", 8, 3, 1, 32, 0),
    "5trit-saturate11": (11, "saturate", "5trit", 32, 2, 1, 64, 0),
    "2bit-zero-skip-wrap10": (10, "wrap", "2bit", 8, 2, 2, 64, 1),
    "5trit-zero-skip-exact": (24, "wrap", "5trit", 4, 3, 1, 64, 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rtl_matches_the_functional_model(name: str) -> None:
    acc, overflow, packing, lanes, rp, count, tc, zero_skip = CASES[name]
    matvecs = tiny_matvecs(acc, overflow)
    assert len(matvecs) == 13  # 6 BitLinears x 2 layers + the LM head
    params = RtlParams(
        lanes=lanes,
        rows_parallel=rp,
        count=count,
        weight_packing=packing,
        accumulator_bits=acc,
        accumulator_overflow=overflow,
        tile_cols=tc,
        tile_capacity_bytes=3 * -(-rp * count * tc // (5 if packing == "5trit" else 4)),
        beat_bits=32,
        act_path_bits=64,
        out_path_bits=48,
        op_overhead_cycles=2,
        zero_skip=zero_skip,
        max_rows=512,
        max_cols=256,
    )
    ops = [(m.weights, m.acts) for m in matvecs]
    expected = [m.fitted for m in matvecs]
    out = run(
        params, ops, MemoryTiming(latency_cycles=7, beat_interval_cycles=2), expected=expected
    )
    assert out.mismatches == 0
    for got, want in zip(out.results, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    if acc < 24:  # the small accumulator did overflow, so the check means something
        assert any(not np.array_equal(m.fitted, m.exact) for m in matvecs)


def test_saturating_results_are_the_adder_tree_not_a_clamped_sum() -> None:
    # Saturating every node differs from clamping the exact sum on some rows: the RTL's
    # reducer must (and does, above) follow the tree.
    matvecs = tiny_matvecs(10, "saturate")
    tree_vs_clamp = 0
    for m in matvecs:
        tree = adder_tree(m.weights, m.acts, 10, "saturate")
        np.testing.assert_array_equal(tree, m.fitted)
        tree_vs_clamp += int(np.sum(tree != np.clip(m.exact, -512, 511)))
    assert tree_vs_clamp > 0
