"""The MatMul-free LM in PyTorch: the NumPy model's cross-check and the GPU baseline's model.

One ``nn.Module`` tree (:class:`TorchMMfreeLM`, the released checkpoints' parameter
names) whose :class:`TorchOptions` choose the weight form, the compute precision, the
rounding, the recurrence and how the state is kept. The functional reference runs it
with the defaults; the GPU harness (:mod:`gpubench.models`) with its own options and
kernels, which are injected, so this module never imports the harness. Importing it
needs torch, not CUDA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as nnf
from torch import nn

from workloads.config import ModelConfig
from workloads.errors import ModelConfigError
from workloads.numerics import RoundHalf
from workloads.weights import ModelWeights, TernaryMatrix, parameter_shapes

__all__ = [
    "BitLinear",
    "Compute",
    "PackedFormat",
    "PackedLinear",
    "Scan",
    "TorchMMfreeLM",
    "TorchOptions",
    "TorchRun",
    "Variant",
    "WeightForm",
    "absmean_ternary",
    "act_quant",
    "from_latents",
    "from_weights",
    "weight_quant",
]

Variant = Literal["reference", "ternary"]
WeightForm = Literal["latent", "dense", "packed"]
Compute = Literal["wide", "native"]
#: ``(x [..., K], codes, scale) → x · W_tᵀ · scale`` (``[..., N]`` in ``x.dtype``).
PackedLinear = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
#: ``(f [B, T, d], i [B, T, d], h0 [B, d]) → (every state [B, T, d], the last [B, d])``.
Scan = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
TensorFn = Callable[[str, tuple[int, ...]], npt.NDArray[Any]]

_NARROW = (torch.bfloat16, torch.float16)


@dataclass(frozen=True)
class PackedFormat:
    """How ``packed`` BitLinears store and multiply their ternary weights.

    Attributes:
        pack: Ternary ``[N, K]`` (values -1, 0, +1) → ``uint8`` codes
            ``[N, ceil(K / weights_per_byte)]``.
        linear: Multiplies activations by the codes and the matrix's scale.
        weights_per_byte: Ternary weights per code byte.
    """

    pack: Callable[[torch.Tensor], torch.Tensor]
    linear: PackedLinear
    weights_per_byte: int = 4


@dataclass(frozen=True)
class TorchOptions:
    """How :class:`TorchMMfreeLM` holds its weights and computes (defaults: the reference).

    Attributes:
        weights: Every BitLinear's weights: ``latent`` (re-quantised with absmean on every
            call, as the public code runs: "fake quantisation"), ``dense`` (quantised once,
            ``W_t / s_w`` in the parameter dtype) or ``packed`` (codes and one scale per
            matrix, through ``packed``).
        compute: ``wide``: norms, activation quantisation, SiLU gates and the recurrent
            state in at least float32, outputs rounded back, as the released fused
            kernels compute; ``native``: every operator in the activation dtype, as plain
            torch operators (what the GPU baseline measures).
        round_half: Rounding of activation halves: ``away`` from zero (the fused kernel)
            or to ``even`` (``torch.round``).
        recurrence: ``None``: the state steps token by token in the compute type; a
            :data:`Scan`: it runs a prompt, and a one-token step is one ``addcmul``.
        in_place_state: Write the new state into the caller's state tensor (static
            buffers, capturable in a CUDA graph) instead of returning a new one.
        packed: The packed format and its kernel (needed for ``packed`` weights).
    """

    weights: WeightForm = "latent"
    compute: Compute = "wide"
    round_half: RoundHalf = "away"
    recurrence: Scan | None = None
    in_place_state: bool = False
    packed: PackedFormat | None = None

    def __post_init__(self) -> None:
        problems = []
        for name, allowed in (
            ("weights", ("latent", "dense", "packed")),
            ("compute", ("wide", "native")),
            ("round_half", ("away", "even")),
        ):
            value = getattr(self, name)
            if value not in allowed:
                problems.append(f"{name}: must be one of {', '.join(allowed)} (got {value!r})")
        if self.weights == "packed" and self.packed is None:
            problems.append("packed: packed weights need a PackedFormat")
        if problems:
            raise ModelConfigError("invalid options of the PyTorch model", problems)

    @property
    def wide(self) -> bool:
        """Whether the fused kernels' float32 compute is used."""
        return self.compute == "wide"


