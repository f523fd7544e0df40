"""The model shapes the GPU baseline measures, from :data:`workloads.config.BUILTIN_CONFIGS`.

A :class:`ModelShape` is a built-in model's size plus the head size of its Transformer++
twin. Every matrix the harness multiplies is named once, in :meth:`ModelShape.matrices`:
both model families have the same matrix shapes per layer (``4d²`` in the token mixer or
attention, ``3dI`` in the GLU), so one list serves both and the GEMV microbenchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpubench.errors import BaselineError
from workloads.config import BUILTIN_CONFIGS, ModelConfig

__all__ = ["MODEL_SHAPES", "ModelShape", "get_shape"]


@dataclass(frozen=True)
class ModelShape:
    """The size of one MatMul-free LM (and of its Transformer++ twin).

    Attributes:
        name: The built-in name (``370m``, ``1.3b``, ``2.7b``, ``tiny``).
        layers: Number of blocks ``L``.
        d: Hidden size.
        intermediate: GLU width ``I``.
        vocab: Vocabulary size ``V``.
        head_dim: Attention head size of the Transformer++ twin (``d / head_dim`` heads).
    """

    name: str
    layers: int
    d: int
    intermediate: int
    vocab: int
    head_dim: int = 128

    @property
    def heads(self) -> int:
        """Attention heads of the Transformer++ twin."""
        return max(1, self.d // self.head_dim)

    @property
    def weights_per_layer(self) -> int:
        """Matrix weights of one block: ``4d² + 3dI`` (both model families)."""
        return 4 * self.d * self.d + 3 * self.d * self.intermediate

    @property
    def matrix_weights(self) -> int:
        """Matrix weights read per token: ``L·(4d² + 3dI) + V·d`` (blocks and LM head)."""
        return self.layers * self.weights_per_layer + self.vocab * self.d

    @property
    def config(self) -> ModelConfig:
        """The MatMul-free LM's configuration (defaults for all but the four sizes)."""
        return ModelConfig(self.name, self.layers, self.d, self.intermediate, self.vocab)

    def matrices(self) -> dict[str, tuple[int, int]]:
        """The distinct matrix shapes as ``name → (rows, cols)`` (out × in features).

        ``attn`` is each of the four ``d×d`` projections, ``gate_up`` the fused GLU
        gate/up ``2I×d``, ``down`` the ``d×I`` projection and ``head`` the LM head ``V×d``.
        """
        d, i = self.d, self.intermediate
        return {"attn": (d, d), "gate_up": (2 * i, d), "down": (d, i), "head": (self.vocab, d)}


def _builtin(name: str, head_dim: int = 128) -> ModelShape:
    c = BUILTIN_CONFIGS[name]
    return ModelShape(c.name, c.layers, c.d, c.intermediate, c.vocab, head_dim)


#: The built-in shapes (PAPER.md's table; ``tiny`` for tests), from ``workloads.config``.
MODEL_SHAPES: dict[str, ModelShape] = {
    s.name: s
    for s in (_builtin("370m"), _builtin("1.3b"), _builtin("2.7b"), _builtin("tiny", head_dim=16))
}


def get_shape(name: str) -> ModelShape:
    """Return a built-in shape by name (case-insensitive).

    Raises:
        BaselineError: For an unknown name; the message lists the known ones.
    """
    try:
        return MODEL_SHAPES[name.lower()]
    except KeyError:
        known = ", ".join(MODEL_SHAPES)
        raise BaselineError(f"model {name!r} is not in the supported list: {known}") from None
