"""Triton kernels of the ``fused`` implementation (imported only when used).

Kept apart so that importing the harness never needs Triton. The math of each kernel is
the one of its torch twin in :mod:`gpubench.fused` (the reference path); the CPU tests
run these kernels under ``TRITON_INTERPRET=1`` against it. All elementwise work is in
float32, divisions and square roots correctly rounded (``div_rn``, ``sqrt_rn``), the
ternary product in int32 and its dequantisation in float64, as the functional model of
:mod:`workloads.model` computes them.
"""

from __future__ import annotations

import os

import torch
import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]
import triton.language as tl  # type: ignore[import-not-found, import-untyped, unused-ignore]
from triton.language.extra import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
    libdevice,
)

__all__ = [
    "GEMV_MAX_ROWS",
    "gemm_tiles",
    "gemv_launch",
    "gemv_tiles",
    "glu_quant",
    "mlgru_cell",
    "norm_quant",
    "row_warps",
    "ternary_gemv",
]

# The interpreter has no libdevice (it runs NumPy's exp, as the reference path on the CPU).
_INTERPRETED = tl.constexpr(os.environ.get("TRITON_INTERPRET", "0") == "1")

# Codes 1 in all four planes (0b01010101): padding bytes decode to zero weights.
_ZERO_BYTE = tl.constexpr(85)