def _round(x: torch.Tensor, mode: RoundHalf) -> torch.Tensor:
    if mode == "even":
        return torch.round(x)
    t = torch.trunc(x)
    out: torch.Tensor = torch.where((x - t).abs() == 0.5, t + torch.sign(x), torch.round(x))
    return out


def absmean_ternary(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Absmean ternarisation in ``w``'s dtype: ``(W_t, s_w)`` with ``s_w = 1/mean|W|``."""
    scale = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * scale).round().clamp(-1, 1), scale


def weight_quant(w: torch.Tensor) -> torch.Tensor:
    """Dequantised ternary weights ``W_t / s_w``, as the public code computes them."""
    wt, scale = absmean_ternary(w)
    return wt / scale


def act_quant(x: torch.Tensor, bits: int = 8, mode: RoundHalf = "away") -> torch.Tensor:
    """Per-token absmax fake quantisation: ``round(x · s_x) / s_x``, clamped."""
    top = 2 ** (bits - 1) - 1
    scale = float(top) / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    out: torch.Tensor = _round(x * scale, mode).clamp(-top - 1, top) / scale
    return out


def _up(x: torch.Tensor, wide: bool) -> torch.Tensor:
    """``x`` in at least float32 (the fused kernels' compute type) if ``wide``."""
    return x.float() if wide and x.dtype in _NARROW else x


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x²) + eps) · weight``.

    Wide, it computes in at least float32 and rounds the result back to ``x``'s dtype
    unless ``keep_wide`` (a norm that feeds a fused computation).
    """

    def __init__(
        self,
        size: int,
        eps: float,
        dtype: torch.dtype,
        device: Any,
        *,
        wide: bool,
        keep_wide: bool = False,
    ) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size, dtype=dtype, device=device))
        self.wide = wide
        self.round_back = wide and not keep_wide

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension."""
        xw = _up(x, self.wide)
        rstd = 1.0 / torch.sqrt(xw.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        out: torch.Tensor = xw * rstd * _up(self.weight, self.wide)
        return out.to(x.dtype) if self.round_back else out


class BitLinear(nn.Module):
    """RMSNorm → activation fake quantisation → ternary weights (in one of three forms)."""

    packed: torch.Tensor

    def __init__(
        self,
        cols: int,
        rows: int,
        eps: float,
        dtype: torch.dtype,
        device: Any,
        options: TorchOptions,
    ) -> None:
        super().__init__()
        self.rows, self.cols = rows, cols
        self.form: WeightForm = options.weights
        self.round_half: RoundHalf = options.round_half
        self.wide = options.wide
        self.packed_format = options.packed
        self.scale = 1.0  # the packed form's dequantisation factor, mean|W|
        if self.form == "packed":
            assert self.packed_format is not None  # TorchOptions checks it
            per_byte = self.packed_format.weights_per_byte
            codes = torch.zeros(rows, -(-cols // per_byte), dtype=torch.uint8, device=device)
            self.register_buffer("packed", codes)
        else:
            self.weight = nn.Parameter(torch.zeros(rows, cols, dtype=dtype, device=device))
        self.norm = RMSNorm(cols, eps, dtype, device, wide=self.wide, keep_wide=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the BitLinear."""
        x = act_quant(self.norm(x), 8, self.round_half)
        if self.wide:
            x = x.to(self.norm.weight.dtype)
        if self.form == "latent":
            return nnf.linear(x, weight_quant(self.weight))
        if self.form == "dense":
            return nnf.linear(x, self.weight)
        assert self.packed_format is not None
        return self.packed_format.linear(x, self.packed, self.scale)

    @torch.no_grad()
    def load_latent_(self, w: torch.Tensor) -> None:
        """Set the weights from latent ``w`` (``[rows, cols]``) in this BitLinear's form."""
        if self.form == "latent":
            self.weight.copy_(w)
        elif self.form == "dense":
            self.weight.copy_(weight_quant(w.to(self.weight.dtype)))
        else:
            assert self.packed_format is not None
            wt, scale = absmean_ternary(w)
            self.packed.copy_(self.packed_format.pack(wt))
            self.scale = 1.0 / float(scale)

    @torch.no_grad()
    def quantise_(self) -> None:
        """Replace latent weights by their quantised values, once (``dense`` form)."""
        if self.form == "latent":
            self.weight.copy_(weight_quant(self.weight))
            self.form = "dense"


class MLGRU(nn.Module):
    """The token mixer (``attn`` in the checkpoint names)."""

    def __init__(
        self, cfg: ModelConfig, dtype: torch.dtype, device: Any, options: TorchOptions
    ) -> None:
        super().__init__()
        d, eps = cfg.d, cfg.bitlinear_eps
        self.form = cfg.mlgru_form
        self.wide = options.wide
        self.scan = options.recurrence
        self.in_place = options.in_place_state
        self.i_proj = BitLinear(d, d, eps, dtype, device, options)
        self.f_proj = BitLinear(d, d, eps, dtype, device, options)
        self.g_proj = BitLinear(d, d, eps, dtype, device, options)
        self.g_norm = RMSNorm(d, cfg.rms_norm_eps, dtype, device, wide=self.wide, keep_wide=True)
        self.o_proj = BitLinear(d, d, eps, dtype, device, options)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, lower_bound: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``x`` (``[B, T, d]``) over time from state ``h`` (``[B, d]``).

        Returns:
            The output and the new state (``h`` itself, updated, with ``in_place_state``).
        """
        i = self.i_proj(x)
        f = torch.sigmoid(self.f_proj(x))
        if lower_bound is not None:
            f = lower_bound + (1 - lower_bound) * f
        i = nnf.silu(_up(i, self.wide)) * _up(1 - f, self.wide)
        if self.wide:
            i = i.to(x.dtype)
        o, last = self._recur(f, i, h)
        if self.in_place:
            h.copy_(last)
            last = h
        g = self.g_proj(x)
        if self.form == "code":
            o = self.g_norm(g) * nnf.silu(o)
        else:
            o = torch.sigmoid(g) * o.to(x.dtype)
        if self.wide:
            o = o.to(x.dtype)
        return self.o_proj(o), last

    def _recur(
        self, f: torch.Tensor, i: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``h_t = f_t ⊙ h_{t-1} + i_t``: every state and the last."""
        if self.scan is None:  # token by token, the state in the compute type
            fw, iw = _up(f, self.wide), _up(i, self.wide)
            outs = []
            for t in range(f.shape[1]):
                h = fw[:, t] * h + iw[:, t]
                outs.append(h)
            return torch.stack(outs, dim=1), h
        if f.shape[1] == 1:
            last = torch.addcmul(i[:, 0], f[:, 0], h)
            return last.unsqueeze(1), last
        return self.scan(f, i, h)


class GLU(nn.Module):
    """The channel mixer (``mlp``): fused gate/up ``[2I, d]``, SiLU gate, down."""

    def __init__(
        self, cfg: ModelConfig, dtype: torch.dtype, device: Any, options: TorchOptions
    ) -> None:
        super().__init__()
        eps = cfg.bitlinear_eps
        self.wide = options.wide
        self.gate_proj = BitLinear(cfg.d, 2 * cfg.intermediate, eps, dtype, device, options)
        self.down_proj = BitLinear(cfg.intermediate, cfg.d, eps, dtype, device, options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the GLU."""
        gate, up = self.gate_proj(x).chunk(2, dim=-1)
        z = nnf.silu(_up(gate, self.wide)) * _up(up, self.wide)
        if self.wide:
            z = z.to(x.dtype)
        out: torch.Tensor = self.down_proj(z)
        return out


class Block(nn.Module):
    """Pre-norm MLGRU and GLU, each with a residual."""

    def __init__(
        self, cfg: ModelConfig, dtype: torch.dtype, device: Any, options: TorchOptions
    ) -> None:
        super().__init__()
        wide, eps = options.wide, cfg.rms_norm_eps
        self.attn_norm = RMSNorm(cfg.d, eps, dtype, device, wide=wide)
        self.attn = MLGRU(cfg, dtype, device, options)
        self.mlp_norm = RMSNorm(cfg.d, eps, dtype, device, wide=wide)
        self.mlp = GLU(cfg, dtype, device, options)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, lower_bound: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the block on ``[B, T, d]`` from this layer's state ``h``."""
        o, h = self.attn(self.attn_norm(x), h, lower_bound)
        x = x + o
        return x + self.mlp(self.mlp_norm(x)), h


class Backbone(nn.Module):
    """Embedding, lower bounds, blocks and final norm (``model`` in the checkpoint names)."""

    def __init__(
        self, cfg: ModelConfig, dtype: torch.dtype, device: Any, options: TorchOptions
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_place = options.in_place_state
        if not cfg.block_only:
            self.embeddings = nn.Embedding(cfg.vocab, cfg.d, dtype=dtype, device=device)
            self.norm = RMSNorm(cfg.d, cfg.rms_norm_eps, dtype, device, wide=options.wide)
        if cfg.use_lower_bound:
            self.lower_bounds = nn.Parameter(
                torch.zeros(cfg.layers, cfg.d, dtype=dtype, device=device)
            )
        self.layers = nn.ModuleList(Block(cfg, dtype, device, options) for _ in range(cfg.layers))
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
        for k, layer in enumerate(self.blocks()):
            x, h = layer(x, state[:, k], bounds[k] if bounds is not None and k > 0 else None)
            hs.append(h)
        if not self.cfg.block_only:
            x = self.norm(x)
        return x, state if self.in_place else torch.stack(hs, dim=1)


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
        dtype: Parameter (and native compute) dtype.
        device: Where to put it.
        options: How it holds weights and computes (default: the functional reference,
            latent weights, wide compute, halves rounded away from zero).
    """

    def __init__(
        self,
        config: ModelConfig,
        dtype: torch.dtype = torch.float32,
        device: Any = "cpu",
        options: TorchOptions | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.options = options or TorchOptions()
        self.model = Backbone(config, dtype, device, self.options)
        if not config.block_only:
            self.lm_head = BitLinear(
                config.d, config.vocab, config.bitlinear_eps, dtype, device, self.options
            )

    def bitlinears(self) -> list[BitLinear]:
        """Every BitLinear of the model."""
        return [m for _, m in self.named_bitlinears()]

    def named_bitlinears(self) -> Iterator[tuple[str, BitLinear]]:
        """Every BitLinear with its checkpoint name (``model.layers.0.attn.i_proj``...)."""
        for name, m in self.named_modules():
            if isinstance(m, BitLinear):
                yield name, m

    def quantise_(self) -> TorchMMfreeLM:
        """Switch latent weights to the ``dense`` form: quantise each once."""
        for m in self.bitlinears():
            m.quantise_()
        if self.options.weights == "latent":
            self.options = replace(self.options, weights="dense")
        return self

    @property
    def variant(self) -> Variant:
        """``reference`` (re-quantise per call) or ``ternary`` (quantised once)."""
        return "reference" if any(m.form == "latent" for m in self.bitlinears()) else "ternary"

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        """Zero recurrent state ``[B, L, d]`` in the compute type."""
        p = self.model.blocks()[0].attn_norm.weight
        dtype = torch.float32 if self.options.wide and p.dtype in _NARROW else p.dtype
        return torch.zeros(batch, self.config.layers, self.config.d, dtype=dtype, device=p.device)

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor | None = None, last_only: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Process ``[B, T]`` token ids (block-only: ``[B, T, d]`` hidden vectors).

        Args:
            inputs: Token ids (or hidden vectors).
            state: Recurrent state ``[B, L, d]`` (default zeros); written in place with
                ``in_place_state``.
            last_only: Run the LM head on the last position only.

        Returns:
            Logits ``[B, T, V]`` (``last_only``: ``[B, V]``; block-only: block outputs
            ``[B, T, d]``) and the new state.
        """
        if state is None:
            state = self.initial_state(inputs.shape[0])
        x = inputs if self.config.block_only else self.model.embeddings(inputs)
        x, state = self.model(x, state)
        if not self.config.block_only:
            x = self.lm_head(x[:, -1] if last_only else x)
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
    model = TorchMMfreeLM(config, dtype, device, TorchOptions(round_half=round_half))
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
    options = TorchOptions(weights="dense", round_half=round_half)
    model = TorchMMfreeLM(cfg, dtype, device, options)

    def put(param: torch.Tensor, values: npt.NDArray[Any]) -> None:
        param.copy_(torch.from_numpy(np.asarray(values, dtype=np.float64)).to(device, dtype))

    def put_linear(mod: BitLinear, m: TernaryMatrix) -> None:
        put(mod.weight, _dense(m))
        put(mod.norm.weight, m.norm)

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
