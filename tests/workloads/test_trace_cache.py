"""The trace cache: hits, and every change to what decides a trace makes a new entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import workloads.trace_cache as tc
from workloads.config import config_to_hf, get_config


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every trace the cache had to make (model, prompt, decode, seed)."""
    calls: list[tuple[Any, ...]] = []
    real = tc.generate_trace

    def counting(model: Any, prompt: Any, gen: int, **kw: Any) -> Any:
        calls.append((model, prompt, gen, kw.get("seed")))
        return real(model, prompt, gen, **kw)

    monkeypatch.setattr(tc, "generate_trace", counting)
    return calls


def test_a_trace_is_made_once_and_then_read(tmp_path: Path, made: list[Any]) -> None:
    first, folder, hit = tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)
    assert not hit and folder is not None and (folder / "manifest.json").is_file()
    again, folder2, hit2 = tc.cached_trace("TINY", 1, 2, 0, root=tmp_path)
    assert hit2 and folder2 == folder and len(made) == 1
    assert again.ops.equals(first.ops) and again.matrices.equals(first.matrices)


@pytest.mark.parametrize(
    "other", [dict(seed=1), dict(prompt=2), dict(gen=3)], ids=["seed", "prompt", "decode"]
)
def test_another_seed_or_token_count_is_another_entry(
    tmp_path: Path, made: list[Any], other: dict[str, int]
) -> None:
    tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)
    args = {"prompt": 1, "gen": 2, "seed": 0, **other}
    _, folder, hit = tc.cached_trace(
        "tiny", args["prompt"], args["gen"], args["seed"], root=tmp_path
    )
    assert not hit and len(made) == 2
    assert len(list((tmp_path / "traces").iterdir())) == 2 and folder is not None


def test_a_new_trace_format_or_new_model_code_is_never_served_stale(
    tmp_path: Path, made: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)
    monkeypatch.setattr(tc, "SCHEMA_VERSION", tc.SCHEMA_VERSION + 1)
    assert not tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)[2]
    monkeypatch.setattr(tc, "code_digest", lambda: "0123456789ab")
    assert not tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)[2]
    assert len(made) == 3
    # the digest covers the package's sources: it is stable, and is of them
    assert tc.trace_key("tiny", 0, 1, 2) != tc.trace_key("tiny", 1, 1, 2)


def test_a_damaged_entry_is_made_again(tmp_path: Path, made: list[Any]) -> None:
    _, folder, _ = tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)
    assert folder is not None
    (folder / "ops.parquet").write_bytes(b"not parquet")
    trace, _, hit = tc.cached_trace("tiny", 1, 2, 0, root=tmp_path)
    assert not hit and len(made) == 2 and len(trace.ops) > 0


def test_a_config_file_is_keyed_by_its_content(tmp_path: Path, made: list[Any]) -> None:
    hf = config_to_hf(get_config("tiny"))
    hf.pop("_name_or_path", None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf))
    root = tmp_path / "cache"
    assert not tc.cached_trace(str(path), 1, 2, 0, root=root)[2]
    assert tc.cached_trace(str(path), 1, 2, 0, root=root)[2]
    hf["num_hidden_layers"] = hf["num_hidden_layers"] + 1
    path.write_text(json.dumps(hf))
    assert not tc.cached_trace(str(path), 1, 2, 0, root=root)[2]
    assert len(made) == 2


def test_the_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(tc.CACHE_ENV, str(tmp_path / "c"))
    assert tc.cache_root() == tmp_path / "c"
    monkeypatch.delenv(tc.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert tc.cache_root() == tmp_path / "x" / "mmfree-cosim"


def test_an_unwritable_cache_makes_the_trace_without_keeping_it(
    tmp_path: Path, made: list[Any]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache's folder would be")
    trace, folder, hit = tc.cached_trace("tiny", 1, 2, 0, root=blocker)
    assert folder is None and not hit and len(trace.ops) > 0 and len(made) == 1
