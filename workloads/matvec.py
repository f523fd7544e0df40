"""The ternary matrix-vector product with adders only, and an exact fast path for it.

With ternary weights and integer activations, ``acc_r = Σ_j W[r,j] · x_j`` needs no
multiplier: each term is ``+x_j``, ``-x_j`` (``0 - x_j``) or nothing, and the terms go
through an adder tree into an integer accumulator. :func:`adder_tree` is that circuit in
NumPy: terms selected by the weight, summed pairwise in a balanced binary tree over the
columns in index order, every node's result fitted to the accumulator
(:func:`fit_accumulator`: wrap or saturate at ``acc_bits``). It is the reference.

:func:`packed_product` is the fast path the model runs. It unpacks a block of rows of
2-bit weights to ``-1.0/0.0/+1.0`` floats through a 256-entry table and multiplies with
BLAS. That is exact, not approximately right:

    Every product ``W[r,j] · x_j`` is ``-x_j``, 0 or ``x_j``: an integer with
    ``|x_j| ≤ 2^(b-1)`` for ``b``-bit activations. Whatever order, blocking or fused
    multiply-add the BLAS uses, every partial sum it forms is the sum of a subset of these
    terms, an integer of magnitude at most ``2^(b-1) · cols``. Float32 represents every
    integer up to ``2^24`` exactly, so while ``2^(b-1) · cols ≤ 2^24`` no addition rounds
    and the result is the exact integer sum. At 8 bits that allows ``cols ≤ 131,072``;
    the widest product of the built-in models has ``cols = I = 6912`` (2.7B down
    projection: ``|acc| ≤ 884,736 < 2^24``). Beyond the bound the product runs in float64
    (exact up to ``2^53``).

Unbounded accumulators keep the exact sum. A wrapping accumulator is modular, so wrapping
the exact sum equals wrapping every node. A saturating one equals the exact sum on every
row whose terms' magnitudes sum to at most the accumulator's maximum (no node can reach
it); :func:`packed_product` checks that with a second product over ``|W|`` and ``|x|``
and runs only the other rows through :func:`adder_tree`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads.numerics import Overflow
from workloads.packing import byte_table, unpack

__all__ = [
    "FLOAT32_EXACT",
    "Accumulation",
    "adder_tree",
    "exact_dtype",
    "fit_accumulator",
    "packed_product",
    "unpack_exact",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.floating[Any]]

#: Integers up to this magnitude are exact in float32 (24-bit significand).
FLOAT32_EXACT = 2**24
_FLOAT64_EXACT = 2**53
#: Weights × tokens per block: below OpenBLAS's threading threshold (m·n·k < 2^18), so
#: a block's product never wakes BLAS worker threads (which spin, and on two cores take
#: the core the unpacking needs), and the float32 block stays within a core's L2 cache.
_BLOCK_WEIGHTS = (1 << 18) - 1
#: Fewer rows than this per block would make the Python loop the bottleneck; a long
#: prompt's products use blocks of ``_LARGE_BLOCK_WEIGHTS`` instead, large enough that
#: BLAS's threads do real work.
_MIN_BLOCK_ROWS = 8
_LARGE_BLOCK_WEIGHTS = 1 << 21
#: Rows per batch when saturating rows go through the adder tree.
_TREE_ROWS = 256


def exact_dtype(act_bits: int, cols: int) -> type[np.floating[Any]]:
    """Return the float type in which a ``cols``-wide product of ``act_bits`` activations is exact.

    Raises:
        ValueError: If not even float64 is exact (``2^(b-1) · cols > 2^53``).
    """
    bound = 2 ** (act_bits - 1) * cols
    if bound <= FLOAT32_EXACT:
        return np.float32
    if bound <= _FLOAT64_EXACT:
        return np.float64
    raise ValueError(f"a {cols}-column product of {act_bits}-bit values is not exact in float64")


def fit_accumulator(acc: IntArray, acc_bits: int | None, overflow: Overflow) -> IntArray:
    """Fit integers to an ``acc_bits``-wide two's-complement accumulator.

    Args:
        acc: Integer values.
        acc_bits: Width, or ``None`` for unbounded (values returned unchanged).
        overflow: ``"wrap"`` (modulo ``2^acc_bits``) or ``"saturate"`` (clamp).

    Returns:
        The fitted values (int64).
    """
    acc = np.asarray(acc, dtype=np.int64)
    if acc_bits is None:
        return acc
    half = np.int64(1) << np.int64(acc_bits - 1)
    if overflow == "saturate":
        out: IntArray = np.clip(acc, -half, half - 1)
        return out
    wrapped: IntArray = ((acc + half) & ((half << np.int64(1)) - 1)) - half
    return wrapped


def adder_tree(
    w: npt.NDArray[np.integer[Any]],
    x: npt.NDArray[np.integer[Any]],
    acc_bits: int | None = None,
    overflow: Overflow = "wrap",
) -> IntArray:
    """Ternary matrix-vector product as an adder tree computes it (the reference).

    No multiplication: each term is selected (``+x_j``, ``0 - x_j`` or 0) by its weight;
    terms are added pairwise in a balanced binary tree over the columns in index order
    (padded with zero terms to a power of two); every leaf and node result is fitted to
    the accumulator.

    Args:
        w: ``[rows, cols]`` weights in -1, 0, +1.
        x: ``[cols]`` integer activations.
        acc_bits: Accumulator width, ``None`` for unbounded (int64).
        overflow: ``"wrap"`` or ``"saturate"``.

    Returns:
        ``[rows]`` accumulator values.
    """
    w = np.asarray(w)
    xi = np.asarray(x, dtype=np.int64)
    zero = np.zeros_like(xi)
    terms = np.where(w > 0, xi, np.where(w < 0, zero - xi, zero))
    terms = fit_accumulator(terms, acc_bits, overflow)
    width = 1
    while width < terms.shape[1]:
        width *= 2
    if width != terms.shape[1]:
        terms = np.pad(terms, ((0, 0), (0, width - terms.shape[1])))
    while terms.shape[1] > 1:
        terms = fit_accumulator(terms[:, 0::2] + terms[:, 1::2], acc_bits, overflow)
    out: IntArray = terms[:, 0]
    return out


_LOCAL = threading.local()


def _scratch(items: int, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """A reused per-thread buffer for unpacked weights (fresh pages cost page faults)."""
    key = (dtype.str, items)
    buffers: dict[tuple[str, int], npt.NDArray[Any]] = _LOCAL.__dict__.setdefault("buffers", {})
    buf = buffers.get(key)
    if buf is None:
        if len(buffers) > 8:
            buffers.clear()
        buf = buffers[key] = np.empty(items, dtype=dtype)
    return buf


@cache
def _unpack_table(dtype: str, absolute: bool) -> npt.NDArray[Any]:
    """The byte table as one structured item per byte, so one ``take`` unpacks four weights."""
    table = np.ascontiguousarray(byte_table(dtype))
    if absolute:
        table = np.abs(table)
    return table.view(np.dtype((np.void, 4 * table.itemsize))).reshape(256)


def _product(
    packed: npt.NDArray[np.uint8], cols: int, xt: FloatArray, absolute: bool = False
) -> FloatArray:
    """``[rows, n]`` exact product of packed weights with ``xt`` (``[cols, n]``, ints)."""
    dtype = xt.dtype
    rows, width = packed.shape
    table = _unpack_table(dtype.name, absolute)
    block = _BLOCK_WEIGHTS // (width * 4 * xt.shape[1])
    if block < _MIN_BLOCK_ROWS:  # many tokens: few large products, worth BLAS's threads
        block = max(_MIN_BLOCK_ROWS, _LARGE_BLOCK_WEIGHTS // (width * 4))
    scratch = _scratch(block * width, table.dtype)[: min(block, rows) * width]
    scratch = scratch.reshape(-1, width)
    out = np.empty((rows, xt.shape[1]), dtype=dtype)
    xp = xt if 4 * width == cols else np.pad(xt, ((0, 4 * width - cols), (0, 0)))
    for r0 in range(0, rows, block):
        part = packed[r0 : r0 + block]
        buf = scratch[: part.shape[0]]
        table.take(part, out=buf, mode="clip")
        np.matmul(buf.view(dtype), xp, out=out[r0 : r0 + part.shape[0]])
    return out


@dataclass(frozen=True)
class Accumulation:
    """The integer accumulators of a ternary product for a batch of tokens.

    Attributes:
        exact: ``[n, rows]`` exact sums (integers held in a float type).
        fitted: ``[n, rows]`` what an ``acc_bits`` accumulator holds (``exact`` itself
            when unbounded).
    """

    exact: FloatArray
    fitted: FloatArray


def packed_product(
    packed: npt.NDArray[np.uint8],
    cols: int,
    xq: FloatArray,
    act_bits: int,
    acc_bits: int | None = None,
    overflow: Overflow = "wrap",
    unpacked: FloatArray | None = None,
) -> Accumulation:
    """Exact ternary product of packed weights with integer activations, adders' result.

    Args:
        packed: ``[rows, ceil(cols/4)]`` 2-bit weights.
        cols: Weight columns.
        xq: ``[n, cols]`` integer activations (any float type; values in the
            ``act_bits`` range).
        act_bits: Activation width (sets the exactness bound).
        acc_bits: Accumulator width, ``None`` for unbounded.
        overflow: ``"wrap"`` or ``"saturate"``.
        unpacked: The same weights unpacked once (``[rows, cols]`` -1/0/+1 in the
            product's exact float type, :func:`unpack_exact`): the product reads them
            instead of unpacking every call (four times the memory of 2-bit weights,
            the same exact sums).

    Returns:
        Exact and accumulator-fitted sums.
    """
    dtype = exact_dtype(act_bits, cols)
    xt = np.ascontiguousarray(np.asarray(xq, dtype=dtype).T)
    if unpacked is not None and unpacked.dtype == dtype:
        exact = np.ascontiguousarray(np.matmul(unpacked, xt).T)
    else:
        exact = np.ascontiguousarray(_product(packed, cols, xt).T)
    if acc_bits is None:
        return Accumulation(exact=exact, fitted=exact)
    fitted = fit_accumulator(exact.astype(np.int64), acc_bits, overflow)
    if overflow == "saturate":
        reach = _product(packed, cols, np.abs(xt), absolute=True).T
        limit = 2 ** (acc_bits - 1) - 1
        xi = np.asarray(xq).astype(np.int64)
        for t in range(xi.shape[0]):
            need = np.flatnonzero(reach[t] > limit)
            for i in range(0, need.size, _TREE_ROWS):
                rows = need[i : i + _TREE_ROWS]
                w = unpack(packed[rows], cols)
                fitted[t, rows] = adder_tree(w, xi[t], acc_bits, overflow)
    return Accumulation(exact=exact, fitted=fitted.astype(exact.dtype))


def unpack_exact(packed: npt.NDArray[np.uint8], cols: int, act_bits: int) -> FloatArray:
    """Unpack 2-bit weights once, to the float type their products are exact in.

    What :func:`packed_product` reads with ``unpacked=``: the fast path for repeated
    products of the same weights (decoding), at four bytes a weight (float32) or eight.
    """
    dtype = exact_dtype(act_bits, cols)
    out: FloatArray = np.ascontiguousarray(unpack(packed, cols), dtype=dtype)
    return out
