"""The engine against the RTL twin: the same matvecs under the same memory, cycle counts.

:func:`bench_arch` sets a description's memory to the test bench's
(:class:`~arch_models.rtl.MemoryTiming`: a beat's transfer slot ``latency_cycles`` after
its request, one beat every ``beat_interval_cycles``, slots lost with
``stall_probability``) on one core with a channel of its own: ``latency_ns``, a channel
bandwidth of one beat per interval, ``efficiency = 1 - stall_probability``, bursts of one
beat, a path one beat wide. :func:`model_cycles` replays a sequence of matvecs of given
shapes through the engine; :func:`compare` runs the same sequence through the RTL
(:func:`arch_models.rtl.run`) and the engine and returns both cycle counts.

:func:`check_design` does it for a description as ``cosim rtlcheck`` does: sequences of
the tiny model's own ternary matrices (:func:`model_sequences`, enough of them that the
engine streams them as the RTL does), each under every memory timing of a set
(:data:`TIMINGS`, or :func:`parse_timing`'s ``L<latency>/I<interval>/S<stall>``), one
Verilator build for all; the result, :class:`CheckReport`, holds each run's two counts.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from arch_models.rtl import (
    MemoryTiming,
    RtlEvents,
    RtlParams,
    RtlUnsupportedError,
    build,
    run,
)
from arch_models.rtl.sim import verilator_version
from arch_models.spec.arch import Arch
from arch_models.spec.evolve import evolve
from arch_models.spec.units import Buffer, CoreLayout, OffChipMemory, TernaryArray
from arch_models.units.ternary import plan_matvec
from arch_models.workload import MatrixInfo, Op, Step, Workload
from cosim.engine import simulate
from cosim.fpga import SimOptions
from workloads.loading import load_weights

__all__ = [
    "TIMINGS",
    "Agreement",
    "CheckReport",
    "CheckRun",
    "bench_arch",
    "check_design",
    "compare",
    "model_cycles",
    "model_events",
    "model_sequences",
    "parse_timing",
    "random_ops",
]

#: Columns per block of the nonzero counts (as traces store them).
_BLOCK_COLS = 64


@dataclass(frozen=True)
class Agreement:
    """Cycles of one sequence of matvecs on the RTL and in the engine.

    Attributes:
        rtl_cycles: The RTL bench's count.
        model_cycles: The engine's (a float: its clock is continuous).
        rtl_op_end_cycles: When each matvec ended in the RTL.
        rtl_events: What the RTL did that the energy model charges.
        model_events: The same events as the engine's plan charges them
            (:func:`model_events`; ``mem_beats`` as whole beats of each buffer fill).
    """

    rtl_cycles: int
    model_cycles: float
    rtl_op_end_cycles: tuple[int, ...]
    rtl_events: RtlEvents | None = None
    model_events: RtlEvents | None = None

    @property
    def error(self) -> float:
        """Return the engine's relative error, ``(model - rtl) / rtl``."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles


def bench_arch(arch: Arch, timing: MemoryTiming) -> Arch:
    """Return ``arch`` on one core with its memory set to the bench's timing.

    Raises:
        RtlUnsupportedError: The description has no single off-chip memory block.
    """
    mems = arch.spec.units_of(OffChipMemory)
    if len(mems) != 1:
        raise RtlUnsupportedError("the RTL bench has one memory; the description has not")
    mem = mems[0]
    period_ns = 1000.0 / arch.spec.clock_mhz
    beat = mem.beat_bytes
    changes: dict[str, Any] = {
        f"{mem.name}.channels": 1,
        f"{mem.name}.latency_ns": timing.latency_cycles * period_ns,
        f"{mem.name}.bandwidth_gb_per_s_per_channel": beat
        / (timing.beat_interval_cycles * period_ns),
        f"{mem.name}.efficiency": 1.0 - timing.stall_probability,
        f"{mem.name}.burst_bytes": beat,
        f"{mem.name}.request_bytes": None,
        f"{mem.name}.path_bits_per_cycle": 8 * beat,
        f"{mem.name}.path_latency_cycles": None,
    }
    layouts = arch.spec.units_of(CoreLayout)
    if layouts:
        changes[f"{layouts[0].name}.cores"] = 1
    return evolve(arch, changes)


