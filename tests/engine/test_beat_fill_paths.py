"""The off-chip beat model's one-beat path gives the block path's results to the bit.

``OffChipModel._beat_fill`` runs a fill one beat at a time on floats where each beat waits
for the one before (a lag of one beat: ``max_outstanding: 1``, or a one-beat FIFO), and
block by block on arrays otherwise. Both are the same arithmetic; whole simulations with
the one-beat path forced onto the block path must agree exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from arch_models.units.memory import OffChipModel
from cosim.engine import simulate
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload

#: DDR read paths whose lag is one beat (the D5005 core's own: max_outstanding 1).
VARIANTS = [
    {},
    {"ddr.path_beat_interval_cycles": 3},
    {"ddr.max_outstanding": None, "ddr.path_fifo_beats": 1},
    {"ddr.max_outstanding": 1, "ddr.path_fifo_beats": 4, "ddr.path_latency_cycles": 7},
    {"ddr.path_bits_per_cycle": 64, "ddr.path_latency_cycles": 30},
]


def _figures(changes: dict[str, Any]) -> tuple[Any, ...]:
    arch = evolve(load_arch(EXAMPLES / "d5005_paper_core.yaml"), changes)
    work = synthetic_workload(layers=2, d=256, inter=768, vocab=512, steps=2)
    s = simulate(arch, work).summary
    return (s["tokens_per_s"], s["avg_power_w"], s["time_to_first_token_ms"], s["sim"]["events"])


@pytest.mark.parametrize("changes", VARIANTS)
def test_one_beat_path_matches_the_block_path(
    changes: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    single = OffChipModel._beat_fill_single

    def counted(self: OffChipModel, *args: Any) -> float:
        calls.append(1)
        return single(self, *args)

    monkeypatch.setattr(OffChipModel, "_beat_fill_single", counted)
    fast = _figures(changes)
    assert calls, "the one-beat path did not run"

    def blocks(self: OffChipModel, stream: Any, beats: int, half: float, path: Any) -> float:
        return self._beat_fill_blocks(stream, beats, half, 1, path)

    monkeypatch.setattr(OffChipModel, "_beat_fill_single", blocks)
    assert _figures(changes) == fast
