"""The recorded decode matvecs are the model's own: shapes, order, sums and steps."""

from __future__ import annotations

import numpy as np

from workloads.matvec import fit_accumulator
from workloads.matvec_record import decode_matvecs
from workloads.numerics import Numerics


def test_every_product_of_each_decode_step_in_order() -> None:
    records = decode_matvecs("tiny", seed=0, numerics=Numerics(acc_bits=9), steps=2)
    assert len(records) == 26  # 6 BitLinears x 2 layers + the LM head, twice
    assert [r.step for r in records] == [0] * 13 + [1] * 13
    assert records[0].name == "attn.i_proj" and records[12].name == "lm_head"
    for r in records:
        assert r.weights.shape == (r.exact.size, r.acts.size)
        assert set(np.unique(r.weights)) <= {-1, 0, 1}
        assert np.abs(r.acts).max() <= 128
        np.testing.assert_array_equal(r.exact, r.weights.astype(np.int64) @ r.acts)
        np.testing.assert_array_equal(r.fitted, fit_accumulator(r.exact, 9, "wrap"))
    # the second token's activations are not the first's
    assert not np.array_equal(records[0].acts, records[13].acts)
