"""The ``fused`` implementation: its reference path against the functional model, its
Triton kernels (interpreted) against the reference path, its kernels compiled for sm_90.

Tolerances, and why:

- reference path against :class:`workloads.model.TernaryLM` (float32, both halves-away):
  the same greedy tokens and every logit within ``1e-6 · max|logit|``. The two compute
  the same float32 operations in the same order except the sums inside RMSNorm (NumPy
  sums pairwise, torch its own way), so they agree to a few float32 ulps (measured
  ~2e-7); a flipped int8 activation would show as ~1e-3, so the bound also proves that
  none flipped on these cases;
- Triton (interpreted) against the reference path: every quantised activation and the
  state equal up to float32 rounding of the row sums (the int8 buffers are compared
  exactly), logits within ``1e-6 · max|logit|`` (measured ~2e-7).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from workloads.config import ModelConfig, get_config, glu_width
from workloads.model import TernaryLM
from workloads.synthetic import synthetic_weights
from workloads.weights import ModelWeights

torch = pytest.importorskip("torch")

from gpubench.fused import (  # noqa: E402
    REFERENCE_OPS,
    FusedMMfreeLM,
    FusedRunner,
    fused_ops,
)
from gpubench.kernels import triton_available  # noqa: E402
from gpubench.models import build_decoder, build_model  # noqa: E402
from gpubench.shapes import get_shape  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]
PROMPT = [3, 141, 59, 265, 35]
GEN = 8
D256 = ModelConfig("d256", 2, 256, glu_width(256), 1024)


def _run_fused(model: FusedMMfreeLM, prompt: list[int], gen: int) -> tuple[list[int], np.ndarray]:
    """Greedy run of one sequence: prompt as one batch, then ``gen`` steps."""
    runner = FusedRunner(model, 1, len(prompt), REFERENCE_OPS)
    state = torch.zeros(1, model.config.layers, model.config.d)
    logits = runner.forward(torch.tensor([prompt]), state).clone()
    outs, tokens = [logits], list(prompt)
    for _ in range(gen):
        tokens.append(int(logits.argmax()))
        logits = runner.forward(torch.tensor([[tokens[-1]]]), state).clone()
        outs.append(logits)
    return tokens, torch.cat(outs).double().numpy()


@pytest.mark.parametrize(
    "cfg",
    [
        get_config("tiny"),
        D256,
        dataclasses.replace(get_config("tiny"), mlgru_form="paper", bitlinear_eps=1e-8),
    ],
    ids=["tiny", "d256", "paper-form"],
)
def test_reference_path_matches_functional_model(cfg: ModelConfig) -> None:
    weights = synthetic_weights(cfg, 0)
    ref = TernaryLM(weights).run(PROMPT, GEN, keep_outputs=True)
    assert ref.outputs is not None
    tokens, out = _run_fused(FusedMMfreeLM.from_weights(weights, backend="torch"), PROMPT, GEN)
    assert tokens == ref.tokens
    scale = np.abs(ref.outputs).max()
    assert np.abs(out - ref.outputs).max() <= 1e-6 * scale


def test_batch_rows_are_independent() -> None:
    """A batch of two sequences gives each one's logits and state as run alone."""
    weights = synthetic_weights(get_config("tiny"), 1)
    model = FusedMMfreeLM.from_weights(weights, backend="torch")
    cfg = model.config
    ids = torch.tensor([[5, 6, 7], [100, 2, 9]])
    runner = FusedRunner(model, 2, 3)
    state = torch.zeros(2, cfg.layers, cfg.d)
    both = runner.forward(ids, state).clone()
    for b in range(2):
        alone_state = torch.zeros(1, cfg.layers, cfg.d)
        alone = FusedRunner(model, 1, 3).forward(ids[b : b + 1], alone_state)
        assert torch.equal(alone[0], both[b]) and torch.equal(alone_state[0], state[b])


