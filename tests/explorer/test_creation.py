"""Creating a study, and raising its target, from several commands at once or part-way.

A creation stopped at any point (Ctrl-C between two steps, SIGKILL at a random instant)
leaves a study the same command completes; commands raising the target at the same
instant queue exactly the missing trials, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

from explorer import ExplorerError, run_study, trial_counts
from explorer.storage import storage_url
from explorer.study import STUDY_FORMAT
from tests.conftest import ROOT, interrupt_calls
from tests.explorer._race import raise_target
from tests.explorer.conftest import U280

#: What a study's creation writes, in order: its metadata (16 attributes), its queue of
#: waiting trials, then the ready marker.
N_TRIALS = 3


def _run(space: Path, db: Path, **kw: Any) -> Any:
    return run_study(
        U280, space, "tiny", N_TRIALS, storage=db, study_name="s", progress=False, seed=2, **kw
    )


def _check_complete(db: Path, target: int = N_TRIALS) -> Any:
    study = optuna.load_study(study_name="s", storage=storage_url(db))
    counts = trial_counts(study)
    assert (counts.done, counts.pending, len(study.trials)) == (target, 0, target)
    assert study.user_attrs["explorer_format"] == STUDY_FORMAT
    assert study.user_attrs["seed"] == 2 and study.user_attrs["model"] == "tiny"
    return study


def test_a_creation_stopped_at_any_step_is_completed_by_the_same_command(
    small_space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C before the n-th write of the creation, for every n; then the same command."""
    stop = interrupt_calls(monkeypatch, optuna.Study, ["set_user_attr", "add_trial"])
    stopped = 0
    for n in range(1, 40):
        db = tmp_path / f"s{n}.db"
        stop.arm(n)
        try:
            _run(small_space, db)
        except KeyboardInterrupt:
            stopped += 1
            stop.arm(0)  # the same command again, not stopped
            again = _run(small_space, db)
            assert again.complete and again.ran == N_TRIALS
            _check_complete(db)
            continue
        break
    assert stopped == 16 + N_TRIALS + 1 == n - 1  # every write of the creation was a stop
    with pytest.raises(ExplorerError, match="created with a different seed"):
        run_study(U280, small_space, "tiny", 3, storage=db, study_name="s", progress=False)


def test_a_half_made_study_of_other_settings_is_refused_and_left_as_it_was(
    small_space: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.db"
    study = optuna.create_study(
        study_name="s", storage=storage_url(db), directions=["maximize", "minimize"]
    )
    study.set_user_attr("seed", 9)  # written by a command stopped right after
    with pytest.raises(ExplorerError, match="created with a different seed"):
        _run(small_space, db)
    assert study.user_attrs == {"seed": 9}
    plain = optuna.create_study(
        study_name="p", storage=storage_url(db), directions=["maximize", "minimize"]
    )
    plain.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)
    with pytest.raises(ExplorerError, match="exists but is not an explorer study"):
        run_study(U280, small_space, "tiny", 3, storage=db, study_name="p", progress=False)


def _explore(space: Path, db: Path, cache: Path, trials: int, study: str = "s") -> list[str]:
    return [
        "explore", str(U280), "--space", str(space), "--model", "tiny", "--trials",
        str(trials), "--storage", str(db), "--study", study, "--seed", "2", "--cache-dir",
        str(cache), "--json",
    ]  # fmt: skip


def test_sigkill_during_creation_then_the_same_command(small_space: Path, tmp_path: Path) -> None:
    """kill -9 at several instants of a (slowed) creation; the same command then finishes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cache = tmp_path / "cache"
    for i, after in enumerate((0.0, 0.1, 0.2, 0.3, 0.4)):
        db = tmp_path / f"k{i}.db"
        cmd = _explore(small_space, db, cache, N_TRIALS)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.explorer._slow_create", *cmd], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline() == "creating\n"
        time.sleep(after)  # 16 attributes and 3 trials at 20 ms: about 0.4 s in all
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        again = subprocess.run(
            [sys.executable, "-m", "cosim", *cmd], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        _check_complete(db)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_commands_raising_the_target_at_once_queue_exactly_the_missing_trials(
    backend: str, small_space: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Four processes raise a 10-trial study to 40 at the same instant: 40, not 130."""
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else (
        storage_url(tmp_path / "race.db")
    )  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    args = (url, "s", str(U280), str(small_space))
    raise_target(*args, 10, ctx.Barrier(1), queue)  # the study, with 10 waiting trials
    assert queue.get(timeout=60) == "ok"
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=raise_target, args=(*args, 40, barrier, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == ["ok"] * 4
    study = optuna.load_study(study_name="s", storage=url)
    counts = trial_counts(study)
    print(f"{backend}: {len(study.trials)} trials queued for a target of 40")
    assert (counts.waiting, len(study.trials)) == (40, 40)
