"""The analytical tier's pieces: per-variant figures, a matvec's terms, the weight stream.

What :class:`cosim.analytical.AnalyticalModel` combines, each vectorised over variants:
:class:`Variants` (a group's figures per variant), :class:`Terms` (one matvec's times,
bytes and energies), :class:`WeightStream` (the pipeline recurrence of a matvec on the
weight DMA's state), :class:`Gaps` (the cycles between matvecs, from the engine's own
unit models: :func:`gap_profiles`) and the helpers they share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import simpy

from arch_models.energy import EnergyTable
from arch_models.spec.arch import Arch
from arch_models.spec.units import TernaryArray
from arch_models.units import BuildContext, Recorder
from arch_models.units.ternary import tile_cycles
from arch_models.units.vector import NormUnitModel
from arch_models.workload import ELEMENTWISE_OPS, MatrixInfo, Op, Workload
from cosim.fpga import STATE_BYTES, FpgaSystem, SimOptions

__all__ = [
    "GapProfile",
    "Gaps",
    "Matvecs",
    "OnChipFlags",
    "StepGaps",
    "Terms",
    "Variants",
    "WeightStream",
    "array_figures",
    "busiest_share",
    "family_of",
    "gap_profiles",
    "layer_core",
    "moved_bytes",
    "slowest_core_cycles",
    "worst_utilisation",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Matvecs:
    """Per variant × matrix: the busiest core's share of each matvec (one vector)."""

    cycles: F64  # array cycles with hand-off bubbles, one pass
    bubbles: F64
    nbytes: F64  # packed bytes of the busiest core
    tiles: F64
    rows: F64  # rows of the busiest core
    share: F64  # the busiest core's share of the whole matrix (bytes, steps)


@dataclass(frozen=True)
class Variants:
    """A group's per-variant figures (arrays of length ``n``; 2-D ones by column).

    ``array``: lanes, rows in parallel, tile width, zero skipping, bits per weight,
    activation and accumulator bits, start latency, hand-off bubble, adder-tree fill,
    vectors in parallel. ``buffers``: has a weight buffer, its capacity, its fill (bytes
    one transfer fills), slots, pJ per byte; activation path and result path widths (bits
    a cycle); activation and state capacities. ``memory``: the busiest core's bandwidth
    (all cores streaming), a core's alone, round trip, pJ per byte, burst, and whether a
    fill waits for its round trip once its half frees.
    """

    n: int
    batch: int
    split: str
    clock: F64
    cores: I64
    array: F64
    buffers: F64
    memory: F64
    valid: npt.NDArray[np.bool_]

    @property
    def ns_cyc(self) -> F64:
        """Return the clock period."""
        out: F64 = 1000.0 / self.clock
        return out

    @property
    def bw(self) -> F64:
        """Return the busiest core's bandwidth, every core streaming (bytes/ns)."""
        return self.memory[:, 0]

    @property
    def bw_alone(self) -> F64:
        """Return a core's bandwidth when it streams alone (bytes/ns)."""
        return self.memory[:, 1]

    @property
    def lat(self) -> F64:
        """Return the round trip of a request (ns)."""
        return self.memory[:, 2]

    @property
    def mem_pj(self) -> F64:
        """Return the off-chip energy per byte (pJ)."""
        return self.memory[:, 3]

    @property
    def burst(self) -> F64:
        """Return the off-chip burst (bytes)."""
        return self.memory[:, 4]

    @property
    def exposed(self) -> F64:
        """Return 1 where a fill waits for its round trip once its half frees."""
        return self.memory[:, 5]


@dataclass(frozen=True)
class OnChipFlags:
    """What each variant keeps on chip (1.0 in a ``*_spill`` column: it spills)."""

    resident: npt.NDArray[np.bool_]
    acts_spill: F64
    state_spill: F64


