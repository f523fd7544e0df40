"""Systems of several FPGA cards: links, pipelines and row splits against hand-computed times.

Each card's own step time comes from the single-card engine (a card alone, on its share);
the system adds what the links cost, computed here by hand from the link's catalog figures.
The cards keep their weights on chip so that a card's step takes the same time alone and
in the system (no weight DMA running ahead across steps).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import simpy

from arch_models.catalog.links import LinkType, get_link
from arch_models.spec import load_arch
from arch_models.spec.system import System, load_system
from arch_models.units import Recorder
from arch_models.units.link import LinkModel
from arch_models.validation.errors import SpecError
from cosim.engine import simulate
from cosim.errors import SimulationError
from cosim.system import TOKEN_BYTES, simulate_system
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload

WL = synthetic_workload(layers=4, d=512, inter=1536, vocab=2048, steps=4, prompt=2)


def _link(**figures: float) -> LinkType:
    refs = {"x": "test figures"}
    data = {
        "id": "t",
        "name": "t",
        "role": "card",
        "lanes": {"value": 1, "source": "x"},
        "gbit_per_s_per_lane": {"value": figures.get("gbit", 8.0), "source": "x"},
        "efficiency": {"value": 1.0, "source": "x"},
        "latency_ns": {"value": figures.get("latency", 100.0), "source": "x"},
        "energy_pj_per_bit": {"value": 2.0, "source": "x"},
        "port_static_w": {"value": 0.0, "source": "x"},
        "references": refs,
    }
    return LinkType.model_validate(data, context={"references": refs})


def test_a_link_serialises_transfers_in_turn_and_lets_them_fly_together() -> None:
    """1 byte/ns, 100 ns latency: 1000 B then 500 B issued together arrive at 1100 and 1600."""
    env = simpy.Environment()
    rec = Recorder()
    link = LinkModel(env, _link(), "link.a->b", rec)
    arrived: dict[str, float] = {}

    def send(name: str, nbytes: int) -> simpy.events.ProcessGenerator:
        yield from link.send(nbytes, name, 0, "decode")
        arrived[name] = env.now

    env.process(send("first", 1000))
    env.process(send("second", 500))
    env.run()
    assert arrived == {"first": 1100.0, "second": 1600.0}
    frame = rec.frame()
    assert list(frame["t_ns"]) == [0.0, 1000.0]
    assert list(frame["busy_ns"]) == [1000.0, 500.0]
    assert list(frame["energy_pj"]) == [1000 * 8 * 2.0, 500 * 8 * 2.0]


@pytest.fixture(name="folder")
def _folder(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "tereffic_card_370m.yaml", tmp_path / "card.yaml")
    return tmp_path


def _system(folder: Path, text: str, name: str = "sys.yaml") -> System:
    (folder / name).write_text(text, encoding="utf-8")
    return load_system(folder / name)


def _yaml(mapping: str, cards: int, extra: str = "") -> str:
    return (
        f"version: 1\nname: s\ncards:\n  - design: card.yaml\n    count: {cards}\n"
        f"links: {{card: aurora-64b66b-x4, host: pcie-gen3-x16}}\nmapping: {mapping}\n{extra}"
    )


def _alone(folder: Path, share: object) -> float:
    """A card's decode ns per step on its own share (the single-card engine)."""
    r = simulate(load_arch(folder / "card.yaml"), share)  # type: ignore[arg-type]
    assert r.fpga is not None and r.fpga.onchip.weights_resident
    return r.ms_per_token * 1e6


def test_a_pipeline_step_is_every_card_and_link_in_turn(folder: Path) -> None:
    system = _system(folder, _yaml("layers", 2))
    r = simulate_system(system, WL)
    card_ns = [_alone(folder, WL.layer_share(k, 2)) for k in range(2)]
    host, aurora = get_link("pcie-gen3-x16"), get_link("aurora-64b66b-x4")
    residual = WL.layer_share(0, 2).decode_steps[0].ops[-1].bytes_out
    expected = (
        sum(card_ns)
        + 2 * (TOKEN_BYTES / host.bytes_per_ns + host.latency_ns.value)
        + residual / aurora.bytes_per_ns
        + aurora.latency_ns.value
    )
    assert r.ms_per_token * 1e6 == pytest.approx(expected, rel=1e-9)
    assert r.tokens_per_s <= r.bound_tokens_per_s
    assert [c.share for c in r.cards] == ["layers 0-1 of 4", "layers 2-3 of 4"]
    chain = next(link for link in r.links if link.name == "card0->card1")
    assert chain.bytes_per_token == residual
    assert chain.avg_power_w >= 2 * aurora.port_static_w.value  # both ends of the cable


def test_groups_in_flight_keep_each_sequence_s_pace_and_multiply_the_tokens(folder: Path) -> None:
    """Two groups on two cards: each card serves both in turn, no group waits for a card."""
    one = simulate_system(_system(folder, _yaml("layers", 2)), WL)
    two = simulate_system(_system(folder, _yaml("layers", 2, "sequences_in_flight: 2\n")), WL)
    assert two.ms_per_token == pytest.approx(one.ms_per_token, rel=1e-9)
    # the second group runs less than one step behind the first (a card step, at most the
    # slowest): the window is T steps of one sequence plus that offset
    steps = len(WL.decode_steps)
    assert 2 * steps / (steps + 1) * one.tokens_per_s < two.tokens_per_s < 2 * one.tokens_per_s
    assert two.bound_tokens_per_s == pytest.approx(2 * one.bound_tokens_per_s)


