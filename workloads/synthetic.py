"""Deterministic synthetic weights: a latent Gaussian per tensor, ternarised by absmean.

Without the released checkpoints, a model still needs weights whose ternary structure
looks like a trained model's: about a third zeros, signs balanced. Each latent tensor is
drawn as released checkpoints store it, in bf16, from a seed:

- every latent weight is one of 65,536 equiprobable Gaussian quantiles
  ``σ·Φ⁻¹((k + ½)/65536)`` rounded to bf16, ``k`` uniform 16-bit random (an inverse-CDF
  sampler: fast, and exactly the bf16 values a checkpoint would hold); σ = 0.02, the
  reference code's ``initializer_range``, for projections and the embedding;
- norm weights are ``1 + 0.1·z`` and the raw lower bounds ``z`` (z standard normal),
  rounded to bf16.

Absmean ternarisation of a Gaussian leaves ``P(|z| < ½·E|z|) = 2Φ(0.399) - 1 ≈ 0.31`` of
the weights zero. The ternary matrix is computed straight from the 16-bit draws through
per-tensor tables (mean from their histogram, then one lookup per weight), bit-identical
to quantising the bf16 latent tensor (:func:`workloads.quant.ternarise_bf16`), which the
tests check; nothing is ever held in float.

Each tensor has its own random stream, ``SeedSequence(seed, spawn_key=(crc32(name),))``,
so a tensor does not depend on which others were drawn before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from functools import cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from workloads._bf16 import bf16_to_float32, float32_to_bf16
from workloads.config import ModelConfig
from workloads.packing import TWO_BIT_CODE, pack_codes
from workloads.quant import ternary_code_table, weight_scale
from workloads.weights import ModelWeights, build_weights

__all__ = ["LATENT_STD", "SyntheticSource", "synthetic_weights"]

#: Standard deviation of the latent Gaussian of projections and the embedding.
LATENT_STD = 0.02
_CHUNK = 1 << 20


@cache
def _quantile_bits(std: float) -> npt.NDArray[np.uint16]:
    """bf16 bit pattern of each of the 65,536 Gaussian quantiles (index = 16-bit draw)."""
    dist = NormalDist(0.0, std)
    q = np.array([dist.inv_cdf((k + 0.5) / 65536) for k in range(65536)], dtype=np.float64)
    bits = float32_to_bf16(q.astype(np.float32))
    bits.setflags(write=False)
    return bits


@cache
def _magnitude_units(std: float) -> tuple[npt.NDArray[np.int32], float]:
    """Each quantile's magnitude as an integer multiple of the table's finest quantum."""
    values = bf16_to_float32(_quantile_bits(std)).astype(np.float64)
    _, exponents = np.frexp(values[values != 0])
    quantum = 2.0 ** (int(exponents.min()) - 8)  # bf16: 8 significant bits
    units = np.abs(values) / quantum
    if units.max() >= 2**31 or not np.array_equal(units, np.rint(units)):
        raise AssertionError("quantile magnitudes are not small integer multiples")
    table = units.astype(np.int32)
    table.setflags(write=False)
    return table, quantum


class SyntheticSource:
    """A :class:`~workloads.weights.WeightSource` drawing every tensor from a seed.

    Args:
        seed: The model seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _rng(self, name: str) -> np.random.Generator:
        seq = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
        return np.random.Generator(np.random.PCG64(seq))

    def _draws(self, name: str, n: int, chunk: int) -> Iterator[npt.NDArray[np.uint16]]:
        """Yield uniform 16-bit draws in pieces of ``chunk`` (a multiple of 4).

        Four draws come from each raw 64-bit PCG64 output, so the sequence is the same
        whatever the piece size.
        """
        generator = self._rng(name).bit_generator
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            raw = generator.random_raw((k + 3) // 4).astype("<u8", copy=False)
            yield raw.view("<u2")[:k]

    def latent_bits(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.uint16]:
        """Return a latent tensor as bf16 bit patterns (as a checkpoint stores it).

        Args:
            name: Parameter name in the checkpoint layout.
            shape: Its shape.
        """
        if name.endswith("norm.weight"):
            z = self._rng(name).standard_normal(shape)
            return float32_to_bf16((1.0 + 0.1 * z).astype(np.float32))
        if name == "model.lower_bounds":
            return float32_to_bf16(self._rng(name).standard_normal(shape).astype(np.float32))
        n = int(np.prod(shape))
        draws = np.concatenate([np.zeros(0, np.uint16), *self._draws(name, n, _CHUNK)])
        return np.take(_quantile_bits(LATENT_STD), draws).reshape(shape)

    def tensor(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
        """Return a full-precision tensor (float32 holding bf16 values)."""
        return bf16_to_float32(self.latent_bits(name, shape))

    def ternary(self, name: str, shape: tuple[int, int]) -> tuple[npt.NDArray[np.uint8], float]:
        """Return a matrix ternarised and packed, and its scale ``s_w``.

        Two passes over the same random stream (drawn twice rather than stored): the
        first sums the magnitudes, the second maps each draw to its 2-bit code.
        """
        rows, cols = shape
        n = rows * cols
        units, quantum = _magnitude_units(LATENT_STD)
        # Σ|W| as an exact count of quanta: the exactly rounded sum, as ternarise_bf16
        # computes it from the histogram of the same bf16 values
        total = 0
        for draws in self._draws(name, n, _CHUNK):
            total += int(np.take(units, draws, mode="clip").sum(dtype=np.int64))
        if total >= 2**53:
            raise ValueError(f"{name}: matrix too large for an exact mean")
        scale = weight_scale(total * quantum / n)
        ternary = ternary_code_table(scale)[_quantile_bits(LATENT_STD)]
        code_of_draw = TWO_BIT_CODE[(ternary + 1).astype(np.intp)]
        packed = np.empty((rows, (cols + 3) // 4), dtype=np.uint8)
        step = 4 * max(1, _CHUNK // (4 * cols))  # rows per piece: whole rows, 4k draws
        for i, draws in enumerate(self._draws(name, n, step * cols)):
            codes = np.take(code_of_draw, draws.reshape(-1, cols), mode="clip")
            packed[i * step : i * step + codes.shape[0]] = pack_codes(codes)
        return packed, scale


def synthetic_weights(
    config: ModelConfig, seed: int = 0, on_tensor: Callable[[str], None] | None = None
) -> ModelWeights:
    """Build the synthetic weights of ``config`` from ``seed`` (deterministic).

    Args:
        config: The model configuration.
        seed: The seed; the same seed gives bit-identical weights on every machine.
        on_tensor: Called with each parameter name as it is built (progress).

    Returns:
        The packed weights.
    """
    return build_weights(
        config, SyntheticSource(seed), f"synthetic seed {seed}", seed=seed, on_tensor=on_tensor
    )
