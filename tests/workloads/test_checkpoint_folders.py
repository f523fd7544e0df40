"""Checkpoint folders: weights it cannot read are refused, and nothing outside it is read.

A folder is a checkpoint or an error: PyTorch pickles, or a config alone, never fall back
to synthetic weights; shard names are plain file names inside the folder (no absolute
path, no ``..``, no link leading out). Needs no torch (the package writes the files).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from pathlib import Path

import pytest

from cosim_cli.main import main
from workloads.checkpoint import write_checkpoint
from workloads.config import get_config
from workloads.errors import CheckpointError, ModelConfigError
from workloads.loading import load_weights
from workloads.synthetic import synthetic_weights

CFG = get_config("tiny")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", CFG, seed=0)


def _copy(ckpt: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "ckpt"
    shutil.copytree(ckpt, folder, symlinks=True)
    return folder


def _index(folder: Path, shards: dict[str, object]) -> None:
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": shards}))


def test_a_folder_of_pytorch_weights_is_refused_not_replaced(
    ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(ckpt, tmp_path)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError) as exc:
        load_weights(str(folder))
    text = str(exc.value)
    assert f"{folder}: no safetensors weights (found config.json, pytorch_model.bin)" in text
    assert "needs model.safetensors or model.safetensors.index.json" in text
    assert "pytorch_model.bin (PyTorch pickle) is not read" in text
    out = tmp_path / "t"
    args = ["trace", "--model", str(folder), "--prompt-tokens", "1", "--gen-tokens", "1"]
    assert main([*args, "--out", str(out)]) == 2
    assert "no safetensors weights" in capsys.readouterr().err
    assert not out.exists()


def test_a_folder_with_only_a_config_is_refused(ckpt: Path, tmp_path: Path) -> None:
    folder = _copy(ckpt, tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"no safetensors weights \(found config\.json\)"):
        load_weights(str(folder))
    # the config file itself still names a configuration with synthetic weights
    assert load_weights(str(folder / "config.json")).seed == 0
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"no config\.json \(the folder is empty\)"):
        load_weights(str(folder))


@pytest.mark.parametrize(
    "shard",
    ["/etc/hostname", "../tiny/model.safetensors", "..", ".", "", "sub/model.safetensors"],
)
def test_index_shards_must_be_plain_names_inside_the_folder(
    ckpt: Path, tmp_path: Path, shard: str
) -> None:
    folder = _copy(ckpt, tmp_path)
    _index(folder, {"model.embeddings.weight": "model.safetensors", "x": shard})
    with pytest.raises(CheckpointError, match="must be a plain file name inside"):
        load_weights(str(folder))


def test_index_shards_must_be_strings(ckpt: Path, tmp_path: Path) -> None:
    folder = _copy(ckpt, tmp_path)
    _index(folder, {"a": ["model.safetensors"]})
    with pytest.raises(CheckpointError, match=r"shard names must be strings \(got \["):
        load_weights(str(folder))
    _index(folder, {})
    with pytest.raises(CheckpointError, match="needs a non-empty"):
        load_weights(str(folder))


@pytest.mark.parametrize("how", ["listed", "globbed", "index"])
def test_links_leading_outside_are_refused(ckpt: Path, tmp_path: Path, how: str) -> None:
    folder = _copy(ckpt, tmp_path)
    outside = tmp_path / "elsewhere.safetensors"
    (folder / "model.safetensors").rename(outside)
    if how == "index":
        (tmp_path / "index.json").write_text(json.dumps({"weight_map": {"a": "x.safetensors"}}))
        os.symlink(tmp_path / "index.json", folder / "model.safetensors.index.json")
    else:
        os.symlink(outside, folder / "model.safetensors")
        if how == "listed":
            _index(folder, {"model.embeddings.weight": "model.safetensors"})
    with pytest.raises(CheckpointError, match="leads outside the checkpoint folder"):
        load_weights(str(folder))


def test_links_inside_the_folder_are_followed(ckpt: Path, tmp_path: Path) -> None:
    folder = _copy(ckpt, tmp_path)
    (folder / "weights").mkdir()
    (folder / "model.safetensors").rename(folder / "weights" / "model.safetensors")
    os.symlink("weights/model.safetensors", folder / "model.safetensors")
    weights = load_weights(str(folder))
    assert weights.zero_fraction == synthetic_weights(CFG, 0).zero_fraction


def test_shards_that_are_not_files_are_refused(ckpt: Path, tmp_path: Path) -> None:
    folder = _copy(ckpt, tmp_path)
    (folder / "a.safetensors").mkdir()
    _index(folder, {"model.embeddings.weight": "a.safetensors"})
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_weights(str(folder))
    _index(folder, {"model.embeddings.weight": "gone.safetensors"})
    with pytest.raises(CheckpointError, match="listed in the index but missing"):
        load_weights(str(folder))


def test_a_config_far_from_its_files_is_refused_quickly(ckpt: Path, tmp_path: Path) -> None:
    folder = _copy(ckpt, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 10**9}))
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match="more than 50 problems; the first 50 listed"):
        load_weights(str(folder))
    assert time.perf_counter() - started < 10
    (folder / "config.json").write_text(json.dumps({**config, "hidden_ratio": float("inf")}))
    with pytest.raises(ModelConfigError, match="hidden_ratio: must be a positive number"):
        load_weights(str(folder))
    (folder / "config.json").write_text('{"hidden_size": ' + "9" * 5000 + "}")
    with pytest.raises(ModelConfigError, match="not valid JSON"):
        load_weights(str(folder))


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"dtype": ["BF16"], "shape": [1], "data_offsets": [0, 2]}, "unsupported dtype"),
        ({"dtype": "BF16", "shape": [1] * 70, "data_offsets": [0, 2]}, "bad shape"),
        ({"dtype": "BF16", "shape": [2**63, 0], "data_offsets": [0, 0]}, "bad shape"),
    ],
)
def test_odd_safetensors_headers_are_checkpoint_errors(
    ckpt: Path, tmp_path: Path, entry: dict[str, object], match: str
) -> None:
    folder = _copy(ckpt, tmp_path)
    raw = (folder / "model.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header["odd"] = entry
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    data = raw[8 + length :]
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + data)
    with pytest.raises(CheckpointError, match=match):
        load_weights(str(folder))
