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

Energy: bytes moved × the device's ``ddr_pj_per_byte`` / ``hbm_pj_per_byte``.
A transfer's busy time is the channel's plus the narrower path's (the transfer engine is
occupied until the core has drained it), which is what utilisation reports.

Resources: the memory controllers are hard blocks on these devices; the per-channel soft
interface (AXI/Avalon adapter and DMA) is estimated at 2,000 LE and 3,000 FF per channel
used (an estimate, stated as such in the summary).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from arch_models.catalog.models import Device
from arch_models.spec.units import OffChipMemory
from arch_models.units.base import BuildContext, Resources, UnitModel, logic_cells

__all__ = ["OffChipModel"]

_LE_PER_CHANNEL = 2000
_FF_PER_CHANNEL = 3000


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

        The narrower of the datapath (``path_bits_per_cycle``) and the request window
        (``max_outstanding × request_bytes`` per latency plus the request's own transfer
        time, Little's law).
        """
        s = self.spec
        path = (
            math.inf
            if s.path_bits_per_cycle is None
            else (s.path_bits_per_cycle / 8 / self.ctx.ns_per_cycle)
        )
        if s.max_outstanding is None:
            return path
        req = s.request_bytes or s.burst_bytes
        latency_ns = (
            s.latency_ns
            if s.path_latency_cycles is None
            else s.path_latency_cycles * self.ctx.ns_per_cycle
        )
        per_req_ns = latency_ns + req / min(path, self.group_bytes_per_ns())
        return min(path, s.max_outstanding * req / per_req_ns)

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