def test_a_rows_split_exchanges_every_matvec_in_a_ring(folder: Path) -> None:
    """Two cards: after each matvec each sends its half of the outputs to the other."""
    r = simulate_system(_system(folder, _yaml("rows", 2)), WL)
    card_ns = max(_alone(folder, WL.row_share(k, 2)) for k in range(2))
    host, aurora = get_link("pcie-gen3-x16"), get_link("aurora-64b66b-x4")
    exchange = 0.0
    for op in WL.decode_steps[0].ops:
        if op.is_matvec:
            half = op.bytes_out * (op.rows // 2) // op.rows
            exchange += half / aurora.bytes_per_ns + aurora.latency_ns.value
    expected = card_ns + exchange + 2 * (TOKEN_BYTES / host.bytes_per_ns + host.latency_ns.value)
    assert r.ms_per_token * 1e6 == pytest.approx(expected, rel=1e-9)
    assert r.tokens_per_s <= r.bound_tokens_per_s
    assert {link.name for link in r.links} == {
        "host->card0",
        "card0->card1",
        "card1->card0",
        "card1->host",
    }


@pytest.mark.parametrize(
    ("mapping", "cards", "groups"),
    [("layers", 3, 2), ("rows", 3, 1), ("rows", 1, 1), ("layers", 4, 3)],
)
def test_no_system_beats_its_bound(folder: Path, mapping: str, cards: int, groups: int) -> None:
    extra = f"sequences_in_flight: {groups}\n" if groups > 1 else ""
    r = simulate_system(_system(folder, _yaml(mapping, cards, extra)), WL)
    assert 0 < r.tokens_per_s <= r.bound_tokens_per_s
    assert r.time_to_first_token_ms > 0
    assert len(r.cards) == cards and r.fits
    assert r.avg_power_w == pytest.approx(
        sum(c.avg_power_w for c in r.cards) + sum(link.avg_power_w for link in r.links)
    )
    assert r.energy_per_token_j == pytest.approx(r.avg_power_w / r.tokens_per_s)
    j = r.to_json()
    for key in ("tokens_per_s", "ms_per_token", "time_to_first_token_ms", "cards", "links"):
        assert key in j


def test_system_errors_name_the_file_line_and_field(folder: Path) -> None:
    with pytest.raises(SpecError) as exc:
        _system(
            folder,
            "version: 1\nname: s\ncards:\n  - design: nope.yaml\nlinks:\n  card: pcie-gen3-x16\n"
            "  host: qsfp28-100gbe\nmapping: rows\nsequences_in_flight: 2\n",
        )
    text = str(exc.value)
    assert "sys.yaml" in text and "sequences_in_flight applies to mapping: layers" in text
    with pytest.raises(SpecError) as exc:
        _system(folder, _yaml("rows", 2).replace("card.yaml", "nope.yaml"))
    assert "sys.yaml:4 cards[0].design: no such file: nope.yaml" in str(exc.value)
    with pytest.raises(SpecError) as exc:
        _system(folder, _yaml("rows", 2).replace("aurora-64b66b-x4", "pcie-gen3-x16"))
    assert "sys.yaml:6 links.card: 'pcie-gen3-x16' joins a card to its host" in str(exc.value)
    # a card whose cores split layers cannot take a share a step at a time
    layered = (folder / "card.yaml").read_text().replace("split: rows", "split: layers")
    (folder / "layered.yaml").write_text(layered)
    with pytest.raises(SpecError, match=r"sys.yaml:4 cards\[0\].design: layered.yaml: a card"):
        _system(folder, _yaml("rows", 2).replace("card.yaml", "layered.yaml"))
    # a card's own problems name its own file
    (folder / "bad.yaml").write_text(layered.replace("clock_mhz: 250", "clock_mhz: -1"))
    with pytest.raises(SpecError, match=r"bad.yaml:\d+ clock_mhz"):
        _system(folder, _yaml("rows", 2).replace("card.yaml", "bad.yaml"))


def test_more_cards_than_layers_is_refused(folder: Path) -> None:
    with pytest.raises(SimulationError, match="5 cards for 4 layers"):
        simulate_system(_system(folder, _yaml("layers", 5)), WL)


def test_the_example_system_simulates_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    from cosim_cli.main import main

    example = str(EXAMPLES / "tereffic_onchip_370m.yaml")
    assert main(["simulate", example, "--model", "tiny", "--json"]) == 2  # 2 layers, 3 cards
    assert "3 cards for 2 layers" in capsys.readouterr().err
    out_dir = tmp_path / "run"
    args = ["simulate", example, "--model", "370m", "--tokens", "1", "--out", str(out_dir)]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    saved = json.loads((out_dir / "summary.json").read_text())
    assert saved["tokens_per_s"] == out["tokens_per_s"]
    assert sorted(p.name for p in (out_dir / "cards").iterdir()) == [
        "card0.yaml",
        "card1.yaml",
        "card2.yaml",
    ]
    assert main(args) == 2  # the folder is kept, not overwritten
    assert "exists and is not empty" in capsys.readouterr().err
    assert out["mapping"] == "layers" and len(out["cards"]) == 3
    assert math.isfinite(out["tokens_per_s"]) and out["tokens_per_s"] <= out["bound_tokens_per_s"]