def _matrix_info(k: int, w: npt.NDArray[np.integer[Any]]) -> MatrixInfo:
    rows, cols = w.shape
    nblk = -(-cols // _BLOCK_COLS)
    nz = np.pad(w != 0, ((0, 0), (0, nblk * _BLOCK_COLS - cols)))
    nnz = nz.reshape(rows, nblk, _BLOCK_COLS).sum(axis=2).astype(np.uint8)
    return MatrixInfo(k, f"m{k}", rows, cols, _BLOCK_COLS, nnz)


def model_cycles(
    arch: Arch,
    matrices: Sequence[npt.ArrayLike],
    *,
    max_transactions: int | None = None,
) -> float:
    """Replay a sequence of matvecs through the engine; return its cycles.

    Args:
        arch: The design (already set to the bench's memory, :func:`bench_arch`).
        matrices: Each matvec's ``[rows, cols]`` weights (their nonzeros matter only
            with zero skipping).
        max_transactions: The engine's transfer merging (default: none, every buffer
            fill its own transfer).

    Raises:
        RtlUnsupportedError: The engine would keep the weights on chip (the RTL streams
            them).
    """
    infos = {k: _matrix_info(k, np.asarray(w)) for k, w in enumerate(matrices)}
    ops = tuple(
        Op(
            kind="ternary_matvec",
            name=m.name,
            layer=0,
            rows=m.rows,
            cols=m.cols,
            elements=m.rows * m.cols,
            matrix=m.id,
            bytes_in=m.cols,
            bytes_out=m.rows,
        )
        for m in infos.values()
    )
    workload = Workload(
        model={"name": "rtl-check", "layers": 0, "d": 0},
        matrices=infos,
        steps=(Step(index=0, phase="decode", ops=ops),),
    )
    options = SimOptions(max_transactions=max_transactions or 1 << 30)
    result = simulate(arch, workload, options=options)
    if result.fpga is not None and result.fpga.onchip.weights_resident:
        raise RtlUnsupportedError(
            "the engine keeps these weights resident in the weight buffer; the RTL streams "
            "them (use matrices larger than the buffer)"
        )
    return result.ms_per_token * 1e6 * arch.spec.clock_mhz / 1000.0


def model_events(
    arch: Arch, matrices: Sequence[npt.ArrayLike], *, max_transactions: int | None = None
) -> RtlEvents:
    """Return the events the energy model charges for a sequence of matvecs on one core.

    They come from the engine's own plan of each matvec
    (:func:`arch_models.units.ternary.plan_matvec`, as the engine builds it): weights
    that reach an adder, array steps, hand-off bubbles, weight-buffer bytes, and the
    memory beats of each buffer fill (a fill's bytes in whole beats, as streamed).
    """
    array = arch.spec.units_of(TernaryArray)[0]
    mem = arch.spec.units_of(OffChipMemory)[0]
    wbuf = next((b for b in arch.spec.units_of(Buffer) if b.holds == "weights"), None)
    full_tile = math.ceil(
        array.rows_parallel * array.count * array.tile_cols * array.bits_per_weight / 8
    )
    chunk = wbuf.tile_capacity_bytes if wbuf else full_tile
    adds = steps = bubbles = nbytes = beats = 0
    for k, w in enumerate(matrices):
        m = _matrix_info(k, np.asarray(w))
        plan = plan_matvec(array, m, 0, m.rows, chunk, max_transactions or 1 << 30)
        for c in plan.chunks:
            adds, steps, bubbles = adds + c.adds, steps + c.steps, bubbles + c.bubbles
            nbytes += c.nbytes
            beats += c.fills * -(-c.nbytes // (c.fills * mem.beat_bytes))
    return RtlEvents(adds=adds, steps=steps, bubbles=bubbles, wbuf_bytes=nbytes, mem_beats=beats)


def random_ops(
    shapes: Sequence[tuple[int, int]], seed: int = 0, zero_fraction: float = 1 / 3
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Return random ternary matrices and int8 activations of the given shapes."""
    rng = np.random.default_rng(seed)
    out = []
    for rows, cols in shapes:
        w = rng.choice(
            np.array([-1, 0, 1]),
            size=(rows, cols),
            p=[(1 - zero_fraction) / 2, zero_fraction, (1 - zero_fraction) / 2],
        )
        out.append((w, rng.integers(-128, 128, size=cols)))
    return out


def compare(
    arch: Arch,
    ops: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    timing: MemoryTiming,
    *,
    max_transactions: int | None = None,
    cache: Path | None = None,
) -> Agreement:
    """Run a sequence of matvecs on the RTL and in the engine under ``timing``.

    Args:
        arch: The design (any memory; it is set to the bench's).
        ops: Each matvec's weights and activations.
        timing: The bench's memory.
        max_transactions: The engine's transfer merging (default: none).
        cache: Folder of RTL builds.

    Raises:
        RtlUnsupportedError: The design or a matrix is one the RTL does not build.
        arch_models.rtl.RtlToolError: Verilator is missing or failed.
    """
    timed = bench_arch(arch, timing)
    shapes = [np.asarray(w).shape for w, _ in ops]
    lanes = max(a.lanes for a in timed.spec.units_of(TernaryArray))
    params = RtlParams.of_arch(
        timed,
        max_rows=_round_up(max(r for r, _ in shapes), 64),
        max_cols=_round_up(max(c for _, c in shapes), max(64, lanes)),
    )
    model = model_cycles(timed, [w for w, _ in ops], max_transactions=max_transactions)
    rtl = run(params, ops, timing, cache=cache)
    return Agreement(
        rtl_cycles=rtl.cycles,
        model_cycles=model,
        rtl_op_end_cycles=rtl.op_end_cycles,
        rtl_events=rtl.events,
        model_events=model_events(timed, [w for w, _ in ops]),
    )


def _round_up(n: int, to: int) -> int:
    return -(-n // to) * to


# ---------------------------------------------------------------- a description's check
#: Memory timings a design is checked under (as ``benchmarks/rtl_fidelity.py``'s): a beat
#: every cycle, a long latency, a beat every second and fourth cycle, random back-pressure.
TIMINGS: dict[str, MemoryTiming] = {
    "every-cycle": MemoryTiming(latency_cycles=1, beat_interval_cycles=1),
    "latency-30": MemoryTiming(latency_cycles=30, beat_interval_cycles=1),
    "interval-2": MemoryTiming(latency_cycles=8, beat_interval_cycles=2),
    "interval-4": MemoryTiming(latency_cycles=16, beat_interval_cycles=4),
    "stalls-25": MemoryTiming(latency_cycles=12, stall_probability=0.25, seed=7),
}
_TIMING_PART = re.compile(r"^(?P<key>[LIS])(?P<value>\d+(?:\.\d+)?)$")
#: The model whose matrices the checks replay.
CHECK_MODEL = "tiny"
#: Most matvecs in one drawn sequence.
_MAX_MATVECS = 1024


def parse_timing(text: str) -> tuple[str, MemoryTiming]:
    """Return a named memory timing: one of :data:`TIMINGS`, or ``L<n>/I<n>/S<p>``.

    ``L`` is the latency in cycles, ``I`` the cycles per beat and ``S`` the chance that
    a transfer slot is lost (each optional: ``L20/I3``, ``S0.1``).

    Raises:
        RtlUnsupportedError: Neither a known name nor such a timing (the message lists
            the names).
    """
    name = text.strip()
    if name in TIMINGS:
        return name, TIMINGS[name]
    values: dict[str, str] = {}
    for part in name.split("/") if name else ():
        m = _TIMING_PART.match(part.strip().upper())
        if m is None or m["key"] in values:
            values = {}
            break
        values[m["key"]] = m["value"]
    if not values:
        raise RtlUnsupportedError(
            f"memory timing {text!r} is not in supported list: {', '.join(TIMINGS)}, "
            "or L<latency>/I<interval>/S<stall probability> (e.g. L20/I3/S0.1)"
        )
    try:
        timing = MemoryTiming(
            latency_cycles=int(values.get("L", "1")),
            beat_interval_cycles=int(values.get("I", "1")),
            stall_probability=float(values.get("S", "0")),
        )
    except ValueError as exc:
        raise RtlUnsupportedError(f"memory timing {text!r}: {exc}") from None
    return name, timing


def model_sequences(
    arch: Arch, count: int, seed: int = 0
) -> list[list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]]:
    """Draw ``count`` sequences of matvecs: the tiny model's matrices, random activations.

    Sequence ``k`` starts at a seeded position of the tiny model's decode step (its
    matrices in execution order, the LM head last) and runs on through them (around
    again where needed) until it holds at least three matvecs and more weight bytes than
    the design's weight buffer (else the engine would keep them on chip, where the RTL
    streams them). Activations are random, within the array's activation width.

    Args:
        arch: The design (its array's packing and its weight buffer's capacity matter).
        count: Sequences to draw.
        seed: Seed of the starting positions and the activations.

    Raises:
        RtlUnsupportedError: The design has no ternary array, or a weight buffer so large
            that a sequence would need more than 1024 matvecs.
    """
    arrays = arch.spec.units_of(TernaryArray)
    if not arrays:
        raise RtlUnsupportedError("the RTL builds one ternary_array; the description has none")
    array = arrays[0]
    wbufs = [b for b in arch.spec.units_of(Buffer) if b.holds == "weights"]
    capacity = wbufs[0].capacity_bytes if wbufs else 0
    matrices = [m.unpack().astype(np.int64) for m in load_weights(CHECK_MODEL).matrices()]
    lo, hi = -(1 << (array.activation_bits - 1)), 1 << (array.activation_bits - 1)
    out = []
    for k in range(count):
        rng = np.random.default_rng([seed, k])
        pos = int(rng.integers(len(matrices)))
        ops: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        nbytes = 0.0
        while len(ops) < 3 or nbytes <= capacity:
            if len(ops) >= _MAX_MATVECS:
                raise RtlUnsupportedError(
                    f"the weight buffer holds {capacity:,} B: more than {_MAX_MATVECS} of the "
                    f"{CHECK_MODEL} model's matvecs fit, which the engine would keep on chip"
                )
            w = matrices[(pos + len(ops)) % len(matrices)]
            ops.append((w, np.asarray(rng.integers(lo, hi, size=w.shape[1]), dtype=np.int64)))
            nbytes += w.size * array.bits_per_weight / 8
        out.append(ops)
    return out


@dataclass(frozen=True)
class CheckRun:
    """One sequence of matvecs under one memory timing, on the RTL and in the engine.

    Attributes:
        run: The sequence's number.
        timing: The memory timing's name.
        matvecs: Matvecs in the sequence.
        weights: Ternary weights they stream.
        rtl_cycles: The RTL bench's count.
        model_cycles: The engine's.
    """

    run: int
    timing: str
    matvecs: int
    weights: int
    rtl_cycles: int
    model_cycles: float

    @property
    def error(self) -> float:
        """Return the engine's relative error, ``(model - rtl) / rtl``."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles


@dataclass(frozen=True)
class CheckReport:
    """The engine against the RTL on one description.

    Attributes:
        design: The description's name.
        params: The RTL's parameters (one build for every run).
        timings: The memory timings, by name.
        runs: Every sequence under every timing.
        max_transactions: The engine's transfer merging.
        seed: The seed of the sequences.
        verilator: ``verilator --version``.
    """

    design: str
    params: RtlParams
    timings: dict[str, MemoryTiming]
    runs: tuple[CheckRun, ...]
    max_transactions: int
    seed: int
    verilator: str

    @property
    def mean_abs_error(self) -> float:
        """Return the mean of every run's ``|error|``."""
        return sum(abs(r.error) for r in self.runs) / len(self.runs)

    @property
    def worst(self) -> CheckRun:
        """Return the run of the largest ``|error|``."""
        return max(self.runs, key=lambda r: abs(r.error))

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON data (errors in percent, signed per run)."""
        worst = self.worst
        return {
            "design": self.design,
            "model": CHECK_MODEL,
            "seed": self.seed,
            "configs": len({r.run for r in self.runs}),
            "max_transactions": self.max_transactions,
            "verilator": self.verilator,
            "rtl_params": self.params.hdl(),
            "timings": {n: dataclasses.asdict(t) for n, t in self.timings.items()},
            "runs": [
                {
                    "run": r.run,
                    "timing": r.timing,
                    "matvecs": r.matvecs,
                    "weights": r.weights,
                    "rtl_cycles": r.rtl_cycles,
                    "model_cycles": r.model_cycles,
                    "error_pct": 100.0 * r.error,
                }
                for r in self.runs
            ],
            "mean_abs_error_pct": 100.0 * self.mean_abs_error,
            "worst_abs_error_pct": 100.0 * abs(worst.error),
            "worst_run": {"run": worst.run, "timing": worst.timing},
        }


def check_design(
    arch: Arch,
    sequences: Sequence[Sequence[tuple[npt.ArrayLike, npt.ArrayLike]]],
    timings: Mapping[str, MemoryTiming],
    *,
    max_transactions: int,
    seed: int = 0,
    cache: Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> CheckReport:
    """Run every sequence under every timing on the RTL and in the engine.

    The RTL is built once (Verilator; minutes the first time for a design, then cached)
    with room for the largest matvec of any sequence. A timing's random stalls are
    seeded anew for each sequence.

    Args:
        arch: The design (any memory; each timing replaces it, :func:`bench_arch`).
        sequences: Each sequence's matvecs (weights and activations), e.g.
            :func:`model_sequences`.
        timings: The memory timings, by name.
        max_transactions: The engine's transfer merging (``cosim simulate``'s default is
            4; a large number books every buffer fill as its own transfer).
        seed: Recorded in the report (the seed the sequences were drawn with).
        cache: Folder of RTL builds.
        on_progress: Called with ``("build", 0, 1)`` before the build and
            ``("run", done, total)`` after each run.

    Raises:
        RtlUnsupportedError: The design or a matrix is one the RTL does not build.
        arch_models.rtl.RtlToolError: Verilator is missing (the message says how to
            install it) or failed.
    """
    if not sequences or not timings:
        raise RtlUnsupportedError("give at least one sequence and one memory timing")
    shapes = [np.asarray(w).shape for ops in sequences for w, _ in ops]
    lanes = max(a.lanes for a in arch.spec.units_of(TernaryArray))
    first = bench_arch(arch, next(iter(timings.values())))
    try:
        params = RtlParams.of_arch(
            first,
            max_rows=_round_up(max(r for r, _ in shapes), 64),
            max_cols=_round_up(max(c for _, c in shapes), max(64, lanes)),
        )
    except RtlUnsupportedError as exc:
        raise RtlUnsupportedError(
            f"{arch.spec.name}: the RTL twin does not build this design: {exc}"
        ) from None
    version = verilator_version()  # before anything slow: is Verilator there?
    total = len(sequences) * len(timings)
    if on_progress is not None:
        on_progress("build", 0, 1)
    build(params, cache)
    runs: list[CheckRun] = []
    for k, ops in enumerate(sequences):
        matrices = [np.asarray(w) for w, _ in ops]
        for name, timing in timings.items():
            timed = bench_arch(arch, timing)
            model = model_cycles(timed, matrices, max_transactions=max_transactions)
            seeded = dataclasses.replace(timing, seed=timing.seed + 1000 * k)
            rtl = run(params, ops, seeded, cache=cache)
            runs.append(
                CheckRun(
                    run=k,
                    timing=name,
                    matvecs=len(ops),
                    weights=sum(int(w.size) for w in matrices),
                    rtl_cycles=rtl.cycles,
                    model_cycles=model,
                )
            )
            if on_progress is not None:
                on_progress("run", len(runs), total)
    return CheckReport(
        design=arch.spec.name,
        params=params,
        timings=dict(timings),
        runs=tuple(runs),
        max_transactions=max_transactions,
        seed=seed,
        verilator=version,
    )
