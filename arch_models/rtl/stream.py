"""What the RTL reads and writes: the weight stream, import beats and export beats.

The weight stream of a matvec (``rows × cols`` ternary weights, ``cols`` a multiple of
``lanes``) visits row groups of ``P = rows_parallel × count`` rows and, in each, column
tiles of ``tile_cols`` columns. A tile holds its weights in the order the array takes
them: step by step (``lanes`` columns), row by row, lane by lane; packed 4 a byte as 2-bit
codes (``00`` = 0, ``01`` = +1, ``11`` = -1; weight ``i`` in bits ``2(i mod 4)`` of byte
``i // 4``) or 5 a byte (byte = Σ (w_k + 1)·3^k, k = 0..4); each tile starts on a byte.
A buffer fill is ``tiles_per_fill`` consecutive tiles of one matvec (fewer at its end),
padded to whole beats; the stream is every matvec's fills in turn. So a fill's bytes are
the engine's chunk bytes (:func:`arch_models.units.ternary.plan_matvec`), rounded up to
whole beats as the engine rounds a transfer to bursts.

Import beat ``i`` of a matvec carries bits ``[i·W, (i+1)·W)`` of its activations laid end
to end (``activation_bits`` each, two's complement, column 0 lowest); export beats carry
the results the same way (``accumulator_bits`` each, row 0 lowest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from arch_models.rtl.params import RtlParams, RtlUnsupportedError

__all__ = [
    "WeightStream",
    "from_beats",
    "pack_2bit",
    "pack_5trit",
    "to_beats",
    "weight_stream",
]

IntArray = npt.NDArray[np.int64]
_CODE = np.array([3, 0, 1], dtype=np.uint8)  # 2-bit code of -1, 0, +1
_POW3 = np.array([1, 3, 9, 27, 81], dtype=np.int64)


def pack_2bit(w: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.uint8]:
    """Pack a flat run of ternary weights 4 a byte (2-bit codes, padded with zeros)."""
    codes = _CODE[np.asarray(w, dtype=np.int64) + 1]
    codes = np.pad(codes, (0, -codes.size % 4)).reshape(-1, 4).astype(np.uint16)
    out: npt.NDArray[np.uint8] = (
        codes[:, 0] | codes[:, 1] << 2 | codes[:, 2] << 4 | codes[:, 3] << 6
    ).astype(np.uint8)
    return out


def pack_5trit(w: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.uint8]:
    """Pack a flat run of ternary weights 5 a byte (Σ (w_k + 1)·3^k, padded with zeros)."""
    digits = np.asarray(w, dtype=np.int64) + 1
    digits = np.pad(digits, (0, -digits.size % 5), constant_values=1).reshape(-1, 5)
    out: npt.NDArray[np.uint8] = (digits @ _POW3).astype(np.uint8)
    return out


@dataclass(frozen=True)
class WeightStream:
    """The packed weights of a sequence of matvecs, as memory beats.

    Attributes:
        beats: ``[n, beat_bytes]`` bytes of every beat, in stream order.
        fills: Beats of each buffer fill, in order.
        fill_bytes: Packed bytes of each fill before padding to beats.
    """

    beats: npt.NDArray[np.uint8]
    fills: tuple[int, ...]
    fill_bytes: tuple[int, ...]


def _tiles(params: RtlParams, w: npt.NDArray[np.int8]) -> list[npt.NDArray[np.uint8]]:
    rows, cols = w.shape
    p, tc, lanes = params.trees, params.tile_cols, params.lanes
    pack = pack_5trit if params.weight_packing == "5trit" else pack_2bit
    out = []
    for r0 in range(0, rows, p):
        for c0 in range(0, cols, tc):
            tile = w[r0 : r0 + p, c0 : c0 + tc]
            gr, width = tile.shape
            steps = tile.reshape(gr, width // lanes, lanes).transpose(1, 0, 2)
            out.append(pack(steps.ravel()))
    return out


def weight_stream(
    params: RtlParams, matrices: Sequence[npt.NDArray[np.integer[Any]]]
) -> WeightStream:
    """Lay out the weights of a sequence of matvecs as the RTL streams them.

    Args:
        params: The RTL's parameters.
        matrices: ``[rows, cols]`` ternary weights (-1, 0, +1) of each matvec, in order.

    Returns:
        The beats and the fills.

    Raises:
        RtlUnsupportedError: A matrix the RTL cannot take (shape, values).
    """
    bb = params.beat_bytes
    parts: list[npt.NDArray[np.uint8]] = []
    fills: list[int] = []
    fill_bytes: list[int] = []
    for k, m in enumerate(matrices):
        w = np.asarray(m)
        if w.ndim != 2 or w.size == 0:
            raise RtlUnsupportedError(f"matrix {k}: expected a matrix (got shape {w.shape})")
        rows, cols = w.shape
        if cols % params.lanes or cols > params.max_cols or rows > params.max_rows:
            raise RtlUnsupportedError(
                f"matrix {k}: {rows}x{cols} needs cols a multiple of lanes ({params.lanes}), "
                f"cols <= {params.max_cols} and rows <= {params.max_rows}"
            )
        if w.min() < -1 or w.max() > 1:
            raise RtlUnsupportedError(f"matrix {k}: weights must be -1, 0 or +1")
        tiles = _tiles(params, w.astype(np.int8))
        for t0 in range(0, len(tiles), params.tiles_per_fill):
            data = np.concatenate(tiles[t0 : t0 + params.tiles_per_fill])
            fill_bytes.append(int(data.size))
            padded = np.pad(data, (0, -data.size % bb))
            fills.append(padded.size // bb)
            parts.append(padded)
    beats = np.concatenate(parts).reshape(-1, bb) if parts else np.zeros((0, bb), np.uint8)
    return WeightStream(beats=beats, fills=tuple(fills), fill_bytes=tuple(fill_bytes))


def to_beats(values: npt.ArrayLike, value_bits: int, beat_bits: int) -> list[int]:
    """Lay signed values end to end (two's complement, first lowest) and cut into beats.

    Args:
        values: Integers that fit ``value_bits`` (two's complement).
        value_bits: Bits per value.
        beat_bits: Bits per beat.

    Returns:
        ``ceil(len · value_bits / beat_bits)`` beats as non-negative integers.
    """
    mask = (1 << value_bits) - 1
    whole = 0
    for i, v in enumerate(np.asarray(values, dtype=np.int64).ravel()):
        whole |= (int(v) & mask) << (i * value_bits)
    n = -(-np.asarray(values).size * value_bits // beat_bits)
    beat_mask = (1 << beat_bits) - 1
    return [(whole >> (i * beat_bits)) & beat_mask for i in range(n)]


def from_beats(beats: Sequence[int], count: int, value_bits: int, beat_bits: int) -> IntArray:
    """Read ``count`` signed ``value_bits`` values back from beats (inverse of :func:`to_beats`)."""
    whole = 0
    for i, b in enumerate(beats):
        whole |= int(b) << (i * beat_bits)
    mask = (1 << value_bits) - 1
    half = 1 << (value_bits - 1)
    out = np.empty(count, dtype=np.int64)
    for i in range(count):
        v = (whole >> (i * value_bits)) & mask
        out[i] = v - (1 << value_bits) if v >= half else v
    return out
