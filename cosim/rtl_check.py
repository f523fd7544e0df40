"""The engine against the RTL twin: the same matvecs under the same memory, cycle counts.

:func:`bench_arch` sets a description's memory to the test bench's
(:class:`~arch_models.rtl.MemoryTiming`: a beat's transfer slot ``latency_cycles`` after
its request, one beat every ``beat_interval_cycles``, slots lost with
``stall_probability``) on one core with a channel of its own: ``latency_ns``, a channel
bandwidth of one beat per interval, ``efficiency = 1 - stall_probability``, bursts of one
beat, a path one beat wide. :func:`model_cycles` replays a sequence of matvecs of given
shapes through the engine; :func:`compare` runs the same sequence through the RTL
(:func:`arch_models.rtl.run`) and the engine and returns both cycle counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from arch_models.rtl import MemoryTiming, RtlEvents, RtlParams, RtlUnsupportedError, run
from arch_models.spec.arch import Arch
from arch_models.spec.evolve import evolve
from arch_models.spec.units import Buffer, CoreLayout, OffChipMemory, TernaryArray
from arch_models.units.ternary import plan_matvec
from arch_models.workload import MatrixInfo, Op, Step, Workload
from cosim.engine import simulate
from cosim.fpga import SimOptions

__all__ = [
    "Agreement",
    "bench_arch",
    "compare",
    "model_cycles",
    "model_events",
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