@dataclass(frozen=True)
class Terms:
    """One matvec on every variant: its busiest core's times (ns), bytes and energy (pJ)."""

    cycles: F64  # array cycles (all passes)
    comp: F64
    lead: F64  # activation import and start latency
    tail: F64  # adder-tree fill and export
    nbytes: F64
    first: F64  # bytes of its first weight fill
    chunks: F64  # fills
    c_first: F64  # compute of a full fill
    c_last: F64  # compute of the last fill
    fill: F64  # the first fill's transfer (every core streaming)
    rest: F64  # bytes after the first fill
    rest_ns: F64  # their transfer, double buffered (with any round trips not hidden)
    merged: npt.NDArray[np.bool_]  # the engine merges its fills (requested once started)
    k: F64  # cores sharing the busiest core's channels
    fill_alone: F64  # the first fill's transfer, alone on the channels
    own: F64  # the busiest core's later fills, single buffered (round trips, transfers)
    pj_resident: F64  # all cores, weights on chip
    pj_streamed: F64  # all cores, weights streamed


class WeightStream:
    """Each variant's weight stream: when it is free, and when its next two fills may start.

    A weight buffer's two halves (double buffered): the next matvec's first fill may
    start once the array has started this one's last fill (the half of the fill before
    is free), the one after once the array has ended; a single half: once the array has
    ended. Per core of a layers split (each streams its own layers' weights).
    """

    def __init__(self, var: Variants, resident: npt.NDArray[np.bool_]) -> None:
        cols = int(var.cores.max()) if var.split == "layers" else 1
        self.var = var
        self.resident = resident
        self.free = np.full((var.n, cols), -np.inf)
        self.slot_a = np.full((var.n, cols), -np.inf)
        self.slot_b = np.full((var.n, cols), -np.inf)
        self.rows = np.arange(var.n)
        self.double = var.buffers[:, 3] >= 2

    def first_land(self, tm: Terms, core: I64 | None) -> F64:
        """Return when a single-buffered stream's first fill of matvec ``tm`` lands."""
        if core is None:
            df, sa = self.free[:, 0], self.slot_a[:, 0]
        else:
            df, sa = self.free[self.rows, core], self.slot_a[self.rows, core]
        paused = np.where(sa > df, self.var.lat, 0.0)
        out: F64 = np.maximum(df, sa) + tm.k * (paused + tm.fill_alone)
        return out

    def matvec(self, t_now: F64, tm: Terms, core: I64 | None) -> F64:
        """Run one matvec from ``t_now`` (its gap done); return when its export ends.

        Args:
            t_now: When the matvec is dispatched.
            tm: Its terms.
            core: Each variant's core (a layers split), or ``None`` (a rows split: the
                busiest core stands for all).
        """
        lat = self.var.lat
        if core is None:
            df, sa, sb = self.free[:, 0], self.slot_a[:, 0], self.slot_b[:, 0]
        else:
            df = self.free[self.rows, core]
            sa = self.slot_a[self.rows, core]
            sb = self.slot_b[self.rows, core]
        ready = t_now + tm.lead
        dma0 = np.maximum(df, sa)
        paused = np.where(sa > df, lat, 0.0)  # a stream that restarts waits a round trip
        land0 = dma0 + paused + tm.fill
        begin = np.maximum(ready, land0)
        # Double buffered: the second fill once the other half is free, the rest back to
        # back, each requested as the array frees a half (where a fill's round trip and
        # compute outlast its transfer, every two fills wait for the difference: ``extra``).
        # A merged transfer (the engine's, beyond max_transactions) is requested once the
        # array has started the matvec.
        go = np.maximum(land0, sb)
        go = np.where(tm.merged, np.maximum(go, begin), go)
        mem_end = np.where(tm.rest > 0, go + np.where(sb > land0, lat, 0.0) + tm.rest_ns, land0)
        end2 = np.maximum(begin + tm.comp, mem_end + tm.c_last)
        # Single buffered: fill, compute, fill, compute ... at the bandwidth a core draws
        # alone; k cores sharing the channels take turns, each fill holding them for its
        # round trip and its transfer (the busiest core's every fill waits for the
        # others': theirs of this matvec, or of the next once they are done).
        land1 = dma0 + tm.k * (paused + tm.fill_alone)
        end1 = np.maximum(ready, land1) + tm.comp + tm.k * tm.own
        end = np.where(self.resident, ready + tm.comp, np.where(self.double, end2, end1))
        next_a = np.where(
            self.double,
            np.where(tm.chunks >= 2, end - tm.c_last, sb),
            end - (tm.k - 1) * (lat + tm.fill_alone),
        )
        channel = np.where(self.double, mem_end, land1 + tm.k * tm.own)
        keep = self.resident
        new = (np.where(keep, df, channel), np.where(keep, sa, next_a), np.where(keep, sb, end))
        if core is None:
            self.free[:, 0], self.slot_a[:, 0], self.slot_b[:, 0] = new
        else:
            self.free[self.rows, core], self.slot_a[self.rows, core] = new[0], new[1]
            self.slot_b[self.rows, core] = new[2]
        out: F64 = end + tm.tail
        return out


