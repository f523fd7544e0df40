"""Stored attributes read back: trial records, the retry rule, the one trials table, replays."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from explorer import ExplorerError, run_study
from explorer.pareto import trials_frame
from explorer.records import (
    STATUSES,
    StudyAttr,
    SystemAttr,
    TrialAttr,
    TrialRecord,
    counted,
    retried_numbers,
)
from explorer.replay import NotSimulatedError, Replayer, ReplayError
from explorer.table import COLUMNS, FIGURE_COLUMNS, trial_row, trials_table
from tests.explorer.conftest import U280


def test_keys_are_those_of_existing_study_files() -> None:
    # the strings are a storage contract: studies written before must stay readable
    assert [TrialAttr.STATUS, TrialAttr.REASON, TrialAttr.SUMMARY, TrialAttr.DESIGN] == [
        "status",
        "reason",
        "summary",
        "design",
    ]
    assert (TrialAttr.PARAMS_BY_PATH, TrialAttr.WORKER) == ("params_by_path", "worker")
    assert (SystemAttr.RETRY_HISTORY, SystemAttr.CONSTRAINTS) == ("retry_history", "constraints")
    assert (StudyAttr.SPACE_PATHS, StudyAttr.EXPLORER_FORMAT) == ("space_paths", "explorer_format")
    assert STATUSES == ("feasible", "infeasible", "failed")


def test_record_of_a_frozen_trial_and_its_defaults() -> None:
    trial = create_trial(
        state=TrialState.COMPLETE,
        values=[10.0, 2.0],
        params={"tmac.lanes": 64},
        distributions={"tmac.lanes": CategoricalDistribution([32, 64])},
        user_attrs={
            "status": "feasible",
            "reason": "",
            "summary": {"tokens_per_s": 10.0, "avg_power_w": 2.0},
            "design": {"name": "d"},
            "params_by_path": {"units[2].lanes": 64},
            "worker": "host:1",
        },
        system_attrs={"retry_history": [3]},
    )
    record = TrialRecord.of(trial)
    assert record.state == "COMPLETE" and record.finished and record.status == "feasible"
    assert record.values == (10.0, 2.0) and record.retry_history == (3,)
    assert record.params == {"tmac.lanes": 64} and record.params_by_path == {"units[2].lanes": 64}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "failed"  # type: ignore[misc]
    bare = TrialRecord.from_attrs(number=4, state="WAITING", user_attrs={"status": "odd"})
    assert (bare.status, bare.reason, bare.summary, bare.design) == (None, "", {}, {})
    assert not bare.finished and bare.values is None


def test_retried_trials_do_not_count() -> None:
    records = [
        TrialRecord(number=0, state="FAIL"),
        TrialRecord(number=1, state="COMPLETE", status="feasible"),
        TrialRecord(number=2, state="RUNNING"),
        TrialRecord(number=3, state="WAITING", retry_history=(0,)),
    ]
    assert retried_numbers(records) == {0}
    assert [r.number for r in counted(reversed(records))] == [1]


def test_trial_row_derives_every_column() -> None:
    record = TrialRecord(
        number=7,
        state="COMPLETE",
        status="infeasible",
        reason="too hot",
        summary={
            "tokens_per_s": 100.0,
            "energy_per_token_j": 0.5,
            "fits": False,
            "bottleneck": "hbm",
            "resources": {"lut": {"utilisation": 0.5}, "dsp": {"utilisation": 1.25}},
        },
        params_by_path={"units[2].lanes": 64},
    )
    row = trial_row(record)
    assert list(row)[: len(COLUMNS)] == list(COLUMNS) and row["units[2].lanes"] == 64
    assert row["tokens_per_joule"] == 2.0 and row["max_resource_utilisation"] == 1.25
    assert (row["fits"], row["bottleneck"], row["status"]) == (False, "hbm", "infeasible")
    assert math.isnan(row["avg_power_w"]) and set(FIGURE_COLUMNS) <= set(row)
    empty = trial_row(TrialRecord(number=8, state="FAIL"))
    assert (empty["status"], empty["bottleneck"], empty["fits"]) == ("failed", "", None)
    assert math.isnan(empty["tokens_per_joule"])
    assert list(trials_table([]).columns) == list(COLUMNS)


@pytest.fixture(scope="module")
def study_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records")
    space = folder / "space.yaml"
    space.write_text(
        "version: 1\nname: small\nconstraints: {power_cap_w: 30}\nparameters:\n"
        "  tmac.rows_parallel: {choices: [16, 256]}\n"
        "  wbuf.capacity_kib: {choices: [256, 64]}\n"
    )
    db = folder / "studies.db"
    run_study(U280, space, "tiny", 4, storage=db, study_name="r", sampler="grid", progress=False)
    return db


def test_the_front_reads_the_one_table(study_db: Path) -> None:
    study = optuna.load_study(study_name="r", storage=f"sqlite:///{study_db}")
    table = trials_table(TrialRecord.of(t) for t in study.trials)
    frame = trials_frame(study)
    assert list(frame["trial"]) == list(table["trial"]) == [0, 1, 2, 3]
    for col in frame.columns:
        assert frame[col].equals(table[col]), col


def test_replay_gives_the_measured_run(study_db: Path) -> None:
    study = optuna.load_study(study_name="r", storage=f"sqlite:///{study_db}")
    replayer = Replayer.for_storage(study_db, keep=1)
    assert replayer.cache_dir == study_db.with_name("studies.db.cache")
    simulated = [t for t in study.trials if t.user_attrs["summary"]]
    frame = replayer.frame(study, simulated[0])
    assert not frame.empty and replayer.frame(study, simulated[0]) is frame  # kept
    (refused,) = [t for t in study.trials if not t.user_attrs["summary"]]
    with pytest.raises(NotSimulatedError) as info:  # the validator refused it
        replayer.frame(study, refused)
    assert info.value.number == refused.number and isinstance(info.value, ExplorerError)
    broken = create_trial(
        state=TrialState.COMPLETE,
        values=[1.0, 1.0],
        user_attrs={"summary": {"tokens_per_s": 1.0}, "design": {"name": "x"}},
    )
    broken.number = len(study.trials)  # not a trial whose frame is kept
    with pytest.raises(ReplayError, match="SpecError"):
        replayer.frame(study, broken)
