"""The four implementations the GPU baseline measures, as greedy decoders with static buffers.

MatMul-free LM (PAPER.md's architecture, parameter names of the released checkpoints),
three ways of holding and multiplying the ternary weights of every BitLinear:

- ``reference``: as the public code's plain ``BitLinear`` runs it. Latent bf16 weights
  are re-quantised with absmean on every call (``1/mean|W|``, round, clamp, divide
  back), activations are fake-quantised per token (``127/max|x|``, round, clamp, divide
  back), then one dense bf16 GEMM.
- ``dense``: the ternary values quantised once and held in bf16 (``W_t · mean|W|``);
  activation fake-quantisation as above, one dense GEMM.
- ``packed``: the ternary values packed 2 bits each (:mod:`gpubench.kernels`),
  multiplied by a Triton kernel that unpacks them on the fly (a torch fallback on CPU).

All three share the torch-op RMSNorm and activation quantisation (the public code's
``FusedBitLinear`` fuses those into one Triton kernel; here they stay separate ops, so
the three differ only in the weight path). The prompt's recurrence runs through
:func:`~gpubench.kernels.linear_recurrence`; a decode step is one ``addcmul``.

``transformer``: a Llama-style Transformer++ of the same size (same ``L``, ``d``, ``V``;
attention ``q, k, v, o`` of ``d×d`` and a fused SwiGLU ``gate_up`` of ``2I×d`` plus
``down`` ``d×I``: the same matrix shapes, so the same ``4d² + 3dI`` weights per layer),
bf16 ``nn.Linear``, RoPE, heads of 128, a static KV cache of ``prompt + generated``
positions attended with a mask (so eager and graph-captured decode run the same kernels).

Every model is wrapped in a :class:`Decoder` bound to a batch size: static prompt, token
and state buffers, ``prefill_()`` (prompt → first token), ``step_()`` (token → next
token, greedy argmax on the device) and ``rewind_()`` (back to just after the prefill, to
repeat decode passes for a power window). None of them synchronises with the host, so
each can be captured in a CUDA graph. The LM head runs on the last prompt position only.
Weights are random (normal, std 0.02, from a seed), made on the target device.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as nnf
from torch import nn

from gpubench.kernels import Backend, linear_recurrence, pack_ternary, packed_linear
from gpubench.shapes import ModelShape

__all__ = [
    "BitLinear",
    "Decoder",
    "MMfreeDecoder",
    "MMfreeLM",
    "TransformerDecoder",
    "TransformerPP",
    "build_decoder",
    "build_model",
    "weight_quant",
]

MMfreeImpl = Literal["reference", "dense", "packed"]

_INIT_STD = 0.02
_EPS = 1e-6


def absmean_ternary(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Absmean ternarisation in ``w``'s dtype: ``(W_t, s_w)`` with ``s_w = 1/mean|W|``."""
    scale = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * scale).round().clamp(-1, 1), scale


def weight_quant(w: torch.Tensor) -> torch.Tensor:
    """Dequantised ternary weights ``W_t / s_w``, as the public code computes them."""
    wt, scale = absmean_ternary(w)
    return wt / scale


