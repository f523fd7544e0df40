"""The Triton kernel of :func:`gpubench.kernelctx.block_reads`: one block sums its slice.

Kept apart so that :mod:`gpubench.kernelctx` imports without Triton until it is used.
"""

from __future__ import annotations

from typing import Any

import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]
import triton.language as tl  # type: ignore[import-not-found, import-untyped, unused-ignore]

__all__ = ["block_sum"]


# No annotations on the kernel's pointers: Triton's compiler resolves them as globals
# and refuses any that is not a constexpr (the interpreter does not check).
@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _block_sum(  # type: ignore[no-untyped-def]
    x_ptr,
    out_ptr,
    N: tl.constexpr,  # noqa: N803
    BLOCK: tl.constexpr,  # noqa: N803
):
    pid = tl.program_id(0)
    acc = tl.zeros([BLOCK], tl.float32)
    for off in tl.static_range(0, N, BLOCK):
        idx = off + tl.arange(0, BLOCK)
        acc += tl.abs(tl.load(x_ptr + pid * N + idx))
    tl.store(out_ptr + pid, tl.sum(acc))


def block_sum(x: Any, out: Any, blocks: int, n: int) -> None:
    """Launch ``blocks`` programs, each summing the magnitudes of its ``n`` floats."""
    _block_sum[(blocks,)](x, out, n, BLOCK=1024)
