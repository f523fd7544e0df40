"""Many workers on one PostgreSQL study: exact trial counts, killed workers, resumption.

Each test gets a fresh database on a throwaway PostgreSQL server (see ``conftest.py``) and
runs the real ``cosim explore`` command in subprocesses, on the tiny model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from optuna.trial import TrialState

from explorer import load_study, trial_counts
from explorer.pareto import trials_frame
from tests.conftest import EXAMPLES
from tests.explorer.conftest import D5005, U280

#: The paper core's small space on one block of the paper's model: quick trials.
QUICK = (D5005, EXAMPLES / "d5005_space.yaml", "paper-block-d512")


#: Decode tokens of the kill tests' trials: enough that a trial (about half a second)
#: outlasts a look at the study, so the test finds a worker mid-trial on a loaded machine.
KILL_TOKENS = 160


def _command(
    url: str,
    space: Path,
    cache: Path,
    trials: int,
    workers: int,
    quick: bool = False,
    tokens: int = 2,
) -> list[str]:
    arch, space, model = QUICK if quick else (U280, space, "tiny")
    return [
        sys.executable, "-m", "cosim", "explore", str(arch), "--space", str(space),
        "--model", model, "--trials", str(trials), "--workers", str(workers),
        "--storage", url, "--study", "s", "--seed", "4", "--cache-dir", str(cache),
        "--heartbeat", "1", "--grace", "3", "--tokens", str(tokens), "--json",
    ]  # fmt: skip


def _check_exact(url: str, target: int) -> Any:
    """The study has exactly ``target`` counted trials, none pending, none run twice."""
    study = load_study(url, "s")
    trials = study.get_trials(deepcopy=False)
    counts = trial_counts(trials)
    assert counts.done == target and counts.pending == 0
    assert len(trials) == target + counts.retried
    assert len({t.number for t in trials}) == len(trials)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    for t in trials:
        assert t.state.is_finished()
        if t.number not in retried:
            assert t.user_attrs["status"] in ("feasible", "infeasible"), t.user_attrs["reason"]
    return study


def test_three_workers_sixty_trials(pg_url: str, small_space: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        _command(pg_url, small_space, tmp_path, 60, 3, quick=True),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["complete"] and out["counts"]["done"] == 60 and out["counts"]["retried"] == 0
    study = _check_exact(pg_url, 60)
    assert len(study.trials) == 60
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 3  # every worker process took trials
    # the dashboard's fast read of PostgreSQL (and its count per state) as Optuna's API
    from dashboards._rdb import RdbReader
    from dashboards.data import StudySource
    from explorer.storage import open_rdb_storage

    store = open_rdb_storage(pg_url, create=False, read_only=True)
    census = RdbReader(store).census(store.get_study_id_from_name("s"))
    store.engine.dispose()
    assert census == (("COMPLETE", 60, max(t._trial_id for t in study.trials)),)
    fast, api = StudySource(pg_url, "s"), StudySource(pg_url, "s")
    api._fast = False
    cols = sorted(fast.snapshot().table.columns)
    pd.testing.assert_frame_equal(fast.snapshot().table[cols], api.snapshot().table[cols])
    assert len(fast.snapshot().table) == 60 and fast.refresh() is False


def test_commands_on_two_machines_join_one_study(
    pg_url: str, small_space: Path, tmp_path: Path
) -> None:
    """The same command started twice at once (two machines) creates the study once.

    40 trials of ~0.08 s: the work outlasts any lag between the two starts, so both join.
    """
    cmd = _command(pg_url, small_space, tmp_path, 40, 1, quick=True)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    study = _check_exact(pg_url, 40)
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2


def test_kill_a_worker_mid_trial(pg_url: str, small_space: Path, tmp_path: Path) -> None:
    """kill -9 of one worker: its trial goes stale and is run again; the count is exact."""
    cmd = _command(pg_url, small_space, tmp_path, 16, 2, tokens=KILL_TOKENS)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        # the whole run is frozen while one worker, mid-trial, is killed
        worker = str(_freeze_when_running(pg_url, proc.pid, 4)[0].user_attrs["worker"])
        os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "exited with code -9" in err
    study = _check_exact(pg_url, 16)
    # the trial it was running when it was frozen and killed
    cut = [t.number for t in study.trials if t.state == TrialState.FAIL and t.number in {
        r.system_attrs.get("failed_trial") for r in study.trials}]  # fmt: skip
    assert json.loads(out)["counts"]["retried"] == len(cut) == 1
    for number in cut:
        killed = study.trials[number]
        # no worker yet: it was claimed the instant before the kill
        assert killed.user_attrs.get("worker", worker) == worker
        if killed.user_attrs.get("status", "failed") == "failed":  # else killed just before
            assert killed.user_attrs.get("reason", "") in (  # telling its result
                "the worker stopped before the trial finished",
                "",
            )
        retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == number]
        assert len(retries) == 1 and retries[0].params == killed.params
        assert retries[0].state == TrialState.COMPLETE
    _dashboard_reads_it_as_optuna(pg_url, study)


def _dashboard_reads_it_as_optuna(url: str, study: Any) -> None:
    """The dashboard's SQL read of a PostgreSQL study (with a retry) is Optuna's read."""
    from dashboards.data import StudySource

    fast_source = StudySource(url, "s")
    fast = fast_source.snapshot()
    api_source = StudySource(url, "s")
    api_source._fast = False
    api = api_source.snapshot()
    cols = sorted(fast.table.columns)
    pd.testing.assert_frame_equal(fast.table[cols], api.table[sorted(api.table.columns)])
    frame = trials_frame(study)
    assert list(fast.table["trial"]) == list(frame["trial"]) and len(frame) == 16
    assert list(fast.table["status"]) == list(frame["status"])
    ours = {t.number: t for t in study.trials}
    complete = fast_source.complete_trials()
    assert [(t.params, t.values) for t in complete] == [
        (t.params, t.values) for t in api_source.complete_trials()
    ]
    assert len(complete) == sum(t.state == TrialState.COMPLETE for t in ours.values())


def _freeze_when_running(url: str, pgid: int, done: int, timeout: float = 120) -> list[Any]:
    """Stop the process group (SIGSTOP) at an instant when a trial is running after ``done``.

    The workers are frozen before the study is read, so what is read is what a kill would
    cut: no trial can finish between the look and the kill. When the look finds no running
    trial that names its worker (the workers were between two trials, or waiting for the
    next batch to be planned), they are let go again and looked at anew. Returns the
    running trials that name their worker.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = load_study(url, "s").get_trials(deepcopy=False)
        except Exception:
            trials = []  # not created yet
        if trial_counts(trials).done < done:
            time.sleep(0.1)
            continue
        os.killpg(pgid, signal.SIGSTOP)
        trials = load_study(url, "s").get_trials(deepcopy=False)
        running = [t for t in trials if t.state == TrialState.RUNNING and "worker" in t.user_attrs]
        if running:
            return running
        os.killpg(pgid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"never froze the run with a trial running within {timeout} s")


def test_kill_everything_and_resume(pg_url: str, small_space: Path, tmp_path: Path) -> None:
    """kill -9 of the whole run mid-trial; the same command again finishes the study exactly."""
    cmd = _command(pg_url, small_space, tmp_path, 16, 2, tokens=KILL_TOKENS)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        _freeze_when_running(pg_url, proc.pid, 6)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    before = trial_counts(load_study(pg_url, "s"))
    assert 6 <= before.done < 16 and 1 <= before.running <= 2
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    study = _check_exact(pg_url, 16)
    assert trial_counts(study).retried == before.running


def test_commands_raising_the_target_at_once_run_exactly_the_target(
    pg_url: str, small_space: Path, tmp_path: Path
) -> None:
    """Three commands raise an 8-trial study to 20 at once: exactly 20 trials count."""
    first = subprocess.run(
        _command(pg_url, small_space, tmp_path, 8, 1, quick=True),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    cmd = _command(pg_url, small_space, tmp_path, 20, 1, quick=True)
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    study = _check_exact(pg_url, 20)
    assert len(study.trials) == 20
