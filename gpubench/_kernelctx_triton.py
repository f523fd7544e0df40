"""The Triton kernel of :func:`gpubench.kernelctx.block_reads`: one block sums its slice.

Kept apart so that :mod:`gpubench.kernelctx` imports without Triton until it is used.
"""

from __future__ import annotations

from typing import Any

import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]
import triton.language as tl  # type: ignore[import-not-found, import-untyped, unused-ignore]

__all__ = ["block_sum"]


@triton.jit  # type: ignore[misc, untyped-decorator, unused-ignore]
def _block_sum(
    x_ptr: Any,
    out_ptr: Any,
    N: tl.constexpr,  # noqa: N803
    BLOCK: tl.constexpr,  # noqa: N803
) -> None:
    pid = tl.program_id(0)
    acc = tl.zeros([BLOCK], tl.float32)
    for off in tl.static_range(0, N, BLOCK):
        idx = off + tl.arange(0, BLOCK)
        acc += tl.abs(tl.load(x_ptr + pid * N + idx))
    tl.store(out_ptr + pid, tl.sum(acc))


def block_sum(x: Any, out: Any, blocks: int, n: int) -> None:
    """Launch ``blocks`` programs, each summing the magnitudes of its ``n`` floats."""
    _block_sum[(blocks,)](x, out, n, BLOCK=1024)
