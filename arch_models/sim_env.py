"""The SimPy environment every simulation here runs in: it counts what it schedules.

The number of scheduled events is a run's cost (reported as ``events`` beside the
figures); counting them through SimPy's public ``schedule`` method keeps the engine off
SimPy's private attributes.
"""

from __future__ import annotations

import simpy
from simpy.core import SimTime
from simpy.events import NORMAL, EventPriority

__all__ = ["CountingEnvironment"]


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it schedules."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule(
        self,
        event: simpy.Event,
        priority: EventPriority = NORMAL,
        delay: SimTime = 0,
    ) -> None:
        """Schedule ``event`` (SimPy's own method), counting it."""
        self.scheduled += 1
        super().schedule(event, priority, delay)
