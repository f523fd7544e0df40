"""An FPGA design assembled from its unit models, and the schedule that replays work on it.

Phases: :meth:`FpgaSystem.build` makes the unit models from the registry
(:data:`arch_models.units.UNIT_MODELS`), one set per core and the shared off-chip memory
once, and gives them their roles (the array, the weight buffer, dispatch, and for each
elementwise or norm op the most specialised unit that runs it);
:meth:`FpgaSystem.connect` plans every matvec's weight transfers per core and decides what
lives on chip (weights, recurrent state, activations); :meth:`FpgaSystem.run` replays the
workload's steps as SimPy processes; the engine then collects the recorder's rows.

Scheduling. With ``split: rows`` every op is spread over all cores (each core takes a
slice of each matrix's rows or of each vector's elements) and cores meet at a barrier
(``sync_cycles``) after every op that needs all of them (matvecs, norms and quantisation,
whose reductions span the vector; with ``core_layout.sync: reductions`` after the norms
and quantisations only). Each op waits for its dispatch (``control.op_overhead_cycles``
after the op before ended, or after it started with ``control.issue_ahead``). With
``split: layers`` each core runs whole layers: steps flow through the cores as a pipeline
(prefill tokens overlap; a decode token waits for the previous one, whose output it needs).
A quantisation that a fusing norm unit runs inside the norm before it
(``norm_unit.fuse_quantise``, :meth:`FpgaSystem.absorbed`) is not an op of its own: no
dispatch, time, barrier or spill; its energy is recorded on the norm unit.

Each core's DMA process streams the weight chunks of its matvecs, in execution order, into
the weight buffer's slots ahead of use, across op and step boundaries (weights do not
depend on data), so a memory-bound design shows the array stalled on empty slots and a
compute-bound one shows the DMA back-pressured by full slots. A fill's requests leave when
its slot is freed (the memory model times them, :meth:`OffChipModel.fill`), so the access
latency is hidden as far as the previous fill's transfer covers it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from arch_models.spec.arch import Arch
from arch_models.spec.units import Buffer, Control, UnitBase
from arch_models.units import (
    UNIT_MODELS,
    BufferModel,
    BuildContext,
    ControlModel,
    OffChipModel,
    TernaryArrayModel,
    UnitModel,
    plan_matvec,
)
from arch_models.units.control import DEFAULT_CONTROL
from arch_models.units.ternary import Chunk, MatvecPlan
from arch_models.units.vector import NormUnitModel
from arch_models.workload import ELEMENTWISE_OPS, Op, Step, Workload
from cosim.run_result import OnChip

__all__ = ["AfterMatvec", "FpgaSystem", "SimOptions"]

#: What a card waits for after a matvec: ``(step, seq, op) -> generator`` (see
#: :meth:`FpgaSystem.run_step`).
AfterMatvec = Callable[[Step, int, Op], Generator[Any, Any, None]]


def _fill_shares(core: Core, chunk: Chunk) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return each fill of a merged ``chunk``: its compute (ns) and its bytes."""
    if chunk.fill_cycles is not None and chunk.fill_bytes is not None:
        cycles = chunk.fill_cycles.astype(np.float64)
        sizes = chunk.fill_bytes
    else:  # an even split (a chunk planned without its fills' shares)
        cycles = np.full(chunk.fills, chunk.cycles / chunk.fills)
        size, extra = divmod(chunk.nbytes, chunk.fills)
        sizes = np.full(chunk.fills, size, dtype=np.int64)
        sizes[-1] += extra
    return cycles * core.tmac.cycles_to_ns(1), sizes


def _largest_vector(steps: list[Step] | tuple[Step, ...]) -> int:
    """Return the largest activation vector (bytes in or out of one op) of ``steps``."""
    return max((max(op.bytes_in, op.bytes_out) for s in steps for op in s.ops), default=0)


def _periodic(
    arrive: npt.NDArray[np.float64], ends: npt.NDArray[np.float64], j: int, span: int
) -> bool:
    """Return whether the last ``span`` fills up to ``j`` repeat over two, shifted alike."""
    if j < span - 1:
        return False
    shift = arrive[j] - arrive[j - 2]
    tol = 1e-6 * max(1.0, abs(float(shift)))
    for x in (arrive, ends):
        d = x[j - span + 3 : j + 1] - x[j - span + 1 : j - 1]
        if np.abs(d - shift).max() > tol:
            return False
    return True


