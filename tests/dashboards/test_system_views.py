"""A system's trial in the Design view: per-card resources, power by card and link, tables."""

from __future__ import annotations

from typing import Any

import pytest

from arch_models.spec.evolve import evolve_system
from arch_models.spec.system import load_system
from cosim.system import simulate_system
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from dashboards import figures, views
from dashboards.designs import DesignRecord
from explorer.objective import design_of
from tests.conftest import EXAMPLES
from workloads.trace import generate_trace


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> DesignRecord:
    # two cards: the tiny model has two layers, one a card
    system = evolve_system(
        load_system(EXAMPLES / "tereffic_onchip_370m.yaml"), {"cards[0].count": 2}
    )
    trace = generate_trace(
        "tiny", prompt_tokens=1, gen_tokens=2, seed=0, out=tmp_path_factory.mktemp("t")
    )
    work = workload_from_trace(trace, design_elementwise_bytes(system.cards[0]))
    summary = simulate_system(system, work).summary
    return DesignRecord("trial:0", "trial 0", "feasible", "", dict(summary), design_of(system))


def _text(component: Any) -> str:
    return str(component)


def test_each_card_has_its_own_resource_bars(record: DesignRecord) -> None:
    fig = figures.resources_figure(record.summary)
    assert fig.layout.title.text == "Resources used / device capacity, per card"
    assert [t.name for t in fig.data] == [f"card {i}: tereffic-card-370m" for i in range(2)]
    for bars, card in zip(fig.data, record.summary["cards"], strict=True):
        lut = card["resources"]["lut"]["utilisation"] * 100
        assert bars.x[list(bars.y).index("LUTs")] == pytest.approx(lut)


def test_power_is_shown_by_card_and_link_and_sums_to_the_systems(record: DesignRecord) -> None:
    fig = figures.energy_figure(record.summary)
    names = list(fig.data[0].y)
    assert names[:2] == [f"card {i} (tereffic-card-370m)" for i in range(2)]
    assert any(n.startswith("link card0->card1") for n in names)
    assert sum(fig.data[0].x) == pytest.approx(record.summary["avg_power_w"], rel=1e-6)


def test_the_design_view_names_cards_links_and_mapping(record: DesignRecord) -> None:
    text = _text(views.detail_view(record))
    assert "Cards and links" in text and "system-cards" in text and "system-links" in text
    assert "cards · mapping" in text and "aurora-64b66b-x4" in text and "pcie-gen3-x16" in text
    assert "device · clock · cores" not in text  # one device's row: a system has several
    assert "ternary array" in text  # numerics of its cards' design


def test_the_fidelity_ladder_is_that_of_the_cards(record: DesignRecord) -> None:
    text = _text(views.fidelity_view(record))
    assert "does not validate" not in text and "detail-fidelity" in text
    assert "For its cards' design" in text and "links" in text