def act_quant(x: torch.Tensor) -> torch.Tensor:
    """Per-token absmax 8-bit fake quantisation (``torch.round``: halves to even)."""
    scale = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * scale).round().clamp(-128, 127) / scale


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x²) + eps) · weight`` in the input's dtype (as the MMfree code)."""

    def __init__(self, size: int, dtype: torch.dtype, device: Any, eps: float = _EPS) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size, dtype=dtype, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension."""
        rstd = 1.0 / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return x * rstd * self.weight


class BitLinear(nn.Module):
    """RMSNorm → activation fake quantisation → ternary weights (one of three forms)."""

    packed: torch.Tensor

    def __init__(
        self, cols: int, rows: int, impl: MMfreeImpl, dtype: torch.dtype, device: Any
    ) -> None:
        super().__init__()
        self.impl: MMfreeImpl = impl
        self.rows, self.cols = rows, cols
        self.norm = RMSNorm(cols, dtype, device)
        self.scale = 1.0
        self.backend: Backend = "auto"
        if impl == "packed":
            self.register_buffer(
                "packed", torch.zeros(rows, cols // 4, dtype=torch.uint8, device=device)
            )
        else:
            self.weight = nn.Parameter(torch.zeros(rows, cols, dtype=dtype, device=device))

    @torch.no_grad()
    def load_latent_(self, w: torch.Tensor) -> None:
        """Set the weights from latent ``w`` (``[rows, cols]``) in this BitLinear's form."""
        if self.impl == "reference":
            self.weight.copy_(w)
        elif self.impl == "dense":
            self.weight.copy_(weight_quant(w.to(self.weight.dtype)))
        else:
            wt, scale = absmean_ternary(w)
            self.packed.copy_(pack_ternary(wt))
            self.scale = 1.0 / float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the BitLinear."""
        x = act_quant(self.norm(x))
        if self.impl == "reference":
            return nnf.linear(x, weight_quant(self.weight))
        if self.impl == "dense":
            return nnf.linear(x, self.weight)
        return packed_linear(x, self.packed, self.scale, self.backend)


class MLGRU(nn.Module):
    """The token mixer (``attn``), in the form the released checkpoints use."""

    def __init__(self, shape: ModelShape, impl: MMfreeImpl, dtype: torch.dtype, device: Any):
        super().__init__()
        d = shape.d
        self.i_proj = BitLinear(d, d, impl, dtype, device)
        self.f_proj = BitLinear(d, d, impl, dtype, device)
        self.g_proj = BitLinear(d, d, impl, dtype, device)
        self.g_norm = RMSNorm(d, dtype, device)
        self.o_proj = BitLinear(d, d, impl, dtype, device)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, lower_bound: torch.Tensor | None
    ) -> torch.Tensor:
        """Mix ``x`` (``[B, T, d]``) over time from state ``h`` (``[B, d]``, updated in place)."""
        i = self.i_proj(x)
        f = torch.sigmoid(self.f_proj(x))
        if lower_bound is not None:
            f = lower_bound + (1 - lower_bound) * f
        i = nnf.silu(i) * (1 - f)
        if x.shape[1] == 1:
            h_new = torch.addcmul(i[:, 0], f[:, 0], h)
            o = h_new.unsqueeze(1)
        else:
            o, h_new = linear_recurrence(f, i, h)
        h.copy_(h_new)
        g = self.g_proj(x)
        out: torch.Tensor = self.o_proj(self.g_norm(g) * nnf.silu(o))
        return out


class GLU(nn.Module):
    """The channel mixer (``mlp``): fused gate/up ``[2I, d]``, SiLU gate, down."""

    def __init__(self, shape: ModelShape, impl: MMfreeImpl, dtype: torch.dtype, device: Any):
        super().__init__()
        self.gate_proj = BitLinear(shape.d, 2 * shape.intermediate, impl, dtype, device)
        self.down_proj = BitLinear(shape.intermediate, shape.d, impl, dtype, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the GLU."""
        gate, up = self.gate_proj(x).chunk(2, dim=-1)
        out: torch.Tensor = self.down_proj(nnf.silu(gate) * up)
        return out


class MMfreeBlock(nn.Module):
    """Pre-norm MLGRU and GLU, each with a residual."""

    def __init__(self, shape: ModelShape, impl: MMfreeImpl, dtype: torch.dtype, device: Any):
        super().__init__()
        self.attn_norm = RMSNorm(shape.d, dtype, device)
        self.attn = MLGRU(shape, impl, dtype, device)
        self.mlp_norm = RMSNorm(shape.d, dtype, device)
        self.mlp = GLU(shape, impl, dtype, device)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, lower_bound: torch.Tensor | None
    ) -> torch.Tensor:
        """Run the block on ``[B, T, d]``; ``h`` is this layer's state, updated in place."""
        x = x + self.attn(self.attn_norm(x), h, lower_bound)
        out: torch.Tensor = x + self.mlp(self.mlp_norm(x))
        return out


