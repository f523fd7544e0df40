"""The implementations the GPU baseline measures, as greedy decoders with static buffers.

``reference``, ``dense`` and ``packed`` are the one MatMul-free LM of
:mod:`workloads.torch_model` with the harness's options (:func:`mmfree_options`): latent
bf16 weights re-quantised on every call, ternary values quantised once and held in bf16,
or packed 2 bits each and multiplied by the Triton GEMV of :mod:`gpubench.kernels`; the
three differ only in that weight path (norms and activation quantisation are plain torch
ops in bf16, the state is updated in place). ``transformer`` is a Llama-style
Transformer++ with the same matrix shapes (bf16 ``nn.Linear``, RoPE, heads of 128, a
static KV cache attended with a mask). ``fused`` is the same MatMul-free LM as a GPU
engineer decodes it (:mod:`gpubench.fused`: 2-bit weights, int8 activations, eight Triton
kernels a layer, float32 elementwise as the functional model). A :class:`Decoder` binds a
model to a batch: ``prefill_``, ``step_`` and ``rewind_`` never synchronise with the host,
so each can be captured in a CUDA graph. Weights are random (normal, std 0.02, from a seed).
"""

from __future__ import annotations

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
    "WEIGHT_FORMS",
    "Decoder",
    "FusedDecoder",
    "MMfreeDecoder",
    "Model",
    "TransformerDecoder",
    "TransformerPP",
    "build_decoder",
    "build_model",
    "mmfree_options",
    "weight_bytes",
]

#: The weight form of the one MatMul-free model behind each implementation.
WEIGHT_FORMS: dict[str, WeightForm] = {"reference": "latent", "dense": "dense", "packed": "packed"}

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
            "reference, dense, packed, transformer"
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

    @torch.inference_mode()
    def step_(self) -> None:
        """Decode one token."""
        self._choose(self.model(self.token.unsqueeze(1), self.state, last_only=True)[0])

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

    @torch.inference_mode()
    def step_(self) -> None:
        """Decode one token."""
        self._choose(self.runner.forward(self.token.unsqueeze(1), self.state))

    @torch.inference_mode()
    def rewind_(self) -> None:
        """Restore the state and token saved by the last prefill."""
        self.state.copy_(self._state0)
        self.token.copy_(self._token0)


Model = TorchMMfreeLM | TransformerPP | FusedMMfreeLM


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
    from the ``packed`` model of the same seed). On the ``meta`` device (shapes
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
    return MMfreeDecoder(model, batch, prompt_tokens, max_steps)


def weight_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer (weights, norms, packed codes)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)
