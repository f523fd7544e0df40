"""Ternary matrix-vector arrays: adder trees over int8 activations, fed weight tiles.

Timing (transaction level). A core's share of a matrix is cut into tiles of
``P = rows_parallel × count`` rows by ``tile_cols`` columns, visited row group by row group.
A tile takes ``ceil(tile_width / lanes)`` cycles, or with zero skipping
``max(1, max over the P rows of ceil(nonzeros in the row's tile / lanes))`` cycles: the trees
run in lockstep, so the row with most nonzeros sets the pace (from the trace's nonzeros
per row per 64-column block). The last tile of each row group also carries the
``handoff_bubble_cycles`` the array idles while its accumulators hand off. Tiles are
grouped into *chunks* of one weight-buffer half (what one DMA transfer fills); a matvec
costs an activation import, ``start_latency_cycles``, the chunks, the adder-tree
pipeline fill (``adder_tree_depth + pipeline_stages``) and an export. This is the
schedule of the project's own RTL (:mod:`arch_models.rtl`), cycle for cycle where the
weights are there in time.

To keep the event count bounded, a matvec's chunks after the first are merged into at
most ``max_transactions - 1`` transactions (sums of bytes, cycles and adds; ``fills``
counts the buffer fills merged). The engine keeps the pipeline at buffer-fill grain
inside a merged transaction: on a core with channels of its own and a double-buffered
weight buffer it books the fills one by one (each requested when the array frees its
half, each computed once landed, a fill's share of the cycles each), which is the
unmerged schedule for uniform fills (dense arrays); elsewhere compute starts when the
first fill has landed and ends no earlier than one fill's compute after the last byte.

Energy: one ``ternary_add_pj_per_op`` per weight that reaches an adder (all weights, or
only nonzeros with zero skipping), one ``accumulate_pj_per_op`` per tree per step (cycles
less hand-off bubbles, in which the trees idle), and a weight-buffer read per weight byte.
These are the events the RTL twin's bench counts from its own signals
(:class:`arch_models.rtl.RtlEvents`); the per-event energies are sourced estimates.

Resources: the structure the RTL twin builds (:func:`array_logic`), priced by the fitted
:data:`~arch_models.units.logic.LOGIC_COSTS`. Per tree: ``lanes`` leaves and ``lanes - 1``
adder nodes, each as wide as its subtree's sum needs (``activation_bits + 1`` plus the
levels below it) up to the accumulator, where it is fitted as the functional model does,
a register per node and per extra tree level, and a reducer with
one partial sum per level of the tree across the steps; per core: the decode (5-trit byte
tables) and the shift that aligns a step's codes, the pipeline registers (shift registers
from three stages) and the step sequencer.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from arch_models.catalog.models import Device
from arch_models.spec.units import Buffer, TernaryArray
from arch_models.units.base import BuildContext, Resources, UnitModel, logic_cells
from arch_models.units.logic import LOGIC_COSTS, Logic, clog2
from arch_models.workload import MatrixInfo

__all__ = [
    "DESIGN_MAX_COLS",
    "Chunk",
    "MatvecPlan",
    "TernaryArrayModel",
    "array_logic",
    "plan_matvec",
    "tile_cycles",
    "window_bytes",
]

#: Columns a design's reducers are built for: the power of two above the widest matvec of
#: the built-in models (2.7B: the down projection's 6,912 columns).
DESIGN_MAX_COLS = 8192
#: Width of the RTL's counters and shape registers.
_INDEX_BITS = 32


@dataclass(frozen=True)
class Chunk:
    """One weight transfer and the compute it feeds.

    Attributes:
        nbytes: Packed weight bytes.
        cycles: Array cycles to consume it.
        adds: Weights that reach an adder (ternary add/subtract operations).
        tiles: Tiles in it.
        fills: Weight-buffer fills merged into this transfer (1 unless merged).
        bubbles: Hand-off bubble cycles among ``cycles`` (the trees idle in them).
        fill_cycles: Each merged fill's share of ``cycles`` (``None`` unless merged):
            fills differ (a row group's last column tile has its hand-off bubble, the
            last group fewer rows), and the array waits fill by fill.
        fill_bytes: Each merged fill's share of ``nbytes`` (``None`` unless merged).
    """

    nbytes: int
    cycles: int
    adds: int
    tiles: int
    fills: int = 1
    bubbles: int = 0
    fill_cycles: npt.NDArray[np.int64] | None = field(default=None, compare=False, repr=False)
    fill_bytes: npt.NDArray[np.int64] | None = field(default=None, compare=False, repr=False)

    @property
    def steps(self) -> int:
        """Return the cycles in which the trees compute (``cycles`` less the bubbles)."""
        return self.cycles - self.bubbles


@dataclass(frozen=True)
class MatvecPlan:
    """A core's share of one matvec: its rows and the chunks that stream them.

    Attributes:
        rows: Rows this core computes.
        cols: Input features.
        chunks: Transfers in order.
    """

    rows: int
    cols: int
    chunks: tuple[Chunk, ...]

    @property
    def nbytes(self) -> int:
        """Return the weight bytes streamed."""
        return sum(c.nbytes for c in self.chunks)

    @property
    def cycles(self) -> int:
        """Return the array cycles of all chunks."""
        return sum(c.cycles for c in self.chunks)

    @property
    def adds(self) -> int:
        """Return the ternary add/subtract operations."""
        return sum(c.adds for c in self.chunks)

    @property
    def steps(self) -> int:
        """Return the array steps (cycles less hand-off bubbles)."""
        return sum(c.steps for c in self.chunks)


def tile_cycles(
    spec: TernaryArray, m: MatrixInfo, lo: int, hi: int
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
]:
    """Return per-tile cycles, bytes, adds and bubble cycles in visiting order.

    Tiles are visited row group by row group, column tile by column tile.
    """
    p = spec.rows_parallel * spec.count
    rows = hi - lo
    n_groups = -(-rows // p)
    n_ct = -(-m.cols // spec.tile_cols)
    widths = np.full(n_ct, spec.tile_cols, dtype=np.int64)
    widths[-1] = m.cols - spec.tile_cols * (n_ct - 1)
    group_rows = np.full(n_groups, p, dtype=np.int64)
    group_rows[-1] = rows - p * (n_groups - 1)
    if spec.zero_skipping:
        nnz = m.row_tile_nnz(spec.tile_cols)[lo:hi]
        padded = np.zeros((n_groups * p, n_ct), dtype=np.int64)
        padded[:rows] = nnz
        per_row = -(-padded // spec.lanes)
        cycles = np.maximum(1, per_row.reshape(n_groups, p, n_ct).max(axis=1))
        adds = padded.reshape(n_groups, p, n_ct).sum(axis=1)
    else:
        cycles = np.broadcast_to(-(-widths // spec.lanes), (n_groups, n_ct))
        adds = np.outer(group_rows, widths)
    bubbles = np.zeros((n_groups, n_ct), dtype=np.int64)
    bubbles[:, -1] = spec.handoff_bubble_cycles
    cycles = np.asarray(cycles, dtype=np.int64) + bubbles
    nbytes = np.ceil(np.outer(group_rows, widths) * spec.bits_per_weight / 8).astype(np.int64)
    return cycles.ravel(), nbytes.ravel(), adds.ravel(), bubbles.ravel()


def plan_matvec(
    spec: TernaryArray,
    m: MatrixInfo,
    lo: int,
    hi: int,
    chunk_bytes: int,
    max_transactions: int,
    vectors: int = 1,
) -> MatvecPlan:
    """Plan one core's rows ``[lo, hi)`` of matrix ``m`` as weight transfers.

    Args:
        spec: The array.
        m: The matrix and its nonzero structure.
        lo: First row of this core.
        hi: One past its last row.
        chunk_bytes: Bytes one transfer may fill (a weight-buffer half).
        max_transactions: Upper bound on transfers (chunks after the first are merged).
        vectors: Activation vectors each weight tile serves (a batch's sequences): the
            array passes over a tile ``ceil(vectors / parallel_vectors)`` times, bubbles
            included, and every vector's weights reach an adder.

    Returns:
        The plan (empty when the core has no rows).
    """
    if hi <= lo:
        return MatvecPlan(0, m.cols, ())
    cycles, nbytes, adds, bubbles = tile_cycles(spec, m, lo, hi)
    passes = -(-vectors // spec.parallel_vectors)
    cycles, bubbles, adds = cycles * passes, bubbles * passes, adds * vectors
    full_tile = max(
        1, math.ceil(spec.rows_parallel * spec.count * spec.tile_cols * spec.bits_per_weight / 8)
    )
    per_chunk = max(1, chunk_bytes // full_tile)
    starts = np.arange(0, cycles.size, per_chunk)
    c_cycles = np.add.reduceat(cycles, starts)
    c_bytes = np.add.reduceat(nbytes, starts)
    c_adds = np.add.reduceat(adds, starts)
    c_bubbles = np.add.reduceat(bubbles, starts)
    c_tiles = np.diff(np.append(starts, cycles.size))
    n = c_cycles.size
    c_fills = np.ones(n, dtype=np.int64)
    parts: list[tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None]]
    parts = [(None, None)] * n
    if n > max_transactions > 1:
        rest = np.array_split(np.arange(1, n), max_transactions - 1)
        bounds = [0] + [int(r[0]) for r in rest if r.size]
        edges = [*bounds, n]
        parts = [
            (c_cycles[a:b].copy(), c_bytes[a:b].copy()) if b - a > 1 else (None, None)
            for a, b in itertools.pairwise(edges)
        ]
        c_cycles = np.add.reduceat(c_cycles, bounds)
        c_bytes = np.add.reduceat(c_bytes, bounds)
        c_adds = np.add.reduceat(c_adds, bounds)
        c_bubbles = np.add.reduceat(c_bubbles, bounds)
        c_tiles = np.add.reduceat(c_tiles, bounds)
        c_fills = np.add.reduceat(c_fills, bounds)
    chunks = tuple(
        Chunk(int(b), int(c), int(a), int(t), int(f), int(u), fc, fb)
        for b, c, a, t, f, u, (fc, fb) in zip(
            c_bytes, c_cycles, c_adds, c_tiles, c_fills, c_bubbles, parts, strict=True
        )
    )
    return MatvecPlan(hi - lo, m.cols, chunks)


class TernaryArrayModel(UnitModel[TernaryArray]):
    """The ternary matrix-vector array(s) of one core."""

    kind = "ternary_array"

    def __init__(
        self,
        ctx: BuildContext,
        scope: str,
        spec: TernaryArray,
        *,
        act_path_bits: int,
        out_path_bits: int,
        weight_pj_per_byte: float,
    ) -> None:
        super().__init__(ctx, scope, spec)
        self.act_path_bits = act_path_bits
        self.out_path_bits = out_path_bits
        self.pj_add = ctx.energy.get("ternary_add_pj_per_op")
        self.pj_acc = ctx.energy.get("accumulate_pj_per_op")
        self.pj_weight_read = weight_pj_per_byte

    @classmethod
    def create(cls, ctx: BuildContext, scope: str, spec: TernaryArray) -> TernaryArrayModel:
        """Build one core's array, its paths and weight reads set by the core's buffers.

        Activations come in (and results go out) through the activation buffer's ports,
        or at the array's own width without one; weights are read from the weight buffer.
        """
        buffers = ctx.arch.spec.units_of(Buffer)
        wspec = next((b for b in buffers if b.holds == "weights"), None)
        aspec = next((b for b in buffers if b.holds == "activations"), None)
        act_path = aspec.width_bits * aspec.ports if aspec else spec.lanes * spec.activation_bits
        out_path = aspec.width_bits * aspec.ports if aspec else spec.accumulator_bits
        w_pj = ctx.energy.get(f"{wspec.memory}_pj_per_byte") if wspec else 0.0
        return cls(
            ctx,
            scope,
            spec,
            act_path_bits=act_path,
            out_path_bits=out_path,
            weight_pj_per_byte=w_pj,
        )

    @property
    def fill_cycles(self) -> int:
        """Return the pipeline fill of one matvec (tree depth plus extra stages)."""
        return self.spec.tree_depth + self.spec.pipeline_stages

    def import_cycles(self, cols: int) -> int:
        """Return cycles to bring a ``cols``-long activation vector into the array."""
        return math.ceil(cols * self.spec.activation_bits / self.act_path_bits)

    def lead_cycles(self, cols: int, vectors: int = 1) -> int:
        """Return cycles from a matvec's start to its first possible step (import, start).

        A batch's ``vectors`` activation vectors are all imported first.
        """
        return self.import_cycles(cols) * vectors + self.spec.start_latency_cycles

    def export_cycles(self, rows: int, vectors: int = 1) -> int:
        """Return cycles to write ``rows`` results (of each of ``vectors``) out."""
        return math.ceil(rows * vectors * self.spec.accumulator_bits / self.out_path_bits)

    def chunk_energy_pj(self, chunk: Chunk, vectors: int = 1) -> float:
        """Return the dynamic energy of computing one chunk for ``vectors`` vectors.

        The trees of every vector accumulate in each of a pass's steps: the chunk's
        steps (over its passes) times the vectors per pass, on average.
        """
        trees = self.spec.rows_parallel * self.spec.count
        passes = -(-vectors // self.spec.parallel_vectors)
        return (
            chunk.adds * self.pj_add
            + chunk.steps * vectors / passes * trees * self.pj_acc
            + chunk.nbytes * self.pj_weight_read
        )

    @classmethod
    def resources(cls, spec: TernaryArray, device: Device) -> Resources:
        """Trees, reducers, decode, pipeline and sequencer (see the module docstring)."""
        logic = array_logic(spec)
        out = logic_cells(device, LOGIC_COSTS.le(logic))
        out["ff"] = LOGIC_COSTS.ff(logic)
        out["dsp"] = LOGIC_COSTS.dsp(logic)
        return out


def window_bytes(spec: TernaryArray) -> int:
    """Return the weight-buffer bytes one step reads (every tree's codes, any alignment)."""
    per_byte = 5 if spec.weight_packing == "5trit" else 4
    return (spec.rows_parallel * spec.count * spec.lanes + 2 * per_byte - 2) // per_byte


def _delay(bits: int, stages: int) -> Logic:
    """Return a delay of ``stages`` registers on ``bits`` bits (a shift register from 3)."""
    if stages >= 3:
        return Logic(srl_bits=bits * -(-stages // 32))
    return Logic(register_bits=bits * stages)


def array_logic(spec: TernaryArray, max_cols: int = DESIGN_MAX_COLS) -> Logic:
    """Return the structure of one core's arrays, as the RTL twin builds them.

    Args:
        spec: The array.
        max_cols: The widest matvec it takes (sets the reducers' levels).
    """
    lanes, acc, act = spec.lanes, spec.accumulator_bits, spec.activation_bits
    trees = spec.rows_parallel * spec.count
    sat = spec.accumulator_overflow == "saturate"
    levels = clog2(lanes)
    extra = spec.tree_depth - levels
    # one tree: leaves (the activation negated on acc + 1 bits, then zero, it or its
    # negation), nodes of acc + 1 bits fitted to acc (a saturating node's clamp folds into
    # its adder's LUTs), a register per node; the root register and the extra levels form
    # one delay chain
    nodes = lanes - 1
    # a leaf negates the activation on act + 1 bits (acc + 1 when those would not fit);
    # a node at depth d adds two subtree sums on act + 1 + (levels - d) bits, or acc + 1
    # fitted to acc where the sum could reach the accumulator's range; registered at that
    # width (its sign extension to acc merges)
    leaf_w = act + 1 if act + 1 < acc else acc + 1
    node_adder = node_regs = 0
    for d in range(levels):
        width = act + 1 + levels - d
        node_adder += 2**d * (width if width < acc else acc + 1)
        node_regs += (2**d if d else 0) * min(width, acc)
    tree = Logic(
        adder_bits=lanes * leaf_w + node_adder,
        mux_inputs=3 * lanes * min(leaf_w, acc),
        register_bits=node_regs,
    )
    tree += _delay(acc, extra + (1 if nodes else 0))
    # one reducer: a partial sum per level across the steps; placing a step's sum carries
    # through the occupied levels, the last step folds them
    red_levels = clog2(max(1, max_cols // lanes)) + 1
    reducer = Logic(
        adder_bits=(2 * red_levels - 1) * (acc + 1),
        saturate_bits=(2 * red_levels - 1) * acc if sat else 0,
        mux_inputs=6 * red_levels * acc,
        register_bits=red_levels * (acc + 1),
    )
    # decode: 2-bit codes pass through; each 5-trit byte goes through a decoder (a table:
    # ten functions of its eight bits); then a shift aligns the step's codes (by the code
    # offset, < 4 or < 5) and rows past the group's last are masked
    codes = 2 * trees * lanes
    window = window_bytes(spec)
    if spec.weight_packing == "5trit":
        decode = Logic(decoders=window, mux_inputs=5 * codes)
    else:
        decode = Logic(mux_inputs=4 * codes)
    decode += Logic(mux_inputs=2 * codes, adder_bits=trees * _INDEX_BITS)
    # pipeline: codes and activations per stage, control bits (valid, last) per fill
    # cycle; the codes' chain becomes shift registers only from four stages (measured)
    stages = spec.pipeline_stages
    pipeline = _delay(lanes * act, stages) + Logic(register_bits=2 * (stages + spec.tree_depth))
    pipeline += _delay(codes, stages) if stages >= 4 else Logic(register_bits=codes * stages)
    # step sequencer: its counters; unless the rows per group are a power of two, a
    # division of the (17-bit) rows by them and two index products (the last group's rows,
    # a group's first row), of which Yosys maps one to DSPs and builds the other from
    # adders (measured: DSPs equal on 32 of 32 drawn cores); for 5-trit a division by five
    # of the code offset, on the bits a step's codes need
    p_pow2 = trees & (trees - 1) == 0
    offset_bits = clog2(trees * lanes + 5) + 1
    sequencer = Logic(
        sequencers=1,
        dividers=(0 if p_pow2 else (17 / 32) ** 2)
        + ((offset_bits / 32) ** 2 if spec.weight_packing == "5trit" else 0),
        multipliers=0 if p_pow2 else 1,
    )
    # a batch's vectors taken at once: trees, reducers and the activations' pipeline
    # replicated per vector, the weight decode shared
    vectors = spec.parallel_vectors
    pipeline += _delay(lanes * act, stages).times(vectors - 1) if vectors > 1 else Logic()
    return (tree + reducer).times(trees * vectors) + decode + pipeline + sequencer
