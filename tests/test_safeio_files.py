"""safeio's folder swap: a write killed at any point loses nothing and leaves nothing hidden.

The kill is real (SIGKILL of a child process) at every step of the swap in turn, so the
states a crash can leave are the states tested; live writes are never touched.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safeio import atomic_folder, recover_folder

_CHILD = textwrap.dedent(
    """
    import os, shutil, signal, sys
    from pathlib import Path
    import safeio.files as files

    out, content, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    calls = [0]

    def wrap(module, name):
        real = getattr(module, name)
        def step(*args, **kwargs):
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        setattr(module, name, step)

    for module, name in ((os, "replace"), (shutil, "rmtree"), (os, "unlink"), (os, "mkdir")):
        wrap(module, name)
    with files.atomic_folder(out) as tmp:
        for i in range(3):
            (tmp / f"part{i}").write_text(content)
    print("steps", calls[0])
    """
)


def _write(out: Path, content: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), content, str(kill_at)],
        capture_output=True,
        text=True,
        check=False,
    )


def _state(out: Path) -> str | None:
    if not out.exists():
        return None
    texts = {p.read_text() for p in out.iterdir()}
    assert sorted(p.name for p in out.iterdir()) == ["part0", "part1", "part2"]
    assert len(texts) == 1, "a folder mixing two writes"
    return texts.pop()


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("existing", [True, False])
def test_killed_at_every_step_loses_nothing(tmp_path: Path, existing: bool) -> None:
    out = tmp_path / "out"
    done = _write(out, "old")
    assert done.returncode == 0, done.stderr
    steps = int(done.stdout.split()[-1])
    if not existing:
        steps = int(_write(tmp_path / "fresh", "x").stdout.split()[-1])
    assert steps >= 4  # mkdir, the renames, the removals
    for kill_at in range(1, steps + 1):
        if existing:
            assert _write(out, "old").returncode == 0
        else:
            _remove_tree(out)
        killed = _write(out, "new", kill_at)
        assert killed.returncode == -9, (kill_at, killed.stdout, killed.stderr)
        recover_folder(out)
        state = _state(out)
        assert state in (("old", "new") if existing else (None, "new")), (kill_at, state)
        again = _write(out, "again")
        assert again.returncode == 0, again.stderr
        assert _state(out) == "again"
        assert _hidden(tmp_path) == [], kill_at


def _remove_tree(path: Path) -> None:
    if path.exists():
        for p in path.iterdir():
            p.unlink()
        path.rmdir()


def test_a_write_killed_between_its_renames_is_finished(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        (tmp / "f").write_text("old")
    # the state a kill between the two renames leaves (the scheme before lock files, too)
    (tmp_path / ".out.abcdefgh.partial").mkdir()
    (tmp_path / ".out.abcdefgh.partial" / "f").write_text("new")
    os.replace(out, tmp_path / ".out.abcdefgh.old")
    assert recover_folder(out) is True
    assert (out / "f").read_text() == "new"
    assert _hidden(tmp_path) == []
    assert recover_folder(out) is False


def test_a_write_that_finds_a_restored_folder_lets_its_caller_look_again(tmp_path: Path) -> None:
    """The caller decided while the folder was missing; the restored one is not replaced."""
    out = tmp_path / "out"
    (tmp_path / ".out.abcdefgh.partial").mkdir()
    (tmp_path / ".out.abcdefgh.partial" / "f").write_text("restored")
    (tmp_path / ".out.abcdefgh.old").mkdir()
    with pytest.raises(FileExistsError, match="run again to replace it"), atomic_folder(out) as tmp:
        (tmp / "f").write_text("new")
    assert (out / "f").read_text() == "restored"
    with atomic_folder(out) as tmp:  # the caller has looked again
        (tmp / "f").write_text("new")
    assert (out / "f").read_text() == "new"
    assert _hidden(tmp_path) == []


def test_leftovers_of_dead_writes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        (tmp / "f").write_text("v1")
    for name in (".out.0123456789abcdef.partial", ".out.abcdefgh.old", ".out.zzzzzzzz.partial"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("junk")
    (tmp_path / ".out.1111111111111111.lock").write_text("")
    # a write still running: its lock is held
    live = tmp_path / ".out.2222222222222222"
    Path(f"{live}.partial").mkdir()
    fd = os.open(f"{live}.lock", os.O_CREAT | os.O_WRONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    # names that belong to another target are not touched
    (tmp_path / ".out.x.0123456789abcdef.partial").mkdir()
    (tmp_path / ".outer.abcdefgh.old").mkdir()
    try:
        with atomic_folder(out) as tmp:
            (tmp / "f").write_text("v2")
        assert (out / "f").read_text() == "v2"
        assert _hidden(tmp_path) == [
            ".out.2222222222222222.lock",
            ".out.2222222222222222.partial",
            ".out.x.0123456789abcdef.partial",
            ".outer.abcdefgh.old",
        ]
    finally:
        os.close(fd)
    recover_folder(out)  # its writer is gone now
    assert _hidden(tmp_path) == [".out.x.0123456789abcdef.partial", ".outer.abcdefgh.old"]


def test_a_failed_body_leaves_the_old_folder_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        (tmp / "f").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "f").write_text("new")
        raise RuntimeError
    assert (out / "f").read_text() == "old"
    assert _hidden(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        with atomic_folder(tmp_path / "out") as tmp:
            (tmp / "f").write_text("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
