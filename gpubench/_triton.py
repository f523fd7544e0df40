"""Triton kernels behind :mod:`gpubench.kernels` (imported only when used).

Kept apart so that importing the harness never needs Triton: the CPU tests use the
torch fallbacks, or these kernels under ``TRITON_INTERPRET=1`` where Triton is installed.
See :mod:`gpubench.kernels` for the packed format and what each kernel does.
"""

from __future__ import annotations

from typing import Any

import torch
import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]
import triton.language as tl  # type: ignore[import-not-found, import-untyped, unused-ignore]

__all__ = ["empty_kernel", "packed_matmul", "recurrence"]

# Codes 1 in all four planes (0b01010101): padding bytes decode to zero weights.
_ZERO_BYTE = tl.constexpr(85)


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _packed_mm_kernel(  # type: ignore[no-untyped-def]
    x_ptr,
    w_ptr,
    y_ptr,
    m,
    n,
    k4,
    stride_xm,
    stride_wn,
    stride_ym,
    scale,
    BLOCK_M: tl.constexpr,  # noqa: N803
    BLOCK_N: tl.constexpr,  # noqa: N803
    BLOCK_K: tl.constexpr,  # noqa: N803
):
    pid_n = tl.program_id(0)
    pid_m = tl.program_id(1)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, k4, BLOCK_K):
        kk = k0 + rk
        w_mask = (kk[:, None] < k4) & (rn[None, :] < n)
        w = tl.load(w_ptr + rn[None, :] * stride_wn + kk[:, None], mask=w_mask, other=_ZERO_BYTE)
        x_mask = (rm[:, None] < m) & (kk[None, :] < k4)
        for s in tl.static_range(4):
            codes = (w >> (2 * s)) & 3
            ws = (codes.to(tl.float32) - 1.0).to(x_ptr.dtype.element_ty)
            xs = tl.load(
                x_ptr + rm[:, None] * stride_xm + (s * k4 + kk)[None, :], mask=x_mask, other=0.0
            )
            acc += tl.dot(xs, ws)
    y = acc * scale
    y_mask = (rm[:, None] < m) & (rn[None, :] < n)
    tl.store(
        y_ptr + rm[:, None] * stride_ym + rn[None, :], y.to(y_ptr.dtype.element_ty), mask=y_mask
    )


def packed_matmul(
    x: torch.Tensor,
    packed: torch.Tensor,
    y: torch.Tensor,
    scale: float,
    tiles: tuple[int, int, int, int],
) -> None:
    """``y = x · W_tᵀ · scale`` for ``x [M, K]`` (unit stride in K), ``packed [N, K/4]``.

    ``tiles`` is ``(BLOCK_M, BLOCK_N, BLOCK_K, warps)``, as
    :func:`gpubench.kernels.packed_tiles` chooses them.
    """
    m = x.shape[0]
    n, k4 = packed.shape
    bm, bn, bk, warps = tiles
    grid = (triton.cdiv(n, bn), triton.cdiv(m, bm))
    _packed_mm_kernel[grid](
        x,
        packed,
        y,
        m,
        n,
        k4,
        x.stride(0),
        packed.stride(0),
        y.stride(0),
        float(scale),
        BLOCK_M=bm,
        BLOCK_N=bn,
        BLOCK_K=bk,
        num_warps=warps,
    )


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _recurrence_kernel(  # type: ignore[no-untyped-def]
    f_ptr,
    i_ptr,
    h0_ptr,
    o_ptr,
    hn_ptr,
    t_len,
    d,
    stride_h0,
    stride_hn,
    BLOCK_D: tl.constexpr,  # noqa: N803
):
    b = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask = cols < d
    h = tl.load(h0_ptr + b * stride_h0 + cols, mask=mask, other=0.0).to(tl.float32)
    base = b * t_len * d
    for t in range(t_len):
        off = base + t * d + cols
        f = tl.load(f_ptr + off, mask=mask, other=0.0).to(tl.float32)
        x = tl.load(i_ptr + off, mask=mask, other=0.0).to(tl.float32)
        h = f * h + x
        tl.store(o_ptr + off, h.to(o_ptr.dtype.element_ty), mask=mask)
    tl.store(hn_ptr + b * stride_hn + cols, h.to(hn_ptr.dtype.element_ty), mask=mask)


def recurrence(
    f: torch.Tensor, i: torch.Tensor, h0: torch.Tensor, out: torch.Tensor, last: torch.Tensor
) -> None:
    """``out[:, t] = f[:, t] ⊙ out[:, t-1] + i[:, t]`` from ``h0``; ``last = out[:, -1]``.

    ``f``, ``i`` and ``out`` are contiguous ``[B, T, d]``; ``h0`` and ``last`` are
    ``[B, d]`` with unit stride along ``d``.
    """
    b, t_len, d = f.shape
    block = min(1024, triton.next_power_of_2(d))
    grid = (b, triton.cdiv(d, block))
    _recurrence_kernel[grid](
        f, i, h0, out, last, t_len, d, h0.stride(0), last.stride(0), BLOCK_D=block, num_warps=4
    )


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _empty_kernel(x_ptr):  # type: ignore[no-untyped-def]
    pass


def empty_kernel(x: torch.Tensor) -> Any:
    """Launch a kernel that does nothing (for launch-latency measurements)."""
    return _empty_kernel[(1,)](x)