@dataclass(frozen=True)
class StepGaps:
    """One step's gaps for every variant (2-D: variant × gap)."""

    gaps: F64  # cycles before each matvec, and after the last
    held: F64  # dispatch cycles after the matvec before, less what it lasted
    vector_cycles: F64
    vector_pj: F64
    embed_bytes: F64
    act_spill: F64  # bytes per gap if activations spill
    state_spill: F64  # bytes per gap if the state spills
    act_ops: F64  # ops per gap that move activations (each its own transfer)
    state_ops: F64  # ops per gap that move the state (recurrences)


class Gaps:
    """The gap profiles of a group's distinct vector/norm/control combinations."""

    def __init__(self, profiles: list[list[GapProfile] | None], inv: I64) -> None:
        self.profiles = profiles
        self.inv = inv
        self.valid = np.array([p is not None for p in profiles])[inv]

    def step(self, index: int) -> StepGaps:
        """Spread step ``index``'s profile of each combination to its variants."""
        ref = next((p for p in self.profiles if p is not None), None)
        width = ref[index].gaps.size if ref is not None else 1
        k = len(self.profiles)
        gaps, held = np.zeros((k, width)), np.zeros((k, width))
        act, state = np.zeros((k, width)), np.zeros((k, width))
        act_n, state_n = np.zeros((k, width)), np.zeros((k, width))
        scal = np.zeros((k, 3))
        for j, prof in enumerate(self.profiles):
            if prof is not None:
                p = prof[index]
                gaps[j], held[j], act[j], state[j] = p.gaps, p.held, p.act_spill, p.state_spill
                act_n[j], state_n[j] = p.act_ops, p.state_ops
                scal[j] = (p.vector_cycles, p.vector_pj, p.embed_bytes)
        s = scal[self.inv]
        inv = self.inv
        return StepGaps(
            gaps[inv], held[inv], s[:, 0], s[:, 1], s[:, 2], act[inv], state[inv],
            act_n[inv], state_n[inv],
        )  # fmt: skip


def family_of(var: Variants, onchip: OnChipFlags) -> npt.NDArray[np.object_]:
    """Each variant's regime of the tier, in words (see :attr:`Estimates.family`)."""
    parts = [
        np.where(var.buffers[:, 3] >= 2, "double-buffered", "single-buffered"),
        np.where(var.bw_alone > var.bw * (1 + 1e-9), "shared channels", "own channels"),
        np.where(var.array[:, 3] > 0, "zero skipping", "dense"),
    ]
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + ", " + p.astype(object)
    out = np.where(onchip.resident, out + ", weights on chip", out)
    out = np.where(onchip.acts_spill > 0, out + ", activations spill", out)
    out = np.where(onchip.state_spill > 0, out + ", state spills", out)
    if var.split == "layers":
        out = out + ", layers split"
    result: npt.NDArray[np.object_] = out.astype(object)
    return result


def moved_bytes(nbytes: F64, burst: F64) -> F64:
    """Return the bytes a transfer moves (whole bursts)."""
    out: F64 = np.ceil(nbytes / burst) * burst
    return out


