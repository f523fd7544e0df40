"""BitLinear quantisation: absmean ternary weights and absmax integer activations.

PAPER.md, as the reference code computes it:

- weights, per tensor: ``s_w = 1 / max(mean|W|, 1e-5)``,
  ``W_t = clamp(round(W · s_w), -1, 1)`` (``torch.round``: halves to even), standing for
  ``W_t / s_w``;
- activations, per token: ``s_x = 127 / max(max|x|, 1e-5)``,
  ``x_q = clamp(round(x · s_x), -128, 127)`` (the fused kernel rounds halves away from
  zero), standing for ``x_q / s_x``;

so ``y = (x_q · W_t) / (s_x · s_w)`` where the inner product is an integer sum of
``±x_q`` terms. Other activation widths scale 127 and -128 to ``2^(b-1) - 1`` and
``-2^(b-1)``.

Released checkpoints hold bf16 latent weights. :func:`ternarise_bf16` quantises them
from their bit patterns: ``mean|W|`` is the exactly rounded sum of a 65,536-bin histogram
(independent of summation order, so every path that sees the same bf16 values, including
the synthetic generator, gets bit-identical scales and ternary weights), computed in
float64. The reference code computes the mean in the weight's own dtype; in bf16 that can
move weights lying within bf16 rounding of a ±0.5 boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads._bf16 import bf16_values
from workloads.numerics import Numerics, RoundHalf

__all__ = [
    "ACT_SCALE_FLOOR",
    "WEIGHT_MEAN_FLOOR",
    "ActQuant",
    "quantise_activations",
    "round_half",
    "ternarise",
    "ternarise_bf16",
    "ternary_code_table",
    "weight_scale",
]

FloatArray = npt.NDArray[np.floating[Any]]

#: ``max|x|`` is clamped here before ``127 / max|x|``.
ACT_SCALE_FLOOR = 1e-5
#: ``mean|W|`` is clamped here before ``1 / mean|W|``.
WEIGHT_MEAN_FLOOR = 1e-5

_HIST_CHUNK = 1 << 23


def round_half(x: FloatArray, mode: RoundHalf) -> FloatArray:
    """Round to integers, exact halves away from zero (``away``) or to even (``even``)."""
    if mode == "even":
        out: FloatArray = np.rint(x)
        return out
    t = np.trunc(x)
    res: FloatArray = np.where(np.abs(x - t) == 0.5, t + np.sign(x), np.rint(x))
    return res


@dataclass(frozen=True)
class ActQuant:
    """Quantised activations of a batch of tokens.

    Attributes:
        q: ``[n, k]`` integer values held in the input's float type (exact).
        scale: ``[n]`` per-token scales ``s_x`` (``x ≈ q / s_x``).
        absmax: ``[n]`` per-token ``max|x|`` before clamping.
    """

    q: FloatArray
    scale: FloatArray
    absmax: FloatArray


def quantise_activations(x: FloatArray, numerics: Numerics) -> ActQuant:
    """Quantise each row (token) of ``x`` with its own absmax scale.

    Args:
        x: ``[n, k]`` activations (float32 or float64); the arithmetic stays in that type.
        numerics: Width and half-rounding of the quantisation.

    Returns:
        The integer values, scales and absmax per token.
    """
    absmax = np.max(np.abs(x), axis=-1)
    top = x.dtype.type(numerics.act_max)
    scale = top / np.maximum(absmax, x.dtype.type(ACT_SCALE_FLOOR))
    q = np.clip(round_half(x * scale[:, None], numerics.round_half), numerics.act_min, top)
    return ActQuant(q=q.astype(x.dtype, copy=False), scale=scale, absmax=absmax)


def weight_scale(mean_abs: float) -> float:
    """Return ``s_w = 1 / max(mean|W|, 1e-5)``."""
    return 1.0 / max(mean_abs, WEIGHT_MEAN_FLOOR)


def ternary_code_table(scale: float) -> npt.NDArray[np.int8]:
    """Ternary value of every bf16 bit pattern under scale ``s_w`` (NaN/±inf map to 0)."""
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.clip(np.rint(bf16_values() * scale), -1, 1)
    table: npt.NDArray[np.int8] = np.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0).astype(np.int8)
    return table


def bf16_histogram(bits: npt.NDArray[np.uint16]) -> npt.NDArray[np.int64]:
    """Count each bf16 bit pattern (65,536 bins), in chunks to bound memory."""
    flat = np.asarray(bits, dtype=np.uint16).reshape(-1)
    hist = np.zeros(65536, dtype=np.int64)
    for i in range(0, flat.size, _HIST_CHUNK):
        hist += np.bincount(flat[i : i + _HIST_CHUNK], minlength=65536)
    return hist


def mean_abs_from_histogram(hist: npt.NDArray[np.int64]) -> float:
    """Return ``mean|W|`` of bf16 values given their histogram, exactly rounded.

    Raises:
        ValueError: If any counted value is NaN or infinite, or nothing is counted.
    """
    values = bf16_values()
    used = np.flatnonzero(hist)
    if used.size == 0:
        raise ValueError("no weights")
    if not np.isfinite(values[used]).all():
        raise ValueError("weights hold NaN or infinite values")
    total = math.fsum((hist[used] * np.abs(values[used])).tolist())
    return total / float(hist.sum())


def ternarise_bf16(bits: npt.NDArray[np.uint16]) -> tuple[npt.NDArray[np.int8], float]:
    """Quantise bf16 latent weights (bit patterns) to ternary with the absmean scale.

    Args:
        bits: Weights as bf16 bit patterns, any shape.

    Returns:
        The ternary weights (same shape, int8) and the scale ``s_w``.

    Raises:
        ValueError: If any weight is NaN or infinite.
    """
    scale = weight_scale(mean_abs_from_histogram(bf16_histogram(bits)))
    return np.take(ternary_code_table(scale), bits), scale


def ternarise(w: FloatArray) -> tuple[npt.NDArray[np.int8], float]:
    """Quantise float latent weights to ternary with the absmean scale.

    ``mean|W|`` is a float64 sum (pairwise); for bf16 data prefer :func:`ternarise_bf16`,
    whose result does not depend on the order of summation.

    Args:
        w: Latent weights, any shape.

    Returns:
        The ternary weights (int8) and the scale ``s_w``.

    Raises:
        ValueError: If any weight is NaN or infinite.
    """
    w64 = np.asarray(w, dtype=np.float64)
    if not np.isfinite(w64).all():
        raise ValueError("weights hold NaN or infinite values")
    scale = weight_scale(float(np.abs(w64).mean()))
    return np.clip(np.rint(w64 * scale), -1, 1).astype(np.int8), scale
