"""2-bit packed ternary weights and the two kernels the harness adds to plain PyTorch.

**Packed format.** A ternary matrix ``W_t`` (``[N, K]``, values -1, 0, +1, ``K`` a
multiple of 4) is stored as ``uint8 [N, K/4]``, four weights a byte, in *planes*: byte
``j`` of row ``n`` holds the codes ``W_t[n, j + s·K/4] + 1`` (0, 1 or 2) in bits
``2s..2s+1`` for ``s = 0..3``. A tile of bytes then unpacks into four tiles of weights
that each meet a contiguous slice of the activations, with no interleaving. The
dequantisation scale (``mean|W|`` of the latent weights) is one float per matrix.

**packed_linear** (``y = x · W_tᵀ · scale``), two backends:

- ``triton`` (CUDA): each program owns a ``BLOCK_M × BLOCK_N`` tile of ``y``; it walks
  ``K/4`` in steps of ``BLOCK_K`` bytes, loads a ``BLOCK_K × BLOCK_N`` tile of packed
  bytes once, and for each of the four planes shifts and masks the codes, subtracts 1,
  converts to bf16 and accumulates ``tl.dot`` of the matching ``BLOCK_M × BLOCK_K`` slice
  of ``x`` in float32; the scale is applied once at the end. Decode (``M ≤ 16``) uses
  16×16 output tiles and 128-byte K steps (many programs for a GEMV); larger ``M``
  (prefill) uses 64×64 tiles. No split-K, no autotuning: a simple kernel, the kind a
  user writes first. Weight traffic is 2 bits per weight, read once per M tile.
- ``torch`` (any device, the CPU fallback): unpack the whole matrix to ``x.dtype`` with
  shifts and masks, one dense ``F.linear``, then the scale.

**linear_recurrence** (the MLGRU's ``h_t = f_t ⊙ h_{t-1} + i_t`` over a prompt): on CUDA
one Triton program per (sequence, block of channels) steps through time in float32,
as the public code's fused recurrent kernel does; elsewhere a float32 torch loop.
Decode steps (one token) need neither: they are one ``addcmul``.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import torch
import torch.nn.functional as nnf

__all__ = [
    "Backend",
    "linear_recurrence",
    "pack_ternary",
    "packed_linear",
    "triton_available",
    "unpack_ternary",
]

Backend = Literal["auto", "triton", "torch"]

_SHIFTS = (0, 2, 4, 6)


@functools.cache
def triton_available() -> bool:
    """Whether Triton imports (it is only used on CUDA, or under ``TRITON_INTERPRET=1``)."""
    try:
        import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def _use_triton(t: torch.Tensor, backend: Backend) -> bool:
    if backend == "torch":
        return False
    if backend == "triton":
        return True
    return t.is_cuda and triton_available()


def packed_tiles(rows: int) -> tuple[int, int, int, int]:
    """Return the packed GEMV's ``(BLOCK_M, BLOCK_N, BLOCK_K, warps)`` for ``rows`` rows.

    Decode (at most 16 rows) takes narrow 16-column tiles, so even small matrices spread
    over many SMs; prefill takes 64 x 64 tiles.
    """
    return (16, 16, 128, 4) if rows <= 16 else (64, 64, 64, 4)


def packed_grid(rows: int, n: int) -> int:
    """Return how many thread blocks the packed GEMV launches for ``rows`` x ``n`` outputs."""
    bm, bn, _, _ = packed_tiles(rows)
    return -(-n // bn) * -(-rows // bm)


def pack_ternary(w: torch.Tensor) -> torch.Tensor:
    """Pack a ternary matrix (values -1, 0, +1) into ``uint8 [N, K/4]`` planes.

    Args:
        w: ``[N, K]`` of any dtype holding only -1, 0 and +1; ``K`` a multiple of 4.

    Returns:
        The packed bytes on ``w``'s device.

    Raises:
        ValueError: For a bad shape.
    """
    if w.dim() != 2 or w.shape[1] % 4:
        raise ValueError(f"pack_ternary needs [N, K] with K a multiple of 4 (got {list(w.shape)})")
    n, k = w.shape
    codes = (w.to(torch.int16) + 1).to(torch.uint8).reshape(n, 4, k // 4)
    out = codes[:, 0].clone()
    for s in range(1, 4):
        out |= codes[:, s] << _SHIFTS[s]
    return out


def unpack_ternary(packed: torch.Tensor, dtype: torch.dtype = torch.int8) -> torch.Tensor:
    """Unpack ``uint8 [N, K/4]`` planes into the ternary ``[N, K]`` matrix in ``dtype``."""
    n, k4 = packed.shape
    shifts = torch.tensor(_SHIFTS, dtype=torch.uint8, device=packed.device).view(1, 4, 1)
    codes = (packed.unsqueeze(1) >> shifts) & 3
    return (codes.to(dtype) - 1).reshape(n, 4 * k4)


def packed_linear(
    x: torch.Tensor, packed: torch.Tensor, scale: float, backend: Backend = "auto"
) -> torch.Tensor:
    """``x · W_tᵀ · scale`` with ``W_t`` packed by :func:`pack_ternary`.

    Args:
        x: ``[..., K]`` activations.
        packed: ``uint8 [N, K/4]``.
        scale: Dequantisation factor of the whole matrix.
        backend: ``triton``, ``torch`` or ``auto`` (Triton on CUDA when available).

    Returns:
        ``[..., N]`` in ``x.dtype``.
    """
    n, k4 = packed.shape
    if x.shape[-1] != 4 * k4:
        raise ValueError(f"packed_linear: x has {x.shape[-1]} features, weights {4 * k4}")
    if not _use_triton(x, backend):
        return nnf.linear(x, unpack_ternary(packed, x.dtype)) * scale
    from gpubench import _triton

    x2 = x.reshape(-1, 4 * k4)
    if x2.stride(-1) != 1:
        x2 = x2.contiguous()
    y = torch.empty(x2.shape[0], n, dtype=x.dtype, device=x.device)
    _triton.packed_matmul(x2, packed, y, scale, packed_tiles(x2.shape[0]))
    return y.reshape(*x.shape[:-1], n)


def linear_recurrence(
    f: torch.Tensor, i: torch.Tensor, h0: torch.Tensor, backend: Backend = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``h_t = f_t ⊙ h_{t-1} + i_t`` over time (float32 inside).

    Args:
        f: Forget gates ``[B, T, d]``.
        i: Inputs ``[B, T, d]``.
        h0: Initial state ``[B, d]`` (may be a strided view).
        backend: ``triton``, ``torch`` or ``auto``.

    Returns:
        Every state ``[B, T, d]`` and the last one ``[B, d]``, in ``f.dtype``.
    """
    if _use_triton(f, backend):
        from gpubench import _triton

        f, i = f.contiguous(), i.contiguous()
        out = torch.empty_like(f)
        last = torch.empty_like(h0)
        _triton.recurrence(f, i, h0, out, last)
        return out, last
    h = h0.float()
    ff, ii = f.float(), i.float()
    outs: list[Any] = []
    for t in range(f.shape[1]):
        h = torch.addcmul(ii[:, t], ff[:, t], h)
        outs.append(h)
    return torch.stack(outs, dim=1).to(f.dtype), h.to(f.dtype)
