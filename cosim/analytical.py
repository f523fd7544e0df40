"""The analytical tier: many design variants at once, each its floor plus its fixed costs.

Tier 2 of the fidelity ladder (``DESIGN.md``). It estimates what the SimPy tier
(:func:`cosim.engine.simulate`) would report for every variant of one base design, given
as columns of changed fields (``{"tmac.lanes": array, "clock_mhz": array, ...}``), with
NumPy over all variants at once: tokens/s, ms per token, time to first token, W, J per
token, resources and whether they fit.

What it computes, per variant:

- **Unit figures from the unit models themselves**, once per distinct value of the fields
  they depend on (a variant's unit is validated with :func:`~arch_models.spec.evolve.evolve`):
  each unit's resources, the memory's bandwidths and round trip, and the cycles of every
  elementwise and norm op, dispatch and barrier between two matvecs (*gaps*, from the
  engine's own unit models, :class:`cosim.fpga.FpgaSystem`). A matvec's array cycles,
  hand-off bubbles and packed bytes on its busiest core come from the engine's own tile
  arithmetic (:func:`~arch_models.units.ternary.tile_cycles`), once per distinct array
  shape, core count and matrix (per matrix shape for dense arrays); with zero skipping
  the cycles are the slowest core's, every core counted at once.
- **A pipeline recurrence over the ops of each step**, vectorised over variants: each
  matvec waits for its gap, its activation import and start latency, and for its first
  weight fill; the weight DMA streams ahead of the array by the buffer's slots (the first
  fill of the next matvec while the array computes this one's last, the rest once a slot
  frees; the access latency paid when the stream restarts); the array ends no earlier
  than its compute after it started, nor than one fill's compute after the last byte
  landed; then the adder-tree fill and the export. A single-buffered design fills and
  computes in turn, at the bandwidth a core draws alone, while cores sharing channels
  take turns on them. A transfer the engine merges (beyond ``max_transactions``) is
  requested once the matvec has started, as the engine does. Steps follow one another,
  the DMA's state carried across (weights do not depend on data). Activations or state
  that do not fit on chip spill op by op, each op's spill its own transfer; behind a
  single-buffered stream they queue on the core's port for the next matvec's first fill.
- **Floors**: a step is never shorter than its off-chip bytes over the bandwidth its
  busiest core can draw, its array cycles, or its vector cycles (the engine's bounds);
  the estimate is the larger of the recurrence and the floor, so the tier never reports
  a variant faster than its bounds.
- **Power**: the device's static power, the clock network's (flip-flops from the resource
  estimate) and the dynamic energy of the events the engine records (ternary adds,
  accumulations, weight-buffer reads and writes, off-chip bytes, vector and norm ops,
  spills) over the decode window.

What it leaves out (why its error against SimPy is measured per example space by
``benchmarks/explore.py`` and per family of its regimes, :attr:`Estimates.family`, by
every two-tier study; never assumed): spills interleaved with a double-buffered
stream's fills on the port (a spilling variant's family says so), merged transfers'
fill-by-fill booking, the memory path's beat-level request window (its bandwidth is
kept), queueing of the
embedding read behind the weight stream, a layers split's overlap of prompt tokens in its
pipeline (its time to first token is the steps in turn), and, for dense arrays, the
cores of a rows split other than the busiest. It does not validate a variant as a whole:
a variant the validator refuses gets estimates all the same (the SimPy tier refuses it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from arch_models.catalog.models import RESOURCE_KINDS
from arch_models.energy import EnergyTable
from arch_models.spec.arch import Arch
from arch_models.spec.units import Buffer, CoreLayout, OffChipMemory, TernaryArray
from arch_models.units import UNIT_MODELS, BuildContext, OffChipModel, Recorder
from arch_models.workload import Op, Step, Workload
from cosim._analytical_parts import (
    Gaps,
    Matvecs,
    OnChipFlags,
    Terms,
    Variants,
    WeightStream,
    array_figures,
    busiest_share,
    family_of,
    gap_profiles,
    layer_core,
    moved_bytes,
    slowest_core_cycles,
    worst_utilisation,
)
from cosim._variant_table import VariantTable, modelled_path
from cosim.errors import UnsupportedChangeError
from cosim.fpga import STATE_BYTES, SimOptions

__all__ = [
    "ESTIMATE_FIGURES",
    "TIER",
    "AfterMatvecNs",
    "AnalyticalModel",
    "EstimateRows",
    "Estimates",
    "StepFigures",
    "UnsupportedChangeError",
    "check_changes",
]

#: How results of this tier name it (the SimPy tier is ``"simpy"``).
TIER = "analytical"

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Path = tuple[str | int, ...]
#: Unit kinds whose fields shape the gaps between matvecs (their cycles come from the
#: engine's own unit models, per distinct value).
_GAP_KINDS = frozenset({"vector_unit", "norm_unit", "control", "core_layout"})


@dataclass(frozen=True)
class Estimates:
    """The analytical tier's figures of N design variants (arrays of length N).

    Attributes:
        tokens_per_s: Aggregate decode tokens/s (all sequences of the batch).
        ms_per_token: Decode step time (each sequence's ms per token).
        time_to_first_token_ms: From the first prompt step's start to the first token.
        avg_power_w: Average power over the decode window.
        energy_per_token_j: Joules per generated token.
        bound_tokens_per_s: The floor's throughput (no variant is reported faster).
        fits: Every resource kind within the device.
        worst_utilisation: The largest used/available over resource kinds.
        valid: The variant's units validate (``False``: figures are NaN).
        family: Which of the tier's regimes estimates it (weight buffer single or
            double, channels of its own or shared, dense or zero skipping, weights on
            chip, a layers split), in words: its error is measured per family.
        resources: Use per resource kind (whole design).
    """

    tokens_per_s: F64
    ms_per_token: F64
    time_to_first_token_ms: F64
    avg_power_w: F64
    energy_per_token_j: F64
    bound_tokens_per_s: F64
    fits: npt.NDArray[np.bool_]
    worst_utilisation: F64
    valid: npt.NDArray[np.bool_]
    family: npt.NDArray[np.object_]
    resources: Mapping[str, F64] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.tokens_per_s.size)

    def summary(self, i: int) -> dict[str, float | bool | str]:
        """Return variant ``i``'s figures under the engine's summary keys (JSON-ready)."""
        return {
            "tier": TIER,
            "tokens_per_s": float(self.tokens_per_s[i]),
            "ms_per_token": float(self.ms_per_token[i]),
            "time_to_first_token_ms": float(self.time_to_first_token_ms[i]),
            "avg_power_w": float(self.avg_power_w[i]),
            "energy_per_token_j": float(self.energy_per_token_j[i]),
            "bound_tokens_per_s": float(self.bound_tokens_per_s[i]),
            "fits": bool(self.fits[i]),
            "worst_utilisation": float(self.worst_utilisation[i]),
            "family": str(self.family[i]),
        }


#: ``after_matvec(step index, op position, op)`` → ns every core waits after that matvec.
AfterMatvecNs = Callable[[int, int, Op], float]


@dataclass(frozen=True)
class StepFigures:
    """Every step's figures of N variants, before they are summed into :class:`Estimates`.

    Attributes:
        phases: Each step's phase (``prefill`` or ``decode``), in the workload's order.
        step_ns: Steps × variants: each step's time, run back to back from time 0.
        floor_ns: Steps × variants: each step's floor (off-chip bytes, array, vectors).
        dyn_pj: Steps × variants: each step's dynamic energy.
        static_w: The device's static power.
        clock_w: The clock network's power of each variant.
        batch: Sequences of each step.
        fits: Every resource kind within the device.
        worst_utilisation: The largest used/available over resource kinds.
        valid: The variant's units validate.
        family: The tier's regime of each variant (:attr:`Estimates.family`).
        resources: Use per resource kind.
    """

    phases: tuple[str, ...]
    step_ns: F64
    floor_ns: F64
    dyn_pj: F64
    static_w: float
    clock_w: F64
    batch: int
    fits: npt.NDArray[np.bool_]
    worst_utilisation: F64
    valid: npt.NDArray[np.bool_]
    family: npt.NDArray[np.object_]
    resources: Mapping[str, F64] = field(default_factory=dict)


class EstimateRows:
    """The estimates of N variants, filled in a group of rows at a time."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.figures: dict[str, Any] = {}
        self.resources: dict[str, F64] = {}

    def put(self, at: I64, got: Estimates) -> None:
        """Set rows ``at`` to a group's estimates (in the same order)."""
        for f in ESTIMATE_FIGURES:
            col = getattr(got, f)
            if f not in self.figures:
                self.figures[f] = np.zeros(self.n, dtype=col.dtype)
            self.figures[f][at] = col
        for kind, col in got.resources.items():
            self.resources.setdefault(kind, np.zeros(self.n))[at] = col

    def estimates(self) -> Estimates:
        """Return every row's estimates."""
        return Estimates(**self.figures, resources=self.resources)


