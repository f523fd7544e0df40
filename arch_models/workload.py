"""The work the hardware models consume: ops per step and the ternary matrices' structure.

``arch_models`` knows nothing of how this work was produced; ``cosim`` fills these types
from a trace. A :class:`Workload` is a sequence of :class:`Step` (one token through the
model each), each a tuple of :class:`Op` in execution order, plus one
:class:`MatrixInfo` per distinct ternary matrix with its nonzero structure (nonzeros per
row per ``block_cols``-column block), from which any tiling's per-tile work is derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ELEMENTWISE_OPS",
    "MATVEC_OPS",
    "OP_KINDS",
    "MatrixInfo",
    "Op",
    "Step",
    "Workload",
]

#: Ops executed by a ternary matrix-vector array.
MATVEC_OPS = frozenset({"ternary_matvec", "head"})
#: Ops executed by a vector (row-wise) unit.
ELEMENTWISE_OPS = frozenset({"quantise", "sigmoid", "silu", "mul", "add", "recurrence"})
#: Every op kind a workload may hold.
OP_KINDS = MATVEC_OPS | ELEMENTWISE_OPS | {"norm", "embedding"}


@dataclass(frozen=True, eq=False)
class MatrixInfo:
    """One ternary matrix's shape and nonzero structure.

    Attributes:
        id: Identifier that ops refer to.
        name: For messages (``layers.3.mlp.down_proj``).
        rows: Output features.
        cols: Input features.
        block_cols: Width of the column blocks ``nnz_blocks`` counts over.
        nnz_blocks: ``rows × ceil(cols / block_cols)`` nonzero counts.
    """

    id: int
    name: str
    rows: int
    cols: int
    block_cols: int
    nnz_blocks: npt.NDArray[np.uint8] = field(repr=False)

    def __post_init__(self) -> None:
        nblk = -(-self.cols // self.block_cols)
        if self.nnz_blocks.shape != (self.rows, nblk):
            raise ValueError(
                f"matrix {self.name}: nnz_blocks has shape {self.nnz_blocks.shape}, "
                f"expected ({self.rows}, {nblk})"
            )

    @property
    def weights(self) -> int:
        """Return the number of ternary weights."""
        return self.rows * self.cols

    @cached_property
    def nonzeros(self) -> int:
        """Return the number of nonzero weights."""
        return int(self.nnz_blocks.sum(dtype=np.int64))

    def packed_bytes(self, bits_per_weight: float, rows: int | None = None) -> int:
        """Return the bytes of ``rows`` rows (default all) packed at ``bits_per_weight``."""
        n = (self.rows if rows is None else rows) * self.cols
        return int(np.ceil(n * bits_per_weight / 8))

    def row_tile_nnz(self, tile_cols: int) -> npt.NDArray[np.int64]:
        """Return nonzeros per (row, tile of ``tile_cols`` columns).

        ``tile_cols`` must be a multiple of ``block_cols`` (or cover all columns); smaller
        tiles are not resolvable from the stored structure.

        Raises:
            ValueError: ``tile_cols`` cannot be derived from the block structure.
        """
        out: npt.NDArray[np.int64] = _row_tile_nnz(self, tile_cols)
        return out


def _row_tile_nnz(m: MatrixInfo, tile_cols: int) -> npt.NDArray[np.int64]:
    nblk = m.nnz_blocks.shape[1]
    if tile_cols >= m.cols:
        whole: npt.NDArray[np.int64] = m.nnz_blocks.sum(axis=1, dtype=np.int64)[:, None]
        return whole
    if tile_cols % m.block_cols:
        raise ValueError(
            f"tile_cols {tile_cols} is not a multiple of the trace's block width "
            f"{m.block_cols}; zero-skipping timing cannot be resolved"
        )
    per = tile_cols // m.block_cols
    ntiles = -(-nblk // per)
    padded = np.zeros((m.rows, ntiles * per), dtype=np.int64)
    padded[:, :nblk] = m.nnz_blocks
    out: npt.NDArray[np.int64] = padded.reshape(m.rows, ntiles, per).sum(axis=2)
    return out


@dataclass(frozen=True)
class Op:
    """One operation of one step.

    Attributes:
        kind: One of :data:`OP_KINDS`.
        name: What it computes (``attn.i_proj``, ``mlp_norm`` ...).
        layer: Layer index (-1 outside the blocks).
        rows: Output features (matvec ops).
        cols: Input features (matvec ops).
        elements: Elements processed (elementwise and norm ops; ``rows*cols`` for matvec).
        matrix: :class:`MatrixInfo` id for matvec ops, -1 otherwise.
        bytes_in: Activation bytes read.
        bytes_out: Activation bytes written.
    """

    kind: str
    name: str
    layer: int
    rows: int
    cols: int
    elements: int
    matrix: int
    bytes_in: int
    bytes_out: int

    @property
    def is_matvec(self) -> bool:
        """Return whether a ternary array executes this op."""
        return self.kind in MATVEC_OPS


@dataclass(frozen=True)
class Step:
    """One token through the model.

    Attributes:
        index: 0-based over prompt then generated tokens (over prompt chunks, then
            generated tokens, once the prompt is chunked).
        phase: ``prefill`` or ``decode``.
        ops: The ops in execution order.
        vectors: Activation vectors each weight read serves in this step: the batch's
            sequences, times the prompt positions of a prefill chunk.
        positions: Prompt positions (tokens of each sequence) the step carries.
    """

    index: int
    phase: Literal["prefill", "decode"]
    ops: tuple[Op, ...]
    vectors: int = 1
    positions: int = 1


@dataclass(frozen=True)
class Workload:
    """What a model does for a sequence of tokens.

    Attributes:
        model: The model configuration (name, layers, d, intermediate, vocab, ...).
        matrices: Every ternary matrix by id.
        steps: The steps in order.
        meta: Provenance (seed, trace schema version, ...).
        batch: Sequences processed together (each step is one token of each): every
            op's activations, elements and bytes are for all of them (see
            :meth:`batched`), while each weight is read once a step.
    """

    model: dict[str, Any]
    matrices: dict[int, MatrixInfo]
    steps: tuple[Step, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    batch: int = 1

    def batched(self, batch: int) -> Workload:
        """Return this (one-sequence) workload for ``batch`` sequences in lockstep.

        Each step then processes one token of every sequence: elementwise, norm and
        embedding ops handle ``batch`` times the elements and activation bytes, a matvec
        takes ``batch`` activation vectors (and writes as many results) against one read
        of its weights. The sequences' ops and shapes are the same; their values differ,
        which timing does not see (the nonzero structure is the weights').

        Raises:
            ValueError: ``batch`` is below 1, or the workload is already batched.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1 (got {batch})")
        if self.batch != 1:
            raise ValueError(f"the workload is already a batch of {self.batch}")
        if batch == 1:
            return self

        steps = tuple(
            replace(s, ops=_scaled(s.ops, batch), vectors=s.vectors * batch) for s in self.steps
        )
        return replace(self, steps=steps, batch=batch, meta={**self.meta, "batch": batch})

    def chunked_prefill(self, chunk: int) -> Workload:
        """Return this workload with its prompt taken ``chunk`` positions a step.

        The ternary matvecs of a chunk's positions share one read of each weight (the
        array takes their activation vectors as it takes a batch's); the elementwise and
        norm work, the MLGRU recurrence included, still runs position by position (its
        elements are the chunk's, in order: the recurrence needs the previous
        position's state). Steps are renumbered: the chunks, then the decode steps.

        Raises:
            ValueError: ``chunk`` is below 1.
        """
        if chunk < 1:
            raise ValueError(f"the prefill chunk must be at least 1 position (got {chunk})")
        prompt = [s for s in self.steps if s.phase == "prefill"]
        if chunk == 1 or len(prompt) <= 1:
            return self
        steps: list[Step] = []
        for i in range(0, len(prompt), chunk):
            group = prompt[i : i + chunk]
            n = len(group)
            first = group[0]
            steps.append(
                Step(
                    len(steps),
                    "prefill",
                    _scaled(first.ops, n),
                    vectors=first.vectors * n,
                    positions=first.positions * n,
                )
            )
        for s in self.steps:
            if s.phase == "decode":
                steps.append(replace(s, index=len(steps)))
        meta = {**self.meta, "prefill_chunk": chunk}
        return replace(self, steps=tuple(steps), meta=meta)

    def layer_share(self, card: int, cards: int) -> Workload:
        """Return the part of every step that card ``card`` of ``cards`` runs (a pipeline).

        Card ``k`` runs layers ``k·L // cards`` to ``(k+1)·L // cards - 1``; the ops before
        the first layer (the embedding) go to the first card, those after the last
        (the final norm and the head) to the last. Only its matrices are kept.

        Raises:
            ValueError: ``card`` is not one of ``cards``, or there are more cards than
                layers.
        """
        layers = int(self.model.get("layers", 1))
        if not 0 <= card < cards:
            raise ValueError(f"card {card} is not one of {cards}")
        if cards > layers:
            raise ValueError(f"{cards} cards for {layers} layers: at least one layer a card")
        lo, hi = card * layers // cards, (card + 1) * layers // cards

        def mine(ops: tuple[Op, ...]) -> tuple[Op, ...]:
            layered = [i for i, op in enumerate(ops) if op.layer >= 0]
            first, last = (layered[0], layered[-1]) if layered else (len(ops), -1)
            return tuple(
                op
                for i, op in enumerate(ops)
                if lo <= op.layer < hi
                or (op.layer < 0 and i < first and card == 0)
                or (op.layer < 0 and i > last and card == cards - 1)
            )

        steps = tuple(replace(s, ops=mine(s.ops)) for s in self.steps)
        used = {op.matrix for s in steps for op in s.ops if op.is_matvec}
        matrices = {k: m for k, m in self.matrices.items() if k in used}
        meta = {**self.meta, "share": f"layers {lo}-{hi - 1} of {layers}"}
        return replace(self, steps=steps, matrices=matrices, meta=meta)

    def row_share(self, card: int, cards: int) -> Workload:
        """Return card ``card`` of ``cards``'s part of every step when rows are split.

        Each matrix keeps rows ``rows·k // cards`` to ``rows·(k+1) // cards`` (with their
        nonzero structure); a matvec op computes those outputs only. Elementwise, norm and
        embedding ops are the whole vector's (every card runs them on the gathered vector).

        Raises:
            ValueError: ``card`` is not one of ``cards``, or a matrix has fewer rows than
                there are cards.
        """
        if not 0 <= card < cards:
            raise ValueError(f"card {card} is not one of {cards}")
        matrices: dict[int, MatrixInfo] = {}
        for k, m in self.matrices.items():
            if m.rows < cards:
                raise ValueError(f"matrix {m.name} has {m.rows} rows for {cards} cards")
            lo, hi = m.rows * card // cards, m.rows * (card + 1) // cards
            matrices[k] = replace(m, rows=hi - lo, nnz_blocks=m.nnz_blocks[lo:hi])

        def mine(op: Op) -> Op:
            if not op.is_matvec:
                return op
            rows = matrices[op.matrix].rows
            return replace(
                op,
                rows=rows,
                elements=rows * op.cols,
                bytes_out=op.bytes_out * rows // max(1, op.rows),
            )

        steps = tuple(replace(s, ops=tuple(mine(op) for op in s.ops)) for s in self.steps)
        meta = {**self.meta, "share": f"rows {card + 1}/{cards} of every matrix"}
        return replace(self, steps=steps, matrices=matrices, meta=meta)

    @property
    def decode_steps(self) -> tuple[Step, ...]:
        """Return the decode steps."""
        return tuple(s for s in self.steps if s.phase == "decode")

    def weight_bytes(self, bits_per_weight: float) -> int:
        """Return the packed bytes of every distinct matrix."""
        return sum(m.packed_bytes(bits_per_weight) for m in self.matrices.values())


def _scaled(ops: tuple[Op, ...], n: int) -> tuple[Op, ...]:
    """``ops`` for ``n`` activation vectors: elementwise work and every activation × n."""
    return tuple(
        replace(
            op,
            elements=op.elements if op.is_matvec else op.elements * n,
            bytes_in=op.bytes_in * n,
            bytes_out=op.bytes_out * n,
        )
        for op in ops
    )