class MMfreeBackbone(nn.Module):
    """Embedding, lower bounds, blocks, final norm (``model`` in the checkpoint names)."""

    def __init__(self, shape: ModelShape, impl: MMfreeImpl, dtype: torch.dtype, device: Any):
        super().__init__()
        self.embeddings = nn.Embedding(shape.vocab, shape.d, dtype=dtype, device=device)
        self.lower_bounds = nn.Parameter(
            torch.zeros(shape.layers, shape.d, dtype=dtype, device=device)
        )
        self.layers = nn.ModuleList(
            MMfreeBlock(shape, impl, dtype, device) for _ in range(shape.layers)
        )
        self.norm = RMSNorm(shape.d, dtype, device)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Run the blocks on ``[B, T, d]``, updating ``state`` (``[B, L, d]``) in place."""
        soft = self.lower_bounds.softmax(0)
        bounds = soft.cumsum(0) - soft[0]
        for k, layer in enumerate(self.layers):
            x = layer(x, state[:, k], bounds[k] if k > 0 else None)
        out: torch.Tensor = self.norm(x)
        return out


class MMfreeLM(nn.Module):
    """The MatMul-free LM with one of the three BitLinear implementations.

    Args:
        shape: The model's size.
        impl: ``reference``, ``dense`` or ``packed``.
        dtype: Activation (and full-precision weight) dtype.
        device: Where to build it.
    """

    def __init__(
        self, shape: ModelShape, impl: MMfreeImpl, dtype: torch.dtype, device: Any
    ) -> None:
        super().__init__()
        self.shape = shape
        self.impl: MMfreeImpl = impl
        self.model = MMfreeBackbone(shape, impl, dtype, device)
        self.lm_head = BitLinear(shape.d, shape.vocab, impl, dtype, device)

    def bitlinears(self) -> Iterator[tuple[str, BitLinear]]:
        """Every BitLinear with its checkpoint name (``model.layers.0.attn.i_proj``...)."""
        for name, m in self.named_modules():
            if isinstance(m, BitLinear):
                yield name, m

    def forward(self, ids: torch.Tensor, state: torch.Tensor, last_only: bool = True) -> Any:
        """Logits for ``ids`` (``[B, T]``) from ``state`` (updated in place).

        Args:
            ids: Token ids.
            state: Recurrent state ``[B, L, d]``.
            last_only: Run the LM head on the last position only.

        Returns:
            ``[B, V]`` (``last_only``) or ``[B, T, V]`` logits.
        """
        x = self.model(self.model.embeddings(ids), state)
        return self.lm_head(x[:, -1] if last_only else x)


class Decoder:
    """A model bound to a batch: static buffers, greedy ``prefill_``/``step_``/``rewind_``.

    Attributes:
        prompt: ``[B, P]`` token ids (fill before :meth:`prefill_`).
        token: ``[B]``: the last chosen token (input and output of :meth:`step_`).
        max_steps: Decode steps allowed after one prefill.
    """

    def __init__(self, batch: int, prompt_tokens: int, max_steps: int, device: Any) -> None:
        self.batch, self.prompt_tokens, self.max_steps = batch, prompt_tokens, max_steps
        self.prompt = torch.zeros(batch, prompt_tokens, dtype=torch.long, device=device)
        self.token = torch.zeros(batch, dtype=torch.long, device=device)
        self._token0 = torch.zeros_like(self.token)

    def prefill_(self) -> None:
        """Run the prompt from a clean state; choose the first token."""
        raise NotImplementedError

    def step_(self) -> None:
        """Decode one token: ``token`` in, the next greedy ``token`` out."""
        raise NotImplementedError

    def rewind_(self) -> None:
        """Return to the state just after the last :meth:`prefill_`."""
        raise NotImplementedError

    def _choose(self, logits: torch.Tensor) -> None:
        self.token.copy_(logits.argmax(dim=-1))


class MMfreeDecoder(Decoder):
    """Greedy decoding of an :class:`MMfreeLM` (state ``[B, L, d]``)."""

    def __init__(self, model: MMfreeLM, batch: int, prompt_tokens: int, max_steps: int) -> None:
        p = model.lm_head.norm.weight
        super().__init__(batch, prompt_tokens, max_steps, p.device)
        self.model = model
        s = model.shape
        self.state = torch.zeros(batch, s.layers, s.d, dtype=p.dtype, device=p.device)
        self._state0 = torch.zeros_like(self.state)

    @torch.inference_mode()
    def prefill_(self) -> None:
        """Run the prompt from a zero state; choose the first token."""
        self.state.zero_()
        self._choose(self.model(self.prompt, self.state))
        self._state0.copy_(self.state)
        self._token0.copy_(self.token)

    @torch.inference_mode()
    def step_(self) -> None:
        """Decode one token."""
        self._choose(self.model(self.token.unsqueeze(1), self.state))

    @torch.inference_mode()
    def rewind_(self) -> None:
        """Restore the state and token saved by the last prefill."""
        self.state.copy_(self._state0)
        self.token.copy_(self._token0)


class LlamaRMSNorm(nn.Module):
    """RMSNorm computed in float32, as Llama implementations do."""

    def __init__(self, size: int, dtype: torch.dtype, device: Any, eps: float = _EPS) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size, dtype=dtype, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension."""
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Attention(nn.Module):
    """Multi-head attention with RoPE and a static KV cache."""

    def __init__(self, shape: ModelShape, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        d = shape.d
        self.heads, self.head_dim = shape.heads, d // shape.heads
        kw: dict[str, Any] = {"bias": False, "dtype": dtype, "device": device}
        self.q_proj = nn.Linear(d, d, **kw)
        self.k_proj = nn.Linear(d, d, **kw)
        self.v_proj = nn.Linear(d, d, **kw)
        self.o_proj = nn.Linear(d, d, **kw)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], cache: Any) -> Any:
        """Attend; ``cache`` is ``(k, v, pos, mask)`` (decode) or ``(k, v, None, None)``."""
        b, t, d = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        cos, sin = rope
        q = (q * cos + _rotate_half(q) * sin).to(x.dtype)
        k = (k * cos + _rotate_half(k) * sin).to(x.dtype)
        k_cache, v_cache, pos, mask = cache
        if pos is None:  # prefill: write the prompt's keys and values, causal attention
            k_cache[:, :, :t] = k
            v_cache[:, :, :t] = v
            o = nnf.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            k_cache.index_copy_(2, pos, k)
            v_cache.index_copy_(2, pos, v)
            o = nnf.scaled_dot_product_attention(q, k_cache, v_cache, attn_mask=mask)
        return self.o_proj(o.transpose(1, 2).reshape(b, t, d))


