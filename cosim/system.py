"""Co-simulation of a system of several FPGA cards and the links between them.

Every card is the single-card model (:class:`~cosim.fpga.FpgaSystem`, its cores, memory
and buffers as its description says) running its share of the workload
(:meth:`~arch_models.workload.Workload.layer_share` or
:meth:`~arch_models.workload.Workload.row_share`); all cards and every link direction
(:class:`~arch_models.units.link.LinkModel`) live in one SimPy environment, so a card
waiting on a link, a link queueing behind another transfer and a card's weight DMA
running ahead while it waits are all simulated, not added up afterwards.

``mapping: layers`` (a pipeline). A group of sequences' step enters over the first
card's host link (its tokens), runs on each card in turn, crosses a card-to-card link
between cards (the residual vector of every sequence of the group), and leaves over the
last card's host link (the next tokens). Each card takes its steps in order. With
``sequences_in_flight`` groups the cards work on different groups at once; a group's
next decode step enters when its previous one has left (it needs that token), its prompt
steps enter back to back.

``mapping: rows``. Every card runs every step on its rows of each matrix; after each
matvec the cards exchange their slices in a ring (card k sends to card k+1; ``cards − 1``
rounds, each card forwarding what it received), and every card then holds the whole
vector for the elementwise and norm work that follows. The step's tokens come in over the
first card's host link and leave over the last's.

Bounds. Each card's own analytical floor for a step of its share
(:func:`~cosim.bounds.compute_bounds`) and the links' time: for ``layers`` a group's step
is at least every card's floor plus every link's transfer in sequence, and each card and
link must serve every group's step in turn; for ``rows`` a step is at least the slowest
card's floor and at least its exchanges and host transfers in sequence. No simulated
decode window may beat them (an internal error if one does).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import simpy

from arch_models.energy import EnergyTable
from arch_models.resources import estimate_resources
from arch_models.sim_env import CountingEnvironment
from arch_models.spec.system import System
from arch_models.units import BuildContext, Recorder
from arch_models.units.link import LinkModel
from arch_models.workload import Op, Step, Workload
from cosim import __version__
from cosim.bounds import Bounds, compute_bounds
from cosim.engine import mirror_cores
from cosim.errors import SimulationError
from cosim.fpga import FpgaSystem, SimOptions
from cosim.power import power_summary
from cosim.run_result import SimStats
from cosim.system_result import CardFigures, LinkFigures, SystemResult

__all__ = ["TOKEN_BYTES", "card_share", "simulate_system"]

#: Bytes of one token id on a host link (a 32-bit id, in and out).
TOKEN_BYTES = 4


def _interleaved(workload: Workload, groups: int) -> Workload:
    """Return ``workload`` for ``groups`` groups of sequences, their steps interleaved.

    Step ``t`` of group ``g`` becomes step ``t · groups + g``: the order in which a
    pipeline's cards take them, and so the order a card's weight DMA streams them.
    """
    if groups == 1:
        return workload
    steps = tuple(
        replace(s, index=t * groups + g)
        for t, s in enumerate(workload.steps)
        for g in range(groups)
    )
    return replace(workload, steps=steps, meta={**workload.meta, "groups": groups})


def card_share(workload: Workload, mapping: str, card: int, cards: int, groups: int) -> Workload:
    """Return what card ``card`` of ``cards`` runs under ``mapping``.

    ``layers``: its run of layers, the steps of ``groups`` groups interleaved
    (:meth:`~arch_models.workload.Workload.layer_share`); ``rows``: its rows of every
    matrix (:meth:`~arch_models.workload.Workload.row_share`).

    Raises:
        ValueError: The model cannot be split so (more cards than layers or rows).
    """
    if mapping == "layers":
        return _interleaved(workload.layer_share(card, cards), groups)
    return workload.row_share(card, cards)


def _tokens(step: Step) -> int:
    """Token ids a step moves over a host link (every sequence, every prompt position)."""
    return TOKEN_BYTES * step.vectors


class _Cards:
    """The cards of a system built for one workload in one SimPy environment."""

    def __init__(
        self, system: System, base: Workload, options: SimOptions, env: simpy.Environment
    ) -> None:
        n = len(system.cards)
        groups = system.spec.sequences_in_flight
        self.shares: list[Workload] = []
        self.cards: list[FpgaSystem] = []
        self.recorders: list[Recorder] = []
        for k, arch in enumerate(system.cards):
            try:
                share = card_share(base, system.spec.mapping, k, n, groups)
            except ValueError as exc:
                raise SimulationError(f"{system.filename}: {exc}") from None
            recorder = Recorder()
            ctx = BuildContext(
                env=env, arch=arch, energy=EnergyTable(arch.device), recorder=recorder
            )
            card = FpgaSystem(arch, share, ctx, options)
            try:
                card.build()
                card.connect()
            except (KeyError, ValueError) as exc:
                raise SimulationError(f"{arch.filename} (card {k}): {exc}") from None
            self.shares.append(share)
            self.cards.append(card)
            self.recorders.append(recorder)
        self.bounds: list[Bounds] = [compute_bounds(c) for c in self.cards]


class _Timeline:
    """When each step of the system started and ended (by the system's step index)."""

    def __init__(self) -> None:
        self.start: dict[int, float] = {}
        self.end: dict[int, float] = {}


def _host_links(
    env: simpy.Environment, system: System, n: int, rec: Recorder
) -> tuple[LinkModel, LinkModel]:
    """The host link directions a system uses: tokens into card 0, out of the last card."""
    return (
        LinkModel(env, system.host_link, "link.host->card0", rec),
        LinkModel(env, system.host_link, f"link.card{n - 1}->host", rec),
    )


def _pipeline(
    env: simpy.Environment,
    system: System,
    base: Workload,
    cards: _Cards,
    rec: Recorder,
    timeline: _Timeline,
    on_step: Callable[[], None],
) -> tuple[list[LinkModel], simpy.Event]:
    """Start the ``layers`` mapping's processes; return its links and the all-done event."""
    n = len(cards.cards)
    groups = system.spec.sequences_in_flight
    host_in, host_out = _host_links(env, system, n, rec)
    chain = [
        LinkModel(env, system.card_link, f"link.card{k}->card{k + 1}", rec) for k in range(n - 1)
    ]
    total = len(base.steps) * groups
    arrive = [[env.event() for _ in range(total)] for _ in range(n)]
    done = [env.event() for _ in range(total)]

    def leave(k: int, step: Step, nbytes: int) -> Generator[Any, Any, None]:
        if k < n - 1:
            yield from chain[k].send(nbytes, "activations", step.index, step.phase)
            arrive[k + 1][step.index].succeed()
        else:
            yield from host_out.send(_tokens(step), "tokens out", step.index, step.phase)
            timeline.end[step.index] = env.now
            done[step.index].succeed()
            on_step()

    def card(k: int) -> Generator[Any, Any, None]:
        for step in cards.shares[k].steps:
            yield arrive[k][step.index]
            yield from cards.cards[k].run_step(step)
            out = step.ops[-1].bytes_out if step.ops else 0
            env.process(leave(k, step, out))

    def enter(step: Step) -> Generator[Any, Any, None]:
        yield from host_in.send(_tokens(step), "tokens in", step.index, step.phase)
        arrive[0][step.index].succeed()

    def feed(g: int) -> Generator[Any, Any, None]:
        for t, step in enumerate(base.steps):
            i = t * groups + g
            if step.phase == "decode" and t > 0:
                yield done[i - groups]
            timeline.start[i] = env.now
            env.process(enter(cards.shares[0].steps[i]))

    for k in range(n):
        env.process(card(k))
    for g in range(groups):
        env.process(feed(g))
    return [host_in, *chain, host_out], simpy.AllOf(env, done)


def _rows(
    env: simpy.Environment,
    system: System,
    base: Workload,
    cards: _Cards,
    rec: Recorder,
    timeline: _Timeline,
    on_step: Callable[[], None],
) -> tuple[list[LinkModel], simpy.Process]:
    """Start the ``rows`` mapping's driver; return its links and the driver process."""
    n = len(cards.cards)
    host_in, host_out = _host_links(env, system, n, rec)
    ring = (
        [
            LinkModel(env, system.card_link, f"link.card{k}->card{(k + 1) % n}", rec)
            for k in range(n)
        ]
        if n > 1
        else []
    )
    meeting: dict[tuple[int, int], tuple[simpy.Event, list[int]]] = {}

    def gather(step: Step, seq: int, op: Op) -> Generator[Any, Any, None]:
        full = base.steps[step.index].ops[seq]
        share = [full.rows * (c + 1) // n - full.rows * c // n for c in range(n)]
        for r in range(n - 1):
            sends = [
                env.process(
                    ring[c].send(
                        full.bytes_out * share[(c - r) % n] // max(1, full.rows),
                        f"gather {op.name}",
                        step.index,
                        step.phase,
                    )
                )
                for c in range(n)
            ]
            yield simpy.AllOf(env, sends)

    def after_matvec(step: Step, seq: int, op: Op) -> Generator[Any, Any, None]:
        if n == 1:
            return
        key = (step.index, seq)
        if key not in meeting:
            meeting[key] = (env.event(), [0])
        event, arrived = meeting[key]
        arrived[0] += 1
        if arrived[0] == n:

            def run() -> Generator[Any, Any, None]:
                yield from gather(step, seq, op)
                event.succeed()
                del meeting[key]

            env.process(run())
        yield event

    def drive() -> Generator[Any, Any, None]:
        for t, step in enumerate(base.steps):
            timeline.start[step.index] = env.now
            yield from host_in.send(_tokens(step), "tokens in", step.index, step.phase)
            runs = [
                env.process(cards.cards[k].run_step(cards.shares[k].steps[t], after_matvec))
                for k in range(n)
            ]
            yield simpy.AllOf(env, runs)
            yield from host_out.send(_tokens(step), "tokens out", step.index, step.phase)
            timeline.end[step.index] = env.now
            on_step()

    return [host_in, *ring, host_out], env.process(drive())


def _bound(
    system: System, base: Workload, cards: _Cards
) -> tuple[float, str, Callable[[int], float]]:
    """Return the floor per decode round (ns), what binds it, and the window's floor.

    A *round* is one decode step of every group in flight. The last returns, for a
    decode window of ``rounds`` rounds, the least time it may take (the cards' prefetch
    allowances subtracted where they apply).
    """
    n = len(cards.cards)
    step = base.decode_steps[0]
    host = system.host_link
    host_ns = 2 * (_tokens(step) / host.bytes_per_ns + host.latency_ns.value)
    floors = [b.step_ns for b in cards.bounds]
    ahead = [b.prefetch_ns for b in cards.bounds]
    link = system.card_link
    if system.spec.mapping == "layers":
        groups = system.spec.sequences_in_flight
        shares = [c.decode_steps[0] for c in cards.shares]
        acts = [s.ops[-1].bytes_out if s.ops else 0 for s in shares[:-1]]
        serial = [a / link.bytes_per_ns for a in acts]
        hops = sum(serial) + len(acts) * link.latency_ns.value
        latency = sum(floors) + hops + host_ns
        parts = {
            "one group's step through every card and link": latency,
            f"card {int(np.argmax(floors))} serving {groups} group(s)": groups * max(floors),
            "card-to-card link serving every group": groups * max(serial, default=0.0),
        }
        slack_latency = sum(max(0.0, f - a) for f, a in zip(floors, ahead, strict=True))

        def least(rounds: int) -> float:
            by_card = max(groups * rounds * f - a for f, a in zip(floors, ahead, strict=True))
            return max(rounds * (slack_latency + hops + host_ns), by_card,
                       groups * rounds * max(serial, default=0.0))  # fmt: skip

    else:
        exchange = 0.0
        for op in step.ops:
            if op.is_matvec and n > 1:
                biggest = op.bytes_out * (-(-op.rows // n)) // max(1, op.rows)
                exchange += (n - 1) * (biggest / link.bytes_per_ns + link.latency_ns.value)
        parts = {
            f"card {int(np.argmax(floors))} (its own floor)": max(floors),
            "exchanges and host transfers in sequence": exchange + host_ns,
        }

        def least(rounds: int) -> float:
            return max(
                max(rounds * f - a for f, a in zip(floors, ahead, strict=True)),
                rounds * (exchange + host_ns),
            )

    binding = max(parts, key=lambda k: parts[k])
    return parts[binding], binding, least


def simulate_system(
    system: System,
    workload: Workload,
    *,
    options: SimOptions | None = None,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> SystemResult:
    """Replay a workload through a system of FPGA cards and its links.

    Args:
        system: A validated system (:func:`arch_models.spec.system.load_system`).
        workload: The steps and matrices of one sequence (or of a batch already).
        options: Fidelity knobs, for every card.
        seed: Recorded with the results.
        on_step: Called as ``on_step(done, total)`` after each system step (progress).

    Raises:
        SimulationError: A card cannot run its share (named with its file).
    """
    if not workload.decode_steps:
        raise SimulationError("the workload has no decode step to measure")
    options = options or SimOptions()
    batches = {a.spec.layout.batch for a in system.cards}
    if len(batches) > 1:
        raise SimulationError(
            f"{system.filename}: the cards' batches differ ({sorted(batches)}); the "
            f"sequences of a step pass through every card"
        )
    base = workload.batched(batches.pop()) if workload.batch == 1 else workload
    wall0 = time.perf_counter()
    env = CountingEnvironment()
    cards = _Cards(system, base, options, env)
    for card in cards.cards:
        card.start_weight_streams()
    links_rec = Recorder()
    timeline = _Timeline()
    groups = system.spec.sequences_in_flight
    total = len(base.steps) * groups
    count = [0]

    def step_done() -> None:
        count[0] += 1
        if on_step:
            on_step(count[0], total)

    if system.spec.mapping == "layers":
        links, finished = _pipeline(env, system, base, cards, links_rec, timeline, step_done)
    else:
        links, finished = _rows(env, system, base, cards, links_rec, timeline, step_done)
    run0 = time.perf_counter()
    env.run(until=finished)
    run_s = time.perf_counter() - run0

    decode = [
        t * groups + g
        for t, s in enumerate(base.steps)
        if s.phase == "decode"
        for g in range(groups)
    ]
    first = min(timeline.start[i] for i in decode)
    last = max(timeline.end[i] for i in decode)
    window = last - first
    rounds = len(base.decode_steps)
    floor, binding, least = _bound(system, base, cards)
    if window < least(rounds) * (1 - 1e-9) - 1e-6:
        raise AssertionError(
            f"internal error: the system's decode window {window:.1f} ns beats its own "
            f"bound {least(rounds):.1f} ns ({binding})"
        )
    tokens = rounds * groups * base.batch
    per_sequence = []
    for g in range(groups):
        mine = [t * groups + g for t, s in enumerate(base.steps) if s.phase == "decode"]
        per_sequence.append((timeline.end[mine[-1]] - timeline.start[mine[0]]) / len(mine))
    prompt = [t for t, s in enumerate(base.steps) if s.phase == "prefill"]
    first_out = (prompt[-1] if prompt else decode[0] // groups) * groups
    ttft = timeline.end[first_out] - timeline.start[0]

    card_figs: list[CardFigures] = []
    used: dict[str, float] = {}
    avail: dict[str, float] = {}
    total_w = 0.0
    rows = 0
    for k, card in enumerate(cards.cards):
        frame = mirror_cores(cards.recorders[k].frame(), card)
        rows += len(frame)
        res = estimate_resources(card.arch)
        power = power_summary(card.arch, frame, window, tokens, res)
        total_w += power["avg_power_w"]
        for kind, v in res.as_dict().items():
            used[kind] = used.get(kind, 0.0) + v["used"]
            avail[kind] = avail.get(kind, 0.0) + v["available"]
        card_figs.append(
            CardFigures(
                index=k,
                design=card.arch.spec.name,
                device=card.arch.device.id,
                share=str(cards.shares[k].meta.get("share", "")),
                fits=res.fits,
                fit_problems=tuple(res.problems),
                resources=res.as_dict(),
                avg_power_w=power["avg_power_w"],
                power_breakdown_w=power["breakdown_w"],
                bound_ns_per_step=cards.bounds[k].step_ns,
                onchip=card.onchip,
            )
        )
    link_frame = links_rec.frame()
    rows += len(link_frame)
    link_figs = _link_figures(system, links, link_frame, window, tokens)
    total_w += sum(f.avg_power_w for f in link_figs)
    seconds = window / 1e9
    return SystemResult(
        tokens_per_s=tokens / seconds,
        ms_per_token=float(np.mean(per_sequence)) / 1e6,
        avg_power_w=total_w,
        energy_per_token_j=total_w * seconds / tokens,
        bound_tokens_per_s=groups * base.batch * 1e9 / floor,
        binding_bound=binding,
        time_to_first_token_ms=ttft / 1e6,
        fits=all(c.fits for c in card_figs),
        resources={
            kind: {
                "used": round(used[kind], 1),
                "available": avail[kind],
                "utilisation": round(used[kind] / avail[kind], 4) if avail[kind] else float("inf"),
            }
            for kind in used
        },
        system=system.spec.name,
        mapping=system.spec.mapping,
        model=str(base.model.get("name", "?")),
        batch=base.batch,
        sequences_in_flight=groups,
        prompt_tokens=sum(base.steps[t].positions for t in prompt),
        decode_tokens=rounds,
        cards=tuple(card_figs),
        links=tuple(link_figs),
        seed=seed,
        sim=SimStats(
            events=env.scheduled,
            rows=rows,
            wall_s=time.perf_counter() - wall0,
            run_s=run_s,
            max_transactions=options.max_transactions,
            mirrored_cores=any(c.mirrored for c in cards.cards),
        ),
        versions={
            "mmfree_cosim": __version__,
            "python": platform.python_version(),
            "simpy": simpy.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    )


def _link_figures(
    system: System, links: list[LinkModel], frame: pd.DataFrame, window: float, tokens: int
) -> list[LinkFigures]:
    """Per link direction: decode bytes per token, busy fraction, power (with its ends)."""
    n = len(system.cards)
    dec = frame[frame["phase"] == "decode"] if len(frame) else frame
    out = []
    for link in links:
        rows = dec[dec["unit"] == link.scope] if len(dec) else dec
        nbytes = float(rows["bytes"].sum()) if len(rows) else 0.0
        busy = float(rows["busy_ns"].sum()) if len(rows) else 0.0
        energy_j = float(rows["energy_pj"].sum()) / 1e12 if len(rows) else 0.0
        port = link.link.port_static_w.value
        if link.link.role == "host":
            ends = n / 2  # every card's host port, split over the two directions modelled
        elif system.spec.mapping == "rows" and n == 2:
            ends = 1.0  # the two directions of one cable: one end each
        else:
            ends = 2.0
        out.append(
            LinkFigures(
                name=link.scope.removeprefix("link."),
                link=link.link.id,
                bytes_per_token=nbytes / tokens,
                busy=busy / window if window else 0.0,
                avg_power_w=energy_j / (window / 1e9) + ends * port,
            )
        )
    return out
