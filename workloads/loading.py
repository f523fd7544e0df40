"""One way in: a model name, config path, checkpoint folder or config to ready weights.

:func:`load_weights` decides what ``model`` names: a folder is a checkpoint
(``config.json`` plus safetensors), loaded and quantised, or refused when it is not one
(never silently replaced by synthetic weights); anything else is resolved to a configuration
(:func:`workloads.config.get_config`) and gets deterministic synthetic weights from the
seed, kept on disk once built (:mod:`workloads.weight_cache`) and read back from there by
later processes. Synthetic weights of the most recent (configuration, seed) are also kept
in memory, so repeated calls (a simulator asking for several short traces of the 2.7B
model) read them once; :func:`clear_weight_cache` lets them go.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

from workloads.checkpoint import check_folder, load_checkpoint
from workloads.config import MlgruForm, ModelConfig, get_config
from workloads.synthetic import synthetic_weights
from workloads.weight_cache import cached_synthetic_weights
from workloads.weights import ModelWeights

__all__ = ["clear_weight_cache", "load_weights", "resolve_config"]


def resolve_config(
    model: str | Path | ModelConfig,
    mlgru_form: MlgruForm | None = None,
    bitlinear_eps: float | None = None,
) -> ModelConfig:
    """Return the configuration ``model`` names, with variant switches applied.

    Raises:
        ModelConfigError: For an unknown name or an unusable ``config.json``.
    """
    config = get_config(model)
    changes: dict[str, object] = {}
    if mlgru_form is not None:
        changes["mlgru_form"] = mlgru_form
    if bitlinear_eps is not None:
        changes["bitlinear_eps"] = bitlinear_eps
    return dataclasses.replace(config, **changes) if changes else config  # type: ignore[arg-type]


#: The synthetic weights of the most recent (configuration, seed).
_RECENT: dict[tuple[ModelConfig, int], ModelWeights] = {}
_RECENT_LOCK = threading.Lock()


def _synthetic(
    config: ModelConfig, seed: int, on_tensor: Callable[[str], None] | None, disk_cache: bool
) -> ModelWeights:
    key = (config, seed)
    with _RECENT_LOCK:
        held = _RECENT.get(key)
    if held is not None:
        return held
    if disk_cache:
        weights, _ = cached_synthetic_weights(config, seed, on_tensor=on_tensor)
    else:
        weights = synthetic_weights(config, seed, on_tensor)
    with _RECENT_LOCK:
        _RECENT.clear()
        _RECENT[key] = weights
    return weights


def clear_weight_cache() -> None:
    """Forget the cached synthetic weights."""
    with _RECENT_LOCK:
        _RECENT.clear()


def load_weights(
    model: str | Path | ModelConfig,
    seed: int = 0,
    mlgru_form: MlgruForm | None = None,
    bitlinear_eps: float | None = None,
    on_tensor: Callable[[str], None] | None = None,
    disk_cache: bool = True,
) -> ModelWeights:
    """Return ready weights for ``model``.

    Args:
        model: Built-in name, ``config.json`` path, checkpoint folder, or configuration.
        seed: Seed of synthetic weights (ignored for a checkpoint).
        mlgru_form: Override the token-mixer form (``code`` / ``paper``).
        bitlinear_eps: Override the BitLinear norm epsilon.
        on_tensor: Called with each parameter name as it is built (progress; not called
            for weights already built, which are kept).
        disk_cache: Read and keep synthetic weights in the disk cache
            (:mod:`workloads.weight_cache`); ``False`` builds them from the seed.

    Returns:
        The packed weights.

    Raises:
        ModelConfigError: For an unknown or unusable configuration.
        CheckpointError: For a checkpoint that does not match its configuration.
    """
    if isinstance(model, str | Path) and Path(model).is_dir():
        check_folder(model)  # weights it cannot read are refused, never replaced
        config = resolve_config(model, mlgru_form, bitlinear_eps)
        return load_checkpoint(model, config, on_tensor=on_tensor)
    return _synthetic(resolve_config(model, mlgru_form, bitlinear_eps), seed, on_tensor, disk_cache)