# ------------------------------------------------------------------- the model

#: The per-variant figures of :class:`Estimates` (all but ``resources``).
ESTIMATE_FIGURES = (
    "tokens_per_s",
    "ms_per_token",
    "time_to_first_token_ms",
    "avg_power_w",
    "energy_per_token_j",
    "bound_tokens_per_s",
    "fits",
    "worst_utilisation",
    "valid",
    "family",
)


class AnalyticalModel:
    """Estimates for variants of one FPGA design on one workload.

    Args:
        base: A validated single-card FPGA description.
        workload: The steps and matrices (from a trace); batched by each variant's
            ``core_layout.batch`` as the engine does.

    Raises:
        UnsupportedChangeError: ``base`` is a GPU or lacks an array or off-chip memory.
    """

    def __init__(self, base: Arch, workload: Workload, options: SimOptions | None = None) -> None:
        if base.is_gpu:
            raise UnsupportedChangeError(f"{base.filename}: a GPU is not an FPGA design")
        if not workload.decode_steps:
            raise UnsupportedChangeError("the workload has no decode step")
        units = base.spec.units
        self.base = base
        self.workload = workload
        self.options = options or SimOptions()
        self.energy = EnergyTable(base.device)
        self.i_array = _index(units, lambda u: isinstance(u, TernaryArray), base, "ternary_array")
        self.i_mem = _index(units, lambda u: isinstance(u, OffChipMemory), base, "ddr4 or hbm")
        self.i_layout = next((i for i, u in enumerate(units) if isinstance(u, CoreLayout)), None)
        self.i_buffers = [i for i, u in enumerate(units) if isinstance(u, Buffer)]
        self._plan_cache: dict[tuple[Any, ...], tuple[F64, ...]] = {}
        #: (matrix, lanes, tile width) → each row's cycles per tile (zero skipping).
        self._per_row: dict[tuple[int, int, int], I64] = {}
        self._cache: dict[Any, Any] = {}
        #: Variants estimated at once (their per-matrix figures are chunk × matrices).
        self.chunk = 16384

    # ----------------------------------------------------------------- public
    def evaluate(
        self,
        columns: Mapping[str, Any],
        progress: Callable[[int, int], None] | None = None,
    ) -> Estimates:
        """Estimate every variant (a few thousand at a time, to bound memory).

        Args:
            columns: Changed field path (``tmac.lanes``, ``units[3].capacity_kib``,
                ``clock_mhz``) → one value per variant; unchanged fields are the base's.
            progress: Called as ``progress(done, total)`` after each chunk of variants.

        Raises:
            UnsupportedChangeError: A column the tier does not model, or columns of
                different lengths.
        """
        table = VariantTable(self.base, columns, self._cache)
        layout_cols = table.of_unit(self.i_layout) if self.i_layout is not None else []
        shaping = [c for c in layout_cols if table.paths[c][2] in ("batch", "split")]
        built = EstimateRows(table.n)
        for lo in range(0, table.n, self.chunk):
            chunk = table.rows(np.arange(lo, min(table.n, lo + self.chunk)))
            inv, reps = chunk.combos(shaping)
            for j, rep in enumerate(reps):
                idx = np.flatnonzero(inv == j)
                sub = chunk.rows(idx)
                arch = sub.variant(rep) or self.base
                got = self._evaluate_group(sub, arch.spec.layout.batch, arch.spec.layout.split)
                built.put(lo + idx, got)
            if progress is not None:
                progress(min(table.n, lo + self.chunk), table.n)
        return built.estimates()

    # -------------------------------------------------------------- one group
    def _variants(self, t: VariantTable, batch: int, split: str) -> Variants:
        """Gather every per-variant figure the recurrence needs (per distinct value)."""
        n_var = t.n
        clock = (
            t.cols["clock_mhz"].astype(float)
            if "clock_mhz" in t.cols
            else np.full(n_var, float(self.base.spec.clock_mhz))
        )
        layout_cols = t.of_unit(self.i_layout) if self.i_layout is not None else []
        cores_f, ok_l = t.per_variant("cores", layout_cols, lambda a: [a.spec.layout.cores], 1)
        arr_cols = t.of_unit(self.i_array)
        arr, ok_a = t.per_variant("array", arr_cols, lambda a: array_figures(a, self.i_array), 11)
        buf_cols = [c for i in self.i_buffers for c in t.of_unit(i)]
        buf, ok_b = t.per_variant("buffers", buf_cols + arr_cols, self._buffer_figures, 9)
        mem_cols = t.of_unit(self.i_mem) + layout_cols + [c for c in ("clock_mhz",) if c in t.cols]
        mem, ok_m = t.per_variant(
            f"memory-{split}", mem_cols, lambda a: self._memory_figures(a, split), 6
        )
        return Variants(
            n=n_var,
            batch=batch,
            split=split,
            clock=clock,
            cores=cores_f[:, 0].astype(np.int64),
            array=arr,
            buffers=buf,
            memory=mem,
            valid=ok_l & ok_a & ok_b & ok_m,
        )

    def step_figures(
        self, columns: Mapping[str, Any], after_matvec: AfterMatvecNs | None = None
    ) -> StepFigures:
        """Return every step's figures of each variant (a card of a system runs these).

        Args:
            columns: Changed fields, as for :meth:`evaluate`, but not the core layout's
                batch or split (they shape the workload: give the base its values).
            after_matvec: ``after_matvec(step, seq, op)`` → ns the cores wait after
                the matvec at ``op`` position ``seq`` of step ``step`` (an exchange with
                other cards), the same for every variant.

        Raises:
            UnsupportedChangeError: A column the tier does not model, or one that shapes
                the workload.
        """
        table = VariantTable(self.base, columns, self._cache)
        layout_cols = table.of_unit(self.i_layout) if self.i_layout is not None else []
        shaping = [c for c in layout_cols if table.paths[c][2] in ("batch", "split")]
        if shaping:
            raise UnsupportedChangeError(
                f"{shaping[0]!r} shapes the workload: give the base design its value"
            )
        layout = self.base.spec.layout
        return self._step_figures(table, layout.batch, layout.split, after_matvec)

    def _evaluate_group(self, t: VariantTable, batch: int, split: str) -> Estimates:
        """Estimate variants that share a batch and a split (one workload)."""
        f = self._step_figures(t, batch, split)
        decode = [i for i, p in enumerate(f.phases) if p == "decode"]
        prefill = [i for i, p in enumerate(f.phases) if p == "prefill"]
        dec_ns = f.step_ns[decode].mean(axis=0)
        dec_floor = f.floor_ns[decode].mean(axis=0)
        dec_pj = f.dyn_pj[decode].mean(axis=0)
        ttft = f.step_ns[: prefill[-1] + 1].sum(axis=0) if prefill else f.step_ns[decode[0]]
        power = f.static_w + f.clock_w + dec_pj / dec_ns * 1e-3  # pJ/ns is mW
        nan = np.where(f.valid, 1.0, np.nan)
        return Estimates(
            tokens_per_s=f.batch * 1e9 / dec_ns * nan,
            ms_per_token=dec_ns / 1e6 * nan,
            time_to_first_token_ms=ttft / 1e6 * nan,
            avg_power_w=power * nan,
            energy_per_token_j=power * dec_ns * 1e-9 / f.batch * nan,
            bound_tokens_per_s=f.batch * 1e9 / dec_floor * nan,
            fits=f.fits,
            worst_utilisation=f.worst_utilisation,
            valid=f.valid,
            family=f.family,
            resources=f.resources,
        )

    def _step_figures(
        self, t: VariantTable, batch: int, split: str, after_matvec: AfterMatvecNs | None = None
    ) -> StepFigures:
        """Run the recurrence over every step for variants that share a batch and split."""
        wl = self.workload if self.workload.batch > 1 else self.workload.batched(batch)
        var = self._variants(t, wl.batch, split)
        gaps = self._gaps(t, wl)
        mv = self._matvecs(t, var.array, var.cores, split)
        onchip = self._onchip(wl, var, mv)
        dma = WeightStream(var, onchip.resident)
        terms: dict[tuple[int, int], Terms] = {}
        t_now = np.zeros(var.n)
        step_ns: list[F64] = []
        floor_ns: list[F64] = []
        dyn_pj: list[F64] = []
        last_mv = np.zeros(var.n)  # how long the last matvec lasted, from its issue
        layers = int(wl.model.get("layers", 1))
        for s_i, step in enumerate(wl.steps):
            start = t_now.copy()
            prof = gaps.step(s_i)
            spill = prof.act_spill * onchip.acts_spill[:, None]
            spill += prof.state_spill * onchip.state_spill[:, None]
            gap_ns = prof.gaps * var.ns_cyc[:, None] + spill / var.bw[:, None]
            # each op's spill is its own transfer, paying the access latency (the
            # state rides along with the activations when both spill)
            moves = np.where(
                onchip.acts_spill[:, None] > 0,
                prof.act_ops,
                prof.state_ops * onchip.state_spill[:, None],
            )
            gap_ns += moves * var.lat[:, None]
            spilled = spill.sum(axis=1)
            # the embedding row read (core 0's port) opens the step
            if prof.embed_bytes.any():
                t_now = t_now + np.where(
                    prof.embed_bytes > 0, var.lat + prof.embed_bytes / var.bw_alone, 0.0
                )
            mem_bytes = prof.embed_bytes + spilled  # the busiest core's off-chip bytes
            energy = (
                prof.vector_pj + (moved_bytes(prof.embed_bytes, var.burst) + spilled) * var.mem_pj
            )
            comp_cyc = np.zeros(var.n)
            cyc = var.ns_cyc
            queues = ~onchip.resident & ~dma.double & (spilled > 0)
            queues_any = bool(queues.any())

            j = 0
            for seq, op in enumerate(step.ops):
                if not op.is_matvec:
                    continue
                key = (op.matrix, step.vectors)
                if key not in terms:
                    terms[key] = self._terms(var, mv, op, step.vectors)
                tm = terms[key]
                # issued ahead, the dispatch after a matvec waits what the matvec (and
                # the barrier after it) did not cover
                began = t_now
                t_now = t_now + gap_ns[:, j] + np.maximum(0.0, prof.held[:, j] * cyc - last_mv)
                core = layer_core(op.layer, layers, var.cores) if split == "layers" else None
                # a single-buffered stream fetches this matvec's first fill meanwhile,
                # on the core's port: the gap's spills wait behind it
                if queues_any:
                    queued = np.maximum(dma.first_land(tm, core), began) + gap_ns[:, j]
                    t_now = np.where(queues & (spill[:, j] > 0), np.maximum(t_now, queued), t_now)
                issued = t_now
                t_now = dma.matvec(t_now, tm, core)
                last_mv = t_now - issued
                if after_matvec is not None:
                    t_now = t_now + after_matvec(s_i, seq, op)
                comp_cyc += tm.cycles
                mem_bytes = mem_bytes + np.where(onchip.resident, 0.0, tm.nbytes)
                energy = energy + np.where(onchip.resident, tm.pj_resident, tm.pj_streamed)
                j += 1
            t_now = t_now + gap_ns[:, j] + np.maximum(0.0, prof.held[:, j] * cyc - last_mv)
            # the floors: off-chip bytes, array cycles, vector cycles of the busiest core
            floor = np.maximum(
                np.maximum(mem_bytes / var.bw, comp_cyc * var.ns_cyc),
                prof.vector_cycles * var.ns_cyc,
            )
            dur = np.maximum(t_now - start, floor)
            t_now = start + dur
            step_ns.append(dur)
            floor_ns.append(floor)
            dyn_pj.append(energy)
        used, ok_r = self._resources(t, var.cores)
        static_w = self.base.device.power.static_w
        valid = var.valid & gaps.valid & ok_r
        util = worst_utilisation(used, self.base, var.n)
        return StepFigures(
            phases=tuple(s.phase for s in wl.steps),
            step_ns=np.array(step_ns),
            floor_ns=np.array(floor_ns),
            dyn_pj=np.array(dyn_pj),
            static_w=float(static_w.value) if static_w is not None else math.nan,
            clock_w=self.energy.get("clock_mw_per_mhz_per_kff")
            * var.clock
            * used.get("ff", 0.0)
            / 1000
            / 1000,
            batch=wl.batch,
            fits=valid & (util <= 1.0),
            worst_utilisation=util,
            valid=valid,
            family=family_of(var, onchip),
            resources=used,
        )

    def _gaps(self, t: VariantTable, wl: Workload) -> Gaps:
        """Each variant's gaps between matvecs (per distinct vector, norm, control unit)."""
        inv, reps = t.combos(t.of_kinds(_GAP_KINDS))
        profiles = []
        for rep in reps:
            key = ("gaps", wl.batch, tuple(sorted(rep.items())))
            if key not in t.cache:
                arch = t.variant(rep)
                t.cache[key] = None if arch is None else gap_profiles(arch, wl)
            profiles.append(t.cache[key])
        return Gaps(profiles, inv)

    def _onchip(self, wl: Workload, var: Variants, mv: Matvecs) -> OnChipFlags:
        """What stays on chip (the engine's rules: weights, activations, state)."""
        steady = wl.decode_steps[0]
        max_vec = max((max(op.bytes_in, op.bytes_out) for op in steady.ops), default=0)
        if var.split == "rows":
            per_core = sum(
                (mv.nbytes[:, op.matrix] for op in steady.ops if op.is_matvec), np.zeros(var.n)
            )
        else:  # a layers split's core holds its own layers' matrices
            per_core = self._layer_core_bytes(steady, mv, var.cores)
        act_cap, state_cap = var.buffers[:, 7], var.buffers[:, 8]
        acts_ok = act_cap >= max_vec
        layers = int(wl.model.get("layers", 1))
        d = int(wl.model.get("d", 0))
        need = np.ceil(layers * d * STATE_BYTES * wl.batch / var.cores)
        state_ok = state_cap + np.where(acts_ok, act_cap - max_vec, 0) >= need
        return OnChipFlags(
            resident=(var.buffers[:, 0] > 0) & (per_core <= var.buffers[:, 1]),
            acts_spill=np.where(acts_ok, 0.0, 1.0),
            state_spill=np.where(state_ok, 0.0, 1.0),
        )

    def _terms(self, var: Variants, mv: Matvecs, op: Op, v: int) -> Terms:
        """One matvec's times, bytes and energies for every variant (``v`` vectors)."""
        _, par, tcols, zs, bpw, act_bits, acc_bits, start_lat, _, fillc, pvec = var.array.T
        m = op.matrix
        cycles = mv.cycles[:, m] * np.ceil(v / pvec)
        comp = cycles * var.ns_cyc
        nbytes = mv.nbytes[:, m]
        full_tile = np.maximum(1, np.ceil(par * tcols * bpw / 8))
        per_chunk = np.maximum(1, np.floor(var.buffers[:, 2] / full_tile))
        chunks = np.maximum(1, np.ceil(mv.tiles[:, m] / per_chunk))
        first = np.minimum(per_chunk * full_tile, nbytes)
        c_first = comp * first / np.maximum(nbytes, 1.0)
        path_bw = var.bw if var.split == "rows" else var.bw_alone
        # energy (all cores): adds, accumulations, weight-buffer reads; and when streamed
        # the buffer's writes and the off-chip bytes
        mat = self.workload.matrices[m]
        adds = np.where(zs > 0, float(mat.nonzeros), float(mat.rows * mat.cols)) * v
        steps_all = (mv.cycles[:, m] - mv.bubbles[:, m]) / mv.share[:, m] * v
        bytes_all = nbytes / mv.share[:, m]
        w_pj = var.buffers[:, 4]
        resident_pj = (
            adds * self.energy.get("ternary_add_pj_per_op")
            + steps_all * par * self.energy.get("accumulate_pj_per_op")
            + bytes_all * w_pj
        )
        c_last = np.maximum(comp - (chunks - 1) * c_first, 0.0)
        fill = first / path_bw
        rest = nbytes - first
        extra = np.maximum(0.0, c_first + var.lat * var.exposed - fill) / 2
        mt = self.options.max_transactions
        k = var.bw_alone / path_bw
        return Terms(
            c_last=c_last,
            fill=fill,
            rest=rest,
            rest_ns=rest / path_bw + np.maximum(chunks - 2, 0) * extra,
            merged=(chunks > mt) if mt > 1 else np.zeros(var.n, dtype=bool),
            k=k,
            fill_alone=first / var.bw_alone,
            own=(chunks - 1) * var.lat + rest / var.bw_alone,
            cycles=cycles,
            comp=comp,
            lead=(np.ceil(op.cols * act_bits / var.buffers[:, 5]) * v + start_lat) * var.ns_cyc,
            tail=(fillc + np.ceil(mv.rows[:, m] * v * acc_bits / var.buffers[:, 6])) * var.ns_cyc,
            nbytes=nbytes,
            first=first,
            chunks=chunks,
            c_first=c_first,
            pj_resident=resident_pj,
            pj_streamed=resident_pj
            + bytes_all * w_pj
            + moved_bytes(bytes_all, var.burst) * var.mem_pj,
        )

    # ---------------------------------------------------------------- helpers
    def _buffer_figures(self, arch: Arch) -> list[float]:
        """Weight buffer (has, capacity, chunk, slots, pJ/B), paths, capacities."""
        spec = arch.spec
        array = spec.units[self.i_array]
        assert isinstance(array, TernaryArray)
        buffers = spec.units_of(Buffer)
        w = next((b for b in buffers if b.holds == "weights"), None)
        a = next((b for b in buffers if b.holds == "activations"), None)
        full_tile = math.ceil(
            array.rows_parallel * array.count * array.tile_cols * array.bits_per_weight / 8
        )
        cap = {
            h: sum(b.capacity_bytes for b in buffers if b.holds == h)
            for h in ("activations", "state", "general")
        }
        return [
            1.0 if w else 0.0,
            float(w.capacity_bytes) if w else 0.0,
            float(w.tile_capacity_bytes) if w else float(full_tile),
            (2.0 if w.double_buffered else 1.0) if w else 2.0,
            self.energy.get(f"{w.memory}_pj_per_byte") if w else 0.0,
            float(a.width_bits * a.ports) if a else float(array.lanes * array.activation_bits),
            float(a.width_bits * a.ports) if a else float(array.accumulator_bits),
            float(cap["activations"] + cap["general"]),
            float(cap["state"]),
        ]

    def _memory_figures(self, arch: Arch, split: str) -> list[float]:
        """The busiest core's bandwidth (all cores streaming, or alone), round trip, pJ/B."""
        ctx = BuildContext(
            env=simpy.Environment(), arch=arch, energy=self.energy, recorder=Recorder()
        )
        spec = arch.spec.units[self.i_mem]
        assert isinstance(spec, OffChipMemory)
        mem = OffChipModel.create(ctx, "top.mem", spec)
        n = arch.spec.layout.cores
        sharing = -(-n // mem.groups) if mem.groups < n else 1
        group = mem.group_bytes_per_ns()
        path = mem.path_bytes_per_ns()
        # a fill waits for its round trip when its half frees (the engine's direct fill:
        # channels of its own, no beat-level path)
        beat_level = spec.path_fifo_beats or spec.path_beat_interval_cycles or spec.max_outstanding
        exposed = 1.0 if (mem.groups >= n and not beat_level) else 0.0
        return [
            min(group / sharing, path),
            min(group, path),
            mem.round_trip_ns(),
            mem.pj_per_byte,
            float(spec.burst_bytes),
            exposed,
        ]

    def _matvecs(self, t: VariantTable, arr: F64, cores: I64, split: str) -> Matvecs:
        """Each variant's busiest-core share of every matrix (from per-shape tables)."""
        mats = self.workload.matrices
        n_mat = max(mats) + 1 if mats else 0
        lanes, par, tcols, zs, bpw, *_rest = arr.T
        bubble = arr[:, 8]
        key_cols = np.stack([par, lanes, tcols, bubble, zs, bpw, cores.astype(float)], axis=1)
        uniq, inv = np.unique(key_cols, axis=0, return_inverse=True)
        per_key = np.zeros((len(uniq), 6, n_mat))
        for k, row in enumerate(uniq):
            p, ln, tc, bb, z, bits, n = row
            cache_key = (p, ln, tc, bb, z, bits, n, split)
            if cache_key not in self._plan_cache:
                self._plan_cache[cache_key] = self._plan_table(
                    int(p), int(ln), int(tc), int(bb), bool(z), float(bits), int(n), split
                )
            per_key[k] = np.stack(self._plan_cache[cache_key])
        g = per_key[inv.ravel()]
        return Matvecs(g[:, 0], g[:, 1], g[:, 2], g[:, 3], g[:, 4], g[:, 5])

    def _plan_table(
        self, p: int, lanes: int, tcols: int, bubble: int, zs: bool, bits: float, n: int, split: str
    ) -> tuple[F64, ...]:
        """Per matrix: busiest core's cycles, bubbles, bytes, tiles, rows and share."""
        mats = self.workload.matrices
        n_mat = max(mats) + 1 if mats else 0
        spec = TernaryArray(
            kind="ternary_array",
            name="t",
            lanes=lanes,
            rows_parallel=p,
            count=1,
            tile_cols=tcols,
            handoff_bubble_cycles=bubble,
            zero_skipping=zs,
            weight_packing="2bit" if bits == 2.0 else "5trit",
        )
        out = np.zeros((6, n_mat))
        shapes: dict[tuple[int, int], tuple[float, ...]] = {}
        for mid, m in mats.items():
            lo, hi = (m.rows * (n - 1) // n, m.rows) if split == "rows" else (0, m.rows)
            key = (m.rows, m.cols)
            if zs or key not in shapes:
                got = busiest_share(spec, m, lo, hi)
                if not zs:
                    shapes[key] = got
            else:
                got = shapes[key]
            out[:, mid] = got
            if zs and split == "rows" and n > 1:  # the barrier waits for the slowest core
                rows_key = (mid, lanes, tcols)
                if rows_key not in self._per_row:
                    self._per_row[rows_key] = -(-m.row_tile_nnz(tcols) // lanes)
                out[0, mid] = slowest_core_cycles(spec, m, n, self._per_row[rows_key])
        return tuple(out)

    def _layer_core_bytes(self, step: Step, mv: Matvecs, cores: I64) -> F64:
        """The largest per-core weight bytes of a layers split (each core its layers)."""
        layers = int(self.workload.model.get("layers", 1))
        n_var = cores.size
        n_max = int(cores.max())
        per = np.zeros((n_var, n_max))
        rows = np.arange(n_var)
        for op in step.ops:
            if op.is_matvec:
                core = layer_core(op.layer, layers, cores)
                per[rows, core] += mv.nbytes[:, op.matrix]
        out: F64 = per.max(axis=1)
        return out

    def _resources(
        self, t: VariantTable, cores: I64
    ) -> tuple[dict[str, F64], npt.NDArray[np.bool_]]:
        """Whole-design use per resource kind (per-unit models, per distinct unit)."""
        device = self.base.device
        used: dict[str, F64] = {}
        ok = np.ones(t.n, dtype=bool)
        for i, unit in enumerate(self.base.spec.units):
            model = UNIT_MODELS.get(unit.kind)
            if model is None or isinstance(unit, CoreLayout):
                continue
            kinds = list(RESOURCE_KINDS)

            def fig(
                arch: Arch, i: int = i, model: Any = model, kinds: list[str] = kinds
            ) -> list[float]:
                got = model.resources(arch.spec.units[i], device)
                return [float(got.get(k, 0.0)) for k in kinds]

            vals, good = t.per_variant(f"resources-{i}", t.of_unit(i), fig, len(kinds))
            ok &= good
            times = 1 if model.placement == "device" else cores
            for j, k in enumerate(kinds):
                col = np.nan_to_num(vals[:, j]) * times
                if col.any():
                    used[k] = used.get(k, 0.0) + col
        for k, fig_ in device.resource_costs.items():
            if k.endswith("_per_shell"):
                kind = k.removesuffix("_per_shell")
                used[kind] = used.get(kind, np.zeros(t.n)) + float(fig_.value)
        return used, ok


def check_changes(base: Arch, names: Sequence[str]) -> None:
    """Check that the analytical tier models every changed field (before any work).

    Raises:
        UnsupportedChangeError: Naming the first field it does not model.
    """
    for name in names:
        modelled_path(base, name)


def _index(units: Sequence[Any], test: Callable[[Any], bool], base: Arch, what: str) -> int:
    """Return the first unit's index that passes ``test``."""
    for i, u in enumerate(units):
        if test(u):
            return i
    raise UnsupportedChangeError(f"{base.filename}: design {base.spec.name!r} has no {what}")
