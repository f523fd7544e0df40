"""The same model in PyTorch: the cross-check of the NumPy model, and what GPUs run.

:class:`TorchMMfreeLM` is an ``nn.Module`` tree whose parameter names are those of the
released checkpoints (``model.layers.0.attn.i_proj.weight``...), so a checkpoint's state
dict loads into it as is. It runs on any device and dtype (CPU float32/float64 for
checks, CUDA bf16 for measurements); importing it needs torch but not CUDA.

Two implementation variants of every BitLinear:

- ``"reference"``: what the public code runs. Latent (bf16) weights are re-quantised with
  absmean on every call (``1/mean|W|``, ``torch.round``, clamp, divide back),
  activations are fake-quantised per token, and a dense GEMM multiplies the dequantised
  values (PAPER.md: "fake quantisation").
- ``"ternary"``: the same arithmetic with the weights quantised once (the dense weight
  holds ``W_t / s_w``), as built from the NumPy model's packed weights by
  :func:`from_weights`; the cross-check uses it to compare both models on identical
  ternary weights.

In bf16 (or fp16) it computes where the released code's fused kernels do: norms, the
activation quantisation, the SiLU gates and the recurrent state in float32, outputs
rounded to bf16; weight re-quantisation, GEMMs, sigmoid, lower bounds and residual adds
in bf16. Only the default numerics exist here (8-bit activations, exact sigmoid/SiLU);
the rounding of activation halves is a switch as in
:class:`~workloads.numerics.Numerics`. The recurrence steps token by token (batch of
sequences ``[B, T]`` supported).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as nnf
from torch import nn

from workloads.config import ModelConfig
from workloads.numerics import RoundHalf
from workloads.weights import ModelWeights, TernaryMatrix, parameter_shapes

__all__ = [
    "BitLinear",
    "TorchMMfreeLM",
    "TorchRun",
    "Variant",
    "from_latents",
    "from_weights",
    "weight_quant",
]

Variant = Literal["reference", "ternary"]
TensorFn = Callable[[str, tuple[int, ...]], npt.NDArray[Any]]


def _round(x: torch.Tensor, mode: RoundHalf) -> torch.Tensor:
    if mode == "even":
        return torch.round(x)
    t = torch.trunc(x)
    out: torch.Tensor = torch.where((x - t).abs() == 0.5, t + torch.sign(x), torch.round(x))
    return out


def weight_quant(w: torch.Tensor) -> torch.Tensor:
    """Absmean ternarisation as the public code does it, in ``w``'s dtype: ``W_t / s_w``."""
    scale = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * scale).round().clamp(-1, 1) / scale


def act_quant(x: torch.Tensor, bits: int = 8, mode: RoundHalf = "away") -> torch.Tensor:
    """Per-token absmax fake quantisation: ``round(x · s_x) / s_x``, clamped."""
    top = 2 ** (bits - 1) - 1
    scale = top / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    out: torch.Tensor = _round(x * scale, mode).clamp(-top - 1, top) / scale
    return out


