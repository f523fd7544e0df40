"""The packed ternary weight format: 2 bits per weight, four weights per byte.

Each weight is a 2-bit two's-complement value (``00`` = 0, ``01`` = +1, ``11`` = -1;
``10`` never occurs), weight ``j`` of a row in bits ``2·(j mod 4)`` of byte ``j // 4``.
Rows are padded with zero weights to a multiple of four columns, so a matrix of
``rows × cols`` weights occupies ``rows · ceil(cols/4)`` bytes: the 2.7B model's 2.7 G
weights fit in 0.68 GB. This is the format a ternary matrix unit streams from DRAM
("4 weights per byte", PAPER.md); the denser 5-trits-per-byte packing (3^5 = 243 ≤ 256)
is only counted here (:func:`bytes_5trit`), never stored.

Unpacking goes through a 256-entry table per byte; :func:`nnz_blocks` counts nonzeros per
(row, 64-column block) straight from the packed bytes, the structure a tiling needs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "BLOCK_COLS",
    "TWO_BIT_CODE",
    "byte_table",
    "bytes_2bit",
    "bytes_5trit",
    "nnz_blocks",
    "pack_codes",
    "pack_ternary",
    "packed_cols",
    "unpack",
]

#: Columns per block of the nonzero structure stored in traces.
BLOCK_COLS = 64

#: 2-bit code of each ternary value, indexed by value + 1 (-1 → 3, 0 → 0, +1 → 1).
TWO_BIT_CODE = np.array([3, 0, 1], dtype=np.uint8)

_ROWS_PER_CHUNK = 4096


def packed_cols(cols: int) -> int:
    """Bytes per packed row: ``ceil(cols / 4)``."""
    return (cols + 3) // 4


def bytes_2bit(rows: int, cols: int) -> int:
    """Bytes of a densely packed matrix at 2 bits per weight: ``ceil(rows·cols/4)``."""
    return (rows * cols + 3) // 4


def bytes_5trit(rows: int, cols: int) -> int:
    """Bytes of a densely packed matrix at 5 weights per byte: ``ceil(rows·cols/5)``."""
    return (rows * cols + 4) // 5


@cache
def byte_table(dtype: str = "int8") -> npt.NDArray[Any]:
    """Return the unpacking table: row ``b`` holds the four weights packed in byte ``b``.

    Args:
        dtype: NumPy type of the table (``int8``, ``float32``...).

    Returns:
        A read-only ``[256, 4]`` array.
    """
    values = np.array([0, 1, 0, -1], dtype=np.int8)  # code 2 never occurs
    b = np.arange(256)
    table = np.stack([values[(b >> (2 * k)) & 3] for k in range(4)], axis=1).astype(dtype)
    table.setflags(write=False)
    return table


def pack_codes(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Pack 2-bit codes (one per byte, values 0, 1, 3) four to a byte, row by row.

    Args:
        codes: ``[rows, cols]`` codes.

    Returns:
        ``[rows, ceil(cols/4)]`` packed bytes.
    """
    rows, cols = codes.shape
    width = packed_cols(cols)
    out = np.empty((rows, width), dtype=np.uint8)
    for r0 in range(0, rows, _ROWS_PER_CHUNK):
        block = codes[r0 : r0 + _ROWS_PER_CHUNK]
        if cols % 4:
            block = np.pad(block, ((0, 0), (0, 4 * width - cols)))
        # four codes sit in the low bits of the four bytes of a little-endian uint32
        v = np.ascontiguousarray(block).view("<u4").reshape(block.shape[0], width)
        v = v | (v >> np.uint32(6))
        v = v | (v >> np.uint32(12))
        out[r0 : r0 + block.shape[0]] = v.astype(np.uint8)
    return out


def pack_ternary(w: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.uint8]:
    """Pack a ternary matrix (values -1, 0, +1) at 2 bits per weight.

    Raises:
        ValueError: If any value is not ternary.
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"expected a matrix (got shape {w.shape})")
    if w.size and (w.min() < -1 or w.max() > 1):
        raise ValueError("values must be -1, 0 or +1")
    codes = TWO_BIT_CODE[(w.astype(np.int8) + 1).astype(np.intp)]
    return pack_codes(codes)


def unpack(packed: npt.NDArray[np.uint8], cols: int) -> npt.NDArray[np.int8]:
    """Unpack a matrix of 2-bit weights to int8 ``-1/0/+1`` values.

    Args:
        packed: ``[rows, ceil(cols/4)]`` packed bytes.
        cols: Number of weight columns (the padding is dropped).

    Returns:
        ``[rows, cols]`` int8 weights.
    """
    table = byte_table("int8")
    out: npt.NDArray[np.int8] = table[packed].reshape(packed.shape[0], -1)[:, :cols]
    return out


@cache
def _nonzeros_per_byte() -> npt.NDArray[np.uint8]:
    table: npt.NDArray[np.uint8] = (byte_table("int8") != 0).sum(axis=1).astype(np.uint8)
    table.setflags(write=False)
    return table


def nnz_blocks(
    packed: npt.NDArray[np.uint8], cols: int, block_cols: int = BLOCK_COLS
) -> npt.NDArray[np.uint8]:
    """Count nonzero weights per (row, ``block_cols``-column block).

    Args:
        packed: ``[rows, ceil(cols/4)]`` packed bytes.
        cols: Number of weight columns.
        block_cols: Columns per block, a multiple of 4 up to 252 (counts must fit a byte).

    Returns:
        ``[rows, ceil(cols/block_cols)]`` counts (the last block may be narrower).
    """
    if block_cols % 4 or not 0 < block_cols <= 252:
        raise ValueError(f"block_cols must be a multiple of 4 in 4..252 (got {block_cols})")
    rows = packed.shape[0]
    per_block = block_cols // 4
    blocks = -(-cols // block_cols)
    if block_cols % 32 == 0 and packed.shape[1] == blocks * per_block and packed.flags.c_contiguous:
        # a weight is nonzero iff the low bit of its code is set (0b01 or 0b11): count the
        # set low bits, 32 weights per 64-bit word
        words = packed.view("<u8")
        low = np.bitwise_count(words & np.uint64(0x5555555555555555)).reshape(rows, blocks, -1)
        counts: npt.NDArray[np.uint8] = low[:, :, 0].copy()
        for k in range(1, low.shape[2]):  # a few words per block: adds beat a reduction
            counts += low[:, :, k]
        return counts
    out = np.empty((rows, blocks), dtype=np.uint8)
    table = _nonzeros_per_byte()
    width = packed.shape[1]
    for r0 in range(0, rows, _ROWS_PER_CHUNK):
        counts = np.take(table, packed[r0 : r0 + _ROWS_PER_CHUNK], mode="clip")
        if width != blocks * per_block:  # padding bytes hold zero weights only
            counts = np.pad(counts, ((0, 0), (0, blocks * per_block - width)))
        out[r0 : r0 + counts.shape[0]] = counts.reshape(-1, blocks, per_block).sum(
            axis=2, dtype=np.uint8
        )
    return out
