"""Checkpoints in the released layout: round trip, shards, dtypes, clear refusals.

The checkpoint the loader must read is written here with the ``safetensors`` library
itself (bf16 torch tensors, as the released files), not with this package's writer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workloads._safetensors import read_safetensors, write_safetensors
from workloads.checkpoint import load_checkpoint, write_checkpoint
from workloads.config import config_to_hf, get_config
from workloads.errors import CheckpointError, ModelConfigError
from workloads.loading import load_weights
from workloads.synthetic import SyntheticSource, synthetic_weights
from workloads.weights import ModelWeights, parameter_shapes

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

CFG = get_config("tiny")


def _state_dict(seed: int = 0) -> dict[str, Any]:
    src = SyntheticSource(seed)
    return {
        name: torch.from_numpy(src.latent_bits(name, shape).view(np.int16)).view(torch.bfloat16)
        for name, shape in parameter_shapes(CFG).items()
    }


def _write(folder: Path, sd: dict[str, Any], config: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    st_torch.save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(config or config_to_hf(CFG)))
    return folder


def _same(a: ModelWeights, b: ModelWeights) -> None:
    for ma, mb in zip(a.matrices(), b.matrices(), strict=True):
        assert (ma.name, ma.layer, ma.matrix_id) == (mb.name, mb.layer, mb.matrix_id)
        assert np.array_equal(ma.packed, mb.packed) and ma.scale == mb.scale
        assert np.array_equal(ma.norm, mb.norm)
    assert a.embedding is not None and b.embedding is not None
    assert np.array_equal(a.embedding, b.embedding)
    for la, lb in zip(a.layers, b.layers, strict=True):
        for field in ("attn_norm", "g_norm", "mlp_norm"):
            assert np.array_equal(getattr(la, field), getattr(lb, field))
        assert (la.lower_bound is None) == (lb.lower_bound is None)
        if la.lower_bound is not None:
            assert np.array_equal(la.lower_bound, lb.lower_bound)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("ckpt") / "MMfreeLM-tiny", _state_dict())


def test_round_trip_equals_synthetic_weights(ckpt: Path) -> None:
    loaded = load_checkpoint(ckpt)
    assert loaded.config.ternary_weights_per_token == CFG.ternary_weights_per_token
    assert loaded.seed is None and str(ckpt) in loaded.source
    _same(loaded, synthetic_weights(CFG, 0))
    _same(load_weights(str(ckpt)), loaded)


def test_package_writer_is_read_by_safetensors(tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path / "w", CFG, seed=0)
    theirs = st_torch.load_file(str(folder / "model.safetensors"))
    ours = _state_dict()
    assert set(theirs) == set(ours)
    for name, t in ours.items():
        assert theirs[name].dtype == torch.bfloat16 and torch.equal(theirs[name], t)
    _same(load_checkpoint(folder), synthetic_weights(CFG, 0))


def test_sharded_float32_with_extra_tensors(tmp_path: Path) -> None:
    folder = tmp_path / "sharded"
    folder.mkdir()
    sd = {k: v.float().numpy() for k, v in _state_dict().items()}
    names = sorted(sd)
    half = len(names) // 2
    shards = {"a.safetensors": names[:half], "b.safetensors": names[half:]}
    for file, part in shards.items():
        tensors = {n: ("F32", sd[n]) for n in part}
        if file == "b.safetensors":
            tensors["model.rotary.inv_freq"] = ("F32", np.ones(4, np.float32))
        write_safetensors(folder / file, tensors)
    index = {"weight_map": {n: f for f, part in shards.items() for n in part}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    (folder / "config.json").write_text(json.dumps(config_to_hf(CFG)))
    _same(load_checkpoint(folder), synthetic_weights(CFG, 0))


def test_missing_and_misshapen_tensors_are_all_listed(tmp_path: Path) -> None:
    sd = _state_dict()
    del sd["model.layers.1.mlp.down_proj.weight"]
    del sd["lm_head.norm.weight"]
    sd["model.layers.0.attn.i_proj.weight"] = sd["model.layers.0.attn.i_proj.weight"][:32]
    sd["model.norm.weight"] = torch.zeros(CFG.d, dtype=torch.int32)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(_write(tmp_path / "bad", sd))
    text = str(exc.value)
    assert "4 problems" in text
    assert "model.layers.1.mlp.down_proj.weight: missing (expected shape [64, 256])" in text
    assert "lm_head.norm.weight: missing" in text
    assert "model.layers.0.attn.i_proj.weight: shape [32, 64] (expected [64, 64])" in text
    assert "model.norm.weight: dtype I32" in text


def test_malformed_config_and_files(tmp_path: Path, ckpt: Path) -> None:
    bad = tmp_path / "badcfg"
    shutil.copytree(ckpt, bad)
    (bad / "config.json").write_text('{"model_type": "hgrn_bit", "hidden_size": 64')
    with pytest.raises(ModelConfigError, match="not valid JSON"):
        load_checkpoint(bad)

    torn = tmp_path / "torn"
    shutil.copytree(ckpt, torn)
    data = (torn / "model.safetensors").read_bytes()
    (torn / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="bad data_offsets"):
        load_checkpoint(torn)

    garbage = tmp_path / "garbage"
    shutil.copytree(ckpt, garbage)
    (garbage / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="header is not JSON"):
        load_checkpoint(garbage)

    binary = tmp_path / "bin"
    binary.mkdir()
    shutil.copy(ckpt / "config.json", binary / "config.json")
    (binary / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="only safetensors is supported"):
        load_checkpoint(binary)


def test_non_finite_weights_are_refused(tmp_path: Path) -> None:
    sd = _state_dict()
    w = sd["model.layers.0.attn.f_proj.weight"].clone()
    w[3, 3] = float("nan")
    sd["model.layers.0.attn.f_proj.weight"] = w
    with pytest.raises(CheckpointError, match=r"f_proj\.weight: weights hold NaN"):
        load_checkpoint(_write(tmp_path / "nan", sd))


def test_reader_views_are_read_only(ckpt: Path) -> None:
    tensors = read_safetensors(ckpt / "model.safetensors")
    t = tensors["model.embeddings.weight"]
    assert t.dtype == "BF16" and t.shape == (CFG.vocab, CFG.d)
    with pytest.raises(ValueError):
        t.data[0, 0] = 1


def test_block_only_has_no_checkpoint_form(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match="block-only"):
        write_checkpoint(tmp_path / "b", get_config("paper-block-d512"))