#: Bytes per recurrent-state element (16-bit fixed point).
STATE_BYTES = 2


@dataclass(frozen=True)
class SimOptions:
    """Fidelity knobs.

    Attributes:
        max_transactions: Upper bound on weight transfers per matvec per core (chunks after
            the first are merged beyond it; see :mod:`arch_models.units.ternary`).
    """

    max_transactions: int = 4


@dataclass
class Core:
    """The unit models of one core, and the roles the schedule gives them.

    Attributes:
        index: The core's number (``top.core<index>``).
        units: Every unit model of the core, in file order.
        tmac: The ternary array (matvecs).
        control: Dispatch (the overhead before each op).
        wbuf: The weight buffer, if the design has one.
        executors: Op kind → the unit that runs it (elementwise and norm ops).
        slots: The weight buffer's slots (two when double buffered).
        ready: Landed weight chunks, in order of use.
        freed: When each free slot became free, oldest first (the DMA's requests for a
            fill leave then).
        free_floor: The next slot taken is truly free no earlier than this (the other
            half after a merged transfer's fills).
        chain: Per matvec being streamed, what the DMA knows of its chunks so far:
            ``(landed, compute ns)`` of a single fill, or ``(nan, predicted end)`` of a
            merged transfer.
    """

    index: int
    units: list[UnitModel[Any]]
    tmac: TernaryArrayModel
    control: ControlModel
    wbuf: BufferModel | None
    executors: dict[str, UnitModel[Any]]
    slots: simpy.Container
    ready: simpy.Store
    plans: dict[tuple[int, int], MatvecPlan] = field(default_factory=dict)
    started: dict[tuple[int, int], simpy.Event] = field(default_factory=dict)
    freed: deque[float] = field(default_factory=deque)
    free_floor: float = -math.inf
    chain: dict[tuple[int, int], list[tuple[float, float]]] = field(default_factory=dict)
    issued: float = -math.inf


def _executors(units: list[UnitModel[Any]]) -> dict[str, UnitModel[Any]]:
    """Map each op kind to the most specialised unit that runs it (then file order)."""
    out: dict[str, UnitModel[Any]] = {}
    for unit in sorted(units, key=lambda u: len(u.executes)):  # stable: file order kept
        for op in unit.executes:
            out.setdefault(op, unit)
    return out


