"""An export is one set: its folder holds the whole old output or the whole new one.

Two studies whose trial 0 is a different variant of the same design: their exports have
the same file names and different contents, so a half-replaced folder would show. The
command is killed (SIGKILL) at random instants, or fails at each step in turn; after
every interruption the folder holds exactly one study's complete set, nothing else.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import create_trial

import explorer._files as files_module
from arch_models.rtl import SOURCES
from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from explorer import ExplorerError
from explorer.export import Provenance, export_design
from tests.conftest import ROOT, interrupt_calls
from tests.explorer.conftest import U280


def _storage(tmp_path: Path) -> str:
    """Studies ``a`` and ``b``: trial 0 of each is the U280 design with 8 or 12 cores."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    base = load_arch(U280)
    for name, cores in (("a", 8), ("b", 12)):
        study = optuna.create_study(
            study_name=name, storage=url, directions=["maximize", "minimize"]
        )
        for key, value in {
            "base_design": base.spec.model_dump(mode="json"),
            "model": "tiny",
            "explorer_format": 1,
        }.items():
            study.set_user_attr(key, value)
        variant = evolve(base, {"units[0].cores": cores})
        study.add_trial(
            create_trial(
                values=[100.0 * cores, 2.0 * cores],
                user_attrs={
                    "status": "feasible",
                    "reason": "",
                    "summary": {"tokens_per_s": 100.0 * cores, "avg_power_w": 2.0 * cores},
                    "design": variant.spec.model_dump(mode="json"),
                    "params_by_path": {"units[0].cores": cores},
                },
            )
        )
    return url


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of the folder, hidden ones included, with its bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def _export(url: str, study: str, out: Path, *extra: str) -> list[str]:
    return [
        "export", "--storage", url, "--study", study, "--trial", "0", "--out", str(out),
        "--force", *extra,
    ]  # fmt: skip


def _run(args: list[str], expect: int = 0) -> int:
    from cosim_cli.main import main

    code = main(args)
    assert code == expect or expect < 0, code
    return code


@pytest.fixture
def sets(tmp_path: Path) -> tuple[str, dict[str, dict[str, bytes]]]:
    """The storage, and the complete set of each study (exported once, uninterrupted)."""
    url = _storage(tmp_path)
    complete = {}
    for study in ("a", "b"):
        _run(_export(url, study, tmp_path / f"ref-{study}"))
        complete[study] = _snapshot(tmp_path / f"ref-{study}")
    assert complete["a"].keys() == complete["b"].keys() and complete["a"] != complete["b"]
    # the parameter files; the RTL bundle: its sources, package, top, file list, README,
    # synthesis scripts
    assert len(complete["a"]) == 5 + len(SOURCES) + 6
    return url, complete


def _which(folder: Path, complete: dict[str, dict[str, bytes]]) -> str:
    got = _snapshot(folder)
    for study, files in complete.items():
        if got == files:
            return study
    names = sorted(got)
    mixed = {n: [s for s, f in complete.items() if f.get(n) == got[n]] for n in names}
    raise AssertionError(f"{folder} holds neither complete set: {mixed}")


def test_sigkill_at_random_instants_leaves_one_whole_set(
    sets: tuple[str, dict[str, dict[str, bytes]]], tmp_path: Path
) -> None:
    url, complete = sets
    out = tmp_path / "hw"
    _run(_export(url, "a", out))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    slow = [sys.executable, "-m", "tests.explorer._slow_export"]
    rng = random.Random(11)
    held, changed, swap_at, kills = "a", 0, 0.0, 0
    for _ in range(13):
        want = "b" if held == "a" else "a"
        proc = subprocess.Popen(
            [*slow, *_export(url, want, out)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        t0 = time.monotonic()
        if swap_at == 0.0:  # the first run goes to the end: when its swap comes
            assert proc.stdout.readline() == "swapped\n", proc.communicate()[1]
            swap_at = time.monotonic() - t0
            assert proc.wait(timeout=120) == 0, proc.communicate()[1]
        else:
            # as likely before the swap as after it, wherever this machine puts it
            time.sleep(rng.uniform(0.0, 2 * swap_at))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            kills += 1
        proc.communicate()
        now = _which(out, complete)  # the whole old set, or the whole new one
        changed += now != held and swap_at > 0 and kills > 0
        held = now
    print(f"swap after {swap_at:.2f} s; {changed} of {kills} kills found the new set")
    assert 0 < changed < kills  # some kills came before the swap, some after
    _run(_export(url, "b", out))  # the next run cleans up after the interrupted ones
    assert _which(out, complete) == "b"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".hw")) == []


