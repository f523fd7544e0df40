"""The implementations the GPU baseline measures, as greedy decoders with static buffers.

``reference``, ``dense`` and ``packed`` are the one MatMul-free LM of
:mod:`workloads.torch_model` with the harness's options (:func:`mmfree_options`): latent
bf16 weights re-quantised on every call, ternary values quantised once and held in bf16,
or packed 2 bits each and multiplied by the Triton GEMV of :mod:`gpubench.kernels`; the
three differ only in that weight path (norms and activation quantisation are plain torch
ops in bf16, the state is updated in place). ``transformer`` is a Llama-style
Transformer++ with the same matrix shapes (bf16 ``nn.Linear``, RoPE, heads of 128, a
static KV cache attended with a mask). ``transformer_fast`` is the same Transformer++
as a GPU engineer writes it (:class:`TransformerFast`): one fused QKV projection,
``F.rms_norm``, RoPE applied to queries and keys together, ``F.scaled_dot_product_attention``
over a static KV cache that one ``index_copy_`` per layer updates, the fused gate/up
projection, and the head size of the public Transformer++ configuration (16 heads:
the ``num_heads`` default of ``TransformerConfig`` in flash-linear-attention,
``fla/models/transformer/configuration_transformer.py``, the code base the MatMul-free
LM builds on; PAPER.md does not state it). ``dense_compiled`` and
``transformer_compiled`` are ``dense`` and ``transformer_fast`` with their decode step
compiled by ``torch.compile`` (:meth:`Decoder.compile_`; see :data:`COMPILED`).
``fused`` is the same MatMul-free LM as a GPU engineer decodes it (:mod:`gpubench.fused`:
2-bit weights, int8 activations, eight Triton kernels a layer, float32 elementwise as the
functional model).

A :class:`Decoder` binds a model to a batch: ``prefill_``, ``step_`` and ``rewind_``
never synchronise with the host, so each can be captured in a CUDA graph. Weights are
random (normal, std 0.02, from a seed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import nn

from gpubench import kernels
from gpubench.fused import FusedMMfreeLM, FusedRunner
from gpubench.shapes import ModelShape
from workloads.torch_model import (
    PackedFormat,
    PackedLinear,
    TorchMMfreeLM,
    TorchOptions,
    WeightForm,
)

__all__ = [
    "COMPILED",
    "FAST_HEADS",
    "META_TRACEABLE",
    "WEIGHT_FORMS",
    "Decoder",
    "FusedDecoder",
    "MMfreeDecoder",
    "Model",
    "TransformerDecoder",
    "TransformerFast",
    "TransformerFastDecoder",
    "TransformerPP",
    "build_decoder",
    "build_model",
    "mmfree_options",
    "step_bytes",
    "weight_bytes",
]

#: The weight form of the one MatMul-free model behind each implementation.
WEIGHT_FORMS: dict[str, WeightForm] = {"reference": "latent", "dense": "dense", "packed": "packed"}

#: Compiled implementations and the implementation each compiles.
COMPILED: dict[str, str] = {"dense_compiled": "dense", "transformer_compiled": "transformer_fast"}

#: Implementations whose decode step :mod:`gpubench.capture` can trace on the meta device
#: (compiled and Triton-fused code cannot be: their kernels are captured on the GPU).
META_TRACEABLE = frozenset({"reference", "dense", "packed", "transformer", "transformer_fast"})

#: Attention heads of ``transformer_fast`` (see the module docstring for the source).
FAST_HEADS = 16

_INIT_STD = 0.02
_EPS = 1e-6


def mmfree_options(impl: str, packed_linear: PackedLinear | None = None) -> TorchOptions:
    """The options of :class:`~workloads.torch_model.TorchMMfreeLM` for one implementation.

    Every operator in the activation dtype, activation halves rounded to even
    (``torch.round``), the prompt's recurrence through
    :func:`~gpubench.kernels.linear_recurrence` and a decode step's through one
    ``addcmul``, the state updated in place.

    Args:
        impl: ``reference``, ``dense`` or ``packed``.
        packed_linear: The packed GEMV (default :func:`gpubench.kernels.packed_linear`;
            the kernel capture passes a stand-in).

    Raises:
        ValueError: For an unknown implementation.
    """
    if impl not in WEIGHT_FORMS:
        raise ValueError(
            f"implementation {impl!r} is not in the supported list: "
            "reference, dense, packed, transformer, transformer_fast, " + ", ".join(COMPILED)
        )
    return TorchOptions(
        weights=WEIGHT_FORMS[impl],
        compute="native",
        round_half="even",
        recurrence=kernels.linear_recurrence,
        in_place_state=True,
        packed=PackedFormat(kernels.pack_ternary, packed_linear or kernels.packed_linear),
    )


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
        self._step_fn: Callable[[], None] = self._step_body
        self.compiled = False

    def prefill_(self) -> None:
        """Run the prompt from a clean state; choose the first token."""
        raise NotImplementedError

    def step_(self) -> None:
        """Decode one token: ``token`` in, the next greedy ``token`` out."""
        with torch.inference_mode():
            self._step_fn()

    def _step_body(self) -> None:
        raise NotImplementedError

    def state_bytes(self, position: float) -> float:
        """Bytes of KV cache or recurrent state a step at ``position`` must move."""
        raise NotImplementedError

    def compile_(self, backend: str = "inductor") -> float:
        """Compile the decode step with ``torch.compile`` and run it once; return seconds.

        One graph of the whole step (``fullgraph``: a graph break fails here, not
        silently), static shapes (``dynamic=False``: one compile per batch size, no
        shape-generic kernels), default mode: no CUDA graphs inside the compiled code, so
        the harness captures the compiled step in its own graph exactly as it captures
        every other implementation (``reduce-overhead``'s graph trees would copy the
        inputs into their own buffers and cannot be captured again). Prefill stays
        eager (it is timed but is not what the baseline compares). The compile happens
        here, on a prefill and one step, then the decoder is rewound, so no timing
        includes it.

        Dynamo's caches are reset first: every decoder's step is the same code object,
        guarded on its ``self``, and more decoders than the recompile limit would
        otherwise fall back to eager silently (inductor's on-disk cache still spares
        recompiling kernels it has built before).

        Args:
            backend: The ``torch.compile`` backend (``eager`` or ``aot_eager`` checks the
                wiring on a CPU without a compiler).
        """
        torch.compiler.reset()
        self._step_fn = torch.compile(
            self._step_body, backend=backend, dynamic=False, fullgraph=True
        )
        self.compiled = True
        t0 = time.perf_counter()
        self.prefill_()
        self.step_()
        if self.token.device.type == "cuda":
            torch.cuda.synchronize(self.token.device)
        seconds = time.perf_counter() - t0
        self.rewind_()
        return seconds

    def rewind_(self) -> None:
        """Return to the state just after the last :meth:`prefill_`."""
        raise NotImplementedError

    def _choose(self, logits: torch.Tensor) -> None:
        self.token.copy_(logits.argmax(dim=-1))


class MMfreeDecoder(Decoder):
    """Greedy decoding of a MatMul-free LM (state ``[B, L, d]``, updated in place).

    Raises:
        ValueError: For a model that returns its state instead of updating it in place.
    """

    def __init__(
        self, model: TorchMMfreeLM, batch: int, prompt_tokens: int, max_steps: int
    ) -> None:
        if not model.options.in_place_state:
            raise ValueError("a decoder needs a model that updates its state in place")
        p = model.lm_head.norm.weight
        super().__init__(batch, prompt_tokens, max_steps, p.device)
        self.model = model
        self.state = model.initial_state(batch)
        self._state0 = torch.zeros_like(self.state)

    @torch.inference_mode()
    def prefill_(self) -> None:
        """Run the prompt from a zero state; choose the first token."""
        self.state.zero_()
        self._choose(self.model(self.prompt, self.state, last_only=True)[0])
        self._state0.copy_(self.state)
        self._token0.copy_(self.token)

    def _step_body(self) -> None:
        self._choose(self.model(self.token.unsqueeze(1), self.state, last_only=True)[0])

    def state_bytes(self, position: float) -> float:
        """The recurrent state, read and written once (independent of the position)."""
        return 2.0 * self.state.numel() * self.state.element_size()

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

    def _step_body(self) -> None:
        rope = (self.cos.index_select(0, self.pos), self.sin.index_select(0, self.pos))
        mask = (self._arange <= self.pos).view(1, 1, 1, -1)
        caches = [(k, v, self.pos, mask) for k, v in self.caches]
        self._choose(self.model(self.token.unsqueeze(1), rope, caches))
        self.pos.add_(1)

    def state_bytes(self, position: float) -> float:
        """Keys and values of ``position`` tokens read, one token's written."""
        k = self.caches[0][0]
        per_token = 2 * len(self.caches) * k.shape[0] * k.shape[1] * k.shape[3]
        return per_token * k.element_size() * (position + 1)

    @torch.inference_mode()
    def rewind_(self) -> None:
        """Back to the position after the prompt (later cache entries are masked)."""
        self.pos.fill_(self.prompt_tokens)
        self.token.copy_(self._token0)


