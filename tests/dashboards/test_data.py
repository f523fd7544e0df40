"""Reading studies, baselines and results folders: tables, refreshes and notices."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from dashboards.data import (
    DEFAULT_STORAGE,
    EXAMPLE_COMMAND,
    Catalog,
    StudyReadError,
    StudySource,
    trial_row,
)
from dashboards.designs import load_results_folders, parse_key
from dashboards.gpu import load_baselines, points_for_model
from dashboards.state import Dashboard, DashboardConfig
from explorer import pareto_front, trial_counts
from tests.dashboards.conftest import STUDY, gpu_case


def _study(db: Path) -> Any:
    return optuna.load_study(study_name=STUDY, storage=f"sqlite:///{db}")


def test_fast_read_matches_optunas_api(study_db: Path) -> None:
    fast = StudySource(str(study_db), STUDY).snapshot()
    api_source = StudySource(str(study_db), STUDY)
    api_source._fast = False
    api = api_source.snapshot()
    assert len(fast.table) == 16
    cols = sorted(fast.table.columns)
    pd.testing.assert_frame_equal(fast.table[cols], api.table[sorted(api.table.columns)])
    assert (
        fast.params
        == api.params
        == (
            "layout.cores",
            "tmac.lanes",
            "tmac.rows_parallel",
            "wbuf.capacity_kib",
        )
    )
    # the same rows as one made from each frozen trial
    study = _study(study_db)
    keys = {v: k for k, v in study.user_attrs["space_paths"].items()}
    rows = pd.DataFrame([trial_row(t, keys) for t in study.trials])
    pd.testing.assert_frame_equal(fast.table[cols], rows[cols])


def test_counts_and_front_agree_with_the_explorer(study_db: Path) -> None:
    from explorer.pareto import pareto_mask

    snap = StudySource(str(study_db), STUDY).snapshot()
    counts = trial_counts(_study(study_db))
    assert snap.counts() == {
        "feasible": counts.feasible,
        "infeasible": counts.infeasible,
        "failed": counts.failed,
    }
    assert counts.failed == 2 and counts.infeasible >= 4
    t = snap.table[snap.table["status"] == "feasible"]
    mask = pareto_mask(t["tokens_per_s"].to_numpy(), t["avg_power_w"].to_numpy())
    ours = {(r.tokens_per_s, r.avg_power_w) for r in t[mask].itertuples()}
    front = pareto_front(_study(study_db))
    assert ours == set(zip(front["tokens_per_s"], front["avg_power_w"], strict=True))


def test_pareto_mask_keeps_exact_repeats_and_drops_dominated() -> None:
    from explorer.pareto import pareto_mask

    tps = np.array([10.0, 10.0, 8.0, 12.0, 7.0, np.nan])
    watts = np.array([5.0, 5.0, 4.0, 6.0, 4.5, 1.0])
    assert pareto_mask(tps, watts).tolist() == [True, True, True, True, False, False]


def test_refresh_reads_only_what_changed(study_copy: Path) -> None:
    source = StudySource(str(study_copy), STUDY)
    first = source.snapshot()
    assert source.refresh() is False and source.snapshot() is first
    study = _study(study_copy)
    done = next(t for t in study.trials if t.user_attrs.get("status") == "feasible")
    trial = study.ask()
    assert source.refresh() is True  # a running trial counts, not a row
    snap = source.snapshot()
    assert (snap.running, len(snap.table)) == (1, 16)
    for key, value in done.user_attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, done.values)
    assert source.refresh() is True
    snap = source.snapshot()
    assert (snap.running, len(snap.table), snap.version) == (0, 17, first.version + 2)
    assert snap.table.iloc[-1]["trial"] == trial.number
    assert snap.table.iloc[-1]["tokens_per_s"] == done.user_attrs["summary"]["tokens_per_s"]


def test_refresh_asks_for_a_census_before_every_head(
    study_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unchanged study costs one count per state; changes that keep some counts
    (a trial finishing as another starts, a waiting trial starting) are still seen."""
    from dashboards._rdb import RdbReader

    reads: list[int] = []
    heads = RdbReader.heads
    monkeypatch.setattr(RdbReader, "heads", lambda self, i: reads.append(i) or heads(self, i))
    source = StudySource(str(study_copy), STUDY)
    first = source.snapshot()
    assert len(reads) == 1
    for _ in range(3):
        assert source.refresh() is False and source.snapshot() is first
    assert len(reads) == 1
    study = _study(study_copy)
    done = next(t for t in study.trials if t.user_attrs.get("status") == "feasible")
    running = study.ask()
    assert source.refresh() is True and source.snapshot().running == 1
    study.enqueue_trial(done.params)
    assert source.refresh() is True and source.snapshot().waiting == 1
    for key, value in done.user_attrs.items():
        running.set_user_attr(key, value)
    study.tell(running, done.values)
    started = study.ask()  # the waiting trial: as many running as before, one waiting less
    assert source.refresh() is True
    snap = source.snapshot()
    assert (snap.running, snap.waiting, len(snap.table)) == (1, 0, 17)
    study.tell(started, state=optuna.trial.TrialState.FAIL)
    assert source.refresh() is True and source.snapshot().running == 0
    assert len(reads) == 5