def test_a_failure_at_any_step_leaves_one_whole_set(
    sets: tuple[str, dict[str, dict[str, bytes]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C at the n-th step of the write, for every n: the old set, or the new one."""
    url, complete = sets
    out = tmp_path / "hw"
    _run(_export(url, "a", out))
    (out / "notes.txt").write_text("mine")  # another file of the folder: always kept
    complete = {s: {**f, "notes.txt": b"mine"} for s, f in complete.items()}
    steps = ["_write_new", "_carry", "_fsync_dir", "_exchange"]
    stop = interrupt_calls(monkeypatch, files_module, steps)
    held, n = "a", 0
    outcomes: list[bool] = []
    while True:
        n += 1
        stop.arm(n)
        want = "b" if held == "a" else "a"
        if _run(_export(url, want, out), expect=-1) == 130:  # interrupted (Ctrl-C)
            now = _which(out, complete)  # the whole old set, or the whole new one
            outcomes.append(now == want)
            held = now
            continue
        assert _which(out, complete) == want  # every step passed: the new set
        break
    # the steps: a write per file of the set, a link for notes.txt, two syncs, the swap
    files = len(complete["a"]) - 1
    assert n == files + 5 and outcomes == [False] * (files + 3) + [True]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".hw")]


def test_leftovers_of_interrupted_runs_are_removed(tmp_path: Path) -> None:
    """A hidden temporary in the folder, a half-made set beside it, an old set set aside."""
    arch = load_arch(U280)
    out = tmp_path / "hw"
    first = export_design(arch, "sv,json", out, Provenance())
    (out / ".u280_hbm_16core_pkg.sv.ab12cd_3.tmp").write_text("half")
    (tmp_path / ".hw.export-x1y2z3.partial").mkdir()
    (tmp_path / ".hw.export-x1y2z3.partial" / "u280_hbm_16core.json").write_text("half")
    export_design(arch, "yaml", out, Provenance())
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [p.name for p in first] + ["u280_hbm_16core.yaml"]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["hw"]
    # stopped between the two renames of a file system that cannot exchange: put back
    os.rename(out, tmp_path / ".hw.export-q9w8e7.old")
    export_design(arch, "vh", out, Provenance())
    assert len(list(out.iterdir())) == 4 and [p.name for p in tmp_path.iterdir()] == ["hw"]


def test_without_an_atomic_exchange_the_set_is_still_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arch = load_arch(U280)
    out = tmp_path / "hw"
    export_design(arch, "sv", out, Provenance(study="a"))
    monkeypatch.setattr(files_module, "_exchange", lambda a, b: False)
    export_design(arch, "sv,vh", out, Provenance(study="b"), force=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "u280_hbm_16core_params.vh",
        "u280_hbm_16core_pkg.sv",
    ]
    assert "study: b" in (out / "u280_hbm_16core_pkg.sv").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["hw"]


def test_folders_it_will_not_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arch = load_arch(U280)
    out = tmp_path / "hw"
    (out / "rtl").mkdir(parents=True)
    with pytest.raises(ExplorerError, match="holds rtl, not a file"):
        export_design(arch, "sv", out, Provenance())
    assert [p.name for p in out.iterdir()] == ["rtl"]  # nothing written
    (out / "rtl").rmdir()
    monkeypatch.chdir(out)  # its inode changes with every export: the shell's would be gone
    with pytest.raises(ExplorerError, match="is the working folder"):
        export_design(arch, "sv", ".", Provenance())
