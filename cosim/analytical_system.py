"""The analytical tier for systems of several FPGA cards: cards, links and their pipeline.

The single-card tier (:class:`cosim.analytical.AnalyticalModel`) gives each card's time,
floor and energy per step of its share of the workload (the shares the SimPy tier runs,
:func:`cosim.system.card_share`), vectorised over the card fields that vary; this module
puts the cards and links together as :func:`cosim.system.simulate_system` does, over
every variant of a base system at once:

- **Variants** are columns of changed fields named as a search space names them: the
  system's own (``cards[0].count``, ``mapping``, ``links.card``, ``sequences_in_flight``)
  and, after ``card.``, a field of every card (``card.clock_mhz``). Variants that share
  the system's own fields and the cards' batch share one set of shares; within them each
  card's figures are computed once per distinct combination of the other card fields.
- **``mapping: layers``**: a recurrence over the system's steps in the pipeline's order
  (step ``t`` of group ``g`` is step ``t · groups + g``): a step enters over the host link
  when its group's previous decode step has left (prompt steps at once), each card takes
  its steps in order, each card-to-card link and host link direction serialises one
  transfer at a time and adds its latency after it. Links are first come, first served,
  as :class:`~arch_models.units.link.LinkModel`.
- **``mapping: rows``**: every card runs every step; after each matvec the cards wait for
  the ring all-gather (``cards − 1`` rounds, each the largest slice's serialisation and
  the link's latency), inserted into each card's recurrence; a step lasts its host
  transfers and its slowest card's time.
- **Figures** as the SimPy tier reports them: tokens/s over the decode window, each
  sequence's ms per token, time to the first token, W (each card's static, clock and
  dynamic power over the window; each link direction's energy over the window and its
  ports), J per token, resources summed over cards and fits (every card fits).
- **Bounds** as :func:`cosim.system.simulate_system` states them (from each card's
  floors and the links); no variant is reported faster than them.

What it leaves out (its error is measured per family, :attr:`Estimates.family`, by every
two-tier study): each card's weight stream is run back to back, so a card idling for its
input prefetches no further than the recurrence lets it; the host link serves requests in
the steps' order; a rows mapping's cards meet after each matvec at their slowest card's
step (the sum of their slowest steps, not of their slowest matvecs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from arch_models.catalog.links import LinkType
from arch_models.spec.evolve import CARD_PREFIX, evolve_system, parse_path, resolve_path
from arch_models.spec.system import System
from arch_models.spec.units import CoreLayout
from arch_models.validation.errors import SpecError
from arch_models.workload import Op, Workload
from cosim._variant_table import combinations, modelled_path
from cosim.analytical import (
    ESTIMATE_FIGURES,
    AnalyticalModel,
    EstimateRows,
    Estimates,
    StepFigures,
)
from cosim.errors import UnsupportedChangeError
from cosim.fpga import SimOptions
from cosim.system import TOKEN_BYTES, card_share

__all__ = ["SystemAnalyticalModel", "check_system_changes"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
#: A system's own fields the tier models (a card group's count, links, mapping, groups).
_OWN = ("count", "card", "host", "mapping", "sequences_in_flight")


class SystemAnalyticalModel:
    """Estimates for variants of one system of FPGA cards on one workload.

    Args:
        base: A validated system.
        workload: The steps and matrices of one sequence (batched by the cards' batch as
            the SimPy tier does).
        options: The SimPy tier's fidelity knobs (each card's tier mirrors them).
    """

    def __init__(self, base: System, workload: Workload, options: SimOptions | None = None):
        if not workload.decode_steps:
            raise UnsupportedChangeError("the workload has no decode step")
        self.base = base
        self.workload = workload
        self.options = options or SimOptions()
        #: (card, cards, mapping, groups, card design, link) → the card's figures.
        self._figures: dict[tuple[Any, ...], StepFigures] = {}
        self._models: dict[tuple[Any, ...], AnalyticalModel] = {}
        #: (card, cards, mapping, groups, batch) → the card's share (None: impossible).
        self._shares: dict[tuple[Any, ...], Workload | None] = {}

    # ----------------------------------------------------------------- public
    def evaluate(
        self,
        columns: Mapping[str, Any],
        progress: Callable[[int, int], None] | None = None,
    ) -> Estimates:
        """Estimate every variant.

        Args:
            columns: Changed field path (``mapping``, ``cards[0].count``, ``card.clock_mhz``)
                → one value per variant; unchanged fields are the base system's.
            progress: Called as ``progress(done, total)`` after each group of variants.

        Raises:
            UnsupportedChangeError: A column the tier does not model, or columns of
                different lengths.
        """
        cols = {k: np.asarray(v) for k, v in columns.items()}
        sizes = {v.size for v in cols.values()}
        if len(sizes) > 1:
            raise UnsupportedChangeError(f"columns differ in length: {sorted(sizes)}")
        n = sizes.pop() if sizes else 1
        check_system_changes(self.base, list(cols))
        shaping = [k for k in cols if not k.startswith(CARD_PREFIX)]
        shaping += [k for k in cols if k.startswith(CARD_PREFIX) and _shapes(self.base, k)]
        inv, reps = combinations(cols, shaping, n)
        built = EstimateRows(n)
        for g, rep in enumerate(reps):
            idx = np.flatnonzero(inv == g)
            rest = {k: v[idx] for k, v in cols.items() if k not in shaping}
            built.put(idx, self._group(rep, rest, idx.size))
            if progress is not None:
                progress(int(np.count_nonzero(inv <= g)), n)
        return built.estimates()

    # -------------------------------------------------------------- one group
    def _group(self, changes: dict[str, Any], rest: dict[str, Any], size: int) -> Estimates:
        """Variants sharing the system's own fields and the cards' batch."""
        try:
            system = _evolve(self.base, changes)
        except SpecError:
            return _invalid(size)
        batches = {a.spec.layout.batch for a in system.cards}
        if len(batches) > 1:
            return _invalid(size)
        batch = batches.pop()
        wl = self.workload.batched(batch) if self.workload.batch == 1 else self.workload
        card_cols = {k.removeprefix(CARD_PREFIX): v for k, v in rest.items()}
        inv, reps = combinations(card_cols, list(card_cols), size)
        uniq = {k: np.array([r[k] for r in reps]) for k in card_cols}
        n = len(system.cards)
        mapping = system.spec.mapping
        groups = system.spec.sequences_in_flight
        link = system.card_link
        after = _exchange(wl, n, link) if mapping == "rows" and n > 1 else None
        figs: list[StepFigures] = []
        shares: list[Workload] = []
        for k, arch in enumerate(system.cards):
            skey = (k, n, mapping, groups, batch)
            if skey not in self._shares:
                try:
                    self._shares[skey] = card_share(wl, mapping, k, n, groups)
                except ValueError:
                    self._shares[skey] = None
            share = self._shares[skey]
            if share is None:
                return _invalid(size)
            key = (k, n, mapping, groups, arch.spec.model_dump_json(), link.id if after else "")
            mkey = key[:5]
            if mkey not in self._models:
                self._models[mkey] = AnalyticalModel(arch, share, self.options)
            fkey = (*key, tuple(sorted((c, tuple(v.tolist())) for c, v in uniq.items())))
            if fkey not in self._figures:
                self._figures[fkey] = self._models[mkey].step_figures(uniq, after)
            figs.append(self._figures[fkey])
            shares.append(share)
        est = _layers(system, wl, shares, figs) if mapping == "layers" else _rows(system, wl, figs)
        return _spread(est, inv)


# ------------------------------------------------------------------ the pipeline


def _serial(link: LinkType, nbytes: float) -> float:
    return nbytes / link.bytes_per_ns


def _layers(
    system: System, wl: Workload, shares: list[Workload], figs: list[StepFigures]
) -> Estimates:
    """The ``layers`` pipeline: steps through cards and links, first come, first served."""
    n = len(figs)
    groups = system.spec.sequences_in_flight
    host, card = system.host_link, system.card_link
    u = figs[0].step_ns.shape[1]
    h_lat, c_lat = host.latency_ns.value, card.latency_ns.value
    total = len(wl.steps) * groups
    start = np.zeros((total, u))
    done = np.zeros((total, u))
    hin_free = np.zeros(u)
    hout_free = np.zeros(u)
    card_free = np.zeros((n, u))
    link_free = np.zeros((max(n - 1, 1), u))
    link_bytes = np.zeros(total)  # every card-to-card transfer's bytes, per step
    host_bytes = np.zeros(total)
    for i in range(total):
        t = i // groups
        step = wl.steps[t]
        ready = done[i - groups] if step.phase == "decode" and t > 0 else np.zeros(u)
        start[i] = ready
        tokens = TOKEN_BYTES * step.vectors
        host_bytes[i] = 2 * tokens
        at = np.maximum(ready, hin_free)
        hin_free = at + _serial(host, tokens)
        arrive = hin_free + h_lat
        for k in range(n):
            began = np.maximum(arrive, card_free[k])
            card_free[k] = began + figs[k].step_ns[i]
            if k < n - 1:
                ops = shares[k].steps[i].ops
                nbytes = ops[-1].bytes_out if ops else 0
                link_bytes[i] += nbytes
                sent = np.maximum(card_free[k], link_free[k])
                link_free[k] = sent + _serial(card, nbytes)
                arrive = link_free[k] + c_lat
            else:
                sent = np.maximum(card_free[k], hout_free)
                hout_free = sent + _serial(host, tokens)
                done[i] = hout_free + h_lat
    phases = [wl.steps[i // groups].phase for i in range(total)]
    decode = [i for i in range(total) if phases[i] == "decode"]
    window = done[decode].max(axis=0) - start[decode].min(axis=0)
    rounds = len(wl.decode_steps)
    per_seq = np.mean(
        [(done[decode[-groups + g]] - start[decode[g]]) / rounds for g in range(groups)],
        axis=0,
    )
    prompt = [t for t, s in enumerate(wl.steps) if s.phase == "prefill"]
    first_out = (prompt[-1] if prompt else decode[0] // groups) * groups
    ttft = done[first_out] - start[0]
    # the bound per round (cosim.system's): one group through every card and link, the
    # busiest card serving every group, the busiest link serving every group
    floors = np.stack([_decode_mean(f, f.floor_ns) for f in figs])
    step0 = wl.decode_steps[0]
    tok = TOKEN_BYTES * step0.vectors
    host_ns = 2 * (_serial(host, tok) + h_lat)
    acts = [s.decode_steps[0].ops[-1].bytes_out if s.decode_steps[0].ops else 0
            for s in shares[:-1]]  # fmt: skip
    serial = [_serial(card, a) for a in acts]
    hops = sum(serial) + len(acts) * c_lat
    floor = np.maximum(
        np.maximum(floors.sum(axis=0) + hops + host_ns, groups * floors.max(axis=0)),
        groups * max(serial, default=0.0),
    )
    links_pj = (
        sum(link_bytes[i] for i in decode) * 8 * card.energy_pj_per_bit.value
        + sum(host_bytes[i] for i in decode) * 8 * host.energy_pj_per_bit.value
    )
    ports = (n - 1) * 2 * card.port_static_w.value + n * host.port_static_w.value
    return _assemble(
        figs, decode_rows=decode, window=window, floor=floor, rounds=rounds,
        per_seq=per_seq, ttft=ttft, links_pj=links_pj, ports_w=ports,
        groups=groups, family=f"system: layers pipeline, {groups} group(s) in flight",
    )  # fmt: skip


def _exchange(wl: Workload, n: int, link: LinkType) -> Callable[[int, int, Op], float]:
    """The ring all-gather after a matvec of a ``rows`` mapping (cards − 1 rounds)."""
    cache: dict[tuple[int, int], float] = {}

    def after(step: int, seq: int, op: Op) -> float:
        if (step, seq) not in cache:
            full = wl.steps[step].ops[seq]
            share = [full.rows * (c + 1) // n - full.rows * c // n for c in range(n)]
            biggest = max(full.bytes_out * s // max(1, full.rows) for s in share)
            cache[step, seq] = (n - 1) * (_serial(link, biggest) + link.latency_ns.value)
        return cache[step, seq]

    return after


def _rows(system: System, wl: Workload, figs: list[StepFigures]) -> Estimates:
    """The ``rows`` mapping: steps in turn, each its host transfers and slowest card."""
    n = len(figs)
    host, card = system.host_link, system.card_link
    h_lat = host.latency_ns.value
    tokens = np.array([TOKEN_BYTES * s.vectors for s in wl.steps], dtype=float)
    hosts = 2 * (tokens / host.bytes_per_ns + h_lat)
    cards = np.stack([f.step_ns for f in figs]).max(axis=0)
    steps = cards + hosts[:, None]
    end = np.cumsum(steps, axis=0)
    decode = [i for i, s in enumerate(wl.steps) if s.phase == "decode"]
    prompt = [i for i, s in enumerate(wl.steps) if s.phase == "prefill"]
    window = steps[decode].sum(axis=0)
    rounds = len(decode)
    ttft = end[prompt[-1]] if prompt else steps[decode[0]]
    exchange = 0.0
    gathered = 0.0
    after = _exchange(wl, n, card) if n > 1 else None
    step0 = wl.decode_steps[0]
    for seq, op in enumerate(step0.ops):
        if op.is_matvec and after is not None:
            exchange += after(step0.index, seq, op)
    for i in decode:
        for op in wl.steps[i].ops:
            if op.is_matvec and n > 1:
                # every card forwards all slices but its successor's own: (n − 1) / n of
                # the vector a card, n cards
                gathered += op.bytes_out * (n - 1)
    floors = np.stack([_decode_mean(f, f.floor_ns) for f in figs])
    floor = np.maximum(floors.max(axis=0), exchange + hosts[decode[0]])
    links_pj = (
        gathered * 8 * card.energy_pj_per_bit.value
        + tokens[decode].sum() * 2 * 8 * host.energy_pj_per_bit.value
    )
    ends = 1.0 if n == 2 else 2.0
    ports = (n * ends * card.port_static_w.value if n > 1 else 0.0) + n * host.port_static_w.value
    return _assemble(
        figs, decode_rows=decode, window=window, floor=floor, rounds=rounds,
        per_seq=window / rounds, ttft=ttft, links_pj=links_pj, ports_w=ports, groups=1,
        family="system: rows split",
    )  # fmt: skip


def _assemble(
    figs: list[StepFigures],
    *,
    decode_rows: list[int],
    window: F64,
    floor: F64,
    rounds: int,
    per_seq: F64,
    ttft: F64,
    links_pj: float,
    ports_w: float,
    groups: int,
    family: str,
) -> Estimates:
    """Sum cards and links into a system's figures (never faster than its bound)."""
    batch = figs[0].batch
    tokens = rounds * groups * batch
    window = np.maximum(window, rounds * floor)
    watts = ports_w + links_pj / window * 1e-3
    used: dict[str, F64] = {}
    valid = np.ones_like(window, dtype=bool)
    fits = np.ones_like(window, dtype=bool)
    util = np.zeros_like(window)
    for f in figs:
        watts = watts + f.static_w + f.clock_w + f.dyn_pj[decode_rows].sum(axis=0) / window * 1e-3
        for kind, col in f.resources.items():
            used[kind] = used.get(kind, 0.0) + col
        valid &= f.valid
        fits &= f.fits
        util = np.maximum(util, f.worst_utilisation)
    nan = np.where(valid, 1.0, np.nan)
    fam = np.array([f"{family}; cards: {c}" for c in figs[0].family], dtype=object)
    return Estimates(
        tokens_per_s=tokens * 1e9 / window * nan,
        ms_per_token=per_seq / 1e6 * nan,
        time_to_first_token_ms=ttft / 1e6 * nan,
        avg_power_w=watts * nan,
        energy_per_token_j=watts * window * 1e-9 / tokens * nan,
        bound_tokens_per_s=groups * batch * 1e9 / floor * nan,
        fits=fits & valid,
        worst_utilisation=util,
        valid=valid,
        family=fam,
        resources=used,
    )