def worst_utilisation(used: Mapping[str, F64], base: Arch, n: int) -> F64:
    """Return each variant's largest used/available over resource kinds."""
    avail = base.device.resources.available() if base.device.resources else {}
    util = np.zeros(n)
    for k, u in used.items():
        a = avail.get(k, 0)
        util = np.maximum(util, u / a if a else np.where(u > 0, np.inf, 0.0))
    return util


def array_figures(arch: Arch, i: int) -> list[float]:
    """The array's lanes, rows, tile width, zero skipping, packing, widths, latencies."""
    a = arch.spec.units[i]
    assert isinstance(a, TernaryArray)
    return [
        float(a.lanes),
        float(a.rows_parallel * a.count),
        float(a.tile_cols),
        1.0 if a.zero_skipping else 0.0,
        a.bits_per_weight,
        float(a.activation_bits),
        float(a.accumulator_bits),
        float(a.start_latency_cycles),
        float(a.handoff_bubble_cycles),
        float(a.tree_depth + a.pipeline_stages),
        float(a.parallel_vectors),
    ]


def busiest_share(spec: TernaryArray, m: MatrixInfo, lo: int, hi: int) -> tuple[float, ...]:
    """Rows ``[lo, hi)`` of ``m``: cycles, bubbles, bytes, tiles, rows, share of all."""
    if hi <= lo:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    cycles, nbytes, _adds, bubbles = tile_cycles(spec, m, lo, hi)
    return (
        float(cycles.sum()),
        float(bubbles.sum()),
        float(nbytes.sum()),
        float(cycles.size),
        float(hi - lo),
        (hi - lo) / m.rows,
    )


