"""Studies on SQLite: the storage contract, reproducibility, robustness, resumption."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

import explorer.objective as objective_module
from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from cosim.errors import SimulationError
from explorer import ExplorerError, pareto_front, pick_trial, run_study, trial_counts
from explorer.export import design_of_trial
from explorer.objective import CONSTRAINTS, design_numerics
from explorer.storage import open_storage, storage_url
from tests.conftest import EXAMPLES
from tests.explorer._race import take_all
from tests.explorer.conftest import U280

STUDY_ATTRS = {
    "arch_path", "base_design", "space", "model", "seed", "package_version", "objectives",
    "directions", "constraint_names", "space_paths", "explorer_format",
}  # fmt: skip
TRIAL_ATTRS = {"status", "reason", "summary", "design", "params_by_path", "worker"}


def _run(space: Path, tmp_path: Path, n: int, **kw: Any) -> Any:
    kw.setdefault("storage", tmp_path / "studies.db")
    kw.setdefault("progress", False)
    return run_study(U280, space, "tiny", n, **kw)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_small_study_end_to_end(small_space: Path, tmp_path: Path) -> None:
    out = _run(small_space, tmp_path, 10, seed=3)
    study = out.study
    assert out.complete and out.counts.done == 10 and out.ran == 10
    assert len(study.trials) == 10
    attrs = study.user_attrs
    assert set(attrs) >= STUDY_ATTRS
    assert attrs["objectives"] == ["tokens_per_s", "avg_power_w"]
    assert attrs["directions"] == ["maximize", "minimize"]
    assert attrs["base_design"] == load_arch(U280).spec.model_dump(mode="json")
    assert attrs["space"]["name"] == "small" and attrs["model"] == "tiny" and attrs["seed"] == 3
    for t in study.trials:
        assert set(t.user_attrs) >= TRIAL_ATTRS, t.number
        assert t.user_attrs["status"] in ("feasible", "infeasible", "failed")
        json.dumps(t.user_attrs, allow_nan=False)  # JSON-safe: no NaN or infinities
        if t.user_attrs["status"] == "feasible":
            s = t.user_attrs["summary"]
            assert t.state == TrialState.COMPLETE and t.user_attrs["reason"] == ""
            assert t.values == [s["tokens_per_s"], s["avg_power_w"]]
            assert s["energy_per_token_j"] == pytest.approx(s["avg_power_w"] / s["tokens_per_s"])
            constraints = t.system_attrs["constraints"]
            assert len(constraints) == len(CONSTRAINTS) and max(constraints) <= 0
            assert set(t.user_attrs["params_by_path"]) == set(attrs["space_paths"].values())
            own = design_of_trial(study, t).spec.model_dump(mode="json")
            assert own["name"] == f"u280-hbm-16core-trial{t.number}"  # the trial's own
            assert own["description"].startswith(f"Trial {t.number} of study {study.study_name}")
            assert {**own, "name": "", "description": ""} == {
                **t.user_attrs["design"],
                "name": "",
                "description": "",
            }
    front = pareto_front(study)
    assert not front.empty
    rows = list(front[["tokens_per_s", "avg_power_w"]].itertuples(index=False))
    for a in rows:  # no front member beats another on both objectives
        assert not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in rows)
    assert pick_trial(study, "max-tokens-per-s").number == int(front.iloc[0]["trial"])


def test_same_seed_same_study(small_space: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        out = _run(small_space, tmp_path, 6, seed=5, storage=tmp_path / f"{name}.db")
        runs.append([(t.params, t.values) for t in out.study.trials])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("sampler", ["nsga2", "tpe"])
def test_same_seed_same_study_with_one_worker_and_what_the_study_says(
    small_space: Path, tmp_path: Path, sampler: str
) -> None:
    """Two runs of one worker: the same designs and results, trial by trial.

    Four batches of four over a 24-design space (NSGA-II's generations; TPE's model fitted
    on the batches before): later designs are drawn from the earlier ones' results, so a
    design drawn from a different history shows. Three workers mostly agree with them
    (printed), not always, and the study's metadata says so.
    """
    runs = {}
    for name, workers in (("one", 1), ("one-again", 1), ("three", 3)):
        out = _run(
            small_space, tmp_path, 16, seed=5, workers=workers, population_size=4,
            storage=tmp_path / f"{name}.db", sampler=sampler,
        )  # fmt: skip
        assert out.complete and not out.problems
        runs[name] = [(t.number, t.state, t.params, t.values) for t in out.study.trials]
        how = out.study.user_attrs["reproducibility"]
        assert how["reproducible"] is False and "4 positions at a time" in how["how"]
        assert "several workers" in how["unless"]
    same = sum(a == b for a, b in zip(runs["one"], runs["three"], strict=True))
    print(f"{sampler}: {same} of 16 trials of three workers equal to one worker's")
    assert runs["one"] == runs["one-again"]
    assert len({json.dumps(p, sort_keys=True) for _, _, p, _ in runs["one"]}) == 16


def test_infeasible_and_invalid_designs(tmp_path: Path) -> None:
    """A combination the validator refuses is pruned; one over the power cap is constrained out."""
    space = _write(
        tmp_path,
        "version: 1\nname: capped\nconstraints: {power_cap_w: 1}\nparameters:\n"
        "  tmac.rows_parallel: {choices: [16, 256]}\n"
        "  wbuf.capacity_kib: {choices: [256, 64]}\n",
    )
    out = _run(space, tmp_path, 50, sampler="grid")
    assert out.target == 4 and out.counts.done == 4 and out.counts.infeasible == 4
    by_state = {t.state: t for t in out.study.trials}
    pruned = by_state[TrialState.PRUNED]
    assert pruned.user_attrs["status"] == "infeasible"
    assert pruned.user_attrs["params_by_path"] == {
        "units[2].rows_parallel": 256,
        "units[3].capacity_kib": 64,
    }
    assert pruned.user_attrs["reason"].startswith("invalid design: units[3].capacity_kib: holds")
    assert pruned.user_attrs["design"]["units"][3]["capacity_kib"] == 64
    done = [t for t in out.study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 3
    for t in done:
        assert t.user_attrs["status"] == "infeasible"
        assert "exceeds the cap of 1 W" in t.user_attrs["reason"]
        assert t.system_attrs["constraints"][1] > 0 and t.values is not None
    assert pareto_front(out.study).empty
    with pytest.raises(ExplorerError, match="no feasible design yet"):
        pick_trial(out.study, "knee")
    with pytest.raises(ExplorerError, match="has no valid design to export"):
        pick_trial(out.study, pruned.number)


def test_failed_simulation_is_recorded_and_the_study_goes_on(
    small_space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = objective_module.simulate

    def flaky(arch: Any, *args: Any, **kwargs: Any) -> Any:
        if arch.spec.unit("tmac").lanes == 64:
            raise SimulationError("no coefficient for 64 lanes (test)")
        return real(arch, *args, **kwargs)

    monkeypatch.setattr(objective_module, "simulate", flaky)
    out = _run(small_space, tmp_path, 8, seed=1)
    assert out.counts.done == 8 and out.counts.failed >= 1
    for t in out.study.trials:
        if t.params["tmac.lanes"] == 64:
            assert t.state == TrialState.FAIL and t.user_attrs["status"] == "failed"
            assert t.user_attrs["reason"] == "SimulationError: no coefficient for 64 lanes (test)"
            assert t.user_attrs["summary"] == {}
        else:
            assert t.state == TrialState.COMPLETE


def test_accuracy_bound(tmp_path: Path) -> None:
    numerics = design_numerics(load_arch(U280)).to_dict()
    assert (numerics["acc_bits"], numerics["elementwise"], numerics["sigmoid"]) == (
        20,
        "fixed16.10",
        "pwl:16@8",
    )
    assert numerics["acc_overflow"] == "wrap"
    saturating = evolve(load_arch(U280), {"tmac.accumulator_overflow": "saturate"})
    assert design_numerics(saturating).acc_overflow == "saturate"  # judged as built
    space = _write(
        tmp_path,
        "version: 1\nname: acc\nconstraints:\n"
        "  accuracy: {max_abs_dlogit: 1.0e-9, min_top1_agreement: 0.5, model: tiny, tokens: 1}\n"
        "parameters:\n  tmac.accumulator_bits: {choices: [12, 32]}\n",
    )
    out = _run(space, tmp_path, 2, sampler="grid")
    assert out.counts.infeasible == 2
    for t in out.study.trials:
        cost = t.user_attrs["summary"]["numerics_cost"]
        assert cost["model"] == "tiny" and cost["max_abs_dlogit"] > 1e-9
        assert "max |Δlogit|" in t.user_attrs["reason"]
        assert t.system_attrs["constraints"][2] > 0
    assert list((tmp_path / "studies.db.cache" / "numerics").glob("tiny-seed0-g1.json"))


def test_resume_adds_only_missing_trials(small_space: Path, tmp_path: Path) -> None:
    first = _run(small_space, tmp_path, 4)
    again = _run(small_space, tmp_path, 7)
    assert (first.counts.done, again.counts.done, again.ran) == (4, 7, 3)
    assert len(again.study.trials) == 7
    same = _run(small_space, tmp_path, 7)
    assert same.ran == 0 and len(same.study.trials) == 7
    with pytest.raises(ExplorerError, match="created with a different seed"):
        _run(small_space, tmp_path, 7, seed=9)
    with pytest.raises(ExplorerError, match="created with a different search space"):
        _run(EXAMPLES / "u280_hbm_space.yaml", tmp_path, 7, study_name=first.study_name)


def test_grid_sampler_enumerates_the_space(small_space: Path, tmp_path: Path) -> None:
    out = _run(small_space, tmp_path, 100, sampler="grid")
    assert out.target == 24 and out.counts.done == 24
    assert len({json.dumps(t.params, sort_keys=True) for t in out.study.trials}) == 24


def test_grid_with_a_condition_runs_each_design_once(tmp_path: Path) -> None:
    """2 x (2 sizes when double buffered + 1 when not) = 6 designs, not 2 x 2 x 2."""
    space = _write(
        tmp_path,
        "version: 1\nname: cond\nparameters:\n"
        "  layout.cores: {choices: [4, 8]}\n"
        "  wbuf.double_buffered: {choices: [true, false]}\n"
        "  wbuf.capacity_kib: {choices: [128, 256], when: {wbuf.double_buffered: true}}\n",
    )
    first = _run(space, tmp_path, 4, sampler="grid")
    out = _run(space, tmp_path, 50, sampler="grid")
    assert (first.target, out.target, out.counts.done, out.ran) == (4, 6, 6, 2)
    designs = {json.dumps(t.params, sort_keys=True) for t in out.study.trials}
    assert len(designs) == 6
    assert {"layout.cores": 8, "wbuf.double_buffered": False} in [
        t.params for t in out.study.trials
    ]


def test_grid_over_a_continuous_range_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    space = _write(
        tmp_path, "version: 1\nname: c\nparameters:\n  clock_mhz: {low: 150.0, high: 300.0}\n"
    )
    with pytest.raises(ExplorerError, match="a grid needs a step or choices"):
        _run(space, tmp_path, 4, sampler="grid")
    assert not (tmp_path / "studies.db").exists()


@pytest.mark.parametrize("sampler", ["nsga2", "tpe", "random"])
def test_no_design_is_drawn_twice(small_space: Path, tmp_path: Path, sampler: str) -> None:
    """Each sampler is wrapped so that a study does not spend trials on repeats."""
    out = _run(small_space, tmp_path, 14, sampler=sampler, population_size=4)
    designs = [json.dumps(t.params, sort_keys=True) for t in out.study.trials]
    assert len(designs) == 14 and len(set(designs)) == 14


def test_interrupted_trial_goes_back_to_the_queue(
    small_space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = objective_module.simulate
    calls = [0]

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(objective_module, "simulate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(small_space, tmp_path, 5, seed=2)
    study = optuna.load_study(
        study_name="u280-hbm-16core.small.tiny", storage=storage_url(tmp_path / "studies.db")
    )
    counts = trial_counts(study)
    assert (counts.done, counts.running, counts.waiting) == (2, 0, 3)
    requeued = study.trials[2]
    assert requeued.state == TrialState.WAITING and requeued.params  # its design is kept
    out = _run(small_space, tmp_path, 5, seed=2)
    assert out.counts.done == 5 and len(out.study.trials) == 5
    assert out.study.trials[2].params == requeued.params
    assert out.study.trials[2].state == TrialState.COMPLETE


def test_sqlite_claims_are_atomic(tmp_path: Path) -> None:
    """Three processes racing for 90 waiting trials take each exactly once.

    (Without BEGIN IMMEDIATE transactions, SQLite let two processes take the same trial.)
    """
    url = storage_url(tmp_path / "race.db")
    storage = open_storage(url, heartbeat_interval=60, grace_period=120)
    study = optuna.create_study(storage=storage, study_name="race")
    study.add_trials(  # planned trials: their designs chosen, ready to be taken
        [
            optuna.trial.create_trial(state=TrialState.WAITING, system_attrs={"fixed_params": {}})
            for _ in range(90)
        ]
    )
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=take_all, args=(url, "race", i, queue)) for i in range(3)]
    for p in procs:
        p.start()
    claims = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    every = [t for c in claims for t in c]
    assert len(every) == 90 and len(set(every)) == 90


def test_bad_requests(small_space: Path, tmp_path: Path) -> None:
    with pytest.raises(ExplorerError, match="is a GPU"):
        run_study(EXAMPLES / "h200.yaml", small_space, "tiny", 2, storage=tmp_path / "s.db")
    with pytest.raises(ExplorerError, match="--trials must be >= 1"):
        _run(small_space, tmp_path, 0)
    with pytest.raises(ExplorerError, match="'cmaes' is not in supported list: nsga2, tpe"):
        _run(small_space, tmp_path, 2, sampler="cmaes")
    with pytest.raises(ExplorerError, match="cannot open storage"):
        _run(small_space, tmp_path, 2, storage="nosuchdriver://x/y")


def test_a_half_planned_trial_is_not_taken_and_is_planned_again(
    small_space: Path, tmp_path: Path
) -> None:
    """A trial with some of its parameters written is still being planned.

    No worker may take it (it would complete the design with its own sampler while the
    planner writes to it: a trial run twice, or a planner writing to a finished trial);
    a planner stopped part-way leaves it to the next planner, which keeps what was written.
    """
    from explorer._queue import Claimer, Planner
    from explorer.space import load_space

    space = load_space(small_space, load_arch(U280))
    url = storage_url(tmp_path / "half.db")
    storage = open_storage(url, heartbeat_interval=60, grace_period=120)
    study = optuna.create_study(storage=storage, study_name="half", directions=["maximize"] * 2)
    study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING))
    study_id = storage.get_study_id_from_name("half")
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, 0)
    first, choices = next((k, p.choices) for k, p in space.parameters.items() if p.choices)
    assert choices is not None
    optuna.Trial(study, trial_id).suggest_categorical(first, choices)  # stopped after one
    written = storage.get_trial(trial_id).params[first]

    assert Claimer(storage, study_id).claim() is None
    assert Planner(space, "random", 5, 4, url).plan(storage, study_id, "half") == 1
    trial = storage.get_trial(trial_id)
    assert trial.params[first] == written and len(trial.params) == len(space.parameters)
    assert Claimer(storage, study_id).claim() == trial_id


def test_a_latency_budget_constrains_designs_out(tmp_path: Path) -> None:
    """``max_ms_per_token``: a design slower than the budget is infeasible, and says why."""
    space = _write(
        tmp_path,
        "version: 1\nname: budget\nconstraints: {max_ms_per_token: 0.000001}\nparameters:\n"
        "  tmac.rows_parallel: {choices: [16, 32]}\n",
    )
    out = _run(space, tmp_path, 2, sampler="grid")
    done = [t for t in out.study.trials if t.state == TrialState.COMPLETE]
    assert done and all(t.user_attrs["status"] == "infeasible" for t in done)
    for t in done:
        assert "ms per token exceeds the budget of 1e-06" in t.user_attrs["reason"]
        assert t.system_attrs["constraints"][4] > 0