def row_warps(block: int) -> int:
    """Warps of a kernel that holds one ``block``-wide float32 row per program."""
    return 4 if block <= 2048 else 8 if block <= 4096 else 16


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _rms(x, w, k, eps):  # type: ignore[no-untyped-def]
    """``x / sqrt(sum(x²)/k + eps) · w`` of a row held in registers (padding zeros)."""
    ms = tl.math.div_rn(tl.sum(x * x, axis=0), k.to(tl.float32))
    rstd = tl.math.div_rn(1.0, tl.sqrt_rn(ms + eps))
    return x * rstd * w


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _quant_store(xn, q_ptr, s_ptr, cols, mask):  # type: ignore[no-untyped-def]
    """Absmax int8 quantisation of one row, halves rounded away from zero; store q, s_x."""
    absmax = tl.max(tl.abs(xn), axis=0)
    s = tl.math.div_rn(127.0, tl.maximum(absmax, 1e-5))
    v = xn * s
    t = v.to(tl.int32).to(tl.float32)  # truncation toward zero
    away = tl.where(v < 0, -1.0, 1.0)
    r = t + tl.where(tl.abs(v - t) >= 0.5, away, 0.0)
    r = tl.minimum(tl.maximum(r, -128.0), 127.0)
    tl.store(q_ptr + cols, r.to(tl.int8), mask=mask)
    tl.store(s_ptr, s)


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _sigmoid(x):  # type: ignore[no-untyped-def]
    """``1 / (1 + exp(-x))`` without overflow, as the functional model writes it."""
    # libdevice's expf is CUDA's (what torch's exp runs on the GPU), not tl.exp's
    # ex2.approx, which differs by ulps that the model amplifies
    if _INTERPRETED:  # noqa: SIM108 (a constexpr branch)
        e = tl.exp(-tl.abs(x))
    else:
        e = libdevice.exp(-tl.abs(x))
    return tl.where(x >= 0, tl.math.div_rn(1.0, 1.0 + e), tl.math.div_rn(e, 1.0 + e))


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _norm_quant_kernel(  # type: ignore[no-untyped-def]
    x_ptr,
    ids_ptr,
    emb_ptr,
    w1_ptr,
    w2_ptr,
    q_ptr,
    s_ptr,
    k,
    stride_x,
    stride_ids,
    stride_qs,
    stride_ss,
    eps1,
    eps2,
    SEGMENTS: tl.constexpr,  # noqa: N803
    EMBED: tl.constexpr,  # noqa: N803
    BLOCK_K: tl.constexpr,  # noqa: N803
):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_K)
    mask = cols < k
    if EMBED:
        tok = tl.load(ids_ptr + row * stride_ids)
        x = tl.load(emb_ptr + tok * k + cols, mask=mask, other=0.0).to(tl.float32)
        tl.store(x_ptr + row * stride_x + cols, x, mask=mask)
    else:
        x = tl.load(x_ptr + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
    a = _rms(x, tl.load(w1_ptr + cols, mask=mask, other=0.0), k, eps1)
    for s in tl.static_range(SEGMENTS):
        w2 = tl.load(w2_ptr + s * k + cols, mask=mask, other=0.0)
        xn = _rms(a, w2, k, eps2)
        _quant_store(xn, q_ptr + s * stride_qs + row * k, s_ptr + s * stride_ss + row, cols, mask)


def norm_quant(
    x: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
    q: torch.Tensor,
    s: torch.Tensor,
    eps1: float,
    eps2: float,
    ids: torch.Tensor | None = None,
    emb: torch.Tensor | None = None,
) -> None:
    """Two chained RMSNorms and ``S`` int8 quantisations of each row: one launch.

    Fuses what the model runs before a BitLinear group: the block's pre-norm (``w1``,
    ``eps1``), the BitLinear norm of each of the ``S`` projections that read it
    (``w2[s]``, ``eps2``) and each one's per-token absmax quantisation; with ``ids``, also
    the embedding lookup (the rows of ``emb`` are written to ``x`` first). One program per
    row holds the row in registers.

    Args:
        x: ``[M, K]`` float32 rows (unit stride along ``K``, any row stride).
        w1: ``[K]`` float32.
        w2: ``[S, K]`` float32.
        q: ``[S, M, K]`` int8 out (contiguous).
        s: ``[S, M]`` float32 out, the scales ``s_x``.
        eps1: Epsilon of the first norm.
        eps2: Epsilon of the second norms.
        ids: ``[M]`` token ids (embedding lookup, any stride: a column of ``[B, T]`` ids
            is strided) or ``None``.
        emb: ``[V, K]`` embedding table (with ``ids``).
    """
    m, k = x.shape
    segments = w2.shape[0]
    embed = ids is not None
    _norm_quant_kernel[(m,)](
        x,
        ids if embed else x,
        emb if embed else x,
        w1,
        w2,
        q,
        s,
        k,
        x.stride(0),
        ids.stride(0) if ids is not None else 0,
        q.stride(0),
        s.stride(0),
        float(eps1),
        float(eps2),
        SEGMENTS=segments,
        EMBED=embed,
        BLOCK_K=triton.next_power_of_2(k),
        num_warps=row_warps(triton.next_power_of_2(k)),
    )


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _dp4a(a, b, c):  # type: ignore[no-untyped-def]
    """``c + Σ_i a_i·b_i`` over the four signed bytes of int32 words (PTX ``dp4a``)."""
    if _INTERPRETED:
        r = c
        for i in tl.static_range(4):
            r += ((a << (24 - 8 * i)) >> 24) * ((b << (24 - 8 * i)) >> 24)
    else:
        r = tl.inline_asm_elementwise(
            "dp4a.s32.s32 $0, $1, $2, $3;",
            "=r,r,r,r",
            [a, b, c],
            dtype=tl.int32,
            is_pure=True,
            pack=1,
        )
    return r


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _gemv_kernel(  # type: ignore[no-untyped-def]
    q_ptr,
    s_ptr,
    w_ptr,
    sw_ptr,
    y_ptr,
    n,
    seg_rows,
    stride_qs,
    stride_ss,
    KW: tl.constexpr,  # noqa: N803
    RESIDUAL: tl.constexpr,  # noqa: N803
    BLOCK_N: tl.constexpr,  # noqa: N803
    BLOCK_W: tl.constexpr,  # noqa: N803
):
    """Batch-1 GEMV: ``BLOCK_N`` output rows a program, K in ``BLOCK_W``-word chunks.

    ``w_ptr`` and ``q_ptr`` are int32 words: a code word holds bytes ``4j .. 4j+3`` of
    a row, i.e. columns ``p·K/4 + 4j + b`` in plane ``p`` (bits ``8b + 2p``), and the
    activation word ``p·KW + j`` holds the four int8 of those columns (byte ``b``). So
    ``(word >> 2p) & 0x03030303`` are the four codes ``c + 1`` (0..2) of plane ``p``
    byte-aligned with the activation word: one ``dp4a`` multiply-adds four columns,
    and ``Σ x·(c+1) - Σ x`` is the ternary product (exact int32).
    """
    pid = tl.program_id(0)
    rn = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    rw = tl.arange(0, BLOCK_W)
    seg = (pid * BLOCK_N) // seg_rows
    n_mask = rn < n
    qs = q_ptr + seg * stride_qs
    acc = tl.zeros((BLOCK_N, BLOCK_W), dtype=tl.int32)
    xacc = tl.zeros((BLOCK_W,), dtype=tl.int32)
    ones = tl.full((BLOCK_W,), 0x01010101, dtype=tl.int32)
    for w0 in range(0, KW, BLOCK_W):
        ww = w0 + rw
        k_mask = ww < KW
        words = tl.load(
            w_ptr + rn[:, None] * KW + ww[None, :], mask=n_mask[:, None] & k_mask[None, :], other=0
        )
        for p in tl.static_range(4):
            xw = tl.load(qs + p * KW + ww, mask=k_mask, other=0)
            c = (words >> (2 * p)) & 0x03030303
            acc = _dp4a(tl.broadcast_to(xw[None, :], (BLOCK_N, BLOCK_W)), c, acc)
            xacc = _dp4a(xw, ones, xacc)
    tot = tl.sum(acc, axis=1) - tl.sum(xacc, axis=0)
    sx = tl.load(s_ptr + seg * stride_ss).to(tl.float64)
    sw = tl.load(sw_ptr + seg)
    # fp64 division lowers to div.rn.f64 (correctly rounded), as NumPy divides
    y = (tot.to(tl.float64) / (sx * sw)).to(tl.float32)
    out = y_ptr + rn
    if RESIDUAL:
        y = tl.load(out, mask=n_mask, other=0.0) + y
    tl.store(out, y, mask=n_mask)


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _gemm_kernel(  # type: ignore[no-untyped-def]
    q_ptr,
    s_ptr,
    w_ptr,
    sw_ptr,
    y_ptr,
    m,
    n,
    seg_rows,
    stride_qs,
    stride_qm,
    stride_ss,
    stride_y,
    K4: tl.constexpr,  # noqa: N803
    RESIDUAL: tl.constexpr,  # noqa: N803
    BLOCK_M: tl.constexpr,  # noqa: N803
    BLOCK_N: tl.constexpr,  # noqa: N803
    BLOCK_K: tl.constexpr,  # noqa: N803
):
    """Prompt GEMM (many rows): float16 ``tl.dot`` with float32 accumulation.

    Exact: the operands are integers of at most 8 bits (exact in float16), every product
    is exact and every partial sum an integer below ``127 · K < 2^24``, exact in float32.
    """
    pid_n = tl.program_id(0)
    pid_m = tl.program_id(1)
    seg = (pid_n * BLOCK_N) // seg_rows
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    qs = q_ptr + seg * stride_qs
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for kb in range(0, K4, BLOCK_K):
        kk = kb + rk
        w_mask = (kk[:, None] < K4) & (rn[None, :] < n)
        w = tl.load(w_ptr + rn[None, :] * K4 + kk[:, None], mask=w_mask, other=_ZERO_BYTE)
        x_mask = (rm[:, None] < m) & (kk[None, :] < K4)
        for p in tl.static_range(4):
            ws = (((w >> (2 * p)) & 3).to(tl.int32) - 1).to(tl.float16)
            xs = tl.load(
                qs + rm[:, None] * stride_qm + (p * K4 + kk)[None, :], mask=x_mask, other=0
            )
            acc = tl.dot(xs.to(tl.float16), ws, acc, out_dtype=tl.float32)
    sx = tl.load(s_ptr + seg * stride_ss + rm, mask=rm < m, other=1.0).to(tl.float64)
    sw = tl.load(sw_ptr + seg)
    y = (acc.to(tl.float64) / (sx[:, None] * sw)).to(tl.float32)
    y_mask = (rm[:, None] < m) & (rn[None, :] < n)
    out = y_ptr + rm[:, None] * stride_y + rn[None, :]
    if RESIDUAL:
        y = tl.load(out, mask=y_mask, other=0.0) + y
    tl.store(out, y, mask=y_mask)


#: Most batch rows of the decode tiles of the ``tl.dot`` path (more rows: prompt tiles).
GEMV_MAX_ROWS = 16

#: Programs wanted at least per launch: four a SM of a 132-SM H100 (132 on the H200 too).
_MIN_PROGRAMS = 4 * 132

#: Most int32 code words of one program's chunk of the batch-1 GEMV (16 KiB).
_GEMV_TILE_WORDS = 4096


def gemv_tiles(n: int, k4: int) -> tuple[int, int, int]:
    """``(BLOCK_N, BLOCK_W, warps)`` of the batch-1 GEMV of an ``N x 4·k4`` matrix.

    ``BLOCK_W`` int32 code words of K a chunk (the whole row up to 512 words, K of
    8192; else 256-word chunks in a loop), ``BLOCK_N`` rows a program, doubled while at
    least :data:`_MIN_PROGRAMS` programs remain and the chunk stays within
    :data:`_GEMV_TILE_WORDS` words (~16 words, 32 registers of codes and accumulators a
    thread: no spills), warps by the chunk's size (a thread loads 4-word vectors).
    """
    kw = k4 // 4
    bw = triton.next_power_of_2(kw) if kw <= 512 else 256
    bn = 1
    while bn < 64 and n // (2 * bn) >= _MIN_PROGRAMS and 2 * bn * bw <= _GEMV_TILE_WORDS:
        bn *= 2
    warps = max(1, min(8, bn * bw // 512))
    return bn, bw, warps


def gemm_tiles(rows: int, n: int, k4: int) -> tuple[int, int, int, int]:
    """``(BLOCK_M, BLOCK_N, BLOCK_K bytes, warps)`` of the ``tl.dot`` path.

    Decode (at most :data:`GEMV_MAX_ROWS` rows): one 16-row tile holds every batch row,
    so each code byte is read once; ``BLOCK_N`` the widest of 64/32/16 that leaves ~2
    programs a SM, ``BLOCK_K · BLOCK_N`` at most 8192 code bytes. Prompt: 64 x 64 x 64.
    """
    if rows > GEMV_MAX_ROWS:
        return (64, 64, 64, 4)
    bn = 16
    while bn < 64 and n // (2 * bn) >= _MIN_PROGRAMS // 2:
        bn *= 2
    bk = max(16, min(triton.next_power_of_2(k4), 8192 // bn, 256))
    return (16, bn, bk, 4)


def gemv_launch(m: int, n: int, k4: int, seg_rows: int) -> tuple[str, int, dict[str, int], int]:
    """How :func:`ternary_gemv` launches: ``(kernel, programs, tile constants, warps)``."""
    if m == 1 and k4 % 4 == 0:
        bn, bw, warps = gemv_tiles(n, k4)
        while seg_rows % bn and seg_rows != n:
            bn //= 2
        return "_gemv_kernel", triton.cdiv(n, bn), {"BLOCK_N": bn, "BLOCK_W": bw}, warps
    bm, bn, bk, warps = gemm_tiles(m, n, k4)
    while seg_rows % bn and seg_rows != n and bn > 16:
        bn //= 2
    if seg_rows % bn and seg_rows != n:
        raise ValueError(f"segments of {seg_rows} rows do not align with {bn}-row tiles")
    programs = triton.cdiv(n, bn) * triton.cdiv(m, bm)
    return "_gemm_kernel", programs, {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}, warps


def ternary_gemv(
    q: torch.Tensor,
    s: torch.Tensor,
    codes: torch.Tensor,
    sw: torch.Tensor,
    y: torch.Tensor,
    seg_rows: int,
    residual: bool,
) -> None:
    """Packed ternary GEMV on int8 activations, int32 accumulation, dequantised epilogue.

    Fuses the projections that read one input (their code rows concatenated, each
    ``seg_rows`` rows reading its own quantised activations ``q[seg]`` and scales), the
    dequantisation ``y = acc / (s_x · s_w)`` (float64, rounded to float32) and, with
    ``residual``, the residual add ``y += x`` into ``y`` in place (each output element
    is read and written by the one program that computes it).

    Batch 1: each program owns ``BLOCK_N`` output rows, reads its codes once as int32
    words in K chunks and multiply-adds four columns an instruction (``dp4a``, see
    ``_gemv_kernel``). More rows: float16 ``tl.dot`` tiles of the unpacked codes, exact
    (see ``_gemm_kernel``); up to 16 rows (decode) one tile row holds them all, so the
    codes are read once.

    Args:
        q: ``[S, M, K]`` int8 (unit stride along ``K``).
        s: ``[S, M]`` float32 scales ``s_x``.
        codes: ``uint8 [N, K/4]`` in :func:`gpubench.kernels.pack_ternary`'s planes.
        sw: ``[S]`` float64 weight scales ``s_w``.
        y: ``[M, N]`` float32 out (unit stride along ``N``); the residual with ``residual``.
        seg_rows: Rows per segment (a multiple of ``BLOCK_N``; ``N`` for one segment).
        residual: Add into ``y`` instead of overwriting it.
    """
    m = q.shape[1]
    n, k4 = codes.shape
    kernel, programs, tiles, warps = gemv_launch(m, n, k4, seg_rows)
    if kernel == "_gemv_kernel":
        if seg_rows % tiles["BLOCK_N"] and seg_rows != n:
            raise ValueError(f"segments of {seg_rows} rows do not align with the tiles")
        _gemv_kernel[(programs,)](
            q.view(torch.int32),
            s,
            codes.view(torch.int32),
            sw,
            y,
            n,
            seg_rows,
            q.stride(0) // 4,
            s.stride(0),
            KW=k4 // 4,
            RESIDUAL=residual,
            num_warps=warps,
            **tiles,
        )
        return
    _gemm_kernel[(triton.cdiv(n, tiles["BLOCK_N"]), triton.cdiv(m, tiles["BLOCK_M"]))](
        q,
        s,
        codes,
        sw,
        y,
        m,
        n,
        seg_rows,
        q.stride(0),
        q.stride(1),
        s.stride(0),
        y.stride(0),
        K4=k4,
        RESIDUAL=residual,
        num_warps=warps,
        **tiles,
    )


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _mlgru_kernel(  # type: ignore[no-untyped-def]
    y_ptr,
    h_ptr,
    lbs_ptr,
    lbb_ptr,
    gn_ptr,
    on_ptr,
    q_ptr,
    s_ptr,
    d,
    stride_y,
    stride_h,
    eps_g,
    eps_o,
    T_LEN: tl.constexpr,  # noqa: N803
    CODE_FORM: tl.constexpr,  # noqa: N803
    BLOCK_D: tl.constexpr,  # noqa: N803
):
    b = tl.program_id(0)
    cols = tl.arange(0, BLOCK_D)
    mask = cols < d
    h = tl.load(h_ptr + b * stride_h + cols, mask=mask, other=0.0)
    lbs = tl.load(lbs_ptr + cols, mask=mask, other=1.0)
    lbb = tl.load(lbb_ptr + cols, mask=mask, other=0.0)
    gw = tl.load(gn_ptr + cols, mask=mask, other=0.0)
    ow = tl.load(on_ptr + cols, mask=mask, other=0.0)
    for t in range(T_LEN):
        row = b * T_LEN + t
        base = y_ptr + row * stride_y + cols
        xi = tl.load(base, mask=mask, other=0.0)
        f = _sigmoid(tl.load(base + d, mask=mask, other=0.0))
        g = tl.load(base + 2 * d, mask=mask, other=0.0)
        f = f * lbs
        f = f + lbb
        i = xi * _sigmoid(xi)
        i = i * (1.0 - f)
        fh = f * h
        h = fh + i
        if CODE_FORM:  # noqa: SIM108 (a constexpr branch)
            o = _rms(g, gw, d, eps_g) * (h * _sigmoid(h))
        else:
            o = _sigmoid(g) * h
        o = tl.where(mask, o, 0.0)
        xn = _rms(o, ow, d, eps_o)
        _quant_store(xn, q_ptr + row * d, s_ptr + row, cols, mask)
    tl.store(h_ptr + b * stride_h + cols, h, mask=mask)


def mlgru_cell(
    y: torch.Tensor,
    h: torch.Tensor,
    lb_scale: torch.Tensor,
    lb_shift: torch.Tensor,
    g_norm: torch.Tensor,
    o_norm: torch.Tensor,
    q: torch.Tensor,
    s: torch.Tensor,
    eps_g: float,
    eps_o: float,
    code_form: bool,
) -> None:
    """The MLGRU after its projections, through to ``o_proj``'s quantised input: one launch.

    Fuses the forget gate (sigmoid, lower bound), the input gate (SiLU · (1 - f)), the
    state update ``h = f ⊙ h + i`` (in place), the output gate (code form:
    ``RMSNorm(g) ⊙ SiLU(h)``; paper form: ``σ(g) ⊙ h``) and ``o_proj``'s RMSNorm and
    int8 quantisation. One program per sequence steps through its ``T`` tokens (the
    prompt, or one decode token) with the whole ``d``-vector in registers.

    Args:
        y: ``[B·T, 3d]`` float32: the ``i``, ``f`` and ``g`` projections of each token.
        h: ``[B, d]`` float32 state (unit stride along ``d``), updated in place.
        lb_scale: ``[d]`` float32 ``1 - lb``.
        lb_shift: ``[d]`` float32 ``lb``.
        g_norm: ``[d]`` weight of the gate's RMSNorm.
        o_norm: ``[d]`` weight of ``o_proj``'s RMSNorm.
        q: ``[B·T, d]`` int8 out.
        s: ``[B·T]`` float32 out.
        eps_g: Epsilon of the gate norm.
        eps_o: Epsilon of ``o_proj``'s norm.
        code_form: The released code's output gate (else the paper's).
    """
    b, d = h.shape
    t_len = y.shape[0] // b
    block = triton.next_power_of_2(d)
    _mlgru_kernel[(b,)](
        y,
        h,
        lb_scale,
        lb_shift,
        g_norm,
        o_norm,
        q,
        s,
        d,
        y.stride(0),
        h.stride(0),
        float(eps_g),
        float(eps_o),
        T_LEN=t_len,
        CODE_FORM=code_form,
        BLOCK_D=block,
        num_warps=row_warps(block),
    )


@triton.jit  # type: ignore[untyped-decorator, unused-ignore]
def _glu_kernel(  # type: ignore[no-untyped-def]
    y_ptr,
    w_ptr,
    q_ptr,
    s_ptr,
    inter,
    stride_y,
    eps,
    BLOCK_I: tl.constexpr,  # noqa: N803
):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_I)
    mask = cols < inter
    gate = tl.load(y_ptr + row * stride_y + cols, mask=mask, other=0.0)
    up = tl.load(y_ptr + row * stride_y + inter + cols, mask=mask, other=0.0)
    z = gate * _sigmoid(gate)
    z = z * up
    xn = _rms(z, tl.load(w_ptr + cols, mask=mask, other=0.0), inter, eps)
    _quant_store(xn, q_ptr + row * inter, s_ptr + row, cols, mask)


def glu_quant(
    y: torch.Tensor, w: torch.Tensor, q: torch.Tensor, s: torch.Tensor, eps: float
) -> None:
    """The GLU gate ``SiLU(gate) ⊙ up`` with ``down_proj``'s RMSNorm and quantisation.

    One launch, one program per token row.

    Args:
        y: ``[M, 2I]`` float32: gate then up.
        w: ``[I]`` weight of ``down_proj``'s RMSNorm.
        q: ``[M, I]`` int8 out.
        s: ``[M]`` float32 out.
        eps: Epsilon of the norm.
    """
    m = y.shape[0]
    inter = w.shape[0]
    block = triton.next_power_of_2(inter)
    _glu_kernel[(m,)](
        y, w, q, s, inter, y.stride(0), float(eps), BLOCK_I=block, num_warps=row_warps(block)
    )