def test_decoder_matches_packed_tokens_closely() -> None:
    """``fused`` built by the harness shares ``packed``'s ternary weights.

    ``packed`` computes norms and gates in bf16 and ``fused`` in float32, so their logits
    differ by bf16 rounding (~1e-2 relative); the first greedy token of each sequence must
    agree, and the logits correlate almost perfectly.
    """
    shape = get_shape("tiny")
    packed = build_model(shape, "packed", "cpu")
    fused = build_model(shape, "fused", "cpu")
    assert isinstance(fused, FusedMMfreeLM)
    dp, df = build_decoder(packed, 2, 4, 3), build_decoder(fused, 2, 4, 3)
    prompt = torch.randint(0, shape.vocab, (2, 4), generator=torch.Generator().manual_seed(0))
    for dec in (dp, df):
        dec.prompt.copy_(prompt)
        dec.prefill_()
    assert torch.equal(dp.token, df.token)
    first = df.token.clone()
    df.step_()
    df.step_()
    df.rewind_()
    assert torch.equal(df.token, first)


def _weights() -> ModelWeights:
    return synthetic_weights(get_config("tiny"), 0)


_INTERPRETED = textwrap.dedent(
    """
    import torch
    from workloads.config import get_config
    from workloads.synthetic import synthetic_weights
    from gpubench.fused import FusedMMfreeLM, FusedRunner, REFERENCE_OPS, fused_ops

    cfg = get_config("tiny")
    model = FusedMMfreeLM.from_weights(synthetic_weights(cfg, 0), backend="torch")
    tri = fused_ops("triton", torch.device("cpu"))
    ids = torch.randint(0, cfg.vocab, (2, 3), generator=torch.Generator().manual_seed(0))
    res = []
    for ops in (REFERENCE_OPS, tri):
        run = FusedRunner(model, 2, 3, ops)
        state = torch.zeros(2, cfg.layers, cfg.d)
        outs = [run.forward(ids, state).clone()]
        q_prefill = run.q_in.clone()
        outs.append(run.forward(outs[-1].argmax(-1, keepdim=True), state).clone())
        # a strided column of ids (stride 3): the embedding lookup must honour it
        outs.append(run.forward(ids[:, 1:2], state).clone())
        res.append((torch.stack(outs), state, q_prefill, run.q_in.clone()))
    (a, sa, qa, qa2), (b, sb, qb, qb2) = res
    assert torch.equal(qa, qb) and torch.equal(qa2, qb2), "int8 activations differ"
    assert float((a - b).abs().max()) <= 1e-6 * float(a.abs().max()), "logits differ"
    assert float((sa - sb).abs().max()) <= 1e-6 * float(sa.abs().max()), "state differs"
    print("fused kernels ok")
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not triton_available(), reason="Triton is not installed")
def test_triton_kernels_interpreted_match_reference() -> None:
    """The four Triton kernels under ``TRITON_INTERPRET=1``: prefill of 2 x 3, one step."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _INTERPRETED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fused kernels ok" in done.stdout


def test_reference_ops_are_the_cpu_default() -> None:
    assert fused_ops("auto", torch.device("cpu")) is REFERENCE_OPS
    assert FusedMMfreeLM.from_weights(_weights()).ops() is REFERENCE_OPS


def test_block_only_refused() -> None:
    with pytest.raises(ValueError, match="full LM"):
        FusedMMfreeLM(ModelConfig("blk", 1, 64, glu_width(64), 512, block_only=True))


@pytest.mark.skipif(not triton_available(), reason="Triton is not installed")
@pytest.mark.parametrize("name", ["370m", "1.3b", "2.7b"])
def test_fused_kernels_compile_for_hopper(name: str) -> None:
    """Every fused kernel compiles for sm_90 at a real size's constants, without spilling."""
    import triton  # type: ignore[import-not-found, unused-ignore]
    from triton.backends.compiler import GPUTarget  # type: ignore[import-not-found, unused-ignore]
    from triton.compiler import ASTSource  # type: ignore[import-not-found, unused-ignore]

    from gpubench import _fused_triton as ft

    s = get_shape(name)
    target = GPUTarget("cuda", 90, 32)
    i32, f32 = "i32", "fp32"
    nq = {
        "x_ptr": "*fp32",
        "ids_ptr": "*i64",
        "emb_ptr": "*bf16",
        "w1_ptr": "*fp32",
        "w2_ptr": "*fp32",
        "q_ptr": "*i8",
        "s_ptr": "*fp32",
        **dict.fromkeys(("k", "stride_x", "stride_ids", "stride_qs", "stride_ss"), i32),
        "eps1": f32,
        "eps2": f32,
        **dict.fromkeys(("SEGMENTS", "EMBED", "BLOCK_K"), "constexpr"),
    }
    ptrs = {"q_ptr": "*i32", "s_ptr": "*fp32", "w_ptr": "*i32", "sw_ptr": "*fp64", "y_ptr": "*fp32"}
    gemv = {
        **ptrs,
        **dict.fromkeys(("n", "seg_rows", "stride_qs", "stride_ss"), i32),
        **dict.fromkeys(("KW", "RESIDUAL", "BLOCK_N", "BLOCK_W"), "constexpr"),
    }
    ints = ("m", "n", "seg_rows", "stride_qs", "stride_qm", "stride_ss", "stride_y")
    gemm = {
        **ptrs,
        "q_ptr": "*i8",
        "w_ptr": "*u8",
        **dict.fromkeys(ints, i32),
        **dict.fromkeys(("K4", "RESIDUAL", "BLOCK_M", "BLOCK_N", "BLOCK_K"), "constexpr"),
    }
    mlgru = {
        **dict.fromkeys(("y_ptr", "h_ptr", "lbs_ptr", "lbb_ptr", "gn_ptr", "on_ptr"), "*fp32"),
        "q_ptr": "*i8",
        "s_ptr": "*fp32",
        **dict.fromkeys(("d", "stride_y", "stride_h"), i32),
        "eps_g": f32,
        "eps_o": f32,
        **dict.fromkeys(("T_LEN", "CODE_FORM", "BLOCK_D"), "constexpr"),
    }
    glu = {
        "y_ptr": "*fp32",
        "w_ptr": "*fp32",
        "q_ptr": "*i8",
        "s_ptr": "*fp32",
        "inter": i32,
        "stride_y": i32,
        "eps": f32,
        "BLOCK_I": "constexpr",
    }
    p2 = triton.next_power_of_2
    wd = ft.row_warps(p2(s.d))
    cases = [
        (ft._norm_quant_kernel, nq, {"SEGMENTS": 3, "EMBED": True, "BLOCK_K": p2(s.d)}, wd),
        (ft._mlgru_kernel, mlgru, {"T_LEN": 1, "CODE_FORM": True, "BLOCK_D": p2(s.d)}, wd),
        (ft._glu_kernel, glu, {"BLOCK_I": p2(s.intermediate)}, ft.row_warps(p2(s.intermediate))),
    ]
    mats = (
        (3 * s.d, s.d, s.d),
        (s.d, s.d, s.d),
        (2 * s.intermediate, s.d, 2 * s.intermediate),
        (s.d, s.intermediate, s.d),
        (s.vocab, s.d, s.vocab),
    )
    for rows in (1, 16, 16 * 128):
        for n, k, seg in mats:
            kernel, _, tiles, warps = ft.gemv_launch(rows, n, k // 4, seg)
            if kernel == "_gemv_kernel":
                consts = {"KW": k // 16, "RESIDUAL": True, **tiles}
                cases.append((ft._gemv_kernel, gemv, consts, warps))
            else:
                consts = {"K4": k // 4, "RESIDUAL": True, **tiles}
                cases.append((ft._gemm_kernel, gemm, consts, warps))
    for fn, sig, consts, warps in cases:
        # pointers aligned as the JIT specialises them (the x rows of a view may not be)
        attrs = {
            (k,): [["tt.divisibility", 16]]
            for k, (name, v) in enumerate(sig.items())
            if v.startswith("*") and name != "x_ptr"
        }
        try:
            compiled = triton.compile(
                ASTSource(fn=fn, signature=sig, constexprs=consts, attrs=attrs),
                target=target,
                options={"num_warps": warps},
            )
        except RuntimeError as exc:  # no ptxas in this Triton installation
            if "ptxas" in str(exc):
                pytest.skip(str(exc))
            raise
        assert "cubin" in compiled.asm
        assert ".local" not in compiled.asm["ptx"], f"{fn.__name__} {consts}: spills"
