"""Checkpoints in the released layout: HF ``config.json`` plus safetensors, bf16 latents.

The released MMfreeLM checkpoints (PAPER.md) are a folder with ``config.json``
(``model_type: hgrn_bit``) and ``model.safetensors`` (or shards listed in
``model.safetensors.index.json``) holding bf16 latent weights under the reference code's
parameter names (:func:`workloads.weights.parameter_shapes`). :func:`load_checkpoint`
maps the files, checks that every expected tensor is there with the expected shape
(listing every problem in one :class:`~workloads.errors.CheckpointError`), and
quantises each projection to packed ternary at load. Extra tensors are ignored. Tensors
may be BF16 (the released type), F16 or F32.

:func:`write_checkpoint` writes the synthetic weights of a configuration in that layout,
so anything that reads released checkpoints can be tried without them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads._bf16 import bf16_to_float32
from workloads._safetensors import SafetensorsError, Tensor, read_safetensors, write_safetensors
from workloads.config import ModelConfig, config_to_hf, get_config
from workloads.errors import CheckpointError, ModelConfigError
from workloads.packing import pack_ternary
from workloads.quant import ternarise, ternarise_bf16
from workloads.synthetic import SyntheticSource
from workloads.weights import (
    ModelWeights,
    build_weights,
    iter_parameter_shapes,
    parameter_shapes,
)

__all__ = [
    "CheckpointSource",
    "check_folder",
    "is_checkpoint",
    "load_checkpoint",
    "weight_files",
    "write_checkpoint",
]

_FLOAT_DTYPES = ("BF16", "F16", "F32")
_INDEX = "model.safetensors.index.json"


def is_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding safetensors weights."""
    p = Path(path)
    return p.is_dir() and (any(p.glob("*.safetensors")) or (p / _INDEX).exists())


class CheckpointSource:
    """A :class:`~workloads.weights.WeightSource` over the mapped tensors of a checkpoint.

    Args:
        tensors: Tensors by name (already checked against the configuration).
        where: The checkpoint path, for messages.
    """

    def __init__(self, tensors: dict[str, Tensor], where: str) -> None:
        self._tensors = tensors
        self._where = where

    def tensor(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
        """Return a tensor as float32 (bf16 and f16 widen exactly)."""
        t = self._tensors[name]
        values = bf16_to_float32(t.data) if t.dtype == "BF16" else t.data.astype(np.float32)
        if not np.isfinite(values).all():
            raise CheckpointError(f"{self._where}: {name} holds NaN or infinite values")
        return values.reshape(shape)

    def ternary(self, name: str, shape: tuple[int, int]) -> tuple[npt.NDArray[np.uint8], float]:
        """Quantise a latent matrix (absmean) and pack it."""
        t = self._tensors[name]
        try:
            if t.dtype == "BF16":
                w, scale = ternarise_bf16(t.data)
            else:
                w, scale = ternarise(t.data)
        except ValueError as exc:
            raise CheckpointError(f"{self._where}: {name}: {exc}") from None
        return pack_ternary(w.reshape(shape)), scale


def _inside(folder: Path, name: Any, listed_in: Path | None = None) -> Path:
    """Return the real path of the plain file ``name`` of ``folder``, or refuse it.

    ``name`` must be a bare file name (no folder part, no ``..``), and the file it names
    a regular file inside the folder, links included: a checkpoint never makes the
    loader read anything outside itself.
    """
    where = f"{listed_in}: shard {name!r}" if listed_in is not None else f"{folder / str(name)}"
    plain = (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in ("/", "\\", "\0"))
        and not Path(name).is_absolute()
    )
    if not plain:
        raise CheckpointError(f"{where}: must be a plain file name inside {folder}")
    path: Path = folder / name
    try:
        real = path.resolve(strict=True)
        home = folder.resolve(strict=True)
    except FileNotFoundError:
        what = "listed in the index but missing" if listed_in is not None else "missing"
        raise CheckpointError(f"{path}: {what}") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise CheckpointError(f"{path}: cannot be opened ({exc})") from None
    if not real.is_relative_to(home):
        raise CheckpointError(
            f"{where}: leads outside the checkpoint folder (to {real}); a checkpoint's files "
            f"must be inside it (copy them in, instead of linking)"
        )
    if not real.is_file():
        raise CheckpointError(f"{where}: not a regular file")
    return real


