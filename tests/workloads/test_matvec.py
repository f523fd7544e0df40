"""The adder-only ternary product: exact, equal to float64 on the dequantised values.

Hypothesis draws weights and activations (extremes included) and checks, bit for bit in
the integer domain: the adder tree against a float64 product of the integer values, the
fast packed BLAS path against the adder tree (unbounded, wrapping and saturating
accumulators), and the dequantised result against float64 on dequantised operands.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from workloads.config import BUILTIN_CONFIGS
from workloads.matvec import (
    FLOAT32_EXACT,
    adder_tree,
    exact_dtype,
    fit_accumulator,
    packed_product,
)
from workloads.packing import pack_ternary


@st.composite
def problems(draw: st.DrawFn, max_cols: int = 400) -> tuple[np.ndarray, np.ndarray, int]:
    bits = draw(st.sampled_from([8, 8, 4, 12, 16]))
    rows = draw(st.integers(1, 12))
    cols = draw(st.integers(1, max_cols))
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    w = draw(hnp.arrays(np.int8, (rows, cols), elements=st.sampled_from([-1, 0, 1])))
    x = draw(
        hnp.arrays(
            np.int64,
            (draw(st.integers(1, 3)), cols),
            elements=st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0])),
        )
    )
    return w, x, bits


@settings(max_examples=150, deadline=None)
@given(problems())
def test_adder_tree_equals_float64_integer_product(p: tuple[np.ndarray, np.ndarray, int]) -> None:
    w, x, _ = p
    for xt in x:
        ref = w.astype(np.float64) @ xt.astype(np.float64)  # exact: |sum| << 2^53
        assert np.array_equal(adder_tree(w, xt), ref.astype(np.int64))


@settings(max_examples=150, deadline=None)
@given(problems())
def test_packed_product_equals_adder_tree(p: tuple[np.ndarray, np.ndarray, int]) -> None:
    w, x, bits = p
    acc = packed_product(pack_ternary(w), w.shape[1], x.astype(np.float32), bits)
    tree = np.stack([adder_tree(w, xt) for xt in x])
    assert np.array_equal(acc.exact.astype(np.int64), tree)
    assert np.array_equal(acc.fitted, acc.exact)


@settings(max_examples=120, deadline=None)
@given(problems(max_cols=200), st.integers(4, 20), st.sampled_from(["wrap", "saturate"]))
def test_accumulator_width_matches_adder_tree(
    p: tuple[np.ndarray, np.ndarray, int], acc_bits: int, overflow: str
) -> None:
    w, x, bits = p
    acc = packed_product(pack_ternary(w), w.shape[1], x, bits, acc_bits, overflow)  # type: ignore[arg-type]
    tree = np.stack([adder_tree(w, xt, acc_bits, overflow) for xt in x])  # type: ignore[arg-type]
    assert np.array_equal(acc.fitted.astype(np.int64), tree)
    assert np.array_equal(acc.exact.astype(np.int64), np.stack([adder_tree(w, xt) for xt in x]))


@settings(max_examples=100, deadline=None)
@given(problems(), st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_dequantised_equals_float64_reference(
    p: tuple[np.ndarray, np.ndarray, int], s_x: float, s_w: float
) -> None:
    """``acc / (s_x s_w)`` is the float64 product of the dequantised operands."""
    w, x, bits = p
    acc = packed_product(pack_ternary(w), w.shape[1], x, bits).exact.astype(np.int64)
    ref = (x.astype(np.float64) / s_x) @ (w.astype(np.float64) / s_w).T
    # back in the integer domain the reference rounds to the very same integers
    assert np.array_equal(np.rint(ref * s_x * s_w).astype(np.int64), acc)
    y = acc / (s_x * s_w)
    bound = 1e-12 * (np.abs(x) @ np.abs(w).T) / (s_x * s_w) + 1e-300
    assert np.all(np.abs(y - ref) <= bound)


def test_float32_bound_holds_for_every_builtin_shape() -> None:
    """The widest product of every built-in model, at the worst-case inputs, is exact."""
    widest = max(max(c.d, c.intermediate) for c in BUILTIN_CONFIGS.values())
    assert widest == 6912 and 128 * widest <= FLOAT32_EXACT
    assert exact_dtype(8, widest) is np.float32
    w = np.ones((3, widest), dtype=np.int8)
    w[1] = -1
    w[2, ::2] = 0
    x = np.full((2, widest), -128, dtype=np.float32)
    x[1, 1::2] = 127
    acc = packed_product(pack_ternary(w), widest, x, 8).exact
    expect = np.stack([adder_tree(w, xt.astype(np.int64)) for xt in x])
    assert np.array_equal(acc.astype(np.int64), expect)
    assert acc[0, 0] == -128 * widest


def test_exact_dtype_switches_to_float64_and_refuses_beyond() -> None:
    assert exact_dtype(8, 131072) is np.float32
    assert exact_dtype(8, 131073) is np.float64
    assert exact_dtype(16, 6912) is np.float64
    with pytest.raises(ValueError):
        exact_dtype(16, 2**40)
    # a product beyond float32's bound computed in float64 stays exact
    cols = 2**18
    w = np.ones((1, cols), dtype=np.int8)
    x = np.full((1, cols), -128.0)
    assert packed_product(pack_ternary(w), cols, x, 8).exact[0, 0] == -128 * cols


def test_fit_accumulator() -> None:
    v = np.array([-300, -129, -128, 127, 128, 300])
    assert fit_accumulator(v, 8, "wrap").tolist() == [-44, 127, -128, 127, -128, 44]
    assert fit_accumulator(v, 8, "saturate").tolist() == [-128, -128, -128, 127, 127, 127]
    assert fit_accumulator(v, None, "wrap").tolist() == v.tolist()


def test_saturating_tree_differs_from_saturating_the_sum() -> None:
    """Saturation inside the tree is modelled, not just on the final sum."""
    w = np.array([[1, 1, -1, -1]], dtype=np.int8)
    x = np.array([100, 100, 100, 100])
    # exact sum 0; the left node saturates at 127, the right at -128: -1
    assert adder_tree(w, x, 8, "saturate").tolist() == [-1]
    acc = packed_product(pack_ternary(w), 4, x[None, :], 8, 8, "saturate")
    assert acc.fitted.tolist() == [[-1]] and acc.exact.tolist() == [[0]]
