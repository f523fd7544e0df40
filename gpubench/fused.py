"""The ``fused`` implementation: the MatMul-free LM as a GPU engineer would decode it.

Weights are packed 2 bits each (:func:`gpubench.kernels.pack_ternary`'s planes) with one
float64 scale ``s_w`` per matrix; activations are quantised to int8 per token and the
ternary products accumulate in int32, then ``y = acc / (s_x · s_w)``. The numerics are
those of the functional model (:class:`workloads.model.TernaryLM` with the default
:class:`~workloads.numerics.Numerics`): float32 residual stream, state, norms and gates,
activation halves rounded away from zero, the dequantisation in float64. A layer is
eight launches (four with the two GEMVs, :data:`FusedOps` names them):

1. ``norm_quant``: pre-norm, the BitLinear norms of ``i``/``f``/``g`` and their int8
   quantisation (layer 0 also looks up the embedding);
2. ``ternary_gemv``: ``i``, ``f`` and ``g`` at once (their code rows concatenated);
3. ``mlgru_cell``: gates, state update, output gate, ``o_proj``'s norm and quantisation;
4. ``ternary_gemv``: ``o_proj`` with the residual add in its epilogue;
5. ``norm_quant``: ``mlp_norm``, ``gate_proj``'s norm, quantisation;
6. ``ternary_gemv``: gate and up (one matrix);
7. ``glu_quant``: ``SiLU(gate) ⊙ up``, ``down_proj``'s norm, quantisation;
8. ``ternary_gemv``: ``down_proj`` with the residual add.

The head is one more ``norm_quant`` (final norm, head norm) and GEMV, then ``argmax``.
Each op has two backends of the same math: Triton kernels
(:mod:`gpubench._fused_triton`, on CUDA) and the torch reference path here (any device,
the CPU tests' oracle). :class:`FusedDecoder` holds static buffers, so its steps can be
captured in a CUDA graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from gpubench import kernels
from workloads.config import ModelConfig
from workloads.torch_model import TorchMMfreeLM
from workloads.weights import ModelWeights, TernaryMatrix

__all__ = [
    "REFERENCE_OPS",
    "FusedBackend",
    "FusedMMfreeLM",
    "FusedOps",
    "fused_ops",
    "glu_quant_ref",
    "mlgru_cell_ref",
    "norm_quant_ref",
    "ternary_gemv_ref",
]

FusedBackend = Literal["auto", "triton", "torch"]

_F32 = torch.float32


# --- the reference path (torch, any device) -----------------------------------------


def _rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    ms = (x * x).sum(-1, keepdim=True) / x.shape[-1]
    rstd = 1.0 / torch.sqrt(ms + eps)
    return x * rstd * w


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _silu(x: torch.Tensor) -> torch.Tensor:
    return x * _sigmoid(x)


def _quant(xn: torch.Tensor, q: torch.Tensor, s: torch.Tensor) -> None:
    """Per-row absmax int8 quantisation, halves away from zero, into ``q`` and ``s``."""
    scale = 127.0 / xn.abs().amax(-1).clamp(min=1e-5)
    v = xn * scale.unsqueeze(-1)
    t = torch.trunc(v)
    away = torch.where(v < 0, -1.0, 1.0)
    r = torch.where((v - t).abs() >= 0.5, t + away, t).clamp(-128, 127)
    q.copy_(r.to(torch.int8))
    s.copy_(scale)


def norm_quant_ref(
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
    """Reference of :func:`gpubench._fused_triton.norm_quant` (same arguments)."""
    if ids is not None:
        assert emb is not None
        x.copy_(emb.index_select(0, ids).to(_F32))
    a = _rms(x, w1, eps1)
    for seg in range(w2.shape[0]):
        _quant(_rms(a, w2[seg], eps2), q[seg], s[seg])


def ternary_gemv_ref(
    q: torch.Tensor,
    s: torch.Tensor,
    codes: torch.Tensor,
    sw: torch.Tensor,
    y: torch.Tensor,
    seg_rows: int,
    residual: bool,
) -> None:
    """Reference of :func:`gpubench._fused_triton.ternary_gemv` (same arguments).

    The integer product is exact in float64 (sums of at most ``127 · K`` < 2^53).
    """
    w = kernels.unpack_ternary(codes, torch.float64)
    for seg in range(q.shape[0]):
        rows = slice(seg * seg_rows, min((seg + 1) * seg_rows, w.shape[0]))
        acc = q[seg].double() @ w[rows].T
        part = (acc / (s[seg].double().unsqueeze(-1) * sw[seg])).to(_F32)
        if residual:
            y[:, rows] += part
        else:
            y[:, rows] = part


def mlgru_cell_ref(
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
    """Reference of :func:`gpubench._fused_triton.mlgru_cell` (same arguments)."""
    b, d = h.shape
    t_len = y.shape[0] // b
    yy = y.view(b, t_len, 3 * d)
    state = h.clone()
    outs = []
    for t in range(t_len):
        xi, f, g = yy[:, t, :d], _sigmoid(yy[:, t, d : 2 * d]), yy[:, t, 2 * d :]
        f = f * lb_scale
        f = f + lb_shift
        i = _silu(xi) * (1.0 - f)
        state = f * state
        state = state + i
        o = _rms(g, g_norm, eps_g) * _silu(state) if code_form else _sigmoid(g) * state
        outs.append(o)
    o_all = torch.stack(outs, dim=1).reshape(b * t_len, d)
    _quant(_rms(o_all, o_norm, eps_o), q, s)
    h.copy_(state)


def glu_quant_ref(
    y: torch.Tensor, w: torch.Tensor, q: torch.Tensor, s: torch.Tensor, eps: float
) -> None:
    """Reference of :func:`gpubench._fused_triton.glu_quant` (same arguments)."""
    inter = w.shape[0]
    z = _silu(y[:, :inter]) * y[:, inter : 2 * inter]
    _quant(_rms(z, w, eps), q, s)


@dataclass(frozen=True)
class FusedOps:
    """The four fused operations of a decode step, in one backend.

    Attributes:
        name: ``triton`` or ``torch``.
        norm_quant: Chained RMSNorms, embedding lookup, int8 quantisation.
        ternary_gemv: Packed ternary GEMV with segments and residual epilogue.
        mlgru_cell: MLGRU gates, state, output gate, next norm and quantisation.
        glu_quant: GLU gate, next norm and quantisation.
    """

    name: str
    norm_quant: Callable[..., None]
    ternary_gemv: Callable[..., None]
    mlgru_cell: Callable[..., None]
    glu_quant: Callable[..., None]


#: The torch reference path.
REFERENCE_OPS = FusedOps("torch", norm_quant_ref, ternary_gemv_ref, mlgru_cell_ref, glu_quant_ref)


def fused_ops(backend: FusedBackend, device: torch.device) -> FusedOps:
    """The ops of ``backend`` (``auto``: Triton on CUDA when it imports, else torch)."""
    if backend == "torch" or (
        backend == "auto" and not (device.type == "cuda" and kernels.triton_available())
    ):
        return REFERENCE_OPS
    from gpubench import _fused_triton as ft

    return FusedOps("triton", ft.norm_quant, ft.ternary_gemv, ft.mlgru_cell, ft.glu_quant)


# --- the model ------------------------------------------------------------------------


class FusedMMfreeLM(nn.Module):
    """The MatMul-free LM's weights laid out for the fused kernels (buffers, stacked by layer).

    Per layer: ``ifg_codes`` are the ``i``, ``f`` and ``g`` projections' codes
    concatenated (``[3d, d/4]``, scales ``ifg_sw[3]``, norms ``ifg_norm[3, d]``);
    ``gu_codes`` the fused gate/up ``[2I, d/4]`` (one scale). Norm weights, lower bounds
    and scales are float32 (scales float64); the embedding keeps its dtype.

    Args:
        config: The model (not block-only).
        device: Where to allocate (``meta`` for shapes only).
        emb_dtype: The embedding table's dtype.
        backend: The ops' backend (see :func:`fused_ops`).

    Raises:
        ValueError: For a block-only configuration or sizes not a multiple of 4.
    """

    impl = "fused"

    def __init__(
        self,
        config: ModelConfig,
        device: Any = "cpu",
        emb_dtype: torch.dtype = torch.bfloat16,
        backend: FusedBackend = "auto",
    ) -> None:
        super().__init__()
        if config.block_only or config.d % 4 or config.intermediate % 4:
            raise ValueError("the fused model needs a full LM with d and I multiples of 4")
        self.config = config
        self.backend: FusedBackend = backend
        lay, d, inter, v = config.layers, config.d, config.intermediate, config.vocab
        shapes: dict[str, tuple[tuple[int, ...], torch.dtype]] = {
            "embeddings": ((v, d), emb_dtype),
            "attn_norm": ((lay, d), _F32),
            "ifg_norm": ((lay, 3, d), _F32),
            "ifg_codes": ((lay, 3 * d, d // 4), torch.uint8),
            "ifg_sw": ((lay, 3), torch.float64),
            "lb_scale": ((lay, d), _F32),
            "lb_shift": ((lay, d), _F32),
            "g_norm": ((lay, d), _F32),
            "o_norm": ((lay, 1, d), _F32),
            "o_codes": ((lay, d, d // 4), torch.uint8),
            "o_sw": ((lay, 1), torch.float64),
            "mlp_norm": ((lay, d), _F32),
            "gu_norm": ((lay, 1, d), _F32),
            "gu_codes": ((lay, 2 * inter, d // 4), torch.uint8),
            "gu_sw": ((lay, 1), torch.float64),
            "down_norm": ((lay, 1, inter), _F32),
            "down_codes": ((lay, d, inter // 4), torch.uint8),
            "down_sw": ((lay, 1), torch.float64),
            "final_norm": ((d,), _F32),
            "head_norm": ((1, d), _F32),
            "head_codes": ((v, d // 4), torch.uint8),
            "head_sw": ((1,), torch.float64),
        }
        for name, (shape, dtype) in shapes.items():
            self.register_buffer(name, torch.zeros(shape, dtype=dtype, device=device))
        self.buf("lb_scale").fill_(1.0)

    def buf(self, name: str) -> torch.Tensor:
        """A buffer by name, typed."""
        t = getattr(self, name)
        assert isinstance(t, torch.Tensor)
        return t

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return self.buf("head_codes").device

    def ops(self) -> FusedOps:
        """The ops this model runs with."""
        return fused_ops(self.backend, self.device)

    @torch.no_grad()
    def _put(self, name: str, layer: int | None, value: Any) -> None:
        t = self.buf(name)
        dst = t if layer is None else t[layer]
        src = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
        dst.copy_(src.reshape(dst.shape).to(dst.dtype))

    @classmethod
    @torch.no_grad()
    def from_weights(
        cls,
        weights: ModelWeights,
        device: Any = "cpu",
        emb_dtype: torch.dtype = torch.float32,
        backend: FusedBackend = "auto",
    ) -> FusedMMfreeLM:
        """Lay out the functional model's weights (:class:`workloads.weights.ModelWeights`).

        Args:
            weights: Packed weights of a full LM.
            device: Target device.
            emb_dtype: Embedding dtype (float32 keeps the functional model's values).
            backend: The ops' backend.
        """
        model = cls(weights.config, device, emb_dtype, backend)

        def codes(ms: tuple[TernaryMatrix, ...]) -> torch.Tensor:
            w = np.concatenate([m.unpack() for m in ms])
            return kernels.pack_ternary(torch.from_numpy(w))

        def scales(ms: tuple[TernaryMatrix, ...]) -> torch.Tensor:
            return torch.tensor([m.scale for m in ms], dtype=torch.float64)

        def norms(ms: tuple[TernaryMatrix, ...]) -> torch.Tensor:
            return torch.from_numpy(np.stack([m.norm for m in ms]))

        for lw in weights.layers:
            k = lw.index
            groups = {
                "ifg": (lw.i_proj, lw.f_proj, lw.g_proj),
                "o": (lw.o_proj,),
                "gu": (lw.gate_proj,),
                "down": (lw.down_proj,),
            }
            for prefix, ms in groups.items():
                model._put(f"{prefix}_codes", k, codes(ms))
                model._put(f"{prefix}_sw", k, scales(ms))
                model._put(f"{prefix}_norm", k, norms(ms))
            model._put("attn_norm", k, lw.attn_norm)
            model._put("g_norm", k, lw.g_norm)
            model._put("mlp_norm", k, lw.mlp_norm)
            if lw.lower_bound is not None and weights.config.use_lower_bound:
                lb = np.asarray(lw.lower_bound, dtype=np.float32)
                model._put("lb_scale", k, 1 - lb)
                model._put("lb_shift", k, lb)
        head = weights.lm_head
        assert head is not None and weights.embedding is not None
        assert weights.final_norm is not None
        model._put("embeddings", None, weights.embedding)
        model._put("final_norm", None, weights.final_norm)
        model._put("head_codes", None, codes((head,)))
        model._put("head_sw", None, scales((head,)))
        model._put("head_norm", None, norms((head,)))
        return model

    @classmethod
    @torch.no_grad()
    def from_packed(cls, src: TorchMMfreeLM, backend: FusedBackend = "auto") -> FusedMMfreeLM:
        """Take the codes, scales and norms of a ``packed`` :class:`TorchMMfreeLM`.

        The codes must be :func:`gpubench.kernels.pack_ternary`'s (as the harness's
        ``packed`` implementation stores them); ``s_w = 1 / scale``.

        Raises:
            ValueError: For a model whose BitLinears are not packed.
        """
        if src.options.weights != "packed":
            raise ValueError("from_packed needs a model with packed weights")
        device = src.lm_head.packed.device
        model = cls(src.config, device, src.model.embeddings.weight.dtype, backend)

        def sw(*bls: Any) -> torch.Tensor:
            return torch.tensor([1.0 / bl.scale for bl in bls], dtype=torch.float64)

        bounds = src.model.bounds()
        for k, block in enumerate(src.model.blocks()):
            at, mlp = block.attn, block.mlp
            ifg = (at.i_proj, at.f_proj, at.g_proj)
            model._put("ifg_codes", k, torch.cat([bl.packed for bl in ifg]))
            model._put("ifg_sw", k, sw(*ifg))
            model._put("ifg_norm", k, torch.stack([bl.norm.weight for bl in ifg]))
            for prefix, bl in (("o", at.o_proj), ("gu", mlp.gate_proj), ("down", mlp.down_proj)):
                model._put(f"{prefix}_codes", k, bl.packed)
                model._put(f"{prefix}_sw", k, sw(bl))
                model._put(f"{prefix}_norm", k, bl.norm.weight)
            model._put("attn_norm", k, block.attn_norm.weight)
            model._put("g_norm", k, at.g_norm.weight)
            model._put("mlp_norm", k, block.mlp_norm.weight)
            if bounds is not None and k > 0:
                lb = bounds[k].to(_F32)
                model._put("lb_scale", k, 1 - lb)
                model._put("lb_shift", k, lb)
        model._put("embeddings", None, src.model.embeddings.weight)
        model._put("final_norm", None, src.model.norm.weight)
        model._put("head_codes", None, src.lm_head.packed)
        model._put("head_sw", None, sw(src.lm_head))
        model._put("head_norm", None, src.lm_head.norm.weight)
        return model


class FusedRunner:
    """Runs :class:`FusedMMfreeLM` over rows of tokens with static work buffers.

    Args:
        model: The fused model.
        batch: Sequences.
        max_tokens: The most tokens per sequence in one call (the prompt length).
        ops: The ops (default the model's).
    """

    def __init__(
        self,
        model: FusedMMfreeLM,
        batch: int,
        max_tokens: int,
        ops: FusedOps | None = None,
    ) -> None:
        cfg = model.config
        self.model, self.cfg, self.batch = model, cfg, batch
        self.ops = ops or model.ops()
        dev = model.device
        rows = batch * max(1, max_tokens)
        d, inter = cfg.d, cfg.intermediate
        wide = max(d, inter)
        self.x = torch.zeros(rows, d, dtype=_F32, device=dev)
        self.q_in = torch.zeros(3 * rows * wide, dtype=torch.int8, device=dev)
        self.s_in = torch.zeros(3 * rows, dtype=_F32, device=dev)
        self.y = torch.zeros(rows * max(3 * d, 2 * inter), dtype=_F32, device=dev)
        self.logits = torch.zeros(batch, cfg.vocab, dtype=_F32, device=dev)

    def _q(self, segments: int, rows: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.q_in[: segments * rows * k].view(segments, rows, k)
        return q, self.s_in[: segments * rows].view(segments, rows)

    def _y(self, rows: int, n: int) -> torch.Tensor:
        return self.y[: rows * n].view(rows, n)

    def forward(self, ids: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Run ``ids`` (``[B, T]``) from ``state`` (``[B, L, d]``, updated in place).

        Returns:
            The logits of each sequence's last token, ``[B, V]`` (a static buffer).
        """
        m, ops, cfg = self.model, self.ops, self.cfg
        b, t_len = ids.shape
        rows, d, inter = b * t_len, cfg.d, cfg.intermediate
        eps, beps = cfg.rms_norm_eps, cfg.bitlinear_eps
        x = self.x[:rows]
        flat = ids.reshape(rows)
        for k in range(cfg.layers):
            q, s = self._q(3, rows, d)
            embed = (flat, m.buf("embeddings")) if k == 0 else (None, None)
            ops.norm_quant(x, m.buf("attn_norm")[k], m.buf("ifg_norm")[k], q, s, eps, beps, *embed)
            y = self._y(rows, 3 * d)
            ops.ternary_gemv(q, s, m.buf("ifg_codes")[k], m.buf("ifg_sw")[k], y, d, False)
            q, s = self._q(1, rows, d)
            ops.mlgru_cell(
                y,
                state[:, k],
                m.buf("lb_scale")[k],
                m.buf("lb_shift")[k],
                m.buf("g_norm")[k],
                m.buf("o_norm")[k, 0],
                q[0],
                s[0],
                eps,
                beps,
                cfg.mlgru_form == "code",
            )
            ops.ternary_gemv(q, s, m.buf("o_codes")[k], m.buf("o_sw")[k], x, d, True)
            ops.norm_quant(x, m.buf("mlp_norm")[k], m.buf("gu_norm")[k], q, s, eps, beps)
            y = self._y(rows, 2 * inter)
            ops.ternary_gemv(q, s, m.buf("gu_codes")[k], m.buf("gu_sw")[k], y, 2 * inter, False)
            q, s = self._q(1, rows, inter)
            ops.glu_quant(y, m.buf("down_norm")[k, 0], q[0], s[0], beps)
            ops.ternary_gemv(q, s, m.buf("down_codes")[k], m.buf("down_sw")[k], x, d, True)
        last = x.view(b, t_len, d)[:, -1]
        q, s = self._q(1, b, d)
        ops.norm_quant(last, m.buf("final_norm"), m.buf("head_norm"), q, s, eps, beps)
        ops.ternary_gemv(q, s, m.buf("head_codes"), m.buf("head_sw"), self.logits, cfg.vocab, False)
        return self.logits