def _found(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"found {shown}" if names else "the folder is empty"


def weight_files(folder: Path) -> list[Path]:
    """Return the safetensors files of a checkpoint folder, checked.

    The shards listed in ``model.safetensors.index.json`` if there is one, else every
    ``*.safetensors`` file. Each must be a regular file inside the folder, named by a
    plain file name (no absolute path, no ``..``, no link leading outside).

    Raises:
        CheckpointError: If the folder holds no safetensors weights (saying what it holds
            instead: PyTorch ``.bin``/``.pt`` weights are not read), the index is
            malformed, or a file is missing or outside the folder.
    """
    folder = Path(folder)
    if os.path.lexists(folder / _INDEX):
        index = _inside(folder, _INDEX)
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise CheckpointError(
                f"{folder / _INDEX}: not a valid safetensors index ({exc})"
            ) from None
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(
                f"{folder / _INDEX}: not a valid safetensors index (needs a non-empty "
                f'"weight_map" object of tensor name → shard file name)'
            )
        bad = [s for s in weight_map.values() if not isinstance(s, str)]
        if bad:
            raise CheckpointError(
                f"{folder / _INDEX}: shard names must be strings (got {json.dumps(bad[0])})"
            )
        shards = sorted(set(weight_map.values()))
        return [_inside(folder, s, folder / _INDEX) for s in shards]
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    if not files:
        torch_files = sorted(
            p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth")
        )
        hint = (
            f"; only safetensors is supported: {', '.join(torch_files)} (PyTorch pickle) is "
            "not read, convert it to safetensors"
            if torch_files
            else "; for synthetic weights, give the config.json file itself"
        )
        raise CheckpointError(
            f"{folder}: no safetensors weights ({_found(folder)}); a checkpoint folder needs "
            f"model.safetensors or {_INDEX} with its shards{hint}"
        )
    return [_inside(folder, name) for name in files]


def check_folder(folder: str | Path) -> None:
    """Check that a checkpoint folder can be loaded before reading its configuration.

    Its ``config.json`` must be a regular file inside it, and its weights safetensors
    (:func:`weight_files`).

    Raises:
        CheckpointError: If not, saying what the folder holds and what it needs.
    """
    folder = Path(folder)
    if not os.path.lexists(folder / "config.json"):
        raise CheckpointError(
            f"{folder}: no config.json ({_found(folder)}); a checkpoint folder needs "
            "config.json and model.safetensors (or an index with its shards)"
        )
    _inside(folder, "config.json")
    weight_files(folder)


def _read_tensors(folder: Path) -> dict[str, Tensor]:
    tensors: dict[str, Tensor] = {}
    for file in weight_files(folder):
        try:
            tensors.update(read_safetensors(file))
        except FileNotFoundError:
            raise CheckpointError(f"{file}: missing") from None
        except SafetensorsError as exc:
            raise CheckpointError(f"{folder}: {exc}") from None
        except OSError as exc:
            raise CheckpointError(f"{file}: cannot read ({exc.strerror})") from None
    return tensors


#: Problems listed before a check stops (a config far from its files is not listed whole).
_MAX_PROBLEMS = 50


def _check(tensors: dict[str, Tensor], config: ModelConfig, where: str) -> None:
    problems: list[str] = []
    for name, shape in iter_parameter_shapes(config):
        t = tensors.get(name)
        if t is None:
            problems.append(f"{name}: missing (expected shape {list(shape)})")
        elif t.shape != shape:
            problems.append(f"{name}: shape {list(t.shape)} (expected {list(shape)})")
        elif t.dtype not in _FLOAT_DTYPES:
            problems.append(f"{name}: dtype {t.dtype} (expected one of {', '.join(_FLOAT_DTYPES)})")
        if len(problems) > _MAX_PROBLEMS:
            break
    if len(problems) > _MAX_PROBLEMS:
        raise CheckpointError(
            f"{where}: checkpoint does not match its configuration (more than "
            f"{_MAX_PROBLEMS} problems; the first {_MAX_PROBLEMS} listed)",
            problems[:_MAX_PROBLEMS],
        )
    if problems:
        raise CheckpointError(
            f"{where}: checkpoint does not match its configuration "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''})",
            problems,
        )


def load_checkpoint(
    path: str | Path,
    config: ModelConfig | None = None,
    on_tensor: Callable[[str], None] | None = None,
) -> ModelWeights:
    """Load a checkpoint in the released layout, quantising its latent weights.

    Args:
        path: The checkpoint folder.
        config: The configuration to use (e.g. the folder's own with a variant switch
            changed); default: the folder's ``config.json``.
        on_tensor: Called with each parameter name as it is built (progress).

    Returns:
        The weights.

    Raises:
        ModelConfigError: If ``config.json`` is missing or unusable.
        CheckpointError: If the weights are missing, unreadable or do not match.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a checkpoint folder")
    if config is None:
        check_folder(folder)
        config = get_config(folder)
    if config.block_only:
        raise ModelConfigError(
            f"{config.name}: a block-only configuration cannot load a checkpoint"
        )
    tensors = _read_tensors(folder)
    _check(tensors, config, str(folder))
    return build_weights(
        config, CheckpointSource(tensors, str(folder)), str(folder), on_tensor=on_tensor
    )


def write_checkpoint(path: str | Path, config: ModelConfig, seed: int = 0) -> Path:
    """Write the synthetic weights of ``config`` as a checkpoint in the released layout.

    Args:
        path: The folder to create (or fill).
        config: A configuration that is not block-only.
        seed: The synthetic seed (:mod:`workloads.synthetic`).

    Returns:
        The folder.

    Raises:
        ModelConfigError: For a block-only configuration.
        OSError: If the files cannot be written.
    """
    hf = config_to_hf(config)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    source = SyntheticSource(seed)
    tensors: dict[str, tuple[str, Any]] = {
        name: ("BF16", source.latent_bits(name, shape))
        for name, shape in parameter_shapes(config).items()
    }
    write_safetensors(folder / "model.safetensors", tensors, {"format": "pt"})
    (folder / "config.json").write_text(json.dumps(hf, indent=2) + "\n", encoding="utf-8")
    return folder
