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
from workloads.weights import ModelWeights, build_weights, parameter_shapes

__all__ = ["CheckpointSource", "is_checkpoint", "load_checkpoint", "write_checkpoint"]

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


def _tensor_files(folder: Path) -> list[Path]:
    index = folder / _INDEX
    if index.exists():
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
            shards = sorted(set(data["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{index}: not a valid safetensors index ({exc})") from None
        return [folder / s for s in shards]
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        other = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt")]
        hint = f" (found {', '.join(other)}: only safetensors is supported)" if other else ""
        raise CheckpointError(f"{folder}: no .safetensors weights{hint}")
    return files


def _read_tensors(folder: Path) -> dict[str, Tensor]:
    tensors: dict[str, Tensor] = {}
    for file in _tensor_files(folder):
        try:
            tensors.update(read_safetensors(file))
        except FileNotFoundError:
            raise CheckpointError(f"{file}: listed in the index but missing") from None
        except SafetensorsError as exc:
            raise CheckpointError(f"{folder}: {exc}") from None
        except OSError as exc:
            raise CheckpointError(f"{file}: cannot read ({exc.strerror})") from None
    return tensors


def _check(tensors: dict[str, Tensor], config: ModelConfig, where: str) -> None:
    problems = []
    for name, shape in parameter_shapes(config).items():
        t = tensors.get(name)
        if t is None:
            problems.append(f"{name}: missing (expected shape {list(shape)})")
        elif t.shape != shape:
            problems.append(f"{name}: shape {list(t.shape)} (expected {list(shape)})")
        elif t.dtype not in _FLOAT_DTYPES:
            problems.append(f"{name}: dtype {t.dtype} (expected one of {', '.join(_FLOAT_DTYPES)})")
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
