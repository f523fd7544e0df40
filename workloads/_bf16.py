"""bfloat16 as raw 16-bit patterns: the released checkpoints' weight type, without torch.

NumPy has no bfloat16. A bf16 value is the upper half of a float32, so it is held here
as its ``uint16`` bit pattern: widening is a shift, narrowing rounds to nearest even.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["bf16_to_float32", "bf16_values", "float32_to_bf16"]


def bf16_to_float32(bits: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """Widen bf16 bit patterns to float32 (exact)."""
    wide = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)
    out: npt.NDArray[np.float32] = wide.view(np.float32)
    return out


def float32_to_bf16(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint16]:
    """Round float values to bf16 bit patterns (nearest, ties to even; NaN stays NaN)."""
    f = np.ascontiguousarray(x, dtype=np.float32)
    u = f.view(np.uint32)
    rounded = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    out = rounded.astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():
        out[nan] = np.uint16(0x7FC0)
    return out


@cache
def bf16_values() -> npt.NDArray[np.float64]:
    """Return the value of every bf16 bit pattern (index = pattern), as float64."""
    table = bf16_to_float32(np.arange(65536, dtype=np.uint32).astype(np.uint16))
    with np.errstate(invalid="ignore"):
        values = table.astype(np.float64)
    values.setflags(write=False)
    return values
