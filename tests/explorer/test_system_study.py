"""Studies of systems of cards: spaces over cards, links and mapping; trials; their export."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from arch_models.spec.evolve import evolve_system
from arch_models.spec.system import load_system
from arch_models.validation.errors import SpecError
from cosim.system import simulate_system
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from explorer import pareto_front, run_study
from explorer._hdl import hdl_identifier
from explorer.export_system import export_system_set, system_of_trial
from explorer.objective import CARD_DESIGNS
from explorer.space import load_space
from tests.conftest import EXAMPLES
from workloads.trace import generate_trace

SYSTEM = EXAMPLES / "tereffic_onchip_370m.yaml"

SPACE = """\
version: 1
name: cards
objectives: [tokens_per_s, energy_per_token_j]
parameters:
  cards[0].count: {choices: [2, 3]}
  mapping: {choices: [layers, rows]}
  links.card: {choices: [aurora-64b66b-x4, qsfp28-100gbe]}
  card.layout.batch: {choices: [1, 2]}
"""


def test_a_system_variant_changes_cards_links_mapping_and_every_card() -> None:
    system = load_system(SYSTEM)
    v = evolve_system(
        system,
        {"cards[0].count": 2, "mapping": "rows", "links.card": "qsfp28-100gbe",
         "card.units[0].batch": 4},
    )  # fmt: skip
    assert len(v.cards) == 2 and v.spec.mapping == "rows" and v.card_link.id == "qsfp28-100gbe"
    assert {c.spec.layout.batch for c in v.cards} == {4}
    assert len(system.cards) == 3 and system.spec.mapping == "layers"  # the base is untouched
    with pytest.raises(SpecError, match="joins a card to its host, not to a card"):
        evolve_system(system, {"links.card": "pcie-gen3-x16"})
    with pytest.raises(SpecError, match=r"tereffic_card_370m.yaml.*must be a power of two"):
        evolve_system(system, {"card.units[2].lanes": 48})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  card.tmac.lanes: {choices: [48]}", "card.units[2].lanes must be a power of two"),
        ("  links.card: {choices: [pcie-gen3-x16]}", "joins a card to its host"),
        ("  cards[0].colour: {choices: [1, 2]}", "no such field cards[0].colour"),
        ("  card.nonesuch.lanes: {choices: [1]}", "no such field or unit 'nonesuch'"),
    ],
)
def test_a_space_over_a_system_is_checked_against_it(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(f"version: 1\nname: bad\nparameters:\n{line}\n")
    with pytest.raises(SpecError) as info:
        load_space(path, load_system(SYSTEM))
    assert message in str(info.value) and "space.yaml:4" in str(info.value), str(info.value)


def test_a_system_study_runs_and_its_trials_export_and_simulate_again(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    db = tmp_path / "s.db"
    out = run_study(SYSTEM, space, "tiny", 4, storage=db, progress=False, sampler="grid")
    study = out.study
    assert out.counts.done == 4 and out.counts.feasible >= 1
    done = [t for t in study.trials if t.user_attrs.get("status") == "feasible"]
    for t in done:
        design = t.user_attrs["design"]
        assert len(design[CARD_DESIGNS]) == 1 and design["cards"][0]["count"] in (2, 3)
        s = t.user_attrs["summary"]
        assert t.values == [
            pytest.approx(s["tokens_per_s"]),
            pytest.approx(s["energy_per_token_j"]),
        ]
        assert len(s["cards"]) == design["cards"][0]["count"]
    front = pareto_front(study)
    assert len(front) and "cards[0].count" in front.columns
    # a trial's export: each card group's files and the system file naming them ...
    trial = optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{db}").trials[
        int(front["trial"].iloc[0])
    ]
    design = system_of_trial(study, trial)
    assert design is not None
    written = export_system_set(design, "yaml", tmp_path / "export", max_rows=64, max_cols=64)
    names = sorted(p.name for p in written.paths)
    assert names == sorted([design.filename, f"{hdl_identifier(design.cards[0].spec.name)}.yaml"])
    # ... which simulates to the trial's own figures
    exported = load_system(tmp_path / "export" / design.filename)
    # the study's trace: run_study's defaults (1 prompt token, 2 generated, seed 0)
    trace = generate_trace("tiny", prompt_tokens=1, gen_tokens=2, seed=0, out=tmp_path / "t")
    work = workload_from_trace(trace, design_elementwise_bytes(exported.cards[0]))
    again = simulate_system(exported, work)
    assert again.tokens_per_s == pytest.approx(trial.user_attrs["summary"]["tokens_per_s"])


def test_a_system_trials_timeline_is_refused_with_a_reason(tmp_path: Path) -> None:
    from explorer.replay import Replayer, ReplayError

    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    db = tmp_path / "s.db"
    out = run_study(SYSTEM, space, "tiny", 2, storage=db, progress=False, sampler="grid")
    done = next(t for t in out.study.trials if t.user_attrs.get("status") == "feasible")
    with pytest.raises(ReplayError, match="a system of cards, whose timeline is not replayed"):
        Replayer.for_storage(f"sqlite:///{db}").frame(out.study, done)


def test_a_system_reads_back_its_own_fields_and_its_cards() -> None:
    from arch_models.spec.evolve import system_value_at

    system = load_system(SYSTEM)
    assert system_value_at(system, "cards[0].count") == 3
    assert system_value_at(system, "links.card") == "aurora-64b66b-x4"
    assert system_value_at(system, "mapping") == "layers"
    assert system_value_at(system, "card.clock_mhz") == 250.0
    assert system_value_at(system, "card.units[0].batch") == 1
    with pytest.raises(ValueError, match=r"no field 'links\.nothing'"):
        system_value_at(system, "links.nothing")