def test_retried_trials_do_not_count(study_copy: Path) -> None:
    from optuna.trial import TrialState, create_trial

    study = _study(study_copy)
    dead = study.trials[0]
    study.add_trial(
        create_trial(
            state=TrialState.WAITING,
            system_attrs={"failed_trial": dead.number, "retry_history": [dead.number]},
        )
    )
    snap = StudySource(str(study_copy), STUDY).snapshot()
    assert dead.number not in set(snap.table["trial"]) and snap.waiting == 1


def _notice(storage: str, study: str = STUDY) -> Any:
    with pytest.raises(StudyReadError) as info:
        StudySource(storage, study).snapshot()
    return info.value.notice


def test_missing_storage_says_how_to_make_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    notice = _notice(DEFAULT_STORAGE, "example")
    assert notice.title == f"No study storage at {DEFAULT_STORAGE}"
    assert EXAMPLE_COMMAND in notice.hint
    board = Dashboard(DashboardConfig(baselines=[]))
    assert board.catalog.initial() == "example"
    assert board.notices("example")[0].title == notice.title
    other = _notice(str(tmp_path / "nope.db"))
    assert other.title.startswith("No study storage at") and "--storage" in other.hint
    assert not (tmp_path / "nope.db").exists()  # reading never creates a storage


def test_corrupt_empty_and_foreign_storages(study_db: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 500)
    notice = _notice(str(corrupt))
    assert notice.title.startswith(f"Cannot read study {STUDY!r}")
    assert "file is not a database" in notice.detail and "[SQL:" not in notice.detail

    empty = tmp_path / "empty.db"
    optuna.storages.RDBStorage(f"sqlite:///{empty}")
    assert Catalog(str(empty)).names() == []
    assert Catalog(str(empty)).no_study().title.startswith("No study in")

    other = tmp_path / "other.db"
    optuna.create_study(study_name="plain", storage=f"sqlite:///{other}")
    assert "studies there: plain" in _notice(str(other)).detail
    assert "not (yet) an explorer study" in _notice(str(other), "plain").title

    fresh = tmp_path / "fresh.db"
    with sqlite3.connect(study_db) as src, sqlite3.connect(fresh) as dst:
        src.backup(dst)
    optuna.create_study(study_name="new", storage=f"sqlite:///{fresh}").set_user_attr(
        "explorer_format", 1
    )
    board = Dashboard(DashboardConfig(storage=str(fresh), study="new", baselines=[]))
    snap = board.snapshot("new")
    assert snap.table.empty and board.catalog.names() == ["dash", "new"]  # type: ignore[union-attr]
    assert "has no finished trial yet" in board.notices("new")[0].title


def test_baselines_load_and_bad_files_become_notices(baseline_file: Path, tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    invalid = tmp_path / "invalid.json"
    data = json.loads(baseline_file.read_text())
    data["cases"][0]["tokens_per_s"] = "fast"
    invalid.write_text(json.dumps(data))
    points, notices = load_baselines([baseline_file, tmp_path / "missing.json", bad_json, invalid])
    assert [p.label for p in points_for_model(points, "tiny", [1])] == [
        "H200 dense bf16, CUDA graph, batch 1",
        "H200 packed 2-bit, CUDA graph, batch 1",
    ]
    assert all(p.plottable for p in points) and points[0].source == "h200.json"
    assert [n.level for n in notices] == ["warning"] * 3
    assert "no such file" in notices[0].title
    assert "not valid JSON" in notices[1].title
    assert "cases[0].tokens_per_s: must be a number" in notices[2].detail


def test_gpu_case_without_power_is_listed_not_plotted(tmp_path: Path) -> None:
    import dataclasses

    from gpubench import Baseline, write_baseline
    from tests.gpubench.sample import run

    case = dataclasses.replace(
        gpu_case("tiny", "dense", "eager", 1, 5000.0, 1.0),
        avg_power_w=None,
        energy_per_token_j=None,
        null_reasons={
            "avg_power_w": "NVML not available",
            "energy_per_token_j": "NVML n/a",
            "graph_nodes_per_step": "n/a",
        },
    )
    path = write_baseline(tmp_path / "b.json", Baseline(runs=[run()], cases=[case]))
    (point,), notices = load_baselines([path])
    assert not notices and not point.plottable
    assert dict(point.missing)["avg_power_w"] == "NVML not available"


def test_design_keys_never_name_files() -> None:
    assert parse_key("trial:12") == ("trial", 12)
    assert parse_key("results:0") == ("results", 0)
    for bad in ("results:../../etc/passwd", "trial:-1", "/etc/passwd", "trial:1e3", None, 3):
        assert parse_key(bad) is None


def test_results_folders(tmp_path: Path) -> None:
    saved, notices = load_results_folders([tmp_path / "missing"])
    assert saved == [] and "not shown" in notices[0].title
