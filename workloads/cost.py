"""The accuracy side of co-design: what a hardware numerics choice costs.

A narrower accumulator, fixed-point gates or a 64-entry sigmoid table save area and
power; :func:`numerics_cost` says what they cost in model behaviour. The exact model
(:meth:`Numerics.exact`: float64 elementwise, unbounded accumulators, exact functions)
greedily generates ``N`` tokens; the model under the chosen numerics is fed the same
tokens (teacher forcing, so both predict from the same context at every position), and
the logits predicting each of those tokens and the one after are compared:

- ``max_abs_dlogit``: the largest ``|Δlogit|`` over every position and vocabulary entry;
- ``top1_agreement``: the fraction of positions where both pick the same token.

A block-only model has no logits: the block outputs are compared and top-1 is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from workloads.model import TernaryLM, block_inputs
from workloads.numerics import Numerics
from workloads.weights import ModelWeights

__all__ = ["NumericsCost", "numerics_cost"]


@dataclass(frozen=True)
class NumericsCost:
    """The cost of a numerics choice against the exact reference.

    Attributes:
        positions: Positions compared: the generated tokens, plus the one after them when
            there is a prompt (the last prompt step predicts the first generated token).
        max_abs_dlogit: Largest absolute logit (block-only: output) difference.
        top1_agreement: Fraction of positions with the same greedy choice (``None`` for a
            block-only model).
        numerics: The numerics evaluated.
        reference: The reference numerics.
    """

    positions: int
    max_abs_dlogit: float
    top1_agreement: float | None
    numerics: dict[str, Any]
    reference: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly view."""
        return asdict(self)


def numerics_cost(
    weights: ModelWeights,
    numerics: Numerics,
    prompt: Sequence[int],
    gen_tokens: int,
    reference: Numerics | None = None,
    seed: int = 0,
) -> NumericsCost:
    """Compare ``numerics`` with exact arithmetic over ``gen_tokens`` generated tokens.

    Args:
        weights: The model's weights.
        numerics: The hardware numerics to evaluate.
        prompt: Prompt tokens (block-only: its length is the prefill length).
        gen_tokens: Tokens the reference generates (decode steps).
        reference: The reference (default :meth:`Numerics.exact`).
        seed: Seed of a block-only model's input vectors.

    Returns:
        The cost.
    """
    ref = reference if reference is not None else Numerics.exact()
    cfg = weights.config
    inputs = block_inputs(cfg, seed, len(prompt) + gen_tokens) if cfg.block_only else None
    exact = TernaryLM(weights, ref).run(prompt, gen_tokens, inputs=inputs, keep_outputs=True)
    forced = exact.tokens[len(prompt) :] if not cfg.block_only else None
    other = TernaryLM(weights, numerics).run(
        prompt, gen_tokens, inputs=inputs, forced=forced, keep_outputs=True
    )
    assert exact.outputs is not None and other.outputs is not None
    a = exact.outputs.astype(np.float64)
    b = other.outputs.astype(np.float64)
    top1 = None if cfg.block_only else float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
    return NumericsCost(
        positions=int(a.shape[0]),
        max_abs_dlogit=float(np.abs(a - b).max()),
        top1_agreement=top1,
        numerics=numerics.to_dict(),
        reference=ref.to_dict(),
    )