class FusedDecoder(Decoder):
    """Greedy decoding of a :class:`~gpubench.fused.FusedMMfreeLM` (float32 state ``[B, L, d]``)."""

    def __init__(
        self, model: FusedMMfreeLM, batch: int, prompt_tokens: int, max_steps: int
    ) -> None:
        super().__init__(batch, prompt_tokens, max_steps, model.device)
        self.model = model
        self.runner = FusedRunner(model, batch, prompt_tokens)
        cfg = model.config
        self.state = torch.zeros(batch, cfg.layers, cfg.d, device=model.device)
        self._state0 = torch.zeros_like(self.state)

    @torch.inference_mode()
    def prefill_(self) -> None:
        """Run the prompt from a zero state; choose the first token."""
        self.state.zero_()
        self._choose(self.runner.forward(self.prompt, self.state))
        self._state0.copy_(self.state)
        self._token0.copy_(self.token)

    def _step_body(self) -> None:
        """Decode one token."""
        self._choose(self.runner.forward(self.token.unsqueeze(1), self.state))

    def state_bytes(self, position: float) -> float:
        """The recurrent state, read and written once (independent of the position)."""
        return 2.0 * self.state.numel() * self.state.element_size()

    @torch.inference_mode()
    def rewind_(self) -> None:
        """Restore the state and token saved by the last prefill."""
        self.state.copy_(self._state0)
        self.token.copy_(self._token0)


