"""A trace write killed at random points (SIGKILL) never loses or mixes traces.

Each repetition starts ``python -c`` calling ``generate_trace(out=DIR)``, lets it run for
a seeded random time and kills it. ``DIR`` must then read (:func:`read_trace`, which
finishes a swap killed between its renames) as the complete old trace or the complete
new one, or be absent if there was no old one; the next successful write must leave no
hidden leftovers beside it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workloads.errors import TraceError
from workloads.trace import generate_trace, read_trace

REPETITIONS = 20

_CHILD = textwrap.dedent(
    """
    import sys, time
    from workloads.trace import generate_trace

    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=int(sys.argv[2]), out=sys.argv[1])
    print(time.perf_counter() - started, flush=True)
    """
)


def _start(out: Path, seed: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(out), str(seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def _seed_of(out: Path) -> int | None:
    try:
        return int(read_trace(out).manifest["seed"])
    except TraceError as exc:
        assert "no such trace folder" in str(exc), str(exc)
        return None


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_killed_trace_writes_leave_the_old_or_the_new_trace(tmp_path: Path) -> None:
    out = tmp_path / "trace"
    timing = _start(tmp_path / "timing", 0)
    _go(timing)
    assert timing.stdout is not None
    write_s = float(timing.stdout.readline())  # how long a write takes here
    assert timing.wait(timeout=120) == 0
    rng = random.Random(20240)
    outcomes = {"absent": 0, "old": 0, "new": 0}
    killed_mid_write = 0
    for rep in range(REPETITIONS):
        old = rep % 4 != 3  # mostly replacing a trace: the case that could lose one
        if old:
            generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=1, out=out)
        elif out.exists():
            _remove(out)
        child = _start(out, 2)
        _go(child)
        time.sleep(rng.uniform(0, write_s))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        assert child.stdout is not None
        killed_mid_write += not child.stdout.read().strip()  # it had not finished
        seed = _seed_of(out)
        assert seed in ((1, 2) if old else (None, 2)), (rep, seed)
        outcomes[{None: "absent", 1: "old", 2: "new"}[seed]] += 1
        generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=3, out=out)
        assert _seed_of(out) == 3
        assert _hidden(tmp_path) == [], rep
    assert sum(outcomes.values()) == REPETITIONS
    assert killed_mid_write >= REPETITIONS // 4, (killed_mid_write, outcomes)
    print(f"{REPETITIONS} kills, {killed_mid_write} mid-write: {outcomes}")


def _remove(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


@pytest.mark.parametrize("step", ["rename aside", "rename in", "remove old"])
def test_a_trace_write_killed_in_its_swap_is_finished_on_read(tmp_path: Path, step: str) -> None:
    """The kill lands exactly between the swap's steps (os.replace / rmtree patched)."""
    out = tmp_path / "trace"
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=1, out=out)
    kill = {
        "rename aside": ("replace", 1),
        "rename in": ("replace", 2),
        "remove old": ("rmtree", 1),
    }
    name, nth = kill[step]
    script = textwrap.dedent(
        f"""
        import os, shutil, signal, sys
        from workloads.trace import generate_trace
        module = {{"replace": os, "rmtree": shutil}}["{name}"]
        real, calls = getattr(module, "{name}"), [0]
        def step(*args, **kwargs):
            calls[0] += 1
            if calls[0] == {nth}:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        setattr(module, "{name}", step)
        generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=2, out=sys.argv[1])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    expected = {"rename aside": 1, "rename in": 2, "remove old": 2}[step]
    assert _seed_of(out) == expected  # a swap killed between its renames is finished
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=3, out=out)
    assert _hidden(tmp_path) == []


def test_a_trace_write_after_a_killed_swap_replaces_the_finished_one(tmp_path: Path) -> None:
    """The next write finishes the killed swap itself, then replaces that trace as usual."""
    out = tmp_path / "trace"
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=1, out=out)
    partial = tmp_path / ".trace.0123456789abcdef.partial"
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=2, out=partial)
    os.replace(out, tmp_path / ".trace.0123456789abcdef.old")  # killed right here
    assert not out.exists()
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, seed=3, out=out)
    assert _seed_of(out) == 3
    assert _hidden(tmp_path) == []
