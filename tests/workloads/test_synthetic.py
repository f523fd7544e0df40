"""Synthetic weights: deterministic, absmean ternary of a bf16 latent Gaussian, packed."""

from __future__ import annotations

import numpy as np
import pytest

from workloads._bf16 import bf16_to_float32
from workloads.config import get_config
from workloads.packing import unpack
from workloads.quant import ternarise_bf16
from workloads.synthetic import LATENT_STD, SyntheticSource, synthetic_weights
from workloads.weights import parameter_shapes, resolve_lower_bounds


def test_ternary_equals_quantising_the_latent_tensor() -> None:
    """The fast path (tables over the draws) is bit-identical to absmean on the latent."""
    src = SyntheticSource(7)
    for shape in ((64, 64), (5, 13), (3, 70001), (300, 257)):
        packed, scale = src.ternary("m", shape)
        w, s = ternarise_bf16(src.latent_bits("m", shape))
        assert scale == s
        assert np.array_equal(unpack(packed, shape[1]), w)


def test_latent_is_a_gaussian_in_bf16() -> None:
    x = bf16_to_float32(SyntheticSource(0).latent_bits("x", (400, 500))).astype(np.float64)
    assert x.mean() == pytest.approx(0, abs=2e-4)
    assert x.std() == pytest.approx(LATENT_STD, rel=0.01)
    assert np.mean(np.abs(x) < LATENT_STD) == pytest.approx(0.6827, abs=0.005)


def test_deterministic_and_seeded() -> None:
    a = synthetic_weights(get_config("tiny"), 3)
    b = synthetic_weights(get_config("tiny"), 3)
    c = synthetic_weights(get_config("tiny"), 4)
    for ma, mb, mc in zip(a.matrices(), b.matrices(), c.matrices(), strict=True):
        assert np.array_equal(ma.packed, mb.packed) and ma.scale == mb.scale
        assert not np.array_equal(ma.packed, mc.packed)
    assert a.embedding is not None and b.embedding is not None
    assert np.array_equal(a.embedding, b.embedding)


def test_tensor_streams_are_independent_of_order() -> None:
    one = SyntheticSource(1).latent_bits("model.layers.1.attn.i_proj.weight", (8, 8))
    src = SyntheticSource(1)
    src.latent_bits("model.layers.0.attn.i_proj.weight", (8, 8))
    assert np.array_equal(src.latent_bits("model.layers.1.attn.i_proj.weight", (8, 8)), one)


def test_zero_fraction_and_structure() -> None:
    w = synthetic_weights(get_config("tiny"), 0)
    assert 0.29 < w.zero_fraction < 0.33  # 2Φ(0.399) - 1 ≈ 0.31
    ids = [m.matrix_id for m in w.matrices()]
    assert ids == list(range(len(ids)))
    assert w.lm_head is not None and w.lm_head.layer == -1
    cfg = w.config
    gate = w.layers[0].gate_proj
    assert (gate.rows, gate.cols) == (2 * cfg.intermediate, cfg.d)
    assert w.ternary_weights == cfg.ternary_weights_per_token
    assert w.packed_bytes == sum(m.rows * ((m.cols + 3) // 4) for m in w.matrices())
    for m in w.matrices():
        assert m.nonzeros == int((m.unpack() != 0).sum())
        assert m.packed.flags.writeable is False
    shapes = parameter_shapes(cfg)
    assert len([n for n in shapes if n.endswith("proj.weight")]) == 6 * cfg.layers


def test_lower_bounds() -> None:
    w = synthetic_weights(get_config("tiny"), 0)
    assert w.layers[0].lower_bound is None
    lb = w.layers[1].lower_bound
    assert lb is not None and np.all((lb > 0) & (lb < 1))
    # zeros (the reference code's initial value) give layer i the bound i/L
    assert np.allclose(resolve_lower_bounds(np.zeros((4, 3)))[:, 0], [0, 0.25, 0.5, 0.75])