# ---------------------------------------------------------------- helpers


def check_system_changes(base: System, names: list[str]) -> None:
    """Check that the tier models every changed field of a system (before any work).

    Raises:
        UnsupportedChangeError: Naming the first field it does not model.
    """
    for name in names:
        if name.startswith(CARD_PREFIX):
            for arch in base.groups:
                modelled_path(arch, name.removeprefix(CARD_PREFIX))
            continue
        parts = parse_path(name)
        if not parts or parts[-1] not in _OWN:
            raise UnsupportedChangeError(
                f"the analytical tier does not model the system field {name!r}"
            )


def _shapes(base: System, name: str) -> bool:
    """Whether a card field shapes the workload (a core layout's batch or split)."""
    for arch in base.groups:
        parts = resolve_path(arch, parse_path(name.removeprefix(CARD_PREFIX)))
        if len(parts) >= 3 and parts[0] == "units":
            unit = arch.spec.units[int(parts[1])]
            if isinstance(unit, CoreLayout) and parts[2] in ("batch", "split"):
                return True
    return False


def _evolve(base: System, changes: dict[str, Any]) -> System:
    return evolve_system(base, changes) if changes else base


def _decode_mean(f: StepFigures, rows: F64) -> F64:
    decode = [i for i, p in enumerate(f.phases) if p == "decode"]
    out: F64 = rows[decode].mean(axis=0)
    return out


def _spread(est: Estimates, inv: I64) -> Estimates:
    """Return per-combination estimates for every variant (``inv``: its combination)."""
    return Estimates(
        **{f: getattr(est, f)[inv] for f in ESTIMATE_FIGURES},
        resources={k: v[inv] for k, v in est.resources.items()},
    )


def _invalid(size: int) -> Estimates:
    nan = np.full(size, math.nan)
    no = np.zeros(size, dtype=bool)
    return Estimates(
        tokens_per_s=nan, ms_per_token=nan, time_to_first_token_ms=nan, avg_power_w=nan,
        energy_per_token_j=nan, bound_tokens_per_s=nan, fits=no, worst_utilisation=nan,
        valid=no, family=np.full(size, "system: invalid", dtype=object),
    )  # fmt: skip
