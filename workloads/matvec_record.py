"""The ternary products a decode step computes, as a hardware twin is checked against them.

:func:`decode_matvecs` runs the functional model on a short prompt and records, for every
ternary product of the decode steps that follow (each BitLinear of each layer and the LM
head), the unpacked weights, the token's quantised activations and the model's own
accumulators for the given :class:`~workloads.numerics.Numerics`. These are real
matrices and activations of the model (its synthetic weights for a seed, or a
checkpoint's), the inputs the RTL twin's bit-exact and cycle checks replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads.loading import load_weights
from workloads.matvec import Accumulation
from workloads.model import TernaryLM
from workloads.numerics import Numerics
from workloads.packing import unpack
from workloads.weights import TernaryMatrix

__all__ = ["MatvecRecord", "decode_matvecs"]


@dataclass(frozen=True)
class MatvecRecord:
    """One ternary product the functional model computed for one token.

    Attributes:
        name: The matrix's name (``attn.i_proj``, ..., ``lm_head``).
        layer: Its block (-1: the LM head).
        step: The decode step (0: the first token after the prompt).
        weights: ``[rows, cols]`` ternary weights (int8).
        acts: ``[cols]`` quantised activations.
        fitted: What the model's accumulator held (its result).
        exact: The exact integer sums.
    """

    name: str
    layer: int
    step: int
    weights: npt.NDArray[np.int8]
    acts: npt.NDArray[np.int64]
    fitted: npt.NDArray[np.int64]
    exact: npt.NDArray[np.int64]


def decode_matvecs(
    model: str = "tiny",
    seed: int = 0,
    numerics: Numerics | None = None,
    prompt: Sequence[int] = (5, 17),
    steps: int = 1,
) -> tuple[MatvecRecord, ...]:
    """Return every ternary product of ``steps`` decode steps after ``prompt``.

    Args:
        model: Built-in model name or checkpoint (as :func:`~workloads.loading.load_weights`).
        seed: Seed of synthetic weights.
        numerics: The arithmetic (default :class:`Numerics()`: exact accumulators).
        prompt: Prompt tokens (run as one prefill batch, not recorded).
        steps: Decode steps recorded (one token each).

    Returns:
        The products in execution order.
    """
    calls: list[tuple[TernaryMatrix, npt.NDArray[Any], Accumulation]] = []

    def record(m: TernaryMatrix, q: npt.NDArray[Any], acc: Accumulation) -> None:
        calls.append((m, q, acc))

    lm = TernaryLM(load_weights(model, seed=seed), numerics, on_matvec=record)
    lm.run(list(prompt), steps)
    # every forward pass computes the same products; the prompt's is the first (one batch)
    per_step = len(calls) // (steps + (1 if prompt else 0))
    decode = calls[per_step:] if prompt else calls
    out = []
    for i, (m, q, acc) in enumerate(decode):
        out.append(
            MatvecRecord(
                name=m.name,
                layer=m.layer,
                step=i // per_step,
                weights=unpack(m.packed, m.cols),
                acts=np.asarray(q[0]).astype(np.int64),
                fitted=np.asarray(acc.fitted[0]).astype(np.int64),
                exact=np.asarray(acc.exact[0]).astype(np.int64),
            )
        )
    return tuple(out)
