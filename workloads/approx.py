"""Sigmoid and SiLU as a design evaluates them: exactly, by table, or piecewise polynomial.

The row-wise unit of a ternary accelerator computes the forget gate's sigmoid and the
SiLUs either by a lookup table or by a piecewise-linear (or higher-order) fit
(PAPER.md). :func:`sigmoid` evaluates the choice a :class:`FunctionApprox` describes;
:func:`silu` is ``x · σ̃(x)`` with σ̃ the approximated sigmoid, the way a unit with one
sigmoid and one multiplier computes it. Beyond the covered input range the sigmoid unit
outputs 0 or 1, so SiLU keeps its asymptotes (``x`` for large ``x``, 0 for very negative
``x``) even when the table's range is small.

Tables and segment coefficients are rounded to the elementwise format, as a hardware
table holds them; outputs are rounded by the caller.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads.numerics import ElementFormat, FunctionApprox

__all__ = ["exact_sigmoid", "sigmoid", "silu"]

FloatArray = npt.NDArray[np.floating[Any]]
_FIT_POINTS = 65  # samples per segment for the least-squares fit


def exact_sigmoid(x: FloatArray) -> FloatArray:
    """Return ``1 / (1 + exp(-x))`` without overflow, in the input's float type."""
    e = np.exp(-np.abs(x))
    out: FloatArray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)
    return out


@cache
def _lut(spec: FunctionApprox, fmt: ElementFormat) -> npt.NDArray[np.float64]:
    grid = np.linspace(-spec.range, spec.range, spec.size)
    return fmt.apply(exact_sigmoid(grid)).astype(np.float64)


@cache
def _pwl(spec: FunctionApprox, fmt: ElementFormat) -> npt.NDArray[np.float64]:
    width = 2 * spec.range / spec.size
    coeffs = np.empty((spec.size, spec.order + 1))
    for j in range(spec.size):
        t = np.linspace(0.0, width, _FIT_POINTS)
        y = exact_sigmoid(-spec.range + j * width + t)
        # highest degree first, in the local coordinate t = x - left edge
        coeffs[j] = np.polyfit(t, y, spec.order)
    out: npt.NDArray[np.float64] = fmt.apply(coeffs).astype(np.float64)
    return out


def sigmoid(x: FloatArray, spec: FunctionApprox, fmt: ElementFormat) -> FloatArray:
    """Evaluate the sigmoid as ``spec`` describes.

    Args:
        x: Inputs (float32 or float64).
        spec: Exact, lookup table or piecewise polynomial.
        fmt: The elementwise format (tables and coefficients are rounded to it).

    Returns:
        σ̃(x) in ``x``'s float type, not yet rounded to ``fmt``.
    """
    if spec.method == "exact":
        return exact_sigmoid(x)
    r = spec.range
    x64 = np.asarray(x, dtype=np.float64)
    xc = np.clip(x64, -r, r)
    if spec.method == "lut":
        table = _lut(spec, fmt)
        index = np.rint((xc + r) * ((spec.size - 1) / (2 * r))).astype(np.intp)
        y: FloatArray = table[index]
    else:
        coeffs = _pwl(spec, fmt)
        width = 2 * r / spec.size
        seg = np.minimum(((xc + r) / width).astype(np.intp), spec.size - 1)
        t = xc - (-r + seg * width)
        y = coeffs[seg, 0]
        for k in range(1, spec.order + 1):
            y = y * t + coeffs[seg, k]
    # beyond the covered range the unit outputs the limits themselves
    y = np.where(x64 > r, 1.0, np.where(x64 < -r, 0.0, y))
    return y.astype(x.dtype)


def silu(x: FloatArray, spec: FunctionApprox, fmt: ElementFormat) -> FloatArray:
    """Evaluate SiLU, ``x · σ̃(x)``, with σ̃ as ``spec`` describes.

    Args:
        x: Inputs (float32 or float64).
        spec: The sigmoid approximation used inside SiLU.
        fmt: The elementwise format.

    Returns:
        SiLU(x) in ``x``'s float type, not yet rounded to ``fmt``.
    """
    if spec.method == "exact":
        out: FloatArray = (x * exact_sigmoid(x)).astype(x.dtype)
        return out
    s = fmt.apply(sigmoid(x, spec, fmt))
    res: FloatArray = (x * s).astype(x.dtype)
    return res
