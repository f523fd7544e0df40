"""Off-chip memory: DDR4 banks or HBM pseudo-channels, shared by the cores.

Timing: channels are grouped per core (a core owns ``channels // cores`` channels when
there are at least as many channels as cores; otherwise ``cores // channels`` cores share
each channel). A group is a SimPy ``Resource``: one transfer at a time, taking
``latency_ns + bytes / (channels_in_group × bandwidth × efficiency)``. Transfers are
streams of back-to-back bursts: the access latency is paid when a core's stream starts or
restarts after a pause, not again for a transfer that follows the previous one without a
gap; a transfer is rounded up to whole bursts. When the core's memory path is narrower than the
group delivers (``path_bits_per_cycle``), the core's port drains the data more slowly
after the channel is released: the channel is free for others, the core still waits.
A core's port is a ``Resource`` too: its transfers (weights, an embedding row, spills)
take turns, so a core never draws more than its own path.

Weight-buffer fills (:meth:`OffChipModel.fill`, cores with channels of their own) whose
path has a stream FIFO, a beat interval or a request window (``max_outstanding``) follow
the requests as the RTL issues them (:mod:`arch_models.rtl`), in beats of one request
(:attr:`~arch_models.spec.units.OffChipMemory.beat_bytes`), each answered a round trip
later (``path_latency_cycles`` when given, else ``latency_ns``): without a stream FIFO a
fill is requested when its buffer half is freed, and its first beat arrives a round trip
later or right after the previous fill's last, whichever is later; with a FIFO of
``path_fifo_beats`` the requests run ahead of the buffer by that many beats (so after a
pause the FIFO's beats are there at once and the latency is paid only beyond them). The
buffer takes at most one beat per ``path_beat_interval_cycles`` (with a FIFO, at most
one a cycle). Every limit of the path (width, requests in flight, the FIFO's credits,
the beat interval) caps its bandwidth (:meth:`OffChipModel.path_bytes_per_ns`).

Energy: bytes moved × the device's ``ddr_pj_per_byte`` / ``hbm_pj_per_byte``.
A transfer's busy time is the channel's plus the narrower path's (the transfer engine is
occupied until the core has drained it), which is what utilisation reports.

Resources: the memory controllers are hard blocks on these devices; the per-channel soft
interface (AXI/Avalon adapter and DMA) is estimated at 2,000 LE and 3,000 FF per channel
used (an estimate, stated as such in the summary). A core's weight DMA as the RTL twin
builds it (request and writer sequencer, fill-size queue, the optional stream FIFO, both
in distributed RAM) is :func:`stream_logic`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from arch_models.catalog.models import Device
from arch_models.spec.units import OffChipMemory
from arch_models.units.base import BuildContext, Resources, UnitModel, logic_cells
from arch_models.units.logic import Logic, clog2

__all__ = ["OffChipModel", "stream_logic"]

_LE_PER_CHANNEL = 2000
_FF_PER_CHANNEL = 3000
#: Width of the RTL's counters, and of a fill descriptor.
_INDEX_BITS = 32
_DESC_BITS = 16
#: Fill descriptors queued beyond the stream FIFO's (the RTL's ``FIFO_BEATS + 3``).
_QUEUE_EXTRA = 3


def _fifo_logic(depth: int, width: int) -> Logic:
    """Return a fall-through FIFO in distributed RAM (pointers, count, bypass mux)."""
    pointer = max(1, clog2(depth))
    return Logic(
        lutram_bits=-(-depth // 32) * 32 * width,
        mux_inputs=2 * width,
        adder_bits=2 * _INDEX_BITS + 2 * pointer,
        register_bits=_INDEX_BITS + 2 * pointer,
    )


def stream_logic(
    beat_bits: int, fifo_beats: int, beat_interval_cycles: int, max_outstanding: int
) -> Logic:
    """Return one core's weight DMA as the RTL twin builds it.

    Args:
        beat_bits: Bits of a beat.
        fifo_beats: Stream FIFO depth (0: none).
        beat_interval_cycles: Fewest cycles between beats (pacing counters when above 1).
        max_outstanding: Requests in flight (a cap's comparator when above 0).
    """
    out = Logic(sequencers=1) + _fifo_logic(fifo_beats + _QUEUE_EXTRA, _DESC_BITS)
    if fifo_beats:
        out += _fifo_logic(fifo_beats, beat_bits)
    if beat_interval_cycles > 1:
        out += Logic(adder_bits=2 * _INDEX_BITS, register_bits=2 * _INDEX_BITS)
    if max_outstanding:
        out += Logic(adder_bits=_INDEX_BITS)
    return out


@dataclass
class _Stream:
    """One core's weight stream so far.

    Attributes:
        mem_end: When the last fill's last beat landed (no FIFO), ns.
        last_request: When the last beat was requested (with a FIFO), ns.
        last_slot: When the last beat's memory transfer slot began, ns.
        last_take: When the buffer took the last beat, ns.
        takes: When the buffer took each of the last FIFO-depth beats (oldest first).
        delivered: When each of the last ``max_outstanding`` beats arrived.
    """

    mem_end: float = -math.inf
    last_request: float = -math.inf
    last_slot: float = -math.inf
    last_take: float = -math.inf
    takes: deque[float] = field(default_factory=deque)
    delivered: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class _Path:
    """A read path's constants, as a fill's arithmetic uses them.

    Attributes:
        cyc: A cycle, ns.
        xfer: One beat's transfer, ns.
        interval: The least gap between beats taken, ns.
        fifo: Stream FIFO depth, beats (0: none).
        mo: Requests in flight (0: unlimited).
        latency: A request's round trip, ns.
    """

    cyc: float
    xfer: float
    interval: float
    fifo: int
    mo: int
    latency: float


def _lagged(history: deque[float], lag: int, n: int) -> npt.NDArray[np.float64]:
    """Return, for the next ``n <= lag`` beats, the time beat ``j - lag`` was recorded."""
    out = np.full(n, -np.inf)
    have = len(history)
    first = lag - have  # beats of the block whose lagged beat predates the history
    if first < n:
        out[max(first, 0) :] = list(history)[max(-first, 0) : max(-first, 0) + n - max(first, 0)]
    return out


class OffChipModel(UnitModel[OffChipMemory]):
    """DDR4 or HBM channels with per-core channel groups."""

    kind = "offchip"
    placement = "device"

    def __init__(self, ctx: BuildContext, scope: str, spec: OffChipMemory, cores: int) -> None:
        super().__init__(ctx, scope, spec)
        self.cores = cores
        if spec.channels >= cores:
            self.groups = cores
            self.channels_per_group = spec.channels // cores
        else:
            self.groups = spec.channels
            self.channels_per_group = 1
        self.lanes = [simpy.Resource(ctx.env, capacity=1) for _ in range(self.groups)]
        # A core's memory port carries one transfer at a time: its weight stream, an
        # embedding-row read and spills queue for it rather than each getting the full
        # bandwidth at once.
        self.ports = [simpy.Resource(ctx.env, capacity=1) for _ in range(cores)]
        family = "hbm" if spec.kind == "hbm" else "ddr"
        self.pj_per_byte = ctx.energy.get(f"{family}_pj_per_byte")
        self.bytes_moved = 0
        self._last_end: dict[int, float] = {}
        self._streams: dict[int, _Stream] = {}

    @classmethod
    def create(cls, ctx: BuildContext, scope: str, spec: OffChipMemory) -> OffChipModel:
        """Build the memory shared by the design's cores (``core_layout.cores``)."""
        return cls(ctx, scope, spec, ctx.arch.spec.layout.cores)

    @property
    def used_channels(self) -> int:
        """Return the channels actually carrying traffic."""
        return self.groups * self.channels_per_group

    def group_of(self, core: int) -> int:
        """Return the channel group serving ``core``."""
        return core % self.groups if self.groups < self.cores else core

    def group_bytes_per_ns(self) -> float:
        """Return one group's sustained bandwidth in bytes/ns (= GB/s)."""
        s = self.spec
        return self.channels_per_group * s.bandwidth_gb_per_s_per_channel * s.efficiency

    def path_bytes_per_ns(self) -> float:
        """Return a core's memory-path bandwidth in bytes/ns (``inf`` when unlimited).

        The narrowest of the datapath (``path_bits_per_cycle``), the request window
        (requests in flight, ``max_outstanding`` and the stream FIFO's ``path_fifo_beats``
        credits, each ``beat_bytes``, per latency plus the request's own transfer time,
        Little's law; and at most one request a cycle) and the beat interval
        (``path_beat_interval_cycles``).
        """
        return min(self._memory_side_bytes_per_ns(), self._taker_bytes_per_ns())

    def _memory_side_bytes_per_ns(self) -> float:
        """Return what the path draws from memory: its width and its request window."""
        s = self.spec
        path = (
            math.inf
            if s.path_bits_per_cycle is None
            else (s.path_bits_per_cycle / 8 / self.ctx.ns_per_cycle)
        )
        window = min(
            math.inf if s.max_outstanding is None else s.max_outstanding,
            s.path_fifo_beats or math.inf,
        )
        if window == math.inf:
            return path
        req = s.beat_bytes
        per_req_ns = self.round_trip_ns() + req / min(path, self.group_bytes_per_ns())
        # requests leave one a cycle at most (the beat-level path's issue)
        issue = req / self.ctx.ns_per_cycle
        return min(path, issue, window * req / per_req_ns)

    def _taker_bytes_per_ns(self) -> float:
        """Return what the core takes: a beat per ``path_beat_interval_cycles``."""
        s = self.spec
        if s.path_beat_interval_cycles is None:
            return math.inf
        return s.beat_bytes / (s.path_beat_interval_cycles * self.ctx.ns_per_cycle)

    def _direct_fill(self, stream: _Stream, moved: int, free_at: float | None, now: float) -> float:
        """Return when a fill lands without a stream FIFO (requested once its half is free)."""
        taker = self._taker_bytes_per_ns()
        pace = max(
            1.0 / min(self.group_bytes_per_ns(), self._memory_side_bytes_per_ns()),
            1.0 / taker if taker < math.inf else 0.0,
        )
        if free_at is None:  # the stream goes on: its requests are long out
            first = max(stream.mem_end, now)
        else:
            first = max(free_at + self.round_trip_ns(), stream.mem_end, now)
        stream.mem_end = first + moved * pace
        return stream.mem_end

    def round_trip_ns(self) -> float:
        """Return a read request's round trip as the core sees it.

        ``path_latency_cycles`` when given (a shell-side prefetch FIFO serves the core),
        else the access latency ``latency_ns``.
        """
        s = self.spec
        if s.path_latency_cycles is None:
            return s.latency_ns
        return s.path_latency_cycles * self.ctx.ns_per_cycle

    def _beat_ns(self) -> float:
        """Return one beat's transfer time (the channel's or the path width's)."""
        s = self.spec
        cyc = self.ctx.ns_per_cycle
        width = math.inf if s.path_bits_per_cycle is None else s.path_bits_per_cycle / 8 / cyc
        return s.beat_bytes / min(self.group_bytes_per_ns(), width)

    def _beat_fill(self, stream: _Stream, beats: int, free_at: float | None) -> float:
        """Return when a fill lands, following the RTL's beats, block by block.

        Beat ``j`` is requested a cycle after the previous request (``path_beat_interval_cycles``
        without a FIFO), after beat ``j - max_outstanding`` arrived, and after beat
        ``j - path_fifo_beats`` left the FIFO (its credit) or, without a FIFO, once the
        fill's half is free; its transfer slot starts a round trip later, or one beat's
        transfer after the previous slot; it arrives in the slot's last cycle and is
        taken into the buffer then (through a FIFO: once the half is free, at most one a
        ``path_beat_interval_cycles``, or a cycle). A block of beats no longer than the
        lag depends only on earlier blocks, so each block is a few cumulative maxima.
        """
        p = self._path()
        lag = min(x for x in (p.fifo, p.mo, beats) if x)
        half = -math.inf if free_at is None else free_at
        if stream.last_request == -math.inf:  # the DMA starts with the run
            stream.last_request = -(p.interval if not p.fifo else p.cyc)
        if lag == 1:  # one beat a block: the same arithmetic on floats (NumPy costs more)
            return self._beat_fill_single(stream, beats, half, p)
        return self._beat_fill_blocks(stream, beats, half, lag, p)

    def _path(self) -> _Path:
        """The read path's constants a fill's arithmetic uses."""
        s = self.spec
        cyc = self.ctx.ns_per_cycle
        return _Path(
            cyc=cyc,
            xfer=self._beat_ns(),
            interval=(s.path_beat_interval_cycles or 1) * cyc,
            fifo=s.path_fifo_beats,
            mo=s.max_outstanding or 0,
            latency=self.round_trip_ns(),
        )

    def _beat_fill_blocks(
        self, stream: _Stream, beats: int, half: float, lag: int, p: _Path
    ) -> float:
        """:meth:`_beat_fill`'s blocks of ``lag`` beats, each a few cumulative maxima."""
        cyc, xfer, interval, fifo, mo, latency = (
            p.cyc, p.xfer, p.interval, p.fifo, p.mo, p.latency
        )  # fmt: skip
        done = 0
        prev: npt.NDArray[np.float64] | None = None
        while done < beats:
            n = min(lag, beats - done)
            i = np.arange(n, dtype=np.float64)
            if fifo:
                base = _lagged(stream.takes, fifo, n) + cyc
                gap = cyc
            else:
                base = np.full(n, half)
                gap = interval
            if mo:
                base = np.maximum(base, _lagged(stream.delivered, mo, n) + cyc)
            req = np.maximum(
                np.maximum.accumulate(base - gap * i) + gap * i,
                stream.last_request + gap * (i + 1),
            )
            slot = np.maximum(
                np.maximum.accumulate(req + latency - xfer * i) + xfer * i,
                stream.last_slot + xfer * (i + 1),
            )
            arrive = slot + xfer - cyc
            if fifo:
                took = np.maximum(
                    np.maximum.accumulate(np.maximum(arrive, half) - interval * i) + interval * i,
                    stream.last_take + interval * (i + 1),
                )
            else:
                took = arrive
            block = np.stack([req, slot, arrive, took])
            left = (beats - done - n) // lag
            if prev is not None and n == lag and left and min(req[0], took[0]) > half:
                step = block - prev
                period = float(step[0, 0])
                if float(np.abs(step - period).max()) <= 1e-6 * max(1.0, abs(period)):
                    # periodic from here on: the remaining whole blocks repeat this one
                    block = block + left * period
                    req, slot, arrive, took = block
                    done += left * lag
            prev = block
            stream.last_request, stream.last_slot = float(req[-1]), float(slot[-1])
            stream.last_take = float(took[-1])
            if fifo:
                stream.takes.extend(took.tolist())
                while len(stream.takes) > fifo:
                    stream.takes.popleft()
            if mo:
                stream.delivered.extend(arrive.tolist())
                while len(stream.delivered) > mo:
                    stream.delivered.popleft()
            done += n
        stream.mem_end = stream.last_take + cyc
        return stream.mem_end

    def _beat_fill_single(self, stream: _Stream, beats: int, half: float, p: _Path) -> float:
        """:meth:`_beat_fill` when each beat waits for the one before (a lag of one beat).

        The block arithmetic of :meth:`_beat_fill` with one beat a block, on floats: every
        operation is the one the arrays would do (the same results to the bit), the
        periodic shortcut included.
        """
        cyc, xfer, interval, fifo, mo, latency = (
            p.cyc, p.xfer, p.interval, p.fifo, p.mo, p.latency
        )  # fmt: skip
        gap = cyc if fifo else interval
        done = 0
        prev: tuple[float, float, float, float] | None = None
        while done < beats:
            if fifo:
                base = (stream.takes[-fifo] if len(stream.takes) >= fifo else -math.inf) + cyc
            else:
                base = half
            if mo:
                lagged = stream.delivered[-mo] if len(stream.delivered) >= mo else -math.inf
                base = max(base, lagged + cyc)
            req = max(base, stream.last_request + gap)
            slot = max(req + latency, stream.last_slot + xfer)
            arrive = slot + xfer - cyc
            took = max(max(arrive, half), stream.last_take + interval) if fifo else arrive
            left = beats - done - 1
            if prev is not None and left and min(req, took) > half:
                step = (req - prev[0], slot - prev[1], arrive - prev[2], took - prev[3])
                period = step[0]
                tol = 1e-6 * max(1.0, abs(period))
                if all(abs(x - period) <= tol for x in step):
                    # periodic from here on: the remaining beats repeat this one
                    req, slot, arrive, took = (v + left * period for v in (req, slot, arrive, took))
                    done += left
            prev = (req, slot, arrive, took)
            stream.last_request, stream.last_slot, stream.last_take = req, slot, took
            if fifo:
                stream.takes.append(took)
                while len(stream.takes) > fifo:
                    stream.takes.popleft()
            if mo:
                stream.delivered.append(arrive)
                while len(stream.delivered) > mo:
                    stream.delivered.popleft()
            done += 1
        stream.mem_end = stream.last_take + cyc
        return stream.mem_end

    def moved_bytes(self, nbytes: int) -> int:
        """Return the bytes a transfer of ``nbytes`` moves (whole bursts)."""
        burst = self.spec.burst_bytes
        return -(-nbytes // burst) * burst

    def stream_of(self, core: int) -> _Stream:
        """Return ``core``'s weight-stream state."""
        return self._streams.setdefault(core, _Stream())

    def land(
        self,
        core: int,
        nbytes: int,
        free_at: float | None,
        now: float,
        held: float = -math.inf,
        after_other: bool = False,
    ) -> float:
        """Book one weight-buffer fill on ``core``'s stream; return when it has landed.

        No simulated time passes: :meth:`fill` waits for it, and the engine books the
        fills of a merged transfer one after the other (see ``cosim.fpga``).

        Args:
            core: The core (its channels its own).
            nbytes: The fill's bytes.
            free_at: When its half became free (``None``: the stream goes on).
            now: When the DMA gets to it.
            held: The DMA was held until then (see :meth:`fill`).
            after_other: The port carried another transfer until ``now``.
        """
        s = self.spec
        stream = self.stream_of(core)
        moved = self.moved_bytes(nbytes)
        if s.path_fifo_beats or s.path_beat_interval_cycles or s.max_outstanding:
            beat_ns = self._beat_ns()
            if after_other:  # no slot before the other transfer's end
                stream.last_slot = max(stream.last_slot, now - beat_ns)
                if s.max_outstanding:
                    # its requests held the request window until their data came
                    cyc = self.ctx.ns_per_cycle
                    stream.delivered.extend([now - cyc] * s.max_outstanding)
                    while len(stream.delivered) > s.max_outstanding:
                        stream.delivered.popleft()
            if held > stream.last_slot + beat_ns:
                gap = self.ctx.ns_per_cycle * (
                    1 if s.path_fifo_beats else (s.path_beat_interval_cycles or 1)
                )
                stream.last_request = max(stream.last_request, held - gap)
            beats = -(-moved // s.beat_bytes)
            return max(now, self._beat_fill(stream, beats, free_at))
        if held > stream.mem_end and free_at is not None:
            free_at = max(free_at, held)
        return self._direct_fill(stream, moved, free_at, now)

    def shift_stream(self, core: int, dt: float) -> None:
        """Move ``core``'s stream state ``dt`` ns later (a periodic run fast-forwarded)."""
        st = self.stream_of(core)
        st.mem_end += dt
        st.last_request += dt
        st.last_slot += dt
        st.last_take += dt
        st.takes = deque(t + dt for t in st.takes)
        st.delivered = deque(t + dt for t in st.delivered)

    def book(
        self,
        core: int,
        start: float,
        end: float,
        moved: int,
        op: str,
        name: str,
        step: int,
        phase: str,
        stall: float = 0.0,
    ) -> None:
        """Record a weight transfer the engine booked with :meth:`land` (its bytes and time)."""
        self.bytes_moved += moved
        self._last_end[core] = end
        self.record(
            "offchip",
            op,
            name,
            step,
            phase,
            t_ns=start,
            nbytes=moved,
            energy_pj=moved * self.pj_per_byte,
            busy_ns=end - start,
            stall_ns=stall,
        )

    def fill(
        self,
        core: int,
        nbytes: int,
        free_at: float | None,
        op: str,
        name: str,
        step: int,
        phase: str,
        held: float = -math.inf,
    ) -> Generator[Any, Any, float]:
        """Stream one weight-buffer fill into ``core``; returns the stall (queueing) ns.

        Args:
            core: The core.
            nbytes: The fill's bytes (rounded up to whole bursts).
            free_at: When its buffer half became free; ``None`` when it continues the
                previous fill without a pause (the rest of a merged transfer).
            op: Op kind (for the result row).
            name: Op name.
            step: Step index.
            phase: Step phase.
            held: The DMA was held until then (a merged transfer waits for its matvec to
                start): if the stream had stopped before, nothing was requested earlier.
        """
        if nbytes <= 0:
            return 0.0
        if self.groups < self.cores:  # shared channels: queued transfers
            stall: float = yield from self.transfer(core, nbytes, op, name, step, phase)
            return stall
        moved = self.moved_bytes(nbytes)
        asked = self.env.now
        with self.ports[core].request() as port:
            yield port
            now = self.env.now
            end = self.land(core, nbytes, free_at, now, held, after_other=now > asked)
            busy = end - now
            yield self.env.timeout(busy)
            self.bytes_moved += moved
            self._last_end[core] = self.env.now
        self.record(
            "offchip",
            op,
            name,
            step,
            phase,
            t_ns=now,
            nbytes=moved,
            energy_pj=moved * self.pj_per_byte,
            busy_ns=busy,
            stall_ns=now - asked,
        )
        return now - asked

    def transfer(
        self, core: int, nbytes: int, op: str, name: str, step: int, phase: str
    ) -> Generator[Any, Any, float]:
        """Move ``nbytes`` between memory and ``core``; returns the stall (queueing) ns."""
        if nbytes <= 0:
            return 0.0
        burst = self.spec.burst_bytes
        moved = -(-nbytes // burst) * burst
        group = self.group_of(core)
        asked = self.env.now
        with self.ports[core].request() as port:
            yield port
            # A stream that continues back to back keeps its requests in flight: the
            # access latency is paid when a stream (re)starts, not on every transfer.
            streaming = self._last_end.get(core, -1.0) >= self.env.now
            latency = 0.0 if streaming else self.spec.latency_ns
            channel_ns = latency + moved / self.group_bytes_per_ns()
            path_ns = max(0.0, moved / self.path_bytes_per_ns() - moved / self.group_bytes_per_ns())
            if self.groups < self.cores:  # shared channel: queue for it
                with self.lanes[group].request() as req:
                    yield req
                    start = self.env.now
                    yield self.env.timeout(channel_ns)
                if path_ns > 0:
                    yield self.env.timeout(path_ns)
            else:  # the core's own channels
                start = self.env.now
                yield self.env.timeout(channel_ns + path_ns)
            end = self.env.now
        self.book(core, start, end, moved, op, name, step, phase, stall=start - asked)
        return start - asked

    @classmethod
    def resources(cls, spec: OffChipMemory, device: Device) -> Resources:
        """Soft channel interfaces (estimate: 2,000 LE and 3,000 FF per channel)."""
        out = logic_cells(device, _LE_PER_CHANNEL * spec.channels)
        out["ff"] = float(_FF_PER_CHANNEL * spec.channels)
        return out
