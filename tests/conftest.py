"""Shared fixtures and helpers: paths to the repository's examples, a call recorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def example_designs() -> list[Path]:
    """The architecture descriptions among the examples (not search spaces or systems)."""
    import yaml

    return sorted(
        p
        for p in EXAMPLES.glob("*.yaml")
        if "device" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})
    )


@pytest.fixture(scope="session", autouse=True)
def _private_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands the tests run keep their traces and compiled kernels in the session's folders.

    Never the user's caches (``~/.cache/mmfree-cosim``, TorchInductor's under the system's
    temporary folder): a test neither writes there nor reads what another version of the
    code left there, and a passing run leaves nothing behind (pytest removes its temporary
    folders; see ``tmp_path_retention_policy``). Subprocesses inherit them.
    """
    import os

    from workloads.trace_cache import CACHE_ENV

    private = {
        CACHE_ENV: str(tmp_path_factory.mktemp("trace-cache")),
        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path_factory.mktemp("inductor-cache")),
    }
    before = {name: os.environ.get(name) for name in private}
    os.environ.update(private)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


def record_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Wrap ``module.name`` for the test; return the list its results are appended to."""
    results: list[Any] = []
    real = getattr(module, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(module, name, recording)
    return results


class Interrupter:
    """Raises KeyboardInterrupt (Ctrl-C) at the ``stop_at``-th call of the wrapped functions.

    ``arm(n)`` starts counting anew and stops at call ``n`` (0: never).
    """

    def __init__(self) -> None:
        self.calls = 0
        self.stop_at = 0

    def arm(self, n: int) -> None:
        """Count from zero again; interrupt at call ``n`` (0: never)."""
        self.calls, self.stop_at = 0, n

    def wrap(self, fn: Any) -> Any:
        """Return ``fn`` counted, interrupted at the armed call."""

        def step(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.stop_at:
                raise KeyboardInterrupt
            return fn(*args, **kwargs)

        return step


def interrupt_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, names: list[str]) -> Interrupter:
    """Wrap ``owner.<name>`` for each name, counted together; return the interrupter."""
    interrupter = Interrupter()
    for name in names:
        monkeypatch.setattr(owner, name, interrupter.wrap(getattr(owner, name)))
    return interrupter
