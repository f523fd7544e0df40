"""Recording the work of each token: one row per (step, op), gathered column by column.

The functional model reports every operation it performs to an :class:`OpRecorder`:
what it is (op kind, name, layer, matrix), its size (rows, cols, elements, bytes in and
out) and what it saw (activation absmax, accumulator range) for each token of the batch
it is processing. A batch is one decode step, or the whole prompt when prefill runs as a
batch; either way the trace gets one row per token and op, since the recurrent model at
batch 1 does the same work for every token.

The op sequence of a step never changes, so the static part (kind, name, sizes) is kept
once and checked against every later step; only the observed values grow with the
number of steps. :meth:`OpRecorder.columns` lays everything out step-major, in execution
order, as the trace's ``ops`` table wants it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["OP_KINDS", "OpRecorder", "Phase", "StaticOp"]

Phase = Literal["prefill", "decode"]

#: Every value of the trace's ``op`` column.
OP_KINDS: tuple[str, ...] = (
    "embedding",
    "norm",
    "quantise",
    "ternary_matvec",
    "sigmoid",
    "silu",
    "mul",
    "add",
    "recurrence",
    "head",
)


@dataclass(frozen=True)
class StaticOp:
    """What an op is and how big it is (the same at every step).

    Attributes:
        op: One of :data:`OP_KINDS`.
        name: Dotted name within the layer (``attn.i_proj``, ``mlp_norm``...).
        layer: Block index, -1 outside the blocks.
        matrix: Matrix id for ``ternary_matvec`` and ``head``, else -1.
        rows: Output features of a matvec (0 otherwise).
        cols: Input features of a matvec (0 otherwise).
        elements: Elements processed (``rows·cols`` for a matvec).
        bytes_in: Activation bytes read.
        bytes_out: Activation bytes written.
    """

    op: str
    name: str
    layer: int
    matrix: int
    rows: int
    cols: int
    elements: int
    bytes_in: int
    bytes_out: int


class OpRecorder:
    """Collects the ops of every step, in execution order."""

    def __init__(self) -> None:
        self._static: list[StaticOp] = []
        self._frozen = False
        self._batch: list[tuple[StaticOp, Any, Any, Any]] = []
        self._phase: Phase = "prefill"
        self._n = 0
        self._phases: list[Phase] = []
        self._sizes: list[int] = []
        self._absmax: list[npt.NDArray[np.float32]] = []
        self._acc_min: list[npt.NDArray[np.int64]] = []
        self._acc_max: list[npt.NDArray[np.int64]] = []

    def begin(self, phase: Phase, n: int) -> None:
        """Start a batch of ``n`` consecutive steps of one phase."""
        if self._n:
            raise RuntimeError("begin() inside an open batch")
        self._phase, self._n, self._batch = phase, n, []

    def op(
        self,
        op: str,
        name: str,
        layer: int,
        *,
        elements: int,
        bytes_in: int,
        bytes_out: int,
        absmax: npt.NDArray[Any],
        rows: int = 0,
        cols: int = 0,
        matrix: int = -1,
        acc_min: npt.NDArray[Any] | None = None,
        acc_max: npt.NDArray[Any] | None = None,
    ) -> None:
        """Record one op for every step of the open batch.

        Args:
            op: One of :data:`OP_KINDS`.
            name: Dotted name.
            layer: Block index or -1.
            elements: Elements processed.
            bytes_in: Activation bytes read.
            bytes_out: Activation bytes written.
            absmax: ``[n]`` absmax of the op's input per step.
            rows: Output features (matvec).
            cols: Input features (matvec).
            matrix: Matrix id (matvec), else -1.
            acc_min: ``[n]`` smallest accumulator value per step (matvec).
            acc_max: ``[n]`` largest accumulator value per step (matvec).
        """
        static = StaticOp(op, name, layer, matrix, rows, cols, elements, bytes_in, bytes_out)
        self._batch.append((static, absmax, acc_min, acc_max))

    def end(self) -> None:
        """Close the batch; its op sequence must equal every earlier step's."""
        ops = [b[0] for b in self._batch]
        if not self._frozen:
            self._static, self._frozen = ops, True
        elif ops != self._static:
            raise RuntimeError("a step's op sequence differs from the first step's")
        n = self._n
        zeros = np.zeros(n, dtype=np.int64)

        def stack(i: int, dtype: Any, default: Any) -> Any:
            return np.stack(
                [
                    np.broadcast_to(np.asarray(b[i] if b[i] is not None else default, dtype), (n,))
                    for b in self._batch
                ],
                axis=1,
            )

        self._absmax.append(stack(1, np.float32, zeros))
        self._acc_min.append(stack(2, np.int64, zeros))
        self._acc_max.append(stack(3, np.int64, zeros))
        self._phases.append(self._phase)
        self._sizes.append(n)
        self._n, self._batch = 0, []

    @property
    def steps(self) -> int:
        """Steps recorded so far."""
        return sum(self._sizes)

    @property
    def static_ops(self) -> list[StaticOp]:
        """The op sequence of one step."""
        return list(self._static)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Return the recorded rows as columns, step-major, ops in execution order.

        Returns:
            ``step, phase (0 prefill / 1 decode), layer, seq, op (index into
            OP_KINDS), name (index into the step's names), matrix, rows, cols, elements,
            bytes_in, bytes_out, acc_min, acc_max, act_absmax``.
        """
        steps, k = self.steps, len(self._static)
        s = self._static

        def tile(values: list[int], dtype: Any) -> npt.NDArray[Any]:
            return np.tile(np.asarray(values, dtype=dtype), steps)

        phase = (
            np.concatenate(
                [
                    np.full(n, 0 if p == "prefill" else 1, np.int8)
                    for p, n in zip(self._phases, self._sizes, strict=True)
                ]
            )
            if steps
            else np.zeros(0, np.int8)
        )
        empty_f = np.zeros((0, k), np.float32)
        empty_i = np.zeros((0, k), np.int64)
        return {
            "step": np.repeat(np.arange(steps, dtype=np.int32), k),
            "phase": np.repeat(phase, k),
            "layer": tile([o.layer for o in s], np.int16),
            "seq": tile(list(range(k)), np.int32),
            "op": tile([OP_KINDS.index(o.op) for o in s], np.int8),
            "name": tile(list(range(k)), np.int32),
            "matrix": tile([o.matrix for o in s], np.int32),
            "rows": tile([o.rows for o in s], np.int32),
            "cols": tile([o.cols for o in s], np.int32),
            "elements": tile([o.elements for o in s], np.int64),
            "bytes_in": tile([o.bytes_in for o in s], np.int64),
            "bytes_out": tile([o.bytes_out for o in s], np.int64),
            "acc_min": np.concatenate([empty_i, *self._acc_min]).reshape(-1),
            "acc_max": np.concatenate([empty_i, *self._acc_max]).reshape(-1),
            "act_absmax": np.concatenate([empty_f, *self._absmax]).reshape(-1),
        }
