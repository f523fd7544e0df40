"""The result of a system of several FPGA cards: per card, per link, and in total.

:class:`SystemResult` carries the headline figures a single card's result has (the same
``--json`` keys: tokens/s, ms/token, W, J/token, the analytical bound, time to first
token, fits and resources, here the sum over cards) and, beside them, every card's
figures (:class:`CardFigures`: its share of the model, resources, power, what stays on
chip) and every link's (:class:`LinkFigures`: bytes per token, how busy, energy).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cosim.run_result import SUMMARY_KEYS, OnChip, SimStats

__all__ = ["CardFigures", "LinkFigures", "SystemResult"]


@dataclass(frozen=True, kw_only=True)
class CardFigures:
    """One card of a system.

    Attributes:
        index: Position in the system (0 takes tokens in).
        design: Its description's name.
        device: Its catalog part.
        share: What part of the model it runs, in words.
        fits: Whether its design fits its device.
        fit_problems: Why not, in words.
        resources: Per resource kind: used, available, utilisation.
        avg_power_w: Its average power over the decode window.
        power_breakdown_w: By part (static, clock, ternary, memories, ...).
        bound_ns_per_step: Its own analytical floor for one step of its share.
        onchip: What it keeps on chip.
    """

    index: int
    design: str
    device: str
    share: str
    fits: bool
    fit_problems: tuple[str, ...]
    resources: Mapping[str, Mapping[str, float]]
    avg_power_w: float
    power_breakdown_w: Mapping[str, float]
    bound_ns_per_step: float
    onchip: OnChip


@dataclass(frozen=True, kw_only=True)
class LinkFigures:
    """One link direction of a system.

    Attributes:
        name: Which ends it joins (``card0->card1``, ``host->card0``).
        link: Its link catalog id.
        bytes_per_token: Payload bytes it carries per token (all sequences' tokens).
        busy: Fraction of the decode window it spends serialising.
        avg_power_w: Its transfers' energy over the window plus its ends' static power.
    """

    name: str
    link: str
    bytes_per_token: float
    busy: float
    avg_power_w: float


@dataclass(frozen=True, kw_only=True)
class SystemResult:
    """A system's results (see :mod:`cosim.system` for how they are made).

    Attributes:
        tokens_per_s: Decode throughput of all sequences in flight.
        ms_per_token: Each sequence's time per token.
        avg_power_w: Cards and links, over the decode window.
        energy_per_token_j: Energy per token.
        bound_tokens_per_s: The analytical floor (cards' bounds and links), as throughput.
        binding_bound: Which part of it binds.
        time_to_first_token_ms: From the first prompt token's arrival to the first
            generated token's departure, for the first group of sequences.
        fits: Every card fits its device.
        resources: Summed over the cards (available too).
        system: The system's name.
        mapping: ``layers`` or ``rows``.
        model: The model run.
        batch: Sequences a card's step serves (each group).
        sequences_in_flight: Groups of sequences the pipeline holds.
        prompt_tokens: Prompt tokens of each sequence.
        decode_tokens: Decode steps of each sequence.
        cards: Per card.
        links: Per link direction.
        seed: Recorded with the result.
        sim: The SimPy run's cost (all cards and links in one run).
        versions: Of the tools that made it.
    """

    tokens_per_s: float
    ms_per_token: float
    avg_power_w: float
    energy_per_token_j: float
    bound_tokens_per_s: float
    binding_bound: str
    time_to_first_token_ms: float
    fits: bool
    resources: Mapping[str, Mapping[str, float]]
    system: str
    mapping: str
    model: str
    batch: int
    sequences_in_flight: int
    prompt_tokens: int
    decode_tokens: int
    cards: tuple[CardFigures, ...]
    links: tuple[LinkFigures, ...]
    seed: int
    sim: SimStats
    versions: Mapping[str, str]

    @property
    def bottleneck(self) -> str:
        """What limits the system, in words (the binding part of its bound)."""
        return self.binding_bound

    def to_json(self) -> dict[str, Any]:
        """Return the summary: a single card's ``--json`` keys, then the system's own."""
        head: dict[str, Any] = {k: getattr(self, k) for k in SUMMARY_KEYS}
        head["resources"] = {k: dict(v) for k, v in self.resources.items()}
        return {
            **head,
            "binding_bound": self.binding_bound,
            "time_to_first_token_ms": self.time_to_first_token_ms,
            "batch": self.batch,
            "prompt_tokens": self.prompt_tokens,
            "decode_tokens": self.decode_tokens,
            "design": self.system,
            "system": self.system,
            "mapping": self.mapping,
            "sequences_in_flight": self.sequences_in_flight,
            "model": self.model,
            "cards": [
                {
                    **{k: v for k, v in asdict(c).items() if k not in ("onchip", "resources")},
                    "fit_problems": list(c.fit_problems),
                    "resources": {k: dict(v) for k, v in c.resources.items()},
                    "power_breakdown_w": dict(c.power_breakdown_w),
                    "onchip": {**asdict(c.onchip), "notes": list(c.onchip.notes)},
                }
                for c in self.cards
            ],
            "links": [asdict(link) for link in self.links],
            "seed": self.seed,
            "sim": asdict(self.sim),
            "versions": dict(self.versions),
        }

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """The summary (:meth:`to_json`), computed once; treat it as read-only."""
        return self.to_json()
