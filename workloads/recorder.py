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

from typing import Any, Literal, NamedTuple

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


class StaticOp(NamedTuple):
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
    """Collects the ops of every step, in execution order.

    Recording is on the model's hot path (about a thousand ops per token for the 2.7B
    model), so :meth:`op` only appends; the columns are assembled at :meth:`end`.
    """

    def __init__(self) -> None:
        self._static: list[StaticOp] = []
        self._frozen = False
        self._ops: list[StaticOp] = []
        self._absmax: list[npt.NDArray[Any]] = []
        self._accs: list[tuple[int, npt.NDArray[Any], npt.NDArray[Any]]] = []
        self._phase: Phase = "prefill"
        self._n = 0
        self._phases: list[Phase] = []
        self._sizes: list[int] = []
        self._absmax_steps: list[npt.NDArray[np.float32]] = []
        self._acc_min_steps: list[npt.NDArray[np.int64]] = []
        self._acc_max_steps: list[npt.NDArray[np.int64]] = []

    def begin(self, phase: Phase, n: int) -> None:
        """Start a batch of ``n`` consecutive steps of one phase."""
        if self._n:
            raise RuntimeError("begin() inside an open batch")
        self._phase, self._n = phase, n
        self._ops, self._absmax, self._accs = [], [], []

    def op(
        self,
        static: StaticOp,
        absmax: npt.NDArray[Any],
        acc_min: npt.NDArray[Any] | None = None,
        acc_max: npt.NDArray[Any] | None = None,
    ) -> None:
        """Record one op for every step of the open batch.

        Args:
            static: What the op is and its size.
            absmax: ``[n]`` absmax of the op's input per step.
            acc_min: ``[n]`` smallest accumulator value per step (matvec).
            acc_max: ``[n]`` largest accumulator value per step (matvec).
        """
        if acc_min is not None and acc_max is not None:
            self._accs.append((len(self._ops), acc_min, acc_max))
        self._ops.append(static)
        self._absmax.append(absmax)

    def end(self) -> None:
        """Close the batch; its op sequence must equal every earlier step's."""
        if not self._frozen:
            self._static, self._frozen = self._ops, True
        elif self._ops != self._static:
            raise RuntimeError("a step's op sequence differs from the first step's")
        n, k = self._n, len(self._ops)
        absmax = np.concatenate(self._absmax).astype(np.float32).reshape(k, n).T
        acc_min = np.zeros((n, k), dtype=np.int64)
        acc_max = np.zeros((n, k), dtype=np.int64)
        for j, lo, hi in self._accs:
            acc_min[:, j] = lo
            acc_max[:, j] = hi
        self._absmax_steps.append(np.ascontiguousarray(absmax))
        self._acc_min_steps.append(acc_min)
        self._acc_max_steps.append(acc_max)
        self._phases.append(self._phase)
        self._sizes.append(n)
        self._n = 0
        self._ops, self._absmax, self._accs = [], [], []

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

        phases = [
            np.full(n, 0 if p == "prefill" else 1, np.int8)
            for p, n in zip(self._phases, self._sizes, strict=True)
        ]
        phase = np.concatenate([np.zeros(0, np.int8), *phases])
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
            "acc_min": np.concatenate([empty_i, *self._acc_min_steps]).reshape(-1),
            "acc_max": np.concatenate([empty_i, *self._acc_max_steps]).reshape(-1),
            "act_absmax": np.concatenate([empty_f, *self._absmax_steps]).reshape(-1),
        }