def _wide(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32 (the fused kernels' compute type)."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x²) + eps) · weight``, computed in at least float32."""

    def __init__(self, size: int, eps: float, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size, dtype=dtype, device=device))

    def wide(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension; the result stays in the compute type."""
        xw = _wide(x)
        rstd = 1.0 / torch.sqrt(xw.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return xw * rstd * _wide(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension (result in ``x``'s dtype)."""
        return self.wide(x).to(x.dtype)


class BitLinear(nn.Module):
    """RMSNorm → activation fake quantisation → ternary weights → dense linear."""

    def __init__(
        self,
        cols: int,
        rows: int,
        eps: float,
        dtype: torch.dtype,
        device: Any,
        round_half: RoundHalf = "away",
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(rows, cols, dtype=dtype, device=device))
        self.norm = RMSNorm(cols, eps, dtype, device)
        self.prequantised = False
        self.round_half: RoundHalf = round_half

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the BitLinear (weights re-quantised per call unless prequantised)."""
        x = act_quant(self.norm.wide(x), 8, self.round_half).to(self.weight.dtype)
        w = self.weight if self.prequantised else weight_quant(self.weight)
        out: torch.Tensor = nnf.linear(x, w)
        return out

    @torch.no_grad()
    def quantise_(self) -> None:
        """Replace the latent weights by their quantised values, once."""
        if not self.prequantised:
            self.weight.copy_(weight_quant(self.weight))
            self.prequantised = True


class MLGRU(nn.Module):
    """The token mixer (``attn`` in the checkpoint names)."""

    def __init__(self, cfg: ModelConfig, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        d, eps = cfg.d, cfg.bitlinear_eps
        self.form = cfg.mlgru_form
        self.i_proj = BitLinear(d, d, eps, dtype, device)
        self.f_proj = BitLinear(d, d, eps, dtype, device)
        self.g_proj = BitLinear(d, d, eps, dtype, device)
        self.g_norm = RMSNorm(d, cfg.rms_norm_eps, dtype, device)
        self.o_proj = BitLinear(d, d, eps, dtype, device)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, lower_bound: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``x`` (``[B, T, d]``) over time from state ``h`` (``[B, d]``)."""
        i = self.i_proj(x)
        f = torch.sigmoid(self.f_proj(x))
        if lower_bound is not None:
            f = lower_bound + (1 - lower_bound) * f
        i = (nnf.silu(_wide(i)) * _wide(1 - f)).to(x.dtype)
        fw, iw, outs = _wide(f), _wide(i), []
        for t in range(x.shape[1]):  # the state stays in the compute type
            h = fw[:, t] * h + iw[:, t]
            outs.append(h)
        o = torch.stack(outs, dim=1)
        g = self.g_proj(x)
        if self.form == "code":
            o = (self.g_norm.wide(g) * nnf.silu(o)).to(x.dtype)
        else:
            o = (torch.sigmoid(g) * o.to(x.dtype)).to(x.dtype)
        return self.o_proj(o), h


class GLU(nn.Module):
    """The channel mixer (``mlp``): fused gate/up ``[2I, d]``, SiLU gate, down."""

    def __init__(self, cfg: ModelConfig, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        eps = cfg.bitlinear_eps
        self.gate_proj = BitLinear(cfg.d, 2 * cfg.intermediate, eps, dtype, device)
        self.down_proj = BitLinear(cfg.intermediate, cfg.d, eps, dtype, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the GLU."""
        gate, up = self.gate_proj(x).chunk(2, dim=-1)
        z = (nnf.silu(_wide(gate)) * _wide(up)).to(x.dtype)
        out: torch.Tensor = self.down_proj(z)
        return out


class Block(nn.Module):
    """Pre-norm MLGRU and GLU, each with a residual."""

    def __init__(self, cfg: ModelConfig, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d, cfg.rms_norm_eps, dtype, device)
        self.attn = MLGRU(cfg, dtype, device)
        self.mlp_norm = RMSNorm(cfg.d, cfg.rms_norm_eps, dtype, device)
        self.mlp = GLU(cfg, dtype, device)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, lower_bound: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the block on ``[B, T, d]``."""
        o, h = self.attn(self.attn_norm(x), h, lower_bound)
        x = x + o
        return x + self.mlp(self.mlp_norm(x)), h


class Backbone(nn.Module):
    """Embedding, lower bounds, blocks and final norm (``model`` in the checkpoint names)."""

    def __init__(self, cfg: ModelConfig, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        self.cfg = cfg
        if not cfg.block_only:
            self.embeddings = nn.Embedding(cfg.vocab, cfg.d, dtype=dtype, device=device)
            self.norm = RMSNorm(cfg.d, cfg.rms_norm_eps, dtype, device)
        if cfg.use_lower_bound:
            self.lower_bounds = nn.Parameter(
                torch.zeros(cfg.layers, cfg.d, dtype=dtype, device=device)
            )
        self.layers = nn.ModuleList(Block(cfg, dtype, device) for _ in range(cfg.layers))
        self.resolved_bounds: torch.Tensor | None = None

    def blocks(self) -> list[Block]:
        """The blocks, typed."""
        return [b for b in self.layers if isinstance(b, Block)]

    def bounds(self) -> torch.Tensor | None:
        """Per-layer forget-gate lower bounds (softmax over layers, cumsum, minus row 0)."""
        if not self.cfg.use_lower_bound:
            return None
        if self.resolved_bounds is not None:
            return self.resolved_bounds
        soft = self.lower_bounds.softmax(0)
        return soft.cumsum(0) - soft[0]

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the blocks on ``[B, T, d]`` from ``state`` (``[B, L, d]``)."""
        bounds = self.bounds()
        hs = []
        for i, layer in enumerate(self.blocks()):
            lb = bounds[i] if bounds is not None and i > 0 else None
            x, h = layer(x, state[:, i], lb)
            hs.append(h)
        if not self.cfg.block_only:
            x = self.norm(x)
        return x, torch.stack(hs, dim=1)


@dataclass(frozen=True)
class TorchRun:
    """What :meth:`TorchMMfreeLM.run` did (same meaning as the NumPy model's result).

    Attributes:
        tokens: The token processed at each step.
        next_token: The choice after the last step.
        outputs: Logits predicting each generated token and ``next_token``, float64 on
            the CPU (with ``keep_outputs``).
    """

    tokens: list[int]
    next_token: int
    outputs: npt.NDArray[np.float64] | None


class TorchMMfreeLM(nn.Module):
    """The MatMul-free LM in PyTorch (batch of sequences, recurrent state).

    Args:
        config: The model configuration.
        dtype: Parameter and compute dtype.
        device: Where to put it.
        round_half: Rounding of activation halves (``away`` as the fused kernel).
    """

    def __init__(
        self,
        config: ModelConfig,
        dtype: torch.dtype = torch.float32,
        device: Any = "cpu",
        round_half: RoundHalf = "away",
    ) -> None:
        super().__init__()
        self.config = config
        self.model = Backbone(config, dtype, device)
        if not config.block_only:
            self.lm_head = BitLinear(config.d, config.vocab, config.bitlinear_eps, dtype, device)
        for m in self.bitlinears():
            m.round_half = round_half

    def bitlinears(self) -> list[BitLinear]:
        """Every BitLinear of the model."""
        return [m for m in self.modules() if isinstance(m, BitLinear)]

    def quantise_(self) -> TorchMMfreeLM:
        """Switch to the ``ternary`` variant: quantise every latent weight once."""
        for m in self.bitlinears():
            m.quantise_()
        return self

    @property
    def variant(self) -> Variant:
        """``reference`` (re-quantise per call) or ``ternary`` (quantised once)."""
        return "ternary" if all(m.prequantised for m in self.bitlinears()) else "reference"

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        """Zero recurrent state ``[B, L, d]``, in at least float32."""
        p = _wide(self.model.blocks()[0].attn_norm.weight)
        return torch.zeros(batch, self.config.layers, self.config.d, dtype=p.dtype, device=p.device)

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Process ``[B, T]`` token ids (block-only: ``[B, T, d]`` hidden vectors).

        Returns:
            Logits ``[B, T, V]`` (block-only: block outputs ``[B, T, d]``) and the state.
        """
        if state is None:
            state = self.initial_state(inputs.shape[0])
        x = inputs if self.config.block_only else self.model.embeddings(inputs)
        x, state = self.model(x, state)
        if not self.config.block_only:
            x = self.lm_head(x)
        return x, state

    @torch.inference_mode()
    def run(
        self,
        prompt: Sequence[int],
        gen_tokens: int,
        forced: Sequence[int] | None = None,
        keep_outputs: bool = False,
        on_step: Callable[[int], None] | None = None,
    ) -> TorchRun:
        """Greedy run of one sequence, as :meth:`workloads.model.TernaryLM.run`.

        The prompt runs as one batch, then ``gen_tokens`` decode steps.
        """
        device = self.initial_state().device
        tokens = [int(t) for t in prompt]
        ids = torch.tensor([tokens], dtype=torch.long, device=device)
        logits, state = self(ids)
        kept = [logits[0, -1:]]
        if on_step is not None:
            on_step(len(tokens))
        nxt = int(torch.argmax(logits[0, -1]))
        for k in range(gen_tokens):
            token = int(forced[k]) if forced is not None else nxt
            tokens.append(token)
            ids = torch.tensor([[token]], dtype=torch.long, device=device)
            logits, state = self(ids, state)
            nxt = int(torch.argmax(logits[0, -1]))
            if keep_outputs:
                kept.append(logits[0, -1:])
            if on_step is not None:
                on_step(1)
        outputs = None
        if keep_outputs:
            outputs = torch.cat(kept).to("cpu", torch.float64).numpy()
        return TorchRun(tokens=tokens, next_token=nxt, outputs=outputs)


def _as_tensor(values: npt.NDArray[Any], dtype: torch.dtype, device: Any) -> torch.Tensor:
    if values.dtype == np.uint16:  # bf16 bit patterns
        t = torch.from_numpy(np.ascontiguousarray(values).view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(np.ascontiguousarray(values))
    return t.to(device=device, dtype=dtype)


@torch.no_grad()
def from_latents(
    config: ModelConfig,
    tensors: TensorFn,
    dtype: torch.dtype = torch.bfloat16,
    device: Any = "cpu",
    round_half: RoundHalf = "away",
) -> TorchMMfreeLM:
    """Build the ``reference`` variant from latent tensors, one at a time.

    Args:
        config: The model configuration.
        tensors: ``(name, shape) → array``: bf16 bit patterns (``uint16``) or floats, e.g.
            :meth:`workloads.synthetic.SyntheticSource.latent_bits`.
        dtype: Parameter dtype (bf16 as the released model).
        device: Target device.
        round_half: Rounding of activation halves.

    Returns:
        The model, latent weights re-quantised on every call.
    """
    model = TorchMMfreeLM(config, dtype, device, round_half)
    params = dict(model.named_parameters())
    for name, shape in parameter_shapes(config).items():
        params[name].copy_(_as_tensor(tensors(name, shape), dtype, device).reshape(shape))
    return model


def _dense(m: TernaryMatrix) -> npt.NDArray[np.float64]:
    return m.unpack().astype(np.float64) / m.scale


@torch.no_grad()
def from_weights(
    weights: ModelWeights,
    dtype: torch.dtype = torch.float32,
    device: Any = "cpu",
    round_half: RoundHalf = "away",
) -> TorchMMfreeLM:
    """Build the ``ternary`` variant from the NumPy model's packed weights.

    Args:
        weights: Packed weights (synthetic or loaded).
        dtype: Parameter dtype.
        device: Target device.
        round_half: Rounding of activation halves.

    Returns:
        The model with ``W_t / s_w`` as dense weights and the resolved lower bounds.
    """
    cfg = weights.config
    model = TorchMMfreeLM(cfg, dtype, device, round_half)

    def put(param: torch.Tensor, values: npt.NDArray[Any]) -> None:
        param.copy_(torch.from_numpy(np.asarray(values, dtype=np.float64)).to(device, dtype))

    def put_linear(mod: BitLinear, m: TernaryMatrix) -> None:
        put(mod.weight, _dense(m))
        put(mod.norm.weight, m.norm)
        mod.prequantised = True

    bounds = np.zeros((cfg.layers, cfg.d))
    for lw, block in zip(weights.layers, model.model.blocks(), strict=True):
        put(block.attn_norm.weight, lw.attn_norm)
        put(block.mlp_norm.weight, lw.mlp_norm)
        put(block.attn.g_norm.weight, lw.g_norm)
        attn = block.attn
        for mod, m in zip(
            (attn.i_proj, attn.f_proj, attn.g_proj, attn.o_proj), lw.matrices[:4], strict=True
        ):
            put_linear(mod, m)
        put_linear(block.mlp.gate_proj, lw.gate_proj)
        put_linear(block.mlp.down_proj, lw.down_proj)
        if lw.lower_bound is not None:
            bounds[lw.index] = lw.lower_bound
    if cfg.use_lower_bound:
        model.model.resolved_bounds = torch.from_numpy(bounds).to(device, dtype)
    if not cfg.block_only:
        assert weights.embedding is not None and weights.final_norm is not None
        assert weights.lm_head is not None
        put(model.model.embeddings.weight, weights.embedding)
        put(model.model.norm.weight, weights.final_norm)
        put_linear(model.lm_head, weights.lm_head)
    return model
