"""The functional MatMul-free LM in NumPy: real tokens through bit-exact ternary math.

One block, as the released code computes it (PAPER.md)::

    r = x
    a = RMSNorm(x)                                   attn_norm
    i, f = BitLinear_i(a), BitLinear_f(a)
    f = σ(f);  f = lb + (1 - lb)·f                   (lower bound; not in layer 0)
    i = SiLU(i)·(1 - f)
    h = f ⊙ h + i                                    the recurrence (state of d values)
    o = RMSNorm(BitLinear_g(a)) ⊙ SiLU(h)            code form (default)
    o = σ(BitLinear_g(a)) ⊙ h                        paper form (mlgru_form="paper")
    x = r + BitLinear_o(o)
    m = RMSNorm(x)                                   mlp_norm
    u = BitLinear_gate(m)                            one [2I, d] matrix: gate | up
    x = x + BitLinear_down(SiLU(gate) ⊙ up)

with ``BitLinear(x) = (x_q · W_t) / (s_x · s_w)`` after its own RMSNorm
(:mod:`workloads.quant`), the integer product computed exactly
(:mod:`workloads.matvec`). The model embeds a token (full-precision row), runs the blocks,
a final RMSNorm and the ternary LM head. A block-only configuration (the paper's FPGA
measurement) takes hidden vectors in and gives the block's output back.

Everything outside the integer product runs in the elementwise format of the
:class:`~workloads.numerics.Numerics` (float32 by default; every op's output rounded to
it), with sigmoid and SiLU evaluated as the numerics say.

Prefill runs the prompt as one batch (matrix products over all its tokens; the
recurrence still steps token by token) and gives bit-identical results to feeding the
tokens one at a time. Every op is reported to an optional
:class:`~workloads.recorder.OpRecorder`, which is all a trace is made of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads import approx
from workloads.config import ModelConfig
from workloads.errors import WorkloadError
from workloads.matvec import Accumulation, packed_product, unpack_exact
from workloads.numerics import Numerics
from workloads.quant import quantise_activations
from workloads.recorder import OpRecorder, Phase, StaticOp
from workloads.weights import LayerWeights, ModelWeights, TernaryMatrix

__all__ = ["BOS_TOKEN", "RecurrentState", "RunResult", "TernaryLM", "block_inputs"]

Array = npt.NDArray[Any]

#: The token a generation without prompt starts from (the released tokenizer's BOS id).
BOS_TOKEN = 1


@dataclass(frozen=True)
class RecurrentState:
    """The whole memory of the model between tokens: one ``h`` of ``d`` values per block.

    Attributes:
        h: ``[layers, d]`` hidden states, in the elementwise format.
    """

    h: Array


@dataclass(frozen=True)
class RunResult:
    """What :meth:`TernaryLM.run` did.

    Attributes:
        tokens: The token processed at each step (prompt, then the generated ones);
            empty for a block-only model.
        next_token: The model's choice after the last step (``None`` if block-only).
        outputs: With ``keep_outputs``: the logits predicting each generated token and
            ``next_token`` (``[gen + 1, V]``: last prompt step, then every decode step),
            or, block-only, the block output of every step (``[steps, d]``).
        state: The recurrent state after the last step.
    """

    tokens: list[int]
    next_token: int | None
    outputs: Array | None
    state: RecurrentState


def block_inputs(config: ModelConfig, seed: int, steps: int) -> npt.NDArray[np.float32]:
    """Deterministic standard-normal hidden vectors feeding a block-only model.

    Args:
        config: The (block-only) configuration.
        seed: The seed.
        steps: How many vectors.

    Returns:
        ``[steps, d]`` float32.
    """
    seq = np.random.SeedSequence(seed, spawn_key=(0x626C6F63,))  # "bloc"
    rng = np.random.Generator(np.random.PCG64(seq))
    return rng.standard_normal((steps, config.d)).astype(np.float32)


class TernaryLM:
    """The functional model (NumPy), parameterised by hardware numerics.

    Args:
        weights: Packed weights (synthetic or loaded).
        numerics: The arithmetic to run with (default :class:`Numerics()`).
        on_matvec: Called after every ternary product with the matrix, the quantised
            activations (``[n, cols]`` integers) and the accumulators
            (:class:`~workloads.matvec.Accumulation`): what a hardware twin is checked
            against (the RTL's bit-exact and cycle checks take their matvecs from it).
        unpacked: Unpack every matrix once, on first use, to the float type its products
            are exact in (:func:`~workloads.matvec.unpack_exact`), instead of unpacking
            it at every product: faster decoding for four times the weights' memory
            (float32: 1.5 / 5.3 / 10.8 GB for 370M / 1.3B / 2.7B); the same results to
            the bit.
    """

    def __init__(
        self,
        weights: ModelWeights,
        numerics: Numerics | None = None,
        on_matvec: Callable[[TernaryMatrix, Array, Accumulation], None] | None = None,
        unpacked: bool = False,
    ) -> None:
        self.weights = weights
        self.unpacked = unpacked
        self._dense: dict[int, Array] = {}
        self.on_matvec = on_matvec
        self.config: ModelConfig = weights.config
        self.numerics = numerics if numerics is not None else Numerics()
        fmt = self.numerics.elementwise
        self._fmt = fmt
        self._dt = np.dtype(fmt.dtype)
        self._eb = fmt.bytes
        self._ab = self.numerics.act_bytes
        self._statics: dict[tuple[str, str, int], StaticOp] = {}

    # ---- primitive ops (each rounds its output to the elementwise format and reports)

    def _cast(self, x: Array) -> Array:
        return self._fmt.apply(x)

    def _static(
        self, kind: str, name: str, layer: int, elements: int, operands: int = 1
    ) -> StaticOp:
        """The static record of an elementwise op (cached: the same at every step)."""
        key = (kind, name, layer)
        op = self._statics.get(key)
        if op is None:
            eb = self._eb
            op = StaticOp(
                kind, name, layer, -1, 0, 0, elements, operands * elements * eb, elements * eb
            )
            self._statics[key] = op
        return op

    def _rms(
        self, x: Array, w: Array, eps: float, name: str, layer: int, rec: OpRecorder | None
    ) -> Array:
        # C order: a row's sum must not depend on how many rows the batch has
        x64 = np.ascontiguousarray(x, dtype=np.float64 if self._dt == np.float64 else x.dtype)
        ms = np.mean(x64 * x64, axis=-1, keepdims=True)
        out = self._cast(x64 * (1.0 / np.sqrt(ms + x64.dtype.type(eps))) * w.astype(x64.dtype))
        if rec is not None:
            rec.op(self._static("norm", name, layer, x.shape[1]), np.abs(x).max(axis=1))
        return out

    def _unary(self, kind: str, x: Array, name: str, layer: int, rec: OpRecorder | None) -> Array:
        spec = self.numerics.sigmoid if kind == "sigmoid" else self.numerics.silu
        fn = approx.sigmoid if kind == "sigmoid" else approx.silu
        out = self._cast(fn(x, spec, self._fmt))
        if rec is not None:
            rec.op(self._static(kind, name, layer, x.shape[1]), np.abs(x).max(axis=1))
        return out

    def _binary(
        self,
        kind: str,
        a: Array,
        b: Array,
        name: str,
        layer: int,
        rec: OpRecorder | None,
        b_constant: bool = False,
    ) -> Array:
        """``a * b`` or ``a + b``; ``b_constant``: ``b`` is a parameter, not an activation."""
        out = self._cast(a * b if kind == "mul" else a + b)
        if rec is not None:
            absmax = np.abs(a).max(axis=1)
            if not b_constant:
                absmax = np.maximum(absmax, np.abs(b).max(axis=1))
            rec.op(self._static(kind, name, layer, out.shape[1], operands=2), absmax)
        return out

    def _bitlinear(
        self, x: Array, m: TernaryMatrix, eps: float, rec: OpRecorder | None, head: bool = False
    ) -> Array:
        xn = self._rms(x, m.norm, eps, f"{m.name}.norm", m.layer, rec)
        nm = self.numerics
        aq = quantise_activations(xn, nm)
        if rec is not None:
            key = ("quantise", m.name, m.layer)
            quant = self._statics.get(key)
            if quant is None:
                quant = self._statics[key] = StaticOp(
                    op="quantise",
                    name=f"{m.name}.quant",
                    layer=m.layer,
                    matrix=-1,
                    rows=0,
                    cols=0,
                    elements=m.cols,
                    bytes_in=m.cols * self._eb,
                    bytes_out=m.cols * self._ab,
                )
            rec.op(quant, aq.absmax)
        dense = None
        if self.unpacked:
            dense = self._dense.get(id(m))
            if dense is None:
                dense = self._dense[id(m)] = unpack_exact(m.packed, m.cols, nm.act_bits)
        acc = packed_product(
            m.packed, m.cols, aq.q, nm.act_bits, nm.acc_bits, nm.acc_overflow, unpacked=dense
        )
        if self.on_matvec is not None:
            self.on_matvec(m, aq.q, acc)
        denom = aq.scale.astype(np.float64)[:, None] * m.scale
        y = self._cast(acc.fitted.astype(np.float64) / denom)
        if rec is not None:
            key = ("matvec", m.name, m.layer)
            mv = self._statics.get(key)
            if mv is None:
                mv = self._statics[key] = StaticOp(
                    op="head" if head else "ternary_matvec",
                    name=m.name,
                    layer=m.layer,
                    matrix=m.matrix_id,
                    rows=m.rows,
                    cols=m.cols,
                    elements=m.rows * m.cols,
                    bytes_in=m.cols * self._ab,
                    bytes_out=m.rows * self._eb,
                )
            rec.op(mv, aq.absmax, acc.exact.min(axis=1), acc.exact.max(axis=1))
        return y

    # ---- the model

    def initial_state(self) -> RecurrentState:
        """Return the state before the first token (all zeros)."""
        return RecurrentState(h=np.zeros((self.config.layers, self.config.d), dtype=self._dt))

    def _layer(
        self, x: Array, h: Array, lw: LayerWeights, rec: OpRecorder | None
    ) -> tuple[Array, Array]:
        cfg, li = self.config, lw.index
        eps, beps = cfg.rms_norm_eps, cfg.bitlinear_eps
        a = self._rms(x, lw.attn_norm, eps, "attn_norm", li, rec)
        i = self._bitlinear(a, lw.i_proj, beps, rec)
        f = self._bitlinear(a, lw.f_proj, beps, rec)
        f = self._unary("sigmoid", f, "attn.f_sigmoid", li, rec)
        if lw.lower_bound is not None and cfg.use_lower_bound:
            lb = lw.lower_bound.astype(self._dt)
            scale, shift = self._cast(1 - lb)[None, :], self._cast(lb)[None, :]
            f = self._binary("mul", f, scale, "attn.f_lb_scale", li, rec, b_constant=True)
            f = self._binary("add", f, shift, "attn.f_lb_shift", li, rec, b_constant=True)
        one = np.ones((1, 1), dtype=self._dt)
        fc = self._binary("add", -f, one, "attn.f_complement", li, rec, b_constant=True)
        i = self._unary("silu", i, "attn.i_silu", li, rec)
        i = self._binary("mul", i, fc, "attn.i_gate", li, rec)
        hs = np.empty_like(i)
        state = h
        for t in range(i.shape[0]):
            state = self._cast(f[t] * state + i[t])
            hs[t] = state
        if rec is not None:
            prev = np.concatenate([h[None, :], hs[:-1]])
            absmax = np.maximum(np.abs(i).max(axis=1), np.abs(prev).max(axis=1))
            rec.op(self._static("recurrence", "attn.recurrence", li, cfg.d, operands=3), absmax)
        g = self._bitlinear(a, lw.g_proj, beps, rec)
        if cfg.mlgru_form == "code":
            gn = self._rms(g, lw.g_norm, eps, "attn.g_norm", li, rec)
            hsil = self._unary("silu", hs, "attn.h_silu", li, rec)
            o = self._binary("mul", gn, hsil, "attn.gate_out", li, rec)
        else:
            gs = self._unary("sigmoid", g, "attn.g_sigmoid", li, rec)
            o = self._binary("mul", gs, hs, "attn.gate_out", li, rec)
        o = self._bitlinear(o, lw.o_proj, beps, rec)
        x = self._binary("add", x, o, "attn_residual", li, rec)
        m = self._rms(x, lw.mlp_norm, eps, "mlp_norm", li, rec)
        gu = self._bitlinear(m, lw.gate_proj, beps, rec)
        inter = cfg.intermediate
        z = self._unary("silu", gu[:, :inter], "mlp.gate_silu", li, rec)
        z = self._binary("mul", z, gu[:, inter:], "mlp.glu", li, rec)
        y = self._bitlinear(z, lw.down_proj, beps, rec)
        x = self._binary("add", x, y, "mlp_residual", li, rec)
        return x, hs[-1]

    def embed(self, tokens: Sequence[int], rec: OpRecorder | None = None) -> Array:
        """Look up the embedding rows of ``tokens`` (``[n, d]``)."""
        emb = self.weights.embedding
        if emb is None:
            raise WorkloadError(
                f"{self.config.name} is block-only: it takes hidden vectors, not tokens"
            )
        ids = np.asarray(tokens, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.config.vocab):
            raise WorkloadError(f"token ids must be in 0..{self.config.vocab - 1}")
        x = self._cast(emb[ids])
        if rec is not None:
            rec.op(self._static("embedding", "embedding", -1, self.config.d), np.abs(x).max(axis=1))
        return x

    def forward(
        self,
        inputs: Sequence[int] | Array,
        state: RecurrentState,
        recorder: OpRecorder | None = None,
        phase: Phase = "prefill",
    ) -> tuple[Array, RecurrentState]:
        """Process a batch of consecutive tokens (or, block-only, hidden vectors).

        Args:
            inputs: Token ids (``n``), or ``[n, d]`` hidden vectors for a block-only model.
            state: The state before the first of them.
            recorder: Receives every op, one row per token.
            phase: Phase recorded for these steps.

        Returns:
            Logits ``[n, V]`` (block-only: block outputs ``[n, d]``) and the new state.
        """
        block_only = self.config.block_only
        n = len(inputs)
        if recorder is not None:
            recorder.begin(phase, n)
        if block_only:
            x = self._cast(np.asarray(inputs).reshape(n, self.config.d))
        else:
            x = self.embed([int(t) for t in inputs], recorder)
        h = state.h.copy()
        for lw in self.weights.layers:
            x, h[lw.index] = self._layer(x, state.h[lw.index], lw, recorder)
        if not block_only:
            assert self.weights.final_norm is not None and self.weights.lm_head is not None
            x = self._rms(
                x, self.weights.final_norm, self.config.rms_norm_eps, "norm", -1, recorder
            )
            x = self._bitlinear(
                x, self.weights.lm_head, self.config.bitlinear_eps, recorder, head=True
            )
        if recorder is not None:
            recorder.end()
        return x, RecurrentState(h=h)

    def run(
        self,
        prompt: Sequence[int] | Array,
        gen_tokens: int,
        *,
        forced: Sequence[int] | None = None,
        inputs: Array | None = None,
        recorder: OpRecorder | None = None,
        progress: Callable[[int], None] | None = None,
        keep_outputs: bool = False,
        batch_prefill: bool = True,
    ) -> RunResult:
        """Process a prompt, then ``gen_tokens`` greedily chosen tokens, one step each.

        Step ``t`` processes ``tokens[t]``: the prompt's tokens (prefill), then each token
        the model chose (decode), ``len(prompt) + gen_tokens`` steps in all. Without a
        prompt the first decode step processes :data:`BOS_TOKEN`. A block-only
        model processes ``inputs`` instead (``[len(prompt) + gen_tokens, d]``; ``prompt``
        only gives the prefill length).

        Args:
            prompt: Prompt token ids (may be empty), or for a block-only model anything
                whose length is the number of prefill steps.
            gen_tokens: Decode steps.
            forced: Process these tokens instead of the model's choices (teacher
                forcing, to compare two numerics on the same sequence).
            inputs: Block-only: the hidden vector of every step.
            recorder: Receives every op.
            progress: Called with the number of steps just completed.
            keep_outputs: Keep logits (or block outputs) in the result.
            batch_prefill: Run the prompt as one batch (default) or token by token.

        Returns:
            Tokens, the next choice, kept outputs, final state.
        """
        block_only = self.config.block_only
        p = len(prompt)
        if block_only and (inputs is None or len(inputs) != p + gen_tokens):
            raise WorkloadError("a block-only model needs one input vector per step")
        if forced is not None and len(forced) < gen_tokens:
            raise WorkloadError("forced tokens must cover every decode step")
        state = self.initial_state()
        kept: list[Array] = []
        tokens = [] if block_only else [int(t) for t in prompt]
        first: Sequence[int] | Array = inputs[:p] if inputs is not None else tokens
        if p:
            if batch_prefill:
                out, state = self.forward(first, state, recorder, "prefill")
            else:
                for t in range(p):
                    out, state = self.forward(first[t : t + 1], state, recorder, "prefill")
            if keep_outputs:
                kept.append(out if block_only else out[-1:])
            if progress is not None:
                progress(p)
        nxt = None
        if not block_only:
            nxt = int(np.argmax(out[-1])) if p else min(BOS_TOKEN, self.config.vocab - 1)
        for k in range(gen_tokens):
            if block_only:
                assert inputs is not None
                step_in: Sequence[int] | Array = inputs[p + k : p + k + 1]
            else:
                assert nxt is not None
                token = int(forced[k]) if forced is not None else nxt
                tokens.append(token)
                step_in = [token]
            out, state = self.forward(step_in, state, recorder, "decode")
            if not block_only:
                nxt = int(np.argmax(out[-1]))
            if keep_outputs:
                kept.append(out)
            if progress is not None:
                progress(1)
        outputs = np.concatenate(kept) if keep_outputs and kept else None
        return RunResult(tokens=tokens, next_token=nxt, outputs=outputs, state=state)

    def generate(self, prompt: Sequence[int], n_new: int) -> list[int]:
        """Greedily generate ``n_new`` tokens after ``prompt`` (``len(prompt) + n_new - 1`` steps).

        Returns:
            The new tokens.
        """
        if n_new < 1:
            return []
        result = self.run(prompt, n_new - 1)
        assert result.next_token is not None
        return [*result.tokens[len(prompt) :], result.next_token]
