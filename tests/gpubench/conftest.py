"""Fixtures of the baseline tests: one small CPU measurement shared by several tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SMALL_ARGS = [
    "--models",
    "tiny",
    "--batches",
    "1,2",
    "--prompt-tokens",
    "6",
    "--gen-tokens",
    "6",
    "--warmup-steps",
    "2",
    "--prefill-reps",
    "1",
    "--power-window-s",
    "0",
    "--idle-s",
    "0",
]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models run fastest (and steadiest on a busy machine) on one thread."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete CPU run of the harness on the tiny model (all impls, both launches)."""
    torch = pytest.importorskip("torch")
    from gpubench.__main__ import main

    out = tmp_path_factory.mktemp("baseline") / "cpu.json"
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["measure", "--out", str(out), *SMALL_ARGS]) == 0
    finally:
        torch.set_num_threads(before)
    return out
