"""The two-tier search: the analytical sweep, the SimPy rounds, what trials say, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from arch_models.spec import load_arch
from cosim.trace_workload import workload_from_trace
from dashboards.designs import record_of_trial
from explorer import ExplorerError, pareto_front, run_study
from explorer.objectives import front_mask
from explorer.space import load_space
from explorer.study import StudySettings, ensure_trace
from explorer.two_tier import ALL, Sweep, calibration, candidates, measured_errors, sweep
from tests.conftest import EXAMPLES
from tests.explorer.conftest import U280

SPACE = EXAMPLES / "u280_small_space.yaml"  # 216 designs


def _sweep(tmp_path: Path) -> Sweep:
    arch = load_arch(U280)
    settings = StudySettings(
        arch_path=str(U280), space_path=str(SPACE), model="tiny", storage_url="",
        study_name="", cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    return sweep(arch, load_space(SPACE, arch), workload_from_trace(ensure_trace(settings)))


def test_the_sweep_covers_the_space_and_candidates_start_at_its_front(tmp_path: Path) -> None:
    s = _sweep(tmp_path)
    assert len(s) == 216 and s.feasible.any()
    designs = {json.dumps(s.params(i), sort_keys=True) for i in range(len(s))}
    assert len(designs) == 216
    feas = np.flatnonzero(s.feasible)
    front = set(feas[front_mask(s.values[feas], s.objectives)].tolist())
    exact = candidates(s, {ALL: {"tokens_per_s": 0.0, "avg_power_w": 0.0}})
    assert set(exact[: len(front)]) == front  # the front first, nearest first after it
    wider = candidates(s, {ALL: {"tokens_per_s": 0.2, "avg_power_w": 0.2}})
    assert set(exact) <= set(wider) and len(wider) > len(exact)
    # a family's own error counts for its designs: widening one family adds only its own
    fam = s.estimates.family[exact[0]]
    one = candidates(s, {ALL: {"tokens_per_s": 0.0}, fam: {"tokens_per_s": 0.2}})
    added = set(one) - set(exact)
    assert added and all(s.estimates.family[i] == fam for i in added)
    cal = calibration(s, seed=0)
    assert len(cal) == len(set(cal)) and set(cal) <= set(feas.tolist())
    assert cal == calibration(s, seed=0)


def test_measured_errors_are_relative_mean_and_worst() -> None:
    pairs = [({"tokens_per_s": 110.0}, {"tokens_per_s": 100.0}),
             ({"tokens_per_s": 95.0}, {"tokens_per_s": 100.0})]  # fmt: skip
    got = measured_errors(pairs, ["tokens_per_s", "avg_power_w"])[ALL]
    assert got["tokens_per_s"]["worst"] == pytest.approx(0.10)
    assert got["tokens_per_s"]["mean"] == pytest.approx(0.075)
    assert np.isnan(got["avg_power_w"]["worst"])


def test_a_two_tier_study_simulates_its_picks_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    out = run_study(U280, SPACE, "tiny", 30, storage=db, sampler="two-tier", progress=False)
    study = out.study
    first = len(study.trials)
    assert out.counts.done == first <= 30
    plans = [t.user_attrs["tier_plan"] for t in study.trials]
    assert plans.count("calibration") >= 2 and "candidate" in plans
    for t in study.trials:
        assert t.user_attrs["tier"] == "simpy"
        assert t.user_attrs["analytical"]["tier"] == "analytical"
    record = study.user_attrs["two_tier"]
    assert record["designs"] == 216 and record["budget"] == 30
    assert set(record["errors"]["all"]) >= {"tokens_per_s", "avg_power_w"}
    families = {t.user_attrs["analytical"]["family"] for t in study.trials}
    assert families <= set(record["errors"])
    shown = record_of_trial(study.trials[0], study.study_name).provenance
    assert "SimPy tier" in shown and "analytical tier estimated" in shown
    front = pareto_front(study)
    assert not front.empty
    assert all(study.trials[int(n)].user_attrs["tier"] == "simpy" for n in front["trial"])
    # resuming with the same budget queues nothing; a larger one adds only new designs
    again = run_study(U280, SPACE, "tiny", 30, storage=db, sampler="two-tier", progress=False)
    assert again.ran == 0 and len(again.study.trials) == first
    more = run_study(U280, SPACE, "tiny", 45, storage=db, sampler="two-tier", progress=False)
    params = [json.dumps(t.params, sort_keys=True) for t in more.study.trials]
    assert len(params) == len(set(params)) and len(params) > first


def test_what_the_two_tier_search_cannot_sweep_is_refused(tmp_path: Path) -> None:
    space = tmp_path / "c.yaml"
    space.write_text("version: 1\nname: c\nparameters:\n  clock_mhz: {low: 150.0, high: 300.0}\n")
    with pytest.raises(ExplorerError, match="a grid needs a step or choices"):
        run_study(U280, space, "tiny", 4, storage=tmp_path / "s.db", sampler="two-tier",
                  progress=False)  # fmt: skip
    assert not (tmp_path / "s.db").exists()
    space.write_text(
        "version: 1\nname: d\nparameters:\n  device.part: {choices: [alveo-u280, alveo-u55c]}\n"
    )
    with pytest.raises(ExplorerError, match=r"not 'device\.part'; search this space"):
        run_study(U280, space, "tiny", 4, storage=tmp_path / "s.db", sampler="two-tier",
                  progress=False)  # fmt: skip
    assert not (tmp_path / "s.db").exists()
    space.write_text(
        "version: 1\nname: e\nparameters:\n  cards[0].design: {choices: [a.yaml, b.yaml]}\n"
    )
    with pytest.raises(ExplorerError, match=r"system field 'cards\[0\]\.design'; search this"):
        run_study(
            EXAMPLES / "tereffic_onchip_370m.yaml", space, "tiny", 4,
            storage=tmp_path / "t.db", sampler="two-tier", progress=False,
        )  # fmt: skip
    assert not (tmp_path / "t.db").exists()


def test_a_two_tier_study_of_a_system_space_finds_its_exhaustive_front(tmp_path: Path) -> None:
    """Cards, links, mapping and batch of a system: the tier sweeps them, SimPy verifies."""
    system, space_path = EXAMPLES / "tereffic_onchip_370m.yaml", tmp_path / "sys.yaml"
    space_path.write_text(
        f"version: 1\ndesign: {system}\nname: sys\n"
        "objectives: [tokens_per_s, energy_per_token_j]\nparameters:\n"
        "  cards[0].count: {choices: [2, 3]}\n  mapping: {choices: [layers, rows]}\n"
        "  links.card: {choices: [aurora-64b66b-x4, qsfp28-100gbe]}\n"
        "  card.layout.batch: {choices: [1, 4]}\n  card.clock_mhz: {choices: [200.0, 300.0]}\n"
    )
    out = run_study(system, space_path, "tiny", 16, storage=tmp_path / "s.db",
                    sampler="two-tier", progress=False)  # fmt: skip
    study = out.study
    record = study.user_attrs["two_tier"]
    assert record["designs"] == 32
    assert all(t.user_attrs["analytical"]["family"].startswith("system: ") for t in study.trials)
    # every design simulated: the two-tier front is the exhaustive front
    full = run_study(system, space_path, "tiny", 32, storage=tmp_path / "g.db",
                     sampler="grid", progress=False)  # fmt: skip
    two = {json.dumps(t.params, sort_keys=True) for t in _front_trials(study)}
    grid = {json.dumps(t.params, sort_keys=True) for t in _front_trials(full.study)}
    assert two == grid and len(study.trials) < 32


def _front_trials(study: object) -> list[object]:
    front = pareto_front(study)  # type: ignore[arg-type]
    trials = study.trials  # type: ignore[attr-defined]
    return [trials[int(n)] for n in front["trial"]]
