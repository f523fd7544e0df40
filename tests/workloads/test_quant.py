"""BitLinear quantisation: absmean ternary weights, absmax activations, rounding of halves."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from workloads._bf16 import bf16_to_float32, float32_to_bf16
from workloads.numerics import Numerics
from workloads.quant import quantise_activations, round_half, ternarise, ternarise_bf16


def test_round_half_modes() -> None:
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.7], dtype=np.float32)
    assert round_half(x, "away").tolist() == [-3, -2, -1, 1, 2, 3, 0, -1]
    assert round_half(x, "even").tolist() == [-2, -2, -0.0, 0, 2, 2, 0, -1]


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.integers(1, 64)),
        elements=st.floats(-1e4, 1e4, width=32),
    ),
    st.sampled_from([4, 8, 12]),
)
def test_activation_quantisation(x: np.ndarray, bits: int) -> None:
    nm = Numerics(act_bits=bits)
    aq = quantise_activations(x, nm)
    assert aq.q.dtype == x.dtype
    assert np.all(aq.q == np.rint(aq.q))
    assert aq.q.min() >= nm.act_min and aq.q.max() <= nm.act_max
    assert np.array_equal(aq.absmax, np.abs(x).max(axis=1))
    big = aq.absmax > 1e-5
    # the largest magnitude maps to the top code; dequantised error at most half a step
    assert np.all(np.abs(aq.q[big]).max(axis=1) == nm.act_max)
    err = np.abs(aq.q / aq.scale[:, None] - x)
    assert np.all(err[big] <= 0.5 / aq.scale[big, None] * (1 + 1e-6))


def test_weight_quantisation_matches_definition() -> None:
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((50, 70)) * 0.02).astype(np.float32)
    t, scale = ternarise(w)
    s = 1 / np.abs(w.astype(np.float64)).mean()
    assert scale == s
    assert np.array_equal(t, np.clip(np.rint(w * s), -1, 1))
    assert set(np.unique(t)) <= {-1, 0, 1}
    assert 0.25 < (t == 0).mean() < 0.37  # Gaussian: 2Φ(0.399) - 1 ≈ 0.31


def test_bf16_path_agrees_with_float_path() -> None:
    rng = np.random.default_rng(2)
    bits = float32_to_bf16((rng.standard_normal(5000) * 0.02).astype(np.float32))
    t16, s16 = ternarise_bf16(bits)
    t32, s32 = ternarise(bf16_to_float32(bits))
    assert np.array_equal(t16, t32)
    assert abs(s16 - s32) <= 1e-12 * s32


def test_mean_floor() -> None:
    t, scale = ternarise(np.zeros((2, 2), np.float32))
    assert scale == 1 / 1e-5 and not t.any()


def test_bf16_rounding() -> None:
    x = np.array([1.0, 1.00390625, 1.01171875, -3.3e-3, np.inf], dtype=np.float32)
    back = bf16_to_float32(float32_to_bf16(x))
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even (1.0); 1 + 3·2^-8 rounds up
    assert back[:3].tolist() == [1.0, 1.0, 1.015625]
    assert abs(back[3] - x[3]) <= abs(x[3]) * 2**-8 and np.isinf(back[4])
