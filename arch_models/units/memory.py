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

Weight-buffer fills (:meth:`OffChipModel.fill`, cores with channels of their own) follow
the requests as the RTL issues them (:mod:`arch_models.rtl`), in beats of one request
(:attr:`~arch_models.spec.units.OffChipMemory.beat_bytes`): without a stream FIFO a fill
is requested when its buffer half is freed, and its first beat arrives ``latency_ns``
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
used (an estimate, stated as such in the summary).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from arch_models.catalog.models import Device
from arch_models.spec.units import OffChipMemory
from arch_models.units.base import BuildContext, Resources, UnitModel, logic_cells

__all__ = ["OffChipModel"]

_LE_PER_CHANNEL = 2000
_FF_PER_CHANNEL = 3000
#: Writer segments kept per core to find when a beat was taken (the FIFO's credits).
_SEGMENTS = 16


@dataclass
class _Stream:
    """One core's weight stream so far.

    Attributes:
        mem_end: When memory delivered the last beat requested so far (ns).
        beats: Beats taken into the weight buffer so far.
        segments: Recent fills as (first beat, end beat, start ns, end ns) of the writer.
    """

    mem_end: float = -math.inf
    beats: int = 0
    segments: deque[tuple[int, int, float, float]] = field(
        default_factory=lambda: deque(maxlen=_SEGMENTS)
    )

    def taken_at(self, beat: int) -> float:
        """Return when beat number ``beat`` was taken into the buffer (0 before any)."""
        if beat < 0 or not self.segments:
            return 0.0
        for j0, j1, t0, t1 in reversed(self.segments):
            if j0 <= beat < j1:
                return t0 + (t1 - t0) * (beat + 1 - j0) / (j1 - j0)
        return self.segments[0][2]


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
        Little's law) and the beat interval (``path_beat_interval_cycles``).
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
        latency_ns = (
            s.latency_ns
            if s.path_latency_cycles is None
            else s.path_latency_cycles * self.ctx.ns_per_cycle
        )
        per_req_ns = latency_ns + req / min(path, self.group_bytes_per_ns())
        return min(path, window * req / per_req_ns)

    def _taker_bytes_per_ns(self) -> float:
        """Return what the core takes: a beat per ``path_beat_interval_cycles``."""
        s = self.spec
        if s.path_beat_interval_cycles is None:
            return math.inf
        return s.beat_bytes / (s.path_beat_interval_cycles * self.ctx.ns_per_cycle)

    def fill(
        self,
        core: int,
        nbytes: int,
        free_at: float | None,
        op: str,
        name: str,
        step: int,
        phase: str,
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
        """
        if nbytes <= 0:
            return 0.0
        if self.groups < self.cores:  # shared channels: queued transfers
            stall: float = yield from self.transfer(core, nbytes, op, name, step, phase)
            return stall
        s = self.spec
        burst = s.burst_bytes
        moved = -(-nbytes // burst) * burst
        beats = -(-moved // s.beat_bytes)
        asked = self.env.now
        stream = self._streams.setdefault(core, _Stream())
        with self.ports[core].request() as port:
            yield port
            now = self.env.now
            fifo = s.path_fifo_beats
            # ns per byte: memory into the path; the buffer taking beats; the slower of both
            mem_ns = 1.0 / min(self.group_bytes_per_ns(), self._memory_side_bytes_per_ns())
            taker = self._taker_bytes_per_ns()
            if taker < math.inf:
                take_ns = 1.0 / taker
            else:  # with a FIFO the buffer takes at most a beat a cycle
                take_ns = self.ctx.ns_per_cycle / s.beat_bytes if fifo else 0.0
            pace = max(mem_ns, take_ns)
            latency = s.latency_ns
            if free_at is None:  # the stream goes on: its requests are long out
                first = max(stream.mem_end, now)
                take_from = now
            elif fifo:  # requests wait for FIFO room, not for the half
                requested = stream.taken_at(stream.beats - fifo)
                first = max(requested + latency, stream.mem_end)
                take_from = max(now, free_at)
            else:  # a fill is requested once its half is free
                first = max(free_at + latency, stream.mem_end, now)
                take_from = max(now, free_at)
            end = max(take_from + moved * take_ns, first + moved * pace)
            mem_end = first + moved * mem_ns if fifo else end
            ahead = fifo * s.beat_bytes
            if fifo and free_at is not None and moved > ahead:
                # beats beyond the FIFO's were requested only as the buffer took its beats
                refill = take_from + latency + (moved - ahead) * pace
                end = max(end, refill)
                mem_end = max(mem_end, refill)
            stream.segments.append((stream.beats, stream.beats + beats, max(take_from, first), end))
            stream.beats += beats
            stream.mem_end = mem_end
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
            self.bytes_moved += moved
            self._last_end[core] = self.env.now
        self.record(
            "offchip",
            op,
            name,
            step,
            phase,
            t_ns=start,
            nbytes=moved,
            energy_pj=moved * self.pj_per_byte,
            busy_ns=channel_ns + path_ns,
            stall_ns=start - asked,
        )
        return start - asked

    @classmethod
    def resources(cls, spec: OffChipMemory, device: Device) -> Resources:
        """Soft channel interfaces (estimate: 2,000 LE and 3,000 FF per channel)."""
        out = logic_cells(device, _LE_PER_CHANNEL * spec.channels)
        out["ff"] = float(_FF_PER_CHANNEL * spec.channels)
        return out