def slowest_core_cycles(
    spec: TernaryArray, m: MatrixInfo, n: int, per_row: I64 | None = None
) -> float:
    """Return the array cycles of the slowest core of a rows split, zero skipping on.

    Each core's rows go in groups of ``rows_parallel × count`` from its first row; a
    tile takes the cycles of its row with most nonzeros (at least one), and a group's
    last tile the hand-off bubble too (the engine's :func:`tile_cycles`, for every core
    at once). With zero skipping cores differ, and the barrier after the matvec waits
    for the slowest.

    Args:
        spec: The array.
        m: The matrix.
        n: Cores.
        per_row: Each row's cycles per tile, ``ceil(nonzeros / lanes)`` (computed when
            not given; the same for every core count and rows in parallel).
    """
    p = spec.rows_parallel * spec.count
    if per_row is None:
        per_row = -(-m.row_tile_nnz(spec.tile_cols) // spec.lanes)
    starts: list[int] = []
    firsts: list[int] = []
    for c in range(n):
        lo, hi = m.rows * c // n, m.rows * (c + 1) // n
        if hi > lo:
            firsts.append(len(starts))
            starts.extend(range(lo, hi, p))
    if not starts:
        return 0.0
    tiles = np.maximum(1, np.maximum.reduceat(per_row, np.array(starts), axis=0))
    groups = tiles.sum(axis=1) + spec.handoff_bubble_cycles
    return float(np.add.reduceat(groups, np.array(firsts)).max())


def layer_core(layer: int, layers: int, cores: I64) -> I64:
    """Each variant's core of a layer in a layers split (the engine's ``op_core``)."""
    if layer < 0:
        return cores - 1
    out: I64 = np.minimum(cores - 1, layer * cores // max(1, layers))
    return out


@dataclass(frozen=True)
class GapProfile:
    """One step's gaps on one design (per matvec boundary) and what they move."""

    gaps: F64  # cycles before each matvec, and after the last (matvecs + 1)
    held: F64  # per gap: dispatch cycles its first op waits after the matvec before
    #            (issue ahead: less what the matvec lasted, known only when it runs)
    vector_cycles: float  # the busiest core's elementwise and norm cycles
    vector_pj: float  # all cores
    embed_bytes: float
    act_spill: F64  # bytes per gap if activations spill
    state_spill: F64  # bytes per gap if state spills
    act_ops: F64  # ops per gap that move activations when they spill
    state_ops: F64  # ops per gap that move the state when it spills


def gap_profiles(arch: Arch, wl: Workload) -> list[GapProfile]:
    """Every step's gaps, from the engine's own unit models of this design."""
    ctx = BuildContext(
        env=simpy.Environment(), arch=arch, energy=EnergyTable(arch.device), recorder=Recorder()
    )
    system = FpgaSystem(arch, wl, ctx, SimOptions())
    system.build()
    n = len(system.cores)
    rows = arch.spec.layout.split == "rows"
    sync = arch.spec.layout.sync_cycles if (rows and n > 1) else 0
    ctrl = system.cores[0].control
    overhead = ctrl.overhead_cycles
    ahead = ctrl.spec.issue_ahead
    ns_cyc = ctx.ns_per_cycle
    d = int(wl.model.get("d", 0))
    div = n if rows else 1
    done: dict[tuple[int, str, int], tuple[float, float]] = {}

    def work(core: int, op: Op, elements: int) -> tuple[float, float]:
        # a unit's work depends on its description and the elements only (the same unit
        # on many cores and steps: computed once)
        key = (id(system.cores[core].executors.get(op.kind)), op.kind, elements)
        if key not in done:
            done[key] = system.vector_work(system.cores[core], op, elements)
        return done[key]

    norm_unit = system.cores[0].executors.get("norm")
    fused_pj = norm_unit.fused_quantise_pj if isinstance(norm_unit, NormUnitModel) else None

    out = []
    # the op before's cycles since its issue (a matvec: longer than any dispatch); the
    # dispatch runs on across steps, as the engine's does
    prev = math.inf
    after_matvec = False
    for step in wl.steps:
        gaps = [0.0]
        held = [0.0]
        act = [0.0]
        state = [0.0]
        act_n = [0.0]
        state_n = [0.0]
        vec_cyc = 0.0
        vec_pj = 0.0
        embed = 0.0
        for seq, op in enumerate(step.ops):
            if system.absorbed(step, seq):  # run inside the norm before it: energy only
                assert fused_pj is not None
                k = n if rows else 1
                vec_pj += sum(
                    fused_pj(op.elements * (c + 1) // k - op.elements * c // k) for c in range(k)
                )
                continue
            if ahead and after_matvec:  # waits out what the matvec did not cover
                held[-1] += max(0.0, overhead - prev)
                wait = 0.0
            else:
                wait = max(0.0, overhead - prev) if ahead else float(overhead)
            after_matvec = False
            gaps[-1] += wait
            if op.kind == "embedding":
                embed += op.bytes_out
                prev = math.inf
                continue
            act[-1] += (op.bytes_in + op.bytes_out) // div
            act_n[-1] += 1.0 if (op.bytes_in + op.bytes_out) // div > 0 else 0.0
            if op.kind == "recurrence":
                state[-1] += 2 * d * STATE_BYTES * wl.batch // div
                state_n[-1] += 1.0
            if op.is_matvec:
                for col in (gaps, held, act, state, act_n, state_n):
                    col.append(0.0)
                prev, after_matvec = 0.0, True  # its own cycles are added when it runs
            elif op.kind in ELEMENTWISE_OPS or op.kind == "norm":
                if rows:  # the cores' shares: r of them q + 1 elements, the others q
                    q, r = divmod(op.elements, n)
                    works = [(work(0, op, q + 1), r), (work(0, op, q), n - r)]
                else:
                    works = [(work(system.op_core(op), op, op.elements), 1)]
                cyc = max(w[0] for w, count in works if count) / ns_cyc
                gaps[-1] += cyc
                vec_cyc += cyc
                vec_pj += sum(w[1] * count for w, count in works)
                prev = cyc
            if sync and system.needs_barrier(op):
                gaps[-1] += sync
                prev += sync
        out.append(
            GapProfile(
                gaps=np.array(gaps),
                held=np.array(held),
                vector_cycles=vec_cyc,
                vector_pj=vec_pj,
                embed_bytes=float(embed),
                act_spill=np.array(act),
                state_spill=np.array(state),
                act_ops=np.array(act_n),
                state_ops=np.array(state_n),
            )
        )
    return out
