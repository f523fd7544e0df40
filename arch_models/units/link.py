"""A serial link between cards, or between a card and its host: one direction of it.

A transfer holds the link for its payload's serialisation time (bytes over the payload
bandwidth, :attr:`~arch_models.catalog.links.LinkType.bytes_per_ns`), then flies for the
one-way latency without holding it: the next transfer may start serialising meanwhile,
as on a real link. Transfers queue first come, first served. Each is recorded (kind
``link``) with its bytes, its serialisation time as busy time, and its energy (payload
bits × ``energy_pj_per_bit``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from arch_models.catalog.links import LinkType
from arch_models.units.recorder import Recorder

__all__ = ["LinkModel"]


class LinkModel:
    """One direction of a link, a SimPy resource."""

    def __init__(
        self, env: simpy.Environment, link: LinkType, scope: str, recorder: Recorder
    ) -> None:
        """Create the link direction ``scope`` (``link.card0-card1``) of type ``link``."""
        self.env = env
        self.link = link
        self.scope = scope
        self.recorder = recorder
        self.port = simpy.Resource(env, capacity=1)

    def serialise_ns(self, nbytes: int) -> float:
        """Return the time ``nbytes`` of payload hold the link."""
        return nbytes / self.link.bytes_per_ns

    def transfer_ns(self, nbytes: int) -> float:
        """Return an unqueued transfer's time: serialisation and latency."""
        return self.serialise_ns(nbytes) + self.link.latency_ns.value

    def send(self, nbytes: int, name: str, step: int, phase: str) -> Generator[Any, Any, None]:
        """Move ``nbytes`` across: wait for the link, serialise, fly."""
        with self.port.request() as turn:
            yield turn
            t0 = self.env.now
            busy = self.serialise_ns(nbytes)
            yield self.env.timeout(busy)
        self.recorder.add(
            t0,
            self.scope,
            "link",
            "transfer",
            name,
            step,
            phase,
            nbytes=nbytes,
            energy_pj=nbytes * 8 * self.link.energy_pj_per_bit.value,
            busy_ns=busy,
        )
        yield self.env.timeout(self.link.latency_ns.value)
