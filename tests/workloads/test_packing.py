"""The 2-bit packed format: lossless, four per byte, nonzero structure from the bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from workloads.packing import (
    BLOCK_COLS,
    byte_table,
    bytes_2bit,
    bytes_5trit,
    nnz_blocks,
    pack_ternary,
    packed_cols,
    unpack,
)

ternary_matrices = hnp.arrays(
    np.int8,
    st.tuples(st.integers(1, 20), st.integers(1, 300)),
    elements=st.sampled_from([-1, 0, 1]),
)


@settings(max_examples=60, deadline=None)
@given(ternary_matrices)
def test_pack_unpack_round_trip(w: np.ndarray) -> None:
    packed = pack_ternary(w)
    assert packed.shape == (w.shape[0], packed_cols(w.shape[1]))
    assert np.array_equal(unpack(packed, w.shape[1]), w)


@settings(max_examples=60, deadline=None)
@given(ternary_matrices, st.sampled_from([4, 16, 64]))
def test_nnz_blocks_counts_nonzeros(w: np.ndarray, block: int) -> None:
    counts = nnz_blocks(pack_ternary(w), w.shape[1], block)
    rows, cols = w.shape
    blocks = -(-cols // block)
    assert counts.shape == (rows, blocks)
    for b in range(blocks):
        expect = (w[:, b * block : (b + 1) * block] != 0).sum(axis=1)
        assert np.array_equal(counts[:, b], expect)


def test_bit_layout() -> None:
    # weight j of a row sits in bits 2(j mod 4) of byte j // 4; -1 is 0b11, +1 is 0b01
    w = np.array([[1, -1, 0, 1, -1]], dtype=np.int8)
    packed = pack_ternary(w)
    assert packed.tolist() == [[0b01_00_11_01, 0b11]]
    assert byte_table("int8")[0b01_00_11_01].tolist() == [1, -1, 0, 1]


def test_byte_counts() -> None:
    assert bytes_2bit(3, 5) == 4 and bytes_5trit(3, 5) == 3
    assert bytes_2bit(2560, 6912) == 2560 * 6912 // 4
    assert bytes_5trit(1, 11) == 3
    assert BLOCK_COLS == 64


def test_refuses_non_ternary() -> None:
    with pytest.raises(ValueError, match="-1, 0 or"):
        pack_ternary(np.array([[2, 0]]))


def test_nnz_blocks_word_path_equals_table_path() -> None:
    """Blocks of 32/64 columns are counted 32 weights per 64-bit word; same counts."""
    rng = np.random.default_rng(3)
    w = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(37, 640), p=[0.35, 0.3, 0.35])
    packed = pack_ternary(w)
    for block in (32, 64):
        expect = (w != 0).reshape(37, 640 // block, block).sum(axis=2)
        assert np.array_equal(nnz_blocks(packed, 640, block), expect)
    # a strided (non-contiguous) view takes the table path and agrees
    assert np.array_equal(nnz_blocks(packed[::2], 640), nnz_blocks(pack_ternary(w[::2]), 640))