class SwiGLU(nn.Module):
    """Fused gate/up ``[2I, d]``, SiLU gate, down ``[d, I]``."""

    def __init__(self, shape: ModelShape, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        kw: dict[str, Any] = {"bias": False, "dtype": dtype, "device": device}
        self.gate_up_proj = nn.Linear(shape.d, 2 * shape.intermediate, **kw)
        self.down_proj = nn.Linear(shape.intermediate, shape.d, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the MLP."""
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        out: torch.Tensor = self.down_proj(nnf.silu(gate) * up)
        return out


class TransformerBlock(nn.Module):
    """Pre-norm attention and SwiGLU, each with a residual."""

    def __init__(self, shape: ModelShape, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        self.input_layernorm = LlamaRMSNorm(shape.d, dtype, device)
        self.self_attn = Attention(shape, dtype, device)
        self.post_attention_layernorm = LlamaRMSNorm(shape.d, dtype, device)
        self.mlp = SwiGLU(shape, dtype, device)

    def forward(self, x: torch.Tensor, rope: Any, cache: Any) -> torch.Tensor:
        """Run the block on ``[B, T, d]``."""
        x = x + self.self_attn(self.input_layernorm(x), rope, cache)
        out: torch.Tensor = x + self.mlp(self.post_attention_layernorm(x))
        return out


class TransformerPP(nn.Module):
    """A Llama-style Transformer++ with the MatMul-free LM's sizes (bf16, RoPE, SwiGLU).

    Args:
        shape: The model's size.
        dtype: Weight and activation dtype.
        device: Where to build it.
        rope_theta: RoPE base.
    """

    impl = "transformer"

    def __init__(
        self, shape: ModelShape, dtype: torch.dtype, device: Any, rope_theta: float = 10000.0
    ) -> None:
        super().__init__()
        self.shape = shape
        self.rope_theta = rope_theta
        self.embed_tokens = nn.Embedding(shape.vocab, shape.d, dtype=dtype, device=device)
        self.layers = nn.ModuleList(
            TransformerBlock(shape, dtype, device) for _ in range(shape.layers)
        )
        self.norm = LlamaRMSNorm(shape.d, dtype, device)
        self.lm_head = nn.Linear(shape.d, shape.vocab, bias=False, dtype=dtype, device=device)

    def rope_tables(self, positions: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos, sin`` of shape ``[positions, head_dim]`` (float32)."""
        hd = self.shape.d // self.shape.heads
        inv = 1.0 / self.rope_theta ** (torch.arange(0, hd, 2, device=device).float() / hd)
        freqs = torch.outer(torch.arange(positions, device=device).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def forward(self, ids: torch.Tensor, rope: Any, caches: list[Any]) -> torch.Tensor:
        """Logits of the last position of ``ids`` (``[B, T]``), filling the KV caches."""
        x = self.embed_tokens(ids)
        for layer, cache in zip(self.layers, caches, strict=True):
            x = layer(x, rope, cache)
        out: torch.Tensor = self.lm_head(self.norm(x[:, -1]))
        return out


class TransformerDecoder(Decoder):
    """Greedy decoding of a :class:`TransformerPP` with a static KV cache."""

    def __init__(
        self, model: TransformerPP, batch: int, prompt_tokens: int, max_steps: int
    ) -> None:
        p = model.lm_head.weight
        super().__init__(batch, prompt_tokens, max_steps, p.device)
        self.model = model
        s = model.shape
        self.positions = prompt_tokens + max_steps
        hd = s.d // s.heads
        kv = (batch, s.heads, self.positions, hd)
        self.caches = [
            (
                torch.zeros(kv, dtype=p.dtype, device=p.device),
                torch.zeros(kv, dtype=p.dtype, device=p.device),
            )
            for _ in range(s.layers)
        ]
        self.cos, self.sin = model.rope_tables(self.positions, p.device)
        self.pos = torch.zeros(1, dtype=torch.long, device=p.device)
        self._arange = torch.arange(self.positions, device=p.device)

    @torch.inference_mode()
    def prefill_(self) -> None:
        """Fill the cache with the prompt; choose the first token."""
        t = self.prompt_tokens
        rope = (self.cos[:t], self.sin[:t])
        caches = [(k, v, None, None) for k, v in self.caches]
        self._choose(self.model(self.prompt, rope, caches))
        self.pos.fill_(t)
        self._token0.copy_(self.token)

    @torch.inference_mode()
    def step_(self) -> None:
        """Decode one token at position ``pos`` and advance it."""
        rope = (self.cos.index_select(0, self.pos), self.sin.index_select(0, self.pos))
        mask = (self._arange <= self.pos).view(1, 1, 1, -1)
        caches = [(k, v, self.pos, mask) for k, v in self.caches]
        self._choose(self.model(self.token.unsqueeze(1), rope, caches))
        self.pos.add_(1)

    @torch.inference_mode()
    def rewind_(self) -> None:
        """Back to the position after the prompt (later cache entries are masked)."""
        self.pos.fill_(self.prompt_tokens)
        self.token.copy_(self._token0)


Model = MMfreeLM | TransformerPP


def _fill_random_(model: nn.Module, seed: int) -> None:
    """Random normal matrices (std 0.02) in a fixed order; norms stay ones."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device)
    for k, (_, p) in enumerate(sorted(model.named_parameters())):
        if p.dim() == 2:
            gen.manual_seed(seed * 1_000_003 + k)
            p.normal_(0.0, _INIT_STD, generator=gen)


@torch.no_grad()
def build_model(
    shape: ModelShape, impl: str, device: Any, dtype: torch.dtype = torch.bfloat16, seed: int = 0
) -> Model:
    """Build one implementation with random weights on ``device``.

    The three MatMul-free implementations of one ``seed`` hold the same latent weights
    (``dense`` and ``packed`` the same ternary values). On the ``meta`` device (shapes
    only, for tracing what a step dispatches) no weights are drawn.

    Raises:
        ValueError: For an unknown implementation.
    """
    meta = torch.device(device).type == "meta"
    if impl == "transformer":
        tmodel = TransformerPP(shape, dtype, device)
        if not meta:
            _fill_random_(tmodel, seed)
        return tmodel
    if impl not in ("reference", "dense", "packed"):
        raise ValueError(
            f"implementation {impl!r} is not in the supported list: "
            "reference, dense, packed, transformer"
        )
    model = MMfreeLM(shape, impl, dtype, device)  # type: ignore[arg-type]
    if meta:
        return model
    names = sorted(
        [name + ".weight" for name, _ in model.bitlinears()]
        + ["model.embeddings.weight", "model.lower_bounds"]
        + [n for n, p in model.named_parameters() if p.dim() == 1]
    )
    gen = torch.Generator(device=torch.device(device))
    blin = dict(model.bitlinears())
    for k, name in enumerate(names):
        if name.endswith("lower_bounds") or name.endswith("norm.weight"):
            continue
        owner = name.removesuffix(".weight")
        gen.manual_seed(seed * 1_000_003 + k)
        if owner in blin:
            bl = blin[owner]
            latent = torch.empty(bl.rows, bl.cols, dtype=dtype, device=device)
            latent.normal_(0.0, _INIT_STD, generator=gen)
            bl.load_latent_(latent)
            del latent
        else:
            model.model.embeddings.weight.normal_(0.0, _INIT_STD, generator=gen)
    return model


def build_decoder(model: Model, batch: int, prompt_tokens: int, max_steps: int) -> Decoder:
    """Bind ``model`` to a batch size with static buffers for ``prompt + max_steps``."""
    if isinstance(model, TransformerPP):
        return TransformerDecoder(model, batch, prompt_tokens, max_steps)
    return MMfreeDecoder(model, batch, prompt_tokens, max_steps)


def weight_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer (weights, norms, packed codes)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)