class FastAttention(nn.Module):
    """Attention with one QKV projection, RoPE on queries and keys at once, SDPA.

    The KV cache of a layer is one tensor ``[B, P, 2, H, head_dim]``: a step's new key
    and value are written by one ``index_copy_``, and SDPA reads keys and values as
    strided views of it (the last dimension stays contiguous).
    """

    def __init__(self, shape: ModelShape, heads: int, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        d = shape.d
        self.heads, self.head_dim = heads, d // heads
        kw: dict[str, Any] = {"bias": False, "dtype": dtype, "device": device}
        self.qkv_proj = nn.Linear(d, 3 * d, **kw)
        self.o_proj = nn.Linear(d, d, **kw)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        kv: torch.Tensor,
        pos: torch.Tensor | None,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Attend; ``pos`` None is a prefill from position 0 (causal), else one step."""
        b, t, d = x.shape
        qkv = self.qkv_proj(x).view(b, t, 3, self.heads, self.head_dim)
        cos, sin = (r.view(1, t, 1, 1, self.head_dim) for r in rope)
        qk = qkv[:, :, :2]
        qk = qk * cos + _rotate_half(qk) * sin
        new = torch.cat((qk[:, :, 1:], qkv[:, :, 2:]), dim=2)  # [B, t, 2, H, hd]: k, v
        if pos is None:
            kv[:, :t] = new
            k, v = new[:, :, 0], new[:, :, 1]
        else:
            kv.index_copy_(1, pos, new)
            k, v = kv[:, :, 0], kv[:, :, 1]
        q = qk[:, :, 0].transpose(1, 2)
        o = nnf.scaled_dot_product_attention(
            q, k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask, is_causal=pos is None
        )
        out: torch.Tensor = self.o_proj(o.transpose(1, 2).reshape(b, t, d))
        return out


class FastBlock(nn.Module):
    """Pre-norm (``F.rms_norm``) attention and SwiGLU, each with a residual."""

    def __init__(self, shape: ModelShape, heads: int, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        self.input_layernorm = nn.RMSNorm(shape.d, eps=_EPS, dtype=dtype, device=device)
        self.self_attn = FastAttention(shape, heads, dtype, device)
        self.post_attention_layernorm = nn.RMSNorm(shape.d, eps=_EPS, dtype=dtype, device=device)
        self.mlp = SwiGLU(shape, dtype, device)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        kv: torch.Tensor,
        pos: torch.Tensor | None,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Run the block on ``[B, T, d]``."""
        x = x + self.self_attn(self.input_layernorm(x), rope, kv, pos, mask)
        out: torch.Tensor = x + self.mlp(self.post_attention_layernorm(x))
        return out


class TransformerFast(nn.Module):
    """The Transformer++ as a GPU engineer writes it (see the module docstring).

    Same matrices as :class:`TransformerPP` (``4d²`` attention, ``3dI`` SwiGLU per
    layer, LM head), so the same weight bytes; :data:`FAST_HEADS` heads; norms by
    ``nn.RMSNorm`` (``F.rms_norm``), in the model's dtype.

    Args:
        shape: The model's size.
        dtype: Weight and activation dtype.
        device: Where to build it.
        heads: Attention heads.
        rope_theta: RoPE base.
    """

    impl = "transformer_fast"

    def __init__(
        self,
        shape: ModelShape,
        dtype: torch.dtype,
        device: Any,
        heads: int = FAST_HEADS,
        rope_theta: float = 10000.0,
    ) -> None:
        super().__init__()
        heads = max(1, min(heads, shape.d // 2))
        if shape.d % heads:
            raise ValueError(f"hidden size {shape.d} is not a multiple of {heads} heads")
        self.shape, self.heads, self.head_dim = shape, heads, shape.d // heads
        self.rope_theta = rope_theta
        self.embed_tokens = nn.Embedding(shape.vocab, shape.d, dtype=dtype, device=device)
        self.layers = nn.ModuleList(
            FastBlock(shape, heads, dtype, device) for _ in range(shape.layers)
        )
        self.norm = nn.RMSNorm(shape.d, eps=_EPS, dtype=dtype, device=device)
        self.lm_head = nn.Linear(shape.d, shape.vocab, bias=False, dtype=dtype, device=device)

    def rope_tables(self, positions: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos, sin`` of shape ``[positions, head_dim]`` in the model's dtype."""
        hd = self.head_dim
        inv = 1.0 / self.rope_theta ** (torch.arange(0, hd, 2, device=device).float() / hd)
        freqs = torch.outer(torch.arange(positions, device=device).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        dtype = self.lm_head.weight.dtype
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(
        self,
        ids: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        caches: list[torch.Tensor],
        pos: torch.Tensor | None,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Logits of the last position of ``ids`` (``[B, T]``), filling the KV caches."""
        x = self.embed_tokens(ids)
        for layer, kv in zip(self.layers, caches, strict=True):
            x = layer(x, rope, kv, pos, mask)
        out: torch.Tensor = self.lm_head(self.norm(x[:, -1]))
        return out


class TransformerFastDecoder(Decoder):
    """Greedy decoding of a :class:`TransformerFast`: static cache, additive mask, no sync."""

    def __init__(
        self, model: TransformerFast, batch: int, prompt_tokens: int, max_steps: int
    ) -> None:
        p = model.lm_head.weight
        super().__init__(batch, prompt_tokens, max_steps, p.device)
        self.model = model
        self.positions = prompt_tokens + max_steps
        kv = (batch, self.positions, 2, model.heads, model.head_dim)
        self.caches = [
            torch.zeros(kv, dtype=p.dtype, device=p.device) for _ in range(model.shape.layers)
        ]
        self.cos, self.sin = model.rope_tables(self.positions, p.device)
        self.pos = torch.zeros(1, dtype=torch.long, device=p.device)
        self._arange = torch.arange(self.positions, device=p.device)
        self._blocked = torch.full((self.positions,), float("-inf"), dtype=p.dtype, device=p.device)

    @torch.inference_mode()
    def prefill_(self) -> None:
        """Fill the cache with the prompt (causal attention); choose the first token."""
        t = self.prompt_tokens
        rope = (self.cos[:t], self.sin[:t])
        self._choose(self.model(self.prompt, rope, self.caches, None, None))
        self.pos.fill_(t)
        self._token0.copy_(self.token)

    def _step_body(self) -> None:
        rope = (self.cos.index_select(0, self.pos), self.sin.index_select(0, self.pos))
        mask = self._blocked.masked_fill(self._arange <= self.pos, 0.0).view(1, 1, 1, -1)
        self._choose(self.model(self.token.unsqueeze(1), rope, self.caches, self.pos, mask))
        self.pos.add_(1)

    @torch.inference_mode()
    def rewind_(self) -> None:
        """Back to the position after the prompt (later cache entries are masked)."""
        self.pos.fill_(self.prompt_tokens)
        self.token.copy_(self._token0)

    def state_bytes(self, position: float) -> float:
        """Keys and values of ``position`` tokens read, one token's written."""
        kv = self.caches[0]
        per_token = len(self.caches) * kv.shape[0] * kv[0, 0].numel() * kv.element_size()
        return float(per_token * (position + 1))


Model = TorchMMfreeLM | TransformerPP | TransformerFast | FusedMMfreeLM


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
    shape: ModelShape,
    impl: str,
    device: Any,
    dtype: torch.dtype = torch.bfloat16,
    seed: int = 0,
    packed_linear: PackedLinear | None = None,
) -> Model:
    """Build one implementation with random weights on ``device``.

    The three MatMul-free implementations of one ``seed`` hold the same latent weights
    (``dense``, ``packed`` and ``fused`` the same ternary values: ``fused`` is laid out
    from the ``packed`` model of the same seed). A compiled implementation
    (:data:`COMPILED`) builds the model it compiles; the compile is the decoder's
    (:meth:`Decoder.compile_`). On the ``meta`` device (shapes
    only, for tracing what a step dispatches) no weights are drawn. ``packed_linear``
    replaces the packed implementation's GEMV (see :func:`mmfree_options`).

    Raises:
        ValueError: For an unknown implementation.
    """
    meta = torch.device(device).type == "meta"
    if impl == "fused":
        if meta:
            return FusedMMfreeLM(shape.config, device, dtype)
        packed = build_model(shape, "packed", device, dtype, seed)
        assert isinstance(packed, TorchMMfreeLM)
        return FusedMMfreeLM.from_packed(packed)
    impl = COMPILED.get(impl, impl)
    if impl == "transformer_fast":
        fmodel = TransformerFast(shape, dtype, device)
        if not meta:
            _fill_random_(fmodel, seed)
        return fmodel
    if impl == "transformer":
        tmodel = TransformerPP(shape, dtype, device)
        if not meta:
            _fill_random_(tmodel, seed)
        return tmodel
    model = TorchMMfreeLM(shape.config, dtype, device, mmfree_options(impl, packed_linear))
    if meta:
        return model
    names = sorted(
        [name + ".weight" for name, _ in model.named_bitlinears()]
        + ["model.embeddings.weight", "model.lower_bounds"]
        + [n for n, p in model.named_parameters() if p.dim() == 1]
    )
    gen = torch.Generator(device=torch.device(device))
    blin = dict(model.named_bitlinears())
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
    if isinstance(model, FusedMMfreeLM):
        return FusedDecoder(model, batch, prompt_tokens, max_steps)
    if isinstance(model, TransformerFast):
        return TransformerFastDecoder(model, batch, prompt_tokens, max_steps)
    return MMfreeDecoder(model, batch, prompt_tokens, max_steps)


def weight_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer (weights, norms, packed codes)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def step_bytes(model: nn.Module, decoder: Decoder, position: float) -> int:
    """Bytes one decode step must move: the HBM bandwidth bound's numerator.

    Every parameter and buffer as the implementation stores it, read once (latent,
    bf16 ternary or 2-bit packed), except embedding tables, of which a step reads one
    row per sequence; plus the KV cache or recurrent state at ``position``
    (:meth:`Decoder.state_bytes`).
    """
    tables = [m.weight for m in model.modules() if isinstance(m, nn.Embedding)]
    total = weight_bytes(model) - sum(t.numel() * t.element_size() for t in tables)
    rows = sum(decoder.batch * t.shape[1] * t.element_size() for t in tables)
    return int(total + rows + decoder.state_bytes(position))