class FpgaSystem:
    """One FPGA design instantiated for one workload."""

    def __init__(
        self, arch: Arch, workload: Workload, ctx: BuildContext, options: SimOptions
    ) -> None:
        self.arch = arch
        self.workload = workload
        self.ctx = ctx
        self.options = options
        self.cores: list[Core] = []
        self.shared: list[UnitModel[Any]] = []
        self.mem: OffChipModel | None = None
        self.onchip = OnChip(weights_resident=False, state_on_chip=False, activations_on_chip=False)
        self.acts_fit: dict[int, bool] = {}
        self.step_end_ns: dict[int, float] = {}
        self.mirrored = False
        self.live: list[Core] = []
        self.step_start_ns: dict[int, float] = {}

    # ----------------------------------------------------------------- build
    def build(self) -> None:
        """Create the unit models from the registry: per core, or once for the device.

        Raises:
            ValueError: The design lacks a block the schedule needs (an array, a memory).
        """
        spec = self.arch.spec
        per_core: list[tuple[type[UnitModel[Any]], UnitBase]] = []
        for block in spec.units:
            model = UNIT_MODELS.get(block.kind)
            if model is None:
                continue  # structure only (core_layout)
            if model.placement == "device":
                self.shared.append(model.create(self.ctx, f"top.{block.name}", block))
            else:
                per_core.append((model, block))
        if not any(isinstance(b, Control) for _, b in per_core):
            per_core.append((ControlModel, DEFAULT_CONTROL))
        self.mem = next((u for u in self.shared if isinstance(u, OffChipModel)), None)
        if self.mem is None:
            raise ValueError(f"design {spec.name!r} has no off-chip memory (ddr4 or hbm)")
        for c in range(spec.layout.cores):
            units = [m.create(self.ctx, f"top.core{c}.{b.name}", b) for m, b in per_core]
            tmac = next((u for u in units if isinstance(u, TernaryArrayModel)), None)
            if tmac is None:
                raise ValueError(f"design {spec.name!r} has no ternary_array")
            wbuf = next(
                (u for u in units if isinstance(u, BufferModel) and u.spec.holds == "weights"),
                None,
            )
            control = next(u for u in units if isinstance(u, ControlModel))
            slots = wbuf.slots if wbuf else simpy.Container(self.ctx.env, capacity=2, init=2)
            self.cores.append(
                Core(
                    index=c,
                    units=units,
                    tmac=tmac,
                    control=control,
                    wbuf=wbuf,
                    executors=_executors(units),
                    slots=slots,
                    ready=simpy.Store(self.ctx.env),
                    freed=deque([0.0] * int(slots.level)),
                )
            )

    # --------------------------------------------------------------- connect
    def _core_rows(self, rows: int, core: int) -> tuple[int, int]:
        """Return the row slice of a matrix a core computes (rows split)."""
        n = len(self.cores)
        return rows * core // n, rows * (core + 1) // n

    def connect(self) -> None:
        """Plan weight transfers and decide what stays on chip."""
        spec = self.arch.spec
        array = self.cores[0].tmac.spec
        rows_split = spec.layout.split == "rows"
        wbuf = self.cores[0].wbuf
        full_tile = math.ceil(
            array.rows_parallel * array.count * array.tile_cols * array.bits_per_weight / 8
        )
        chunk = wbuf.chunk_bytes if wbuf else full_tile
        per_core_bytes = [0] * len(self.cores)
        # one plan per matrix and number of vectors a step's weight read serves
        counts = sorted({s.vectors for s in self.workload.steps} or {self.workload.batch})
        for m in self.workload.matrices.values():
            for core in self.cores:
                if rows_split:
                    lo, hi = self._core_rows(m.rows, core.index)
                else:
                    lo, hi = 0, m.rows
                for vectors in counts:
                    core.plans[m.id, vectors] = plan_matvec(
                        array,
                        m,
                        lo,
                        hi,
                        chunk,
                        self.options.max_transactions,
                        vectors=vectors,
                    )
        if rows_split:
            for core in self.cores:
                per_core_bytes[core.index] = sum(
                    p.nbytes for (_, v), p in core.plans.items() if v == counts[0]
                )
        else:
            for op in self.workload.steps[0].ops if self.workload.steps else ():
                if op.is_matvec:
                    c = self.op_core(op)
                    per_core_bytes[c] += self.cores[c].plans[op.matrix, counts[0]].nbytes
        notes = []
        resident = wbuf is not None and max(per_core_bytes) <= wbuf.spec.capacity_bytes
        if resident:
            notes.append(
                f"weights resident on chip ({max(per_core_bytes):,} B per core fit "
                f"{wbuf.spec.name if wbuf else ''})"
            )
        layers = int(self.workload.model.get("layers", 1))
        d = int(self.workload.model.get("d", 0))
        cores = len(self.cores)
        # every sequence of a batch keeps its own recurrent state
        state_need = math.ceil(layers * d * STATE_BYTES * self.workload.batch / cores)
        # the decode steps decide what the summary reports; a prefill chunk whose
        # activations do not fit spills them for that step only (see _acts_on_chip)
        steady = self.workload.decode_steps[:1] or self.workload.steps[:1]
        max_vec = _largest_vector(steady)
        cap = {
            h: sum(b.capacity_bytes for b in spec.units_of(Buffer) if b.holds == h)
            for h in ("activations", "state", "general")
        }
        act_cap = cap["activations"] + cap["general"]
        act_ok = act_cap >= max_vec
        self.acts_fit = {
            v: act_cap >= _largest_vector([s for s in self.workload.steps if s.vectors == v][:1])
            for v in {s.vectors for s in self.workload.steps}
        }
        state_cap = cap["state"] + (act_cap - max_vec if act_ok else 0)
        state_ok = state_cap >= state_need
        if not act_ok:
            holders = [b.name for b in spec.units_of(Buffer) if b.holds == "activations"]
            fix = f"raise {holders[0]}.capacity_kib" if holders else "add an activation buffer"
            notes.append(
                f"activations spill to off-chip memory (largest vector {max_vec:,} B "
                f"> {act_cap:,} B of activation buffers; in {self.arch.filename}: {fix})"
            )
        if not state_ok:
            holders = [b.name for b in spec.units_of(Buffer) if b.holds == "state"]
            fix = f"raise {holders[0]}.capacity_kib" if holders else "add a buffer that holds state"
            notes.append(
                f"recurrent state spills to off-chip memory ({state_need:,} B per core "
                f"> {state_cap:,} B available; {self.workload.batch} sequences' state in "
                f"{self.arch.filename}: {fix} or lower {spec.layout.name}.batch)"
            )
        self.onchip = OnChip(
            weights_resident=resident,
            state_on_chip=state_ok,
            activations_on_chip=act_ok,
            notes=tuple(notes),
        )
        self.mirrored = self._symmetric()
        self.live = self.cores[:1] if self.mirrored else self.cores

    def _acts_on_chip(self, step: Step) -> bool:
        """Return whether this step's activations stay on chip (a large chunk may not)."""
        return self.onchip.activations_on_chip and self.acts_fit.get(step.vectors, True)

    def _symmetric(self) -> bool:
        """Return whether every core does exactly the same work at the same times.

        True for a rows split whose cores own their channels, stream dense arrays, keep
        activations and state on chip, and get equal shares of every matrix and vector:
        then one core is simulated and its rows stand for all (exact, not an estimate).
        """
        n = len(self.cores)
        mem = self.mem
        if n == 1 or mem is None or self.arch.spec.layout.split != "rows":
            return False
        if self.cores[0].tmac.spec.zero_skipping or mem.groups != n:
            return False
        if not (self.onchip.activations_on_chip and self.onchip.state_on_chip):
            return False
        if not all(self.acts_fit.values()):
            return False
        if any(m.rows % n for m in self.workload.matrices.values()):
            return False
        ops = self.workload.steps[0].ops if self.workload.steps else ()
        return all(
            op.elements % n == 0 for op in ops if not op.is_matvec and op.kind != "embedding"
        )

    def op_core(self, op: Op) -> int:
        """Return the core that runs ``op`` in a layers split."""
        n = len(self.cores)
        layers = int(self.workload.model.get("layers", 1))
        if op.layer >= 0:
            return min(n - 1, op.layer * n // max(1, layers))
        return 0 if op.kind == "embedding" else n - 1

    def absorbed(self, step: Step, seq: int) -> bool:
        """Return whether op ``seq`` of ``step`` runs inside the norm before it.

        True for a quantisation of the vector the op before normalised (same elements,
        same core) when the cores' norm unit fuses the quantiser (``fuse_quantise``).
        """
        if seq == 0 or not self.cores:
            return False
        op, before = step.ops[seq], step.ops[seq - 1]
        if op.kind != "quantise" or before.kind != "norm" or op.elements != before.elements:
            return False
        unit = self.cores[0].executors.get("norm")
        if not (isinstance(unit, NormUnitModel) and unit.spec.fuse_quantise):
            return False
        return self.arch.spec.layout.split == "rows" or self.op_core(op) == self.op_core(before)

    def _record_absorbed(self, core: Core, op: Op, step: Step, share: int) -> None:
        """Record a fused quantisation's energy on the core's norm unit (no time)."""
        unit = core.executors["norm"]
        assert isinstance(unit, NormUnitModel)
        # now, busy for no time: the record's defaults
        unit.record(unit.kind, op.kind, op.name, step.index, step.phase,
                    energy_pj=unit.fused_quantise_pj(share))  # fmt: skip

    # ------------------------------------------------------------------- run
    def run(self, on_step_done: Any = None) -> simpy.Process:
        """Start the replay; returns the driver process (run the env until it ends)."""
        env = self.ctx.env
        self.start_weight_streams()
        if self.arch.spec.layout.split == "rows":
            return env.process(self._drive_rows(on_step_done))
        return env.process(self._drive_layers(on_step_done))

    def start_weight_streams(self) -> None:
        """Start each core's weight DMA, which streams the workload's matvecs in order.

        :meth:`run` does it; a system of cards that drives each card's steps itself
        (:meth:`run_step`) calls it once before.
        """
        if not self.onchip.weights_resident:
            for core in self.live:
                self.ctx.env.process(self._dma(core))

    def run_step(
        self, step: Step, after_matvec: AfterMatvec | None = None
    ) -> Generator[Any, Any, None]:
        """Run one step on this card's cores (rows split, or one core), op by op.

        Steps must come in the workload's order (the weight DMA streams in that order).

        Args:
            step: A step of this system's workload.
            after_matvec: Called as ``after_matvec(step, seq, op)`` once every core has
                finished the matvec at ``seq`` (a generator: what the card waits for,
                such as an exchange with other cards).
        """
        yield from self._run_step_rows(step, after_matvec)

    def _matvec_sequence(self, core: Core) -> Iterator[tuple[Step, int, Op, int, Chunk]]:
        rows_split = self.arch.spec.layout.split == "rows"
        for step in self.workload.steps:
            for seq, op in enumerate(step.ops):
                if op.is_matvec and (rows_split or self.op_core(op) == core.index):
                    for i, chunk in enumerate(core.plans[op.matrix, step.vectors].chunks):
                        yield step, seq, op, i, chunk

    def _started(self, core: Core, key: tuple[int, int]) -> simpy.Event:
        """Return the event that fires when ``core`` starts the matvec ``key``."""
        event = core.started.get(key)
        if event is None:
            event = core.started[key] = self.ctx.env.event()
        return event

    def _dma(self, core: Core) -> Generator[Any, Any, None]:
        """Stream this core's weight chunks into its buffer slots, in order of use.

        A merged transfer (several buffer fills, see :mod:`arch_models.units.ternary`)
        announces itself when its first buffer fill has landed, so the array can start
        while the rest streams in; its ``landed`` event fires when all of it is in. On a
        core with channels of its own and a double-buffered weight buffer its fills are
        booked one by one (:meth:`_merged_fills`), as if unmerged.
        """
        assert self.mem is not None
        double = core.slots.capacity > 1
        own = self.mem.groups >= self.mem.cores
        for step, seq, op, i, chunk in self._matvec_sequence(core):
            key = (step.index, seq)
            if i == 0:
                core.chain[key] = []
            held = -math.inf
            if i > 0 and chunk.fills > 1:
                # A merged transfer stands for many buffer fills; the hardware can run
                # ahead of the array by the buffer's slots only, so it waits for the
                # array to have started this matvec (and requests nothing before).
                yield self._started(core, key)
                held = self.ctx.env.now
            landed = self.ctx.env.event()
            if double and own and chunk.fills > 1:
                yield from self._merged_fills(core, op, step, key, chunk, held, landed)
            else:
                yield core.slots.get(1)
                free_at = max(core.freed.popleft(), core.free_floor)
                core.free_floor = -math.inf
                first = chunk.nbytes // max(1, chunk.fills)
                if double and chunk.fills > 1:
                    yield from self.mem.fill(
                        core.index, first, free_at, op.kind, op.name, step.index, step.phase, held
                    )
                    yield core.ready.put((chunk, landed, None))
                    yield from self.mem.fill(
                        core.index,
                        chunk.nbytes - first,
                        None,
                        op.kind,
                        op.name,
                        step.index,
                        step.phase,
                    )
                else:
                    yield from self.mem.fill(
                        core.index,
                        chunk.nbytes,
                        free_at,
                        op.kind,
                        op.name,
                        step.index,
                        step.phase,
                        held,
                    )
                    yield core.ready.put((chunk, landed, None))
                core.chain[key].append((self.ctx.env.now, core.tmac.cycles_to_ns(chunk.cycles)))
            landed.succeed()
            if i == len(core.plans[op.matrix, step.vectors].chunks) - 1:
                del core.chain[key]
            if core.wbuf is not None:
                core.wbuf.record(
                    "buffer",
                    "write",
                    op.name,
                    step.index,
                    step.phase,
                    nbytes=chunk.nbytes,
                    energy_pj=chunk.nbytes * core.wbuf.pj_per_byte,
                )

    def _predicted_end(self, core: Core, key: tuple[int, int], started: float) -> float:
        """Return when the array will finish the chunks of matvec ``key`` streamed so far."""
        end = started
        for landed, value in core.chain[key]:
            end = value if math.isnan(landed) else max(landed, end) + value
        return end

    def _merged_fills(
        self,
        core: Core,
        op: Op,
        step: Step,
        key: tuple[int, int],
        chunk: Chunk,
        held: float,
        landed: simpy.Event,
    ) -> Generator[Any, Any, None]:
        """Book a merged transfer's buffer fills one by one, as the unmerged schedule would.

        Fill ``j`` goes to the half the array frees when it ends fill ``j - 2`` (the first
        two: the slot taken, and the half of the chunk before); the array takes fill
        ``j`` when it has landed and fill ``j - 1`` is done, a fill's share of the
        chunk's cycles each (its own: :attr:`Chunk.fill_cycles`). The memory books each
        fill (:meth:`OffChipModel.land`); once arrivals and ends repeat over two fills,
        and the fills ahead repeat those two fills' sizes and cycles, the rest is
        extrapolated.
        """
        assert self.mem is not None
        env = self.ctx.env
        mem = self.mem
        fills = chunk.fills
        per, sizes = _fill_shares(core, chunk)
        yield core.slots.get(1)
        first_free = max(core.freed.popleft(), core.free_floor)
        core.free_floor = -math.inf
        asked = env.now
        with mem.ports[core.index].request() as port:
            yield port
            now = env.now
            before = self._predicted_end(core, key, held)
            arrive = np.empty(fills)
            ends = np.empty(fills)
            size = max(1, chunk.nbytes // fills)
            spec = mem.spec
            # the stream's memory reaches this many fills back (FIFO credits, requests
            # in flight): a run is periodic only once that far back repeats too
            back = (spec.path_fifo_beats + (spec.max_outstanding or 0)) * spec.beat_bytes
            span = 6 + 2 * -(-back // max(1, size))
            moved = 0
            j = 0
            while j < fills:
                nbytes = int(sizes[j])
                moved += mem.moved_bytes(nbytes)
                if j == 0:  # its requests left when its half was free, not when the
                    free_at = at = first_free  # DMA (held for this prediction) got here
                else:
                    free_at = before if j == 1 else float(ends[j - 2])
                    at = max(free_at, float(arrive[j - 1]))
                arrive[j] = mem.land(
                    core.index, nbytes, free_at, at, after_other=j == 0 and now > asked
                )
                ends[j] = max(arrive[j], ends[j - 1] if j else before) + per[j]
                pairs = (fills - 2 - j) // 2
                if pairs > 0 and _periodic(arrive, ends, j, span):
                    k = np.arange(1, 2 * pairs + 1)
                    src = j - 1 + (k - 1) % 2
                    ahead = slice(j + 1, j + 1 + 2 * pairs)
                    if np.array_equal(per[ahead], per[src]) and np.array_equal(
                        sizes[ahead], sizes[src]
                    ):
                        shift = float(arrive[j] - arrive[j - 2])
                        arrive[ahead] = arrive[src] + (k + 1) // 2 * shift
                        ends[ahead] = ends[src] + (k + 1) // 2 * shift
                        mem.shift_stream(core.index, pairs * shift)
                        moved += sum(mem.moved_bytes(int(b)) for b in sizes[j - 1 : j + 1]) * pairs
                        j += 2 * pairs
                j += 1
            yield env.timeout(max(0.0, float(arrive[0]) - now))
            yield core.ready.put((chunk, landed, arrive))
            yield env.timeout(max(0.0, float(arrive[-1]) - env.now))
        mem.book(
            core.index,
            now,
            env.now,
            moved,
            op.kind,
            op.name,
            step.index,
            step.phase,
            stall=now - asked,
        )
        core.free_floor = float(ends[-2])
        core.chain[key].append((math.nan, float(ends[-1])))

    def _compute_matvec(
        self, core: Core, op: Op, step: Step, seq: int
    ) -> Generator[Any, Any, None]:
        """Consume one matvec's chunks as they land.

        A merged transfer ends no earlier than one buffer fill's compute after its last
        byte landed.
        """
        env = self.ctx.env
        tmac = core.tmac
        plan = core.plans[op.matrix, step.vectors]
        if not plan.chunks:
            return
        vectors = step.vectors
        yield env.timeout(tmac.cycles_to_ns(tmac.lead_cycles(op.cols, vectors)))
        self._started(core, (step.index, seq)).succeed()
        resident = self.onchip.weights_resident
        for chunk in plan.chunks:
            waited = env.now
            landed = None
            arrivals = None
            if not resident:
                _, landed, arrivals = yield core.ready.get()
            start = env.now
            busy = tmac.cycles_to_ns(chunk.cycles)
            if arrivals is not None:  # fills booked one by one: each computed once landed
                per, _ = _fill_shares(core, chunk)
                after = np.cumsum(per[::-1])[::-1]
                yield env.timeout(max(busy, float((arrivals + after).max()) - start))
            elif chunk.fills > 1 and landed is not None:
                last = float(_fill_shares(core, chunk)[0][-1])
                yield env.timeout(busy - last)
                if not landed.triggered:
                    yield landed
                yield env.timeout(last)
            else:
                yield env.timeout(busy)
            if not resident:
                core.freed.append(env.now)
                yield core.slots.put(1)
            stall = (start - waited) + (env.now - start - busy)
            tmac.record(
                "ternary_array",
                op.kind,
                op.name,
                step.index,
                step.phase,
                t_ns=start,
                nbytes=chunk.nbytes,
                energy_pj=tmac.chunk_energy_pj(chunk, vectors),
                busy_ns=busy,
                stall_ns=stall,
            )
        tail = tmac.fill_cycles + tmac.export_cycles(plan.rows, vectors)
        yield env.timeout(tmac.cycles_to_ns(tail))

    def vector_work(self, core: Core, op: Op, elements: int) -> tuple[float, float]:
        """Return (ns, energy pJ) of an elementwise or norm op on one core.

        Raises:
            ValueError: No unit of the core runs this op.
        """
        unit = core.executors.get(op.kind)
        if unit is None:
            raise ValueError(
                f"design {self.arch.spec.name!r} has no vector_unit for op {op.kind!r}"
            )
        return unit.work(op.kind, elements)

    def _spill(self, core: Core, op: Op, step: Step) -> Generator[Any, Any, None]:
        """Move what does not fit on chip through off-chip memory."""
        assert self.mem is not None
        n = len(self.cores) if self.arch.spec.layout.split == "rows" else 1
        nbytes = 0
        if not self._acts_on_chip(step):
            nbytes += (op.bytes_in + op.bytes_out) // n
        if not self.onchip.state_on_chip and op.kind == "recurrence":
            d = int(self.workload.model.get("d", 0))
            nbytes += 2 * d * STATE_BYTES * self.workload.batch // n
        if nbytes:
            yield from self.mem.transfer(
                core.index, nbytes, "spill", op.name, step.index, step.phase
            )

    def _op_on_core(
        self, core: Core, op: Op, step: Step, share: int, seq: int
    ) -> Generator[Any, Any, None]:
        """Run one op's share on one core (control overhead, spills, the work)."""
        env = self.ctx.env
        wait = self._dispatch_ns(core, env.now)
        if wait:
            yield env.timeout(wait)
        core.issued = env.now
        if not (self._acts_on_chip(step) and self.onchip.state_on_chip):
            yield from self._spill(core, op, step)
        if op.is_matvec:
            yield from self._compute_matvec(core, op, step, seq)
        elif op.kind == "embedding":
            assert self.mem is not None
            yield from self.mem.transfer(
                core.index, op.bytes_out, op.kind, op.name, step.index, step.phase
            )
        elif op.kind in ELEMENTWISE_OPS or op.kind == "norm":
            yield env.timeout(self._record_vector(core, op, step, share, env.now))
        else:
            raise ValueError(f"unknown op kind {op.kind!r} in workload")

    def _record_vector(self, core: Core, op: Op, step: Step, share: int, t_ns: float) -> float:
        """Record an elementwise or norm op's share on one core from ``t_ns``; return its ns."""
        ns, pj = self.vector_work(core, op, share)
        unit = core.executors[op.kind]
        moved = op.bytes_in * share // max(1, op.elements)
        unit.record(
            unit.kind,
            op.kind,
            op.name,
            step.index,
            step.phase,
            t_ns=t_ns,
            busy_ns=ns,
            energy_pj=pj,
            nbytes=moved,
        )
        return ns

    def _dispatch_ns(self, core: Core, now: float) -> float:
        """Return how long the core's next op waits for its dispatch from ``now``.

        ``op_overhead_cycles`` after the op before ended; with ``issue_ahead`` after it
        started (the op before has ended by ``now``), so a long op hides it.
        """
        ctrl = core.control
        overhead = ctrl.cycles_to_ns(ctrl.overhead_cycles)
        if ctrl.spec.issue_ahead:
            return max(0.0, core.issued + overhead - now)
        return overhead

    def _local_op(self, core: Core, op: Op, step: Step, share: int) -> float:
        """Record an op that touches no shared resource; return its ns with the dispatch."""
        now = self.ctx.env.now
        wait = self._dispatch_ns(core, now)
        core.issued = now + wait
        return wait + self._record_vector(core, op, step, share, now + wait)

    def needs_barrier(self, op: Op) -> bool:
        """Return whether the cores meet at a barrier after ``op`` (rows split, n > 1)."""
        if self.arch.spec.layout.sync == "reductions":
            return op.kind in ("norm", "quantise")
        return op.is_matvec or op.kind in ("norm", "quantise")

    def _run_step_rows(
        self, step: Step, after_matvec: AfterMatvec | None = None
    ) -> Generator[Any, Any, None]:
        env = self.ctx.env
        n = len(self.cores)
        sync_ns = self.cores[0].tmac.cycles_to_ns(self.arch.spec.layout.sync_cycles)
        for seq, op in enumerate(step.ops):
            if op.kind == "embedding":
                yield env.process(self._op_on_core(self.cores[0], op, step, 0, seq))
                continue
            shares = [op.elements * (c + 1) // n - op.elements * c // n for c in range(n)]
            if self.absorbed(step, seq):
                for core in self.live:
                    self._record_absorbed(core, op, step, shares[core.index])
                continue
            spills = not (self._acts_on_chip(step) and self.onchip.state_on_chip)
            if op.is_matvec or spills:
                procs = [
                    env.process(self._op_on_core(core, op, step, shares[core.index], seq))
                    for core in self.live
                ]
                yield simpy.AllOf(env, procs)
            else:
                # No shared resource is involved: the cores run independently, the op
                # ends with the slowest; one timeout stands for all of them.
                yield env.timeout(
                    max(self._local_op(core, op, step, shares[core.index]) for core in self.live)
                )
            if n > 1 and self.needs_barrier(op):
                yield env.timeout(sync_ns)
            if after_matvec is not None and op.is_matvec:
                yield from after_matvec(step, seq, op)

    def _drive_rows(self, on_step_done: Any) -> Generator[Any, Any, None]:
        env = self.ctx.env
        for step in self.workload.steps:
            self.step_start_ns[step.index] = env.now
            yield from self._run_step_rows(step)
            self.step_end_ns[step.index] = env.now
            if on_step_done:
                on_step_done(step)

    def _drive_layers(self, on_step_done: Any) -> Generator[Any, Any, None]:
        env = self.ctx.env
        n = len(self.cores)
        links = [simpy.Store(env, capacity=1) for _ in range(n + 1)]
        segments: dict[int, list[int]] = {c: [] for c in range(n)}
        ops0 = self.workload.steps[0].ops if self.workload.steps else ()
        for i, op in enumerate(ops0):
            segments[self.op_core(op)].append(i)

        def stage(core: Core) -> Generator[Any, Any, None]:
            while True:
                step = yield links[core.index].get()
                for i in segments[core.index]:
                    if self.absorbed(step, i):
                        self._record_absorbed(core, step.ops[i], step, step.ops[i].elements)
                        continue
                    yield env.process(
                        self._op_on_core(core, step.ops[i], step, step.ops[i].elements, i)
                    )
                yield links[core.index + 1].put(step)

        for core in self.cores:
            env.process(stage(core))

        done = {s.index: env.event() for s in self.workload.steps}

        def sink() -> Generator[Any, Any, None]:
            while True:
                step = yield links[n].get()
                self.step_end_ns[step.index] = env.now
                done[step.index].succeed()
                if on_step_done:
                    on_step_done(step)

        env.process(sink())
        for step in self.workload.steps:
            if step.phase == "decode" and step.index > 0:
                yield done[step.index - 1]
            self.step_start_ns[step.index] = env.now
            yield links[0].put(step)
        yield simpy.AllOf(env, list(done.values()))
