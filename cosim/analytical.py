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
  shape, core count and matrix (per matrix shape for dense arrays).
- **A pipeline recurrence over the ops of each step**, vectorised over variants: each
  matvec waits for its gap, its activation import and start latency, and for its first
  weight fill; the weight DMA streams ahead of the array by the buffer's slots (the first
  fill of the next matvec while the array computes this one's last, the rest once a slot
  frees; the access latency paid when the stream restarts); the array ends no earlier
  than its compute after it started, nor than one fill's compute after the last byte
  landed; then the adder-tree fill and the export. A single-buffered design fills and
  computes in turn. Steps follow one another, the DMA's state carried across (weights
  do not depend on data).
- **Floors**: a step is never shorter than its off-chip bytes over the bandwidth its
  busiest core can draw, its array cycles, or its vector cycles (the engine's bounds);
  the estimate is the larger of the recurrence and the floor, so the tier never reports
  a variant faster than its bounds.
- **Power**: the device's static power, the clock network's (flip-flops from the resource
  estimate) and the dynamic energy of the events the engine records (ternary adds,
  accumulations, weight-buffer reads and writes, off-chip bytes, vector and norm ops,
  spills) over the decode window.

What it leaves out (why its error against SimPy is measured, per design family, by
``benchmarks/explore.py``, never assumed): merged transfers' fill-by-fill booking, the
memory path's beat-level request window (its bandwidth is kept), queueing of the
embedding read behind the weight stream, a layers split's overlap of prompt tokens in its
pipeline (its time to first token is the steps in turn), and the cores of a rows split
other than the busiest. It does not validate a variant as a whole: a variant the
validator refuses gets estimates all the same (the SimPy tier refuses it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import simpy

from arch_models.catalog.models import RESOURCE_KINDS
from arch_models.energy import EnergyTable
from arch_models.spec.arch import Arch
from arch_models.spec.evolve import evolve, parse_path, resolve_path
from arch_models.spec.units import Buffer, CoreLayout, OffChipMemory, TernaryArray
from arch_models.units import UNIT_MODELS, BuildContext, OffChipModel, Recorder
from arch_models.units.ternary import tile_cycles
from arch_models.validation.errors import SpecError
from arch_models.workload import ELEMENTWISE_OPS, MatrixInfo, Step, Workload
from cosim.fpga import STATE_BYTES, FpgaSystem, SimOptions

__all__ = ["TIER", "AnalyticalModel", "Estimates", "UnsupportedChangeError"]

#: How results of this tier name it (the SimPy tier is ``"simpy"``).
TIER = "analytical"

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Path = tuple[str | int, ...]
#: Unit kinds whose fields shape the gaps between matvecs (their cycles come from the
#: engine's own unit models, per distinct value).
_GAP_KINDS = frozenset({"vector_unit", "norm_unit", "control", "core_layout"})


class UnsupportedChangeError(ValueError):
    """A column changes something the analytical tier does not model."""


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
        }


# ------------------------------------------------------------------ distinct values


class _Table:
    """Variants' changed fields as columns, and their distinct combinations."""

    def __init__(self, base: Arch, columns: Mapping[str, Any]) -> None:
        self.base = base
        self.paths: dict[str, Path] = {}
        self.cols: dict[str, npt.NDArray[Any]] = {}
        sizes = set()
        for name, values in columns.items():
            try:
                parts = resolve_path(base, parse_path(name))
            except ValueError as exc:
                raise UnsupportedChangeError(str(exc)) from None
            if parts != ("clock_mhz",) and not (
                len(parts) >= 3 and parts[0] == "units" and isinstance(parts[1], int)
            ):
                raise UnsupportedChangeError(
                    f"the analytical tier models changes to clock_mhz and to units' fields, "
                    f"not {name!r}"
                )
            arr = np.asarray(values)
            if arr.ndim != 1:
                raise UnsupportedChangeError(f"column {name!r} must be one-dimensional")
            self.paths[name] = parts
            self.cols[name] = arr
            sizes.add(arr.size)
        if len(sizes) > 1:
            raise UnsupportedChangeError(f"columns differ in length: {sorted(sizes)}")
        self.n = sizes.pop() if sizes else 1
        self._codes: dict[str, I64] = {}
        self._arch_cache: dict[tuple[tuple[str, Any], ...], Arch | None] = {}

    def of_unit(self, index: int) -> list[str]:
        """Return the columns that change unit ``index``."""
        return [k for k, p in self.paths.items() if p[0] == "units" and p[1] == index]

    def of_kinds(self, kinds: frozenset[str]) -> list[str]:
        """Return the columns that change units of ``kinds``."""
        units = self.base.spec.units
        return [
            k for k, p in self.paths.items() if p[0] == "units" and units[int(p[1])].kind in kinds
        ]

    def code(self, name: str) -> I64:
        """Return each variant's index among the column's distinct values."""
        if name not in self._codes:
            # factorize, not np.unique: a column may mix None with numbers
            codes, _ = pd.factorize(self.cols[name], use_na_sentinel=False)
            self._codes[name] = np.asarray(codes, dtype=np.int64)
        return self._codes[name]

    def combos(self, names: Sequence[str]) -> tuple[I64, list[dict[str, Any]]]:
        """Return each variant's combination index and the combinations (path → value)."""
        names = [n for n in names if n in self.cols]
        if not names:
            return np.zeros(self.n, dtype=np.int64), [{}]
        key = np.zeros(self.n, dtype=np.int64)
        for name in names:
            codes = self.code(name)
            key = key * (int(codes.max()) + 1) + codes
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        reps = [{n: _python(self.cols[n][i]) for n in names} for i in first]
        return inv.astype(np.int64).ravel(), reps

    def variant(self, changes: dict[str, Any]) -> Arch | None:
        """Return the validated base with ``changes`` (``None`` if the validator refuses)."""
        key = tuple(sorted(changes.items()))
        if key not in self._arch_cache:
            try:
                self._arch_cache[key] = evolve(self.base, changes) if changes else self.base
            except SpecError:
                self._arch_cache[key] = None
        return self._arch_cache[key]

    def per_variant(
        self, names: Sequence[str], fn: Callable[[Arch], Sequence[float]], width: int
    ) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Evaluate ``fn`` once per distinct combination of ``names``; spread to variants.

        Returns:
            ``(values (N, width), valid (N,))``: NaN where the combination is invalid.
        """
        inv, reps = self.combos(names)
        out = np.full((len(reps), width), np.nan)
        ok = np.zeros(len(reps), dtype=bool)
        for j, rep in enumerate(reps):
            arch = self.variant(rep)
            if arch is not None:
                out[j] = fn(arch)
                ok[j] = True
        return out[inv], ok[inv]


# ------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Matvecs:
    """Per variant × matrix: the busiest core's share of each matvec (one vector)."""

    cycles: F64  # array cycles with hand-off bubbles, one pass
    bubbles: F64
    nbytes: F64  # packed bytes of the busiest core
    tiles: F64
    rows: F64  # rows of the busiest core
    share: F64  # the busiest core's share of the whole matrix (bytes, steps)


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

    # ----------------------------------------------------------------- public
    def evaluate(self, columns: Mapping[str, Any]) -> Estimates:
        """Estimate every variant.

        Args:
            columns: Changed field path (``tmac.lanes``, ``units[3].capacity_kib``,
                ``clock_mhz``) → one value per variant; unchanged fields are the base's.

        Raises:
            UnsupportedChangeError: A column the tier does not model, or columns of
                different lengths.
        """
        table = _Table(self.base, columns)
        layout_cols = table.of_unit(self.i_layout) if self.i_layout is not None else []
        shaping = [c for c in layout_cols if table.paths[c][2] in ("batch", "split")]
        inv, reps = table.combos(shaping)
        parts = []
        order = np.empty(table.n, dtype=np.int64)
        start = 0
        for j, rep in enumerate(reps):
            idx = np.flatnonzero(inv == j)
            sub = _Table(self.base, {k: v[idx] for k, v in table.cols.items()})
            arch = sub.variant(rep) or self.base
            parts.append(self._evaluate_group(sub, arch.spec.layout.batch, arch.spec.layout.split))
            order[idx] = np.arange(start, start + idx.size)
            start += idx.size
        merged = {
            f: np.concatenate([getattr(p, f) for p in parts])[order]
            for f in (
                "tokens_per_s",
                "ms_per_token",
                "time_to_first_token_ms",
                "avg_power_w",
                "energy_per_token_j",
                "bound_tokens_per_s",
                "fits",
                "worst_utilisation",
                "valid",
            )
        }
        kinds = sorted({k for p in parts for k in p.resources})
        res = {
            k: np.concatenate([p.resources.get(k, np.zeros(len(p))) for p in parts])[order]
            for k in kinds
        }
        return Estimates(**merged, resources=res)

    # -------------------------------------------------------------- one group
    def _evaluate_group(self, t: _Table, batch: int, split: str) -> Estimates:
        """Estimate variants that share a batch and a split (one workload)."""
        wl = self.workload if self.workload.batch > 1 else self.workload.batched(batch)
        wl_batch = wl.batch
        n_var = t.n
        clock = (
            t.cols["clock_mhz"].astype(float)
            if "clock_mhz" in t.cols
            else np.full(n_var, float(self.base.spec.clock_mhz))
        )
        ns_cyc = 1000.0 / clock
        layout_cols = t.of_unit(self.i_layout) if self.i_layout is not None else []
        cores_f, ok_l = t.per_variant(layout_cols, lambda a: [a.spec.layout.cores], 1)
        cores = np.nan_to_num(cores_f[:, 0], nan=1).astype(np.int64)

        # the array's figures
        arr_cols = t.of_unit(self.i_array)
        arr, ok_a = t.per_variant(arr_cols, lambda a: _array_figures(a, self.i_array), 11)
        _, par, tcols, zs, bpw, act_bits, acc_bits, start_lat, _, fillc, pvec = arr.T
        # buffers: weight chunk, slots, read/write energy; activation path; capacities
        buf_cols = [c for i in self.i_buffers for c in t.of_unit(i)]
        buf, ok_b = t.per_variant(buf_cols + arr_cols, self._buffer_figures, 9)
        (has_w, w_cap, w_chunk, w_slots, w_pj, act_path, out_path, act_cap, state_cap) = buf.T
        # memory: bandwidth its busiest core draws, round trip, energy, burst
        mem_cols = (
            t.of_unit(self.i_mem) + layout_cols + (["clock_mhz"] if "clock_mhz" in t.cols else [])
        )
        mem, ok_m = t.per_variant(mem_cols, lambda a: self._memory_figures(a, split), 6)
        bw, bw_alone, lat, mem_pj, burst, exposed = mem.T

        # gaps between matvecs (cycles), vector energy, embedding and spill bytes per step
        gap_cols = t.of_kinds(_GAP_KINDS)
        gaps_inv, gap_reps = t.combos(gap_cols)
        gap_profiles = []
        for rep in gap_reps:
            arch = t.variant(rep)
            gap_profiles.append(None if arch is None else _gap_profile(arch, wl))
        ok_g = np.array([gap_profiles[j] is not None for j in range(len(gap_reps))])[gaps_inv]

        # matvec shares, from the engine's tile arithmetic per distinct shape
        mv = self._matvecs(t, arr, cores, split)

        # what stays on chip
        steady = wl.decode_steps[0]
        max_vec = max((max(op.bytes_in, op.bytes_out) for op in steady.ops), default=0)
        if split == "rows":
            per_core_bytes = sum(
                (mv.nbytes[:, op.matrix] for op in steady.ops if op.is_matvec), np.zeros(n_var)
            )
        else:  # a layers split's core holds its own layers' matrices
            per_core_bytes = self._layer_core_bytes(steady, mv, cores)
        resident = (has_w > 0) & (per_core_bytes <= w_cap)
        acts_ok = act_cap >= max_vec
        layers = int(wl.model.get("layers", 1))
        d = int(wl.model.get("d", 0))
        state_need = np.ceil(layers * d * STATE_BYTES * wl_batch / cores)
        state_ok = state_cap + np.where(acts_ok, act_cap - max_vec, 0) >= state_need

        # the recurrence over every step
        n_cores_max = int(cores.max()) if split == "layers" else 1
        dma_free = np.full((n_var, n_cores_max), -np.inf)
        slot_a = np.full((n_var, n_cores_max), -np.inf)  # the next first fill may start
        slot_b = np.full((n_var, n_cores_max), -np.inf)  # the next fill after it may start
        rows_idx = np.arange(n_var)
        t_now = np.zeros(n_var)
        step_ns: list[F64] = []
        floor_ns: list[F64] = []
        dyn_pj: list[F64] = []
        trees = par
        slots2 = w_slots >= 2
        mt = self.options.max_transactions
        merge_above = mt if mt > 1 else math.inf
        prefill_end = None
        spill_w = np.where(acts_ok, 0.0, 1.0)
        spill_s = np.where(state_ok, 0.0, 1.0)
        for s_i, step in enumerate(wl.steps):
            v = step.vectors
            passes = np.ceil(v / pvec)
            start_t = t_now.copy()
            mem_bytes = np.zeros(n_var)  # the busiest core's off-chip bytes this step
            comp_cyc = np.zeros(n_var)
            energy = np.zeros(n_var)
            gap_cyc, vec_cyc, vec_pj, embed_bytes, act_spill, state_spill = _gather_profile(
                gap_profiles, gaps_inv, s_i
            )
            spill_bytes = act_spill * spill_w[:, None] + state_spill * spill_s[:, None]
            spill_ns = spill_bytes / bw[:, None] + (spill_bytes > 0) * lat[:, None]
            gap_ns = gap_cyc * ns_cyc[:, None] + spill_ns
            # the embedding row read (core 0's port) opens the step
            t_now = t_now + lat + embed_bytes / bw_alone
            mem_bytes += embed_bytes + spill_bytes.sum(axis=1)
            energy += (
                vec_pj
                + np.ceil(embed_bytes / burst) * burst * mem_pj
                + spill_bytes.sum(axis=1) * mem_pj
            )
            j = 0
            for op in step.ops:
                if not op.is_matvec:
                    continue
                m = op.matrix
                t_now = t_now + gap_ns[:, j]
                if split == "rows":
                    core = np.zeros(n_var, dtype=np.int64)
                    path_bw = bw
                else:
                    core = _layer_core(op.layer, layers, cores)
                    path_bw = bw_alone
                c_cyc = mv.cycles[:, m] * passes
                comp_cyc += c_cyc
                comp = c_cyc * ns_cyc
                lead = (np.ceil(op.cols * act_bits / act_path) * v + start_lat) * ns_cyc
                tail = (fillc + np.ceil(mv.rows[:, m] * v * acc_bits / out_path)) * ns_cyc
                nbytes = mv.nbytes[:, m]
                full_tile = np.maximum(1, np.ceil(par * tcols * bpw / 8))
                per_chunk = np.maximum(1, np.floor(w_chunk / full_tile))
                chunks = np.maximum(1, np.ceil(mv.tiles[:, m] / per_chunk))
                first = np.minimum(per_chunk * full_tile, nbytes)
                # compute of a full fill, and of the last (a partial one)
                c_first = comp * first / np.maximum(nbytes, 1.0)
                c_last = np.maximum(comp - (chunks - 1) * c_first, 0.0)
                ready = t_now + lead
                df = dma_free[rows_idx, core]
                sa = slot_a[rows_idx, core]
                sb = slot_b[rows_idx, core]
                dma0 = np.maximum(df, sa)
                fill = first / path_bw
                land0 = dma0 + np.where(sa > df, lat, 0.0) + fill
                begin = np.maximum(ready, land0)
                rest = nbytes - first
                # double buffered: the second fill once the other half is free, the rest
                # back to back, each requested as the array frees a half: where a fill's
                # round trip and compute outlast a transfer, every two fills wait for one
                go = np.maximum(land0, sb)
                # a merged transfer (the engine's, beyond max_transactions) is requested
                # once the array has started the matvec
                go = np.where(chunks > merge_above, np.maximum(go, begin), go)
                extra = np.maximum(0.0, c_first + lat * exposed - fill) / 2
                mem_end = np.where(
                    rest > 0,
                    go
                    + np.where(sb > land0, lat, 0.0)
                    + rest / path_bw
                    + np.maximum(chunks - 2, 0) * extra,
                    land0,
                )
                end2 = np.maximum(begin + comp, mem_end + c_last)
                # single buffered: fill, compute, fill, compute ... (at the bandwidth a
                # core draws alone: cores sharing channels fill while the others compute,
                # and together no faster than the channels)
                # (k cores share the channels; each fill holds them for its round trip
                # and its transfer)
                k = bw_alone / path_bw
                fill_alone = first / bw_alone
                land1 = dma0 + k * (np.where(sa > df, lat, 0.0) + fill_alone)
                begin1 = np.maximum(ready, land1)
                own = (chunks - 1) * lat + rest / bw_alone
                end1 = begin1 + np.maximum(comp + own, k * own)
                end = np.where(slots2, end2, end1)
                end = np.where(resident, ready + comp, end)
                # when the next two fills may start: the array frees the half of this
                # matvec's last fill but one (or of the one before, for a single fill),
                # then the last (double); once the first core sharing the channels has
                # ended (single)
                new_a = np.where(
                    slots2,
                    np.where(chunks >= 2, end - c_last, sb),
                    end - (k - 1) * (lat + fill_alone),
                )
                channel_free = np.where(slots2, mem_end, land1 + k * own)
                dma_free[rows_idx, core] = np.where(resident, df, channel_free)
                slot_a[rows_idx, core] = np.where(resident, sa, new_a)
                slot_b[rows_idx, core] = np.where(resident, sb, end)
                t_now = end + tail
                mem_bytes += np.where(resident, 0.0, nbytes)
                # energy (all cores): adds, accumulations, weight reads (and writes, and
                # off-chip bytes when streamed)
                mat = self.workload.matrices[m]
                adds = np.where(zs > 0, float(mat.nonzeros), float(mat.rows * mat.cols)) * v
                steps_all = (mv.cycles[:, m] - mv.bubbles[:, m]) / mv.share[:, m] * v
                bytes_all = nbytes / mv.share[:, m]
                moved_all = np.ceil(bytes_all / burst) * burst
                energy += (
                    adds * self.energy.get("ternary_add_pj_per_op")
                    + steps_all * trees * self.energy.get("accumulate_pj_per_op")
                    + bytes_all * w_pj
                    + np.where(resident, 0.0, bytes_all * w_pj + moved_all * mem_pj)
                )
                j += 1
            t_now = t_now + gap_ns[:, j]
            # the floors: off-chip bytes, array cycles, vector cycles of the busiest core
            floor = np.maximum(np.maximum(mem_bytes / bw, comp_cyc * ns_cyc), vec_cyc * ns_cyc)
            dur = np.maximum(t_now - start_t, floor)
            t_now = start_t + dur
            step_ns.append(dur)
            floor_ns.append(floor)
            dyn_pj.append(energy)
            if step.phase == "prefill":
                prefill_end = t_now.copy()
        decode = [i for i, s in enumerate(wl.steps) if s.phase == "decode"]
        dec_ns = np.mean([step_ns[i] for i in decode], axis=0)
        dec_floor = np.mean([floor_ns[i] for i in decode], axis=0)
        dec_pj = np.mean([dyn_pj[i] for i in decode], axis=0)
        ttft = prefill_end if prefill_end is not None else step_ns[decode[0]]

        # resources and power
        used, by_kind_ok = self._resources(t, cores)
        avail = self.base.device.resources.available() if self.base.device.resources else {}
        util = np.zeros(n_var)
        for k, u in used.items():
            a = avail.get(k, 0)
            util = np.maximum(util, u / a if a else np.where(u > 0, np.inf, 0.0))
        static_w = self.base.device.power.static_w
        static = float(static_w.value) if static_w is not None else math.nan
        clock_w = (
            self.energy.get("clock_mw_per_mhz_per_kff") * clock * used.get("ff", 0.0) / 1000 / 1000
        )
        power = static + clock_w + dec_pj / dec_ns * 1e-3  # pJ/ns is mW
        valid = ok_l & ok_a & ok_b & ok_m & ok_g & by_kind_ok
        nan = np.where(valid, 1.0, np.nan)
        tps = wl_batch * 1e9 / dec_ns * nan
        return Estimates(
            tokens_per_s=tps,
            ms_per_token=dec_ns / 1e6 * nan,
            time_to_first_token_ms=ttft / 1e6 * nan,
            avg_power_w=power * nan,
            energy_per_token_j=power * dec_ns * 1e-9 / wl_batch * nan,
            bound_tokens_per_s=wl_batch * 1e9 / dec_floor * nan,
            fits=valid & (util <= 1.0),
            worst_utilisation=util,
            valid=valid,
            resources=used,
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

    def _matvecs(self, t: _Table, arr: F64, cores: I64, split: str) -> _Matvecs:
        """Each variant's busiest-core share of every matrix (from per-shape tables)."""
        mats = self.workload.matrices
        n_mat = max(mats) + 1 if mats else 0
        lanes, par, tcols, zs, bpw, *_rest = arr.T
        bubble = arr[:, 8]
        key_cols = np.stack([par, lanes, tcols, bubble, zs, bpw, cores.astype(float)], axis=1)
        key_cols = np.nan_to_num(key_cols, nan=1.0)
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
        return _Matvecs(g[:, 0], g[:, 1], g[:, 2], g[:, 3], g[:, 4], g[:, 5])

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
                got = _share(spec, m, lo, hi)
                if not zs:
                    shapes[key] = got
            else:
                got = shapes[key]
            out[:, mid] = got
        return tuple(out)

    def _layer_core_bytes(self, step: Step, mv: _Matvecs, cores: I64) -> F64:
        """The largest per-core weight bytes of a layers split (each core its layers)."""
        layers = int(self.workload.model.get("layers", 1))
        n_var = cores.size
        n_max = int(cores.max())
        per = np.zeros((n_var, n_max))
        rows = np.arange(n_var)
        for op in step.ops:
            if op.is_matvec:
                core = _layer_core(op.layer, layers, cores)
                per[rows, core] += mv.nbytes[:, op.matrix]
        out: F64 = per.max(axis=1)
        return out

    def _resources(self, t: _Table, cores: I64) -> tuple[dict[str, F64], npt.NDArray[np.bool_]]:
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

            vals, good = t.per_variant(t.of_unit(i), fig, len(kinds))
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


def _python(value: Any) -> Any:
    """Return a column's value as the plain Python value a description holds."""
    return value.item() if isinstance(value, np.generic) else value


def _index(units: Sequence[Any], test: Callable[[Any], bool], base: Arch, what: str) -> int:
    """Return the first unit's index that passes ``test``."""
    for i, u in enumerate(units):
        if test(u):
            return i
    raise UnsupportedChangeError(f"{base.filename}: design {base.spec.name!r} has no {what}")


def _array_figures(arch: Arch, i: int) -> list[float]:
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


def _share(spec: TernaryArray, m: MatrixInfo, lo: int, hi: int) -> tuple[float, ...]:
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


def _layer_core(layer: int, layers: int, cores: I64) -> I64:
    """Each variant's core of a layer in a layers split (the engine's ``op_core``)."""
    if layer < 0:
        return cores - 1
    out: I64 = np.minimum(cores - 1, layer * cores // max(1, layers))
    return out


@dataclass(frozen=True)
class _Profile:
    """One step's gaps on one design (per matvec boundary) and what they move."""

    gaps: F64  # cycles before each matvec, and after the last (matvecs + 1)
    vector_cycles: float  # the busiest core's elementwise and norm cycles
    vector_pj: float  # all cores
    embed_bytes: float
    act_spill: F64  # bytes per gap if activations spill
    state_spill: F64  # bytes per gap if state spills


def _gap_profile(arch: Arch, wl: Workload) -> list[_Profile]:
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
    out = []
    for step in wl.steps:
        gaps = [0.0]
        act = [0.0]
        state = [0.0]
        vec_cyc = 0.0
        vec_pj = 0.0
        embed = 0.0
        prev = math.inf  # the op before's cycles (a matvec: longer than any dispatch)
        for op in step.ops:
            wait = max(0.0, overhead - prev) if ahead else float(overhead)
            gaps[-1] += wait
            if op.kind == "embedding":
                embed += op.bytes_out
                prev = math.inf
                continue
            act[-1] += (op.bytes_in + op.bytes_out) // div
            if op.kind == "recurrence":
                state[-1] += 2 * d * STATE_BYTES * wl.batch // div
            if op.is_matvec:
                gaps.append(0.0)
                act.append(0.0)
                state.append(0.0)
                prev = math.inf
            elif op.kind in ELEMENTWISE_OPS or op.kind == "norm":
                if rows:
                    shares = [op.elements * (c + 1) // n - op.elements * c // n for c in range(n)]
                    works = [system.vector_work(system.cores[c], op, shares[c]) for c in range(n)]
                else:
                    works = [system.vector_work(system.cores[system.op_core(op)], op, op.elements)]
                cyc = max(w[0] for w in works) / ns_cyc
                gaps[-1] += cyc
                vec_cyc += cyc
                vec_pj += sum(w[1] for w in works)
                prev = cyc + wait
            if sync and system.needs_barrier(op):
                gaps[-1] += sync
                prev += sync
        out.append(
            _Profile(
                gaps=np.array(gaps),
                vector_cycles=vec_cyc,
                vector_pj=vec_pj,
                embed_bytes=float(embed),
                act_spill=np.array(act),
                state_spill=np.array(state),
            )
        )
    return out


def _gather_profile(
    profiles: list[list[_Profile] | None], inv: I64, step: int
) -> tuple[F64, F64, F64, F64, F64, F64]:
    """Spread one step's profile of each gap combination to its variants."""
    ref = next(p for p in profiles if p is not None)[step]
    width = ref.gaps.size
    gaps = np.zeros((len(profiles), width))
    act = np.zeros((len(profiles), width))
    state = np.zeros((len(profiles), width))
    scal = np.zeros((len(profiles), 3))
    for j, prof in enumerate(profiles):
        if prof is None:
            continue
        p = prof[step]
        gaps[j], act[j], state[j] = p.gaps, p.act_spill, p.state_spill
        scal[j] = (p.vector_cycles, p.vector_pj, p.embed_bytes)
    s = scal[inv]
    return gaps[inv], s[:, 0], s[:, 1], s[:, 2], act[inv], state[inv]
