"""A disk cache of synthetic weights: built once per configuration and seed, then mapped.

Building the synthetic weights of 2.7B takes about 20 s (every tensor drawn from the
seed, every matrix quantised and packed); every process that makes a trace or judges a
design's numerics needed them again. The cache keeps each tensor as it was built, as a
``.npy`` file, under a key of everything that decides it:

- the configuration (a digest of all its fields: a built-in model or a file's, alike);
- the seed;
- :data:`WEIGHTS_FORMAT`, and the code that builds weights (the digest of the
  ``workloads`` sources, :func:`~workloads._cache.code_digest`).

A hit reads the tensors memory-mapped (read-only), through the same assembly
(:func:`~workloads.weights.build_weights`) as a build, so the weights are the same to the
bit. An entry is written into a temporary folder and renamed when whole; an entry that
cannot be read is built again; a cache folder that cannot be written leaves the weights
built and not kept. Checkpoints are not cached (their files are their own cache).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads._cache import cache_root, code_digest, writable
from workloads.config import ModelConfig
from workloads.synthetic import SyntheticSource
from workloads.weights import F32, ModelWeights, WeightSource, build_weights

__all__ = ["WEIGHTS_FORMAT", "cached_synthetic_weights", "weights_key"]

#: Version of an entry's layout (bump when it changes).
WEIGHTS_FORMAT = 1
_MANIFEST = "manifest.json"


def weights_key(config: ModelConfig, seed: int) -> str:
    """Return the cache entry's name for the synthetic weights of ``config`` and ``seed``."""
    fields = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    digest = hashlib.sha256(fields.encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", config.name)[:40]
    return f"{name}-{digest}-seed{seed}-w{WEIGHTS_FORMAT}-{code_digest()}"


def _file(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy"


class _Keeping:
    """A source that builds from the seed and keeps every tensor it gives in ``folder``."""

    def __init__(self, inner: WeightSource, folder: Path) -> None:
        self.inner, self.folder = inner, folder
        self.scales: dict[str, float] = {}

    def tensor(self, name: str, shape: tuple[int, ...]) -> F32:
        out = self.inner.tensor(name, shape)
        np.save(self.folder / _file(name), out, allow_pickle=False)
        return out

    def ternary(self, name: str, shape: tuple[int, int]) -> tuple[npt.NDArray[np.uint8], float]:
        packed, scale = self.inner.ternary(name, shape)
        np.save(self.folder / _file(name), packed, allow_pickle=False)
        self.scales[name] = float(scale)
        return packed, scale


class _Stored:
    """A source that reads the tensors an entry kept (memory-mapped, read-only)."""

    def __init__(self, folder: Path, scales: dict[str, float]) -> None:
        self.folder, self.scales = folder, scales

    def _load(self, name: str, shape: tuple[int, ...]) -> Any:
        arr = np.load(self.folder / _file(name), mmap_mode="r", allow_pickle=False)
        if arr.shape[0] != shape[0]:
            raise ValueError(f"{name}: kept with shape {arr.shape}, wanted {shape}")
        return arr

    def tensor(self, name: str, shape: tuple[int, ...]) -> F32:
        out: F32 = self._load(name, shape)
        return out

    def ternary(self, name: str, shape: tuple[int, int]) -> tuple[npt.NDArray[np.uint8], float]:
        return self._load(name, shape), self.scales[name]


def cached_synthetic_weights(
    config: ModelConfig,
    seed: int = 0,
    *,
    root: Path | None = None,
    on_tensor: Callable[[str], None] | None = None,
) -> tuple[ModelWeights, bool]:
    """Return the synthetic weights of ``config`` from the cache, building them on a miss.

    Args:
        config: The model configuration.
        seed: The seed.
        root: The cache's root (default :func:`~workloads._cache.cache_root`).
        on_tensor: Called with each parameter name as it is built or read (progress).

    Returns:
        The weights and whether they came from the cache.
    """
    description = f"synthetic seed {seed}"
    folder = (root or cache_root()) / "weights" / weights_key(config, seed)
    manifest = folder / _MANIFEST
    if manifest.is_file():
        try:
            scales = json.loads(manifest.read_text(encoding="utf-8"))["scales"]
            stored = _Stored(folder, scales)
            return build_weights(config, stored, description, seed=seed, on_tensor=on_tensor), True
        except (OSError, ValueError, KeyError, TypeError):
            shutil.rmtree(folder, ignore_errors=True)  # damaged: built again below
    source = SyntheticSource(seed)
    if not writable(folder.parent):
        return build_weights(config, source, description, seed=seed, on_tensor=on_tensor), False
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    built: ModelWeights | None = None
    try:
        keeping = _Keeping(source, tmp)
        built = build_weights(config, keeping, description, seed=seed, on_tensor=on_tensor)
        (tmp / _MANIFEST).write_text(
            json.dumps({"scales": keeping.scales, "format": WEIGHTS_FORMAT}), encoding="utf-8"
        )
        os.rename(tmp, folder)  # whole or not at all
    except OSError:
        pass  # a full disk, or another process's entry renamed first: not kept here
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if built is None:  # the disk failed while they were built: built again, not kept
        built = build_weights(config, source, description, seed=seed, on_tensor=on_tensor)
    return built, False
