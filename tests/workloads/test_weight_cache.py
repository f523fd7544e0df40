"""The synthetic-weight disk cache: the same weights to the bit, keyed, rebuilt when damaged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import workloads.weight_cache as weight_cache
from workloads.config import get_config
from workloads.synthetic import synthetic_weights
from workloads.weight_cache import cached_synthetic_weights, weights_key
from workloads.weights import ModelWeights


def _same(a: ModelWeights, b: ModelWeights) -> None:
    for ma, mb in zip(a.matrices(), b.matrices(), strict=True):
        assert np.array_equal(ma.packed, mb.packed) and ma.scale == mb.scale
        assert np.array_equal(ma.norm, mb.norm)
    assert a.embedding is not None and b.embedding is not None
    assert np.array_equal(a.embedding, b.embedding)
    for la, lb in zip(a.layers, b.layers, strict=True):
        for f in dataclasses.fields(la):
            x, y = getattr(la, f.name), getattr(lb, f.name)
            if isinstance(x, np.ndarray):
                assert np.array_equal(x, y), f.name


def test_a_hit_gives_the_built_weights_to_the_bit(tmp_path: Path) -> None:
    config = get_config("tiny")
    first, hit1 = cached_synthetic_weights(config, 3, root=tmp_path)
    again, hit2 = cached_synthetic_weights(config, 3, root=tmp_path)
    assert (hit1, hit2) == (False, True)
    reference = synthetic_weights(config, 3)
    _same(first, reference)
    _same(again, reference)
    assert not again.matrices()[0].packed.flags.writeable
    assert [p.name for p in (tmp_path / "weights").iterdir()] == [weights_key(config, 3)]


def test_seed_configuration_and_format_each_make_their_own_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = get_config("tiny")
    cached_synthetic_weights(config, 0, root=tmp_path)
    assert not cached_synthetic_weights(config, 1, root=tmp_path)[1]
    other = dataclasses.replace(config, bitlinear_eps=1e-5)
    built, hit = cached_synthetic_weights(other, 0, root=tmp_path)
    assert not hit and built.config == other
    monkeypatch.setattr(weight_cache, "WEIGHTS_FORMAT", weight_cache.WEIGHTS_FORMAT + 1)
    assert not cached_synthetic_weights(config, 0, root=tmp_path)[1]
    assert len(list((tmp_path / "weights").iterdir())) == 4


def test_a_damaged_entry_is_built_again(tmp_path: Path) -> None:
    config = get_config("tiny")
    cached_synthetic_weights(config, 0, root=tmp_path)
    entry = tmp_path / "weights" / weights_key(config, 0)
    victim = sorted(entry.glob("*.npy"))[3]
    victim.write_bytes(b"not an array")
    rebuilt, hit = cached_synthetic_weights(config, 0, root=tmp_path)
    assert not hit
    _same(rebuilt, synthetic_weights(config, 0))
    assert cached_synthetic_weights(config, 0, root=tmp_path)[1]  # kept again, whole


def test_a_cache_that_cannot_be_written_builds_and_keeps_nothing(tmp_path: Path) -> None:
    root = tmp_path / "a-file"
    root.write_text("not a folder")
    built, hit = cached_synthetic_weights(get_config("tiny"), 0, root=root)
    assert not hit and built.matrices()
    _same(built, synthetic_weights(get_config("tiny"), 0))


def test_load_weights_keeps_synthetic_weights_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workloads.loading import clear_weight_cache, load_weights
    from workloads.trace_cache import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    clear_weight_cache()
    load_weights("tiny", 5, disk_cache=False)
    assert not (tmp_path / "weights").exists()
    clear_weight_cache()
    kept = load_weights("tiny", 5)
    assert [p.name for p in (tmp_path / "weights").iterdir()] == [weights_key(kept.config, 5)]
    clear_weight_cache()
