"""The packed format and the torch fallbacks (and the Triton kernels, interpreted, if present).

Tolerances: the packed product's torch fallback multiplies the same ternary values as
a dense GEMM on ``W_t · scale``; in float64 both are exact sums of the same terms, so
they agree to 1e-12 relative. In bf16 the dense weight ``bf16(scale)`` and the
fallback's ``bf16(result) · scale`` round at different places: 1e-2 relative (a few
bf16 ulps).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as nnf  # noqa: E402

from gpubench.kernels import (  # noqa: E402
    linear_recurrence,
    pack_ternary,
    packed_linear,
    triton_available,
    unpack_ternary,
)
from tests.conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.torch


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@pytest.mark.parametrize(("rows", "cols"), [(1, 4), (7, 64), (48, 260)])
def test_pack_round_trip_and_size(rows: int, cols: int) -> None:
    w = torch.randint(-1, 2, (rows, cols), generator=torch.Generator().manual_seed(rows))
    p = pack_ternary(w)
    assert p.dtype == torch.uint8 and tuple(p.shape) == (rows, cols // 4)
    assert torch.equal(unpack_ternary(p), w.to(torch.int8))
    assert torch.equal(unpack_ternary(p, torch.bfloat16), w.to(torch.bfloat16))


def test_planar_layout() -> None:
    w = torch.zeros(1, 8, dtype=torch.int8)
    w[0, 0], w[0, 2], w[0, 7] = 1, -1, 1  # planes of K/4 = 2 bytes: k = j + 2s
    assert pack_ternary(w).tolist() == [[0b01_01_00_10, 0b10_01_01_01]]


def test_pack_refuses_bad_shape() -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        pack_ternary(torch.zeros(3, 6))


@pytest.mark.parametrize("m", [1, 5, 33])
def test_fallback_equals_dense(m: int) -> None:
    gen = torch.Generator().manual_seed(m)
    w = torch.randint(-1, 2, (40, 128), generator=gen)
    x = torch.randn(2, m, 128, generator=gen, dtype=torch.float64)
    scale = 0.0371
    dense = nnf.linear(x, w.double() * scale)
    y = packed_linear(x, pack_ternary(w), scale, backend="torch")
    assert y.shape == (2, m, 40) and y.dtype == torch.float64
    assert _rel(y, dense) < 1e-12
    xb = x.to(torch.bfloat16)
    yb = packed_linear(xb, pack_ternary(w), scale, backend="torch")
    assert yb.dtype == torch.bfloat16
    assert _rel(yb, nnf.linear(xb, (w * scale).to(torch.bfloat16))) < 1e-2


def test_packed_linear_checks_width() -> None:
    with pytest.raises(ValueError, match="x has 8 features, weights 16"):
        packed_linear(torch.zeros(1, 8), torch.zeros(2, 4, dtype=torch.uint8), 1.0)


def test_recurrence_fallback() -> None:
    gen = torch.Generator().manual_seed(0)
    f, i = torch.rand(2, 5, 3, generator=gen), torch.randn(2, 5, 3, generator=gen)
    state = torch.randn(2, 4, 3, generator=gen)
    h0 = state[:, 2]  # a strided view, as the model passes it
    out, last = linear_recurrence(f, i, h0, backend="torch")
    h = h0.clone()
    for t in range(5):
        h = f[:, t] * h + i[:, t]
        assert torch.allclose(out[:, t], h, atol=1e-6)
    assert torch.equal(last, out[:, -1])


def test_auto_uses_torch_on_cpu() -> None:
    x = torch.randn(1, 8)
    p = pack_ternary(torch.ones(3, 8))
    assert torch.allclose(packed_linear(x, p, 1.0), x.sum(-1, keepdim=True).expand(1, 3))


_INTERPRETED = textwrap.dedent(
    """
    import sys
    import torch
    import triton
    import triton.language as tl
    from gpubench.kernels import pack_ternary, packed_linear, linear_recurrence

    @triton.jit
    def probe(x, n):
        for k in range(0, n, 4):
            tl.store(x + k, k)

    try:  # Triton's interpreter fails on runtime loop bounds with NumPy >= 2.4
        probe[(1,)](torch.zeros(8), 8)
    except Exception as exc:
        print("SKIP: the Triton interpreter does not run here:", repr(exc)[:200])
        sys.exit(0)
    g = torch.Generator().manual_seed(0)
    for rows, cols, m in ((48, 64, 1), (100, 256, 16), (33, 128, 40)):
        w = torch.randint(-1, 2, (rows, cols), generator=g)
        x = torch.randn(m, cols, generator=g)
        ref = (x.double() @ w.double().T) * 0.37
        y = packed_linear(x, pack_ternary(w), 0.37, backend="triton")
        assert float((y.double() - ref).norm() / ref.norm()) < 1e-6, (rows, cols, m)
    f, i = torch.rand(3, 7, 50, generator=g), torch.randn(3, 7, 50, generator=g)
    h0 = torch.randn(3, 4, 50, generator=g)[:, 1]
    a, la = linear_recurrence(f, i, h0, backend="triton")
    b, lb = linear_recurrence(f, i, h0, backend="torch")
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(la, lb, atol=1e-5)
    print("interpreted kernels ok")
    """
)


@pytest.mark.skipif(not triton_available(), reason="Triton is not installed")
def test_triton_kernels_interpreted() -> None:
    """The Triton kernels in Triton's CPU interpreter.

    In float32: the interpreter computes bf16 dots wrongly (on the GPU the harness checks
    the bf16 kernel against the fallback before measuring).
    """
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _INTERPRETED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    if done.stdout.startswith("SKIP: "):
        pytest.skip(done.stdout[6:].strip())
    assert "interpreted kernels ok" in done.stdout


@pytest.mark.skipif(not triton_available(), reason="Triton is not installed")
def test_triton_kernels_compile_for_hopper() -> None:
    """Every kernel compiles ahead of time for sm_90 (no GPU needed), without spilling.

    The interpreter accepts things the compiler refuses (a non-constexpr global, say);
    this catches them before GPU time is spent. Arguments are specialised as the JIT
    specialises them at run time (pointers and the multiples of 16 aligned).
    """
    import triton  # type: ignore[import-not-found, unused-ignore]
    from triton.backends.compiler import GPUTarget  # type: ignore[import-not-found, unused-ignore]
    from triton.compiler import ASTSource  # type: ignore[import-not-found, unused-ignore]

    from gpubench import _kernelctx_triton, _triton

    target = GPUTarget("cuda", 90, 32)
    aligned = [["tt.divisibility", 16]]
    packed_sig = {
        "x_ptr": "*bf16",
        "w_ptr": "*u8",
        "y_ptr": "*bf16",
        **dict.fromkeys(("m", "n", "k4", "stride_xm", "stride_wn", "stride_ym"), "i32"),
        "scale": "fp32",
        **dict.fromkeys(("BLOCK_M", "BLOCK_N", "BLOCK_K"), "constexpr"),
    }
    kernels = [
        (_triton._packed_mm_kernel, packed_sig, {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 128}),
        (_triton._packed_mm_kernel, packed_sig, {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 64}),
        (
            _triton._recurrence_kernel,
            {
                **dict.fromkeys(("f_ptr", "i_ptr", "h0_ptr", "o_ptr", "hn_ptr"), "*bf16"),
                **dict.fromkeys(("t_len", "d", "stride_h0", "stride_hn"), "i32"),
                "BLOCK_D": "constexpr",
            },
            {"BLOCK_D": 1024},
        ),
        (_triton._empty_kernel, {"x_ptr": "*fp32"}, {}),
        (
            _kernelctx_triton._block_sum,
            {"x_ptr": "*fp32", "out_ptr": "*fp32", "N": "constexpr", "BLOCK": "constexpr"},
            {"N": 32768, "BLOCK": 1024},
        ),
    ]
    for fn, sig, consts in kernels:
        attrs = {(k,): aligned for k, v in enumerate(sig.values()) if v != "constexpr"}
        try:
            compiled = triton.compile(
                ASTSource(fn=fn, signature=sig, constexprs=consts, attrs=attrs),
                target=target,
                options={"num_warps": 4},
            )
        except RuntimeError as exc:  # no ptxas in this Triton installation
            if "ptxas" in str(exc):
                pytest.skip(str(exc))
            raise
        assert "cubin" in compiled.asm
        ptx = compiled.asm["ptx"]
        assert ".local" not in ptx, f"{fn.__name__} {consts}: spills to local memory"
