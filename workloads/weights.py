"""The weights of a MatMul-free LM as the functional model holds them.

Ternary matrices stay packed at 2 bits per weight (:class:`TernaryMatrix`, see
:mod:`workloads.packing`) with their absmean scale and the weight of the RMSNorm that
every BitLinear applies to its input. Everything else (embedding, norm weights, the
resolved forget-gate lower bounds) is float32.

:func:`build_weights` assembles a :class:`ModelWeights` from any :class:`WeightSource`,
tensor by tensor under the released checkpoints' parameter names
(:func:`parameter_shapes`): the synthetic generator (:mod:`workloads.synthetic`) and the
checkpoint loader (:mod:`workloads.checkpoint`) are the two sources. Matrices are
numbered in execution order (layer 0's i, f, g, o, gate, down projections, then layer
1's..., the LM head last); traces refer to them by that number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from workloads.config import ModelConfig
from workloads.packing import BLOCK_COLS, bytes_2bit, bytes_5trit, nnz_blocks, unpack

__all__ = [
    "ATTN_MATRICES",
    "LayerWeights",
    "ModelWeights",
    "TernaryMatrix",
    "WeightSource",
    "build_weights",
    "iter_parameter_shapes",
    "matrix_layout",
    "parameter_shapes",
    "resolve_lower_bounds",
]

F32 = npt.NDArray[np.float32]

#: The token mixer's projections, in execution order.
ATTN_MATRICES: tuple[str, ...] = ("i_proj", "f_proj", "g_proj", "o_proj")


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Return every parameter's name and shape in the released checkpoint layout.

    Block-only configurations list only the blocks (and the lower bounds).
    """
    return dict(iter_parameter_shapes(config))


def iter_parameter_shapes(config: ModelConfig) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Yield what :func:`parameter_shapes` returns, one parameter at a time.

    For checks that may stop early: a configuration claiming a billion layers is not
    listed whole.
    """
    d, inter, vocab = config.d, config.intermediate, config.vocab
    if not config.block_only:
        yield "model.embeddings.weight", (vocab, d)
    if config.use_lower_bound:
        yield "model.lower_bounds", (config.layers, d)
    for i in range(config.layers):
        p = f"model.layers.{i}."
        yield p + "attn_norm.weight", (d,)
        for m in ("i_proj", "f_proj", "g_proj"):
            yield f"{p}attn.{m}.weight", (d, d)
            yield f"{p}attn.{m}.norm.weight", (d,)
        yield p + "attn.g_norm.weight", (d,)
        yield p + "attn.o_proj.weight", (d, d)
        yield p + "attn.o_proj.norm.weight", (d,)
        yield p + "mlp_norm.weight", (d,)
        yield p + "mlp.gate_proj.weight", (2 * inter, d)
        yield p + "mlp.gate_proj.norm.weight", (d,)
        yield p + "mlp.down_proj.weight", (d, inter)
        yield p + "mlp.down_proj.norm.weight", (inter,)
    if not config.block_only:
        yield "model.norm.weight", (d,)
        yield "lm_head.weight", (vocab, d)
        yield "lm_head.norm.weight", (d,)


def matrix_layout(config: ModelConfig) -> list[tuple[int, str, int, int]]:
    """Return every ternary matrix as ``(layer, name, rows, cols)``, in ``matrix_id`` order.

    The blocks' six matrices per layer (``attn.i_proj`` ... ``mlp.down_proj``), then the
    LM head (layer -1) unless the configuration is block-only: the order
    :func:`build_weights` numbers them in, and the rows of a trace's matrices table.
    """
    d, inter = config.d, config.intermediate
    layer = [(f"attn.{m}", d, d) for m in ATTN_MATRICES]
    layer += [("mlp.gate_proj", 2 * inter, d), ("mlp.down_proj", d, inter)]
    out = [(i, name, rows, cols) for i in range(config.layers) for name, rows, cols in layer]
    if not config.block_only:
        out.append((-1, "lm_head", config.vocab, d))
    return out


@dataclass(frozen=True, eq=False)
class TernaryMatrix:
    """One BitLinear's weights: packed ternary matrix, scale and input-norm weight.

    Attributes:
        matrix_id: Number in execution order (traces' ``matrix`` column).
        layer: Block index, -1 for the LM head.
        name: ``attn.i_proj`` ... ``mlp.down_proj`` or ``lm_head``.
        rows: Output features.
        cols: Input features.
        packed: ``[rows, ceil(cols/4)]`` 2-bit weights (read-only).
        scale: ``s_w = 1 / mean|W|``; the matrix stands for ``W_t / s_w``.
        norm: ``[cols]`` weight of the RMSNorm applied to the input.
    """

    matrix_id: int
    layer: int
    name: str
    rows: int
    cols: int
    packed: npt.NDArray[np.uint8] = field(repr=False)
    scale: float
    norm: F32 = field(repr=False)

    def __post_init__(self) -> None:
        if self.packed.shape != (self.rows, (self.cols + 3) // 4):
            raise ValueError(
                f"{self.name}: packed shape {self.packed.shape} for {self.rows}x{self.cols}"
            )
        self.packed.setflags(write=False)
        self.norm.setflags(write=False)

    @property
    def parameter(self) -> str:
        """The checkpoint name of the weight (``model.layers.3.attn.i_proj.weight``)."""
        if self.layer < 0:
            return f"{self.name}.weight"
        return f"model.layers.{self.layer}.{self.name}.weight"

    @property
    def weights(self) -> int:
        """Number of ternary weights."""
        return self.rows * self.cols

    def unpack(self) -> npt.NDArray[np.int8]:
        """Return the ``[rows, cols]`` ternary weights as int8."""
        return unpack(self.packed, self.cols)

    @cached_property
    def nnz_blocks(self) -> npt.NDArray[np.uint8]:
        """Nonzeros per (row, 64-column block), ``[rows, ceil(cols/64)]`` (computed once)."""
        counts = nnz_blocks(self.packed, self.cols, BLOCK_COLS)
        counts.setflags(write=False)
        return counts

    @cached_property
    def nonzeros(self) -> int:
        """Number of nonzero weights."""
        return int(self.nnz_blocks.sum(dtype=np.int64))

    @property
    def zero_fraction(self) -> float:
        """Fraction of zero weights."""
        return 1.0 - self.nonzeros / self.weights

    @property
    def bytes_2bit(self) -> int:
        """Bytes at 2 bits per weight, densely packed."""
        return bytes_2bit(self.rows, self.cols)

    @property
    def bytes_5trit(self) -> int:
        """Bytes at 5 weights per byte, densely packed."""
        return bytes_5trit(self.rows, self.cols)


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """One block: MLGRU token mixer and GLU channel mixer.

    Attributes:
        index: Block index.
        attn_norm: Pre-norm weight of the token mixer.
        i_proj: Input projection ``[d, d]``.
        f_proj: Forget-gate projection ``[d, d]``.
        g_proj: Output-gate projection ``[d, d]``.
        o_proj: Output projection ``[d, d]``.
        g_norm: Weight of the RMSNorm on the gate (code form).
        lower_bound: Resolved forget-gate lower bound ``[d]``, or ``None`` (layer 0, or
            no lower bounds).
        mlp_norm: Pre-norm weight of the channel mixer.
        gate_proj: Fused gate/up projection ``[2I, d]`` (one scale).
        down_proj: Down projection ``[d, I]``.
    """

    index: int
    attn_norm: F32 = field(repr=False)
    i_proj: TernaryMatrix
    f_proj: TernaryMatrix
    g_proj: TernaryMatrix
    o_proj: TernaryMatrix
    g_norm: F32 = field(repr=False)
    lower_bound: F32 | None = field(repr=False)
    mlp_norm: F32 = field(repr=False)
    gate_proj: TernaryMatrix
    down_proj: TernaryMatrix

    @property
    def matrices(self) -> tuple[TernaryMatrix, ...]:
        """The block's ternary matrices in execution order."""
        return (self.i_proj, self.f_proj, self.g_proj, self.o_proj, self.gate_proj, self.down_proj)


@dataclass(frozen=True, eq=False)
class ModelWeights:
    """Everything the functional model needs to run.

    Attributes:
        config: The configuration the weights fit.
        layers: The blocks.
        embedding: ``[V, d]`` float32 (``None`` if block-only).
        final_norm: Weight of the final RMSNorm (``None`` if block-only).
        lm_head: The ternary LM head (``None`` if block-only).
        source: Where the weights came from (``synthetic seed 0``, a checkpoint path).
        seed: The synthetic seed, or ``None`` for a checkpoint.
    """

    config: ModelConfig
    layers: tuple[LayerWeights, ...]
    embedding: F32 | None = field(repr=False)
    final_norm: F32 | None = field(repr=False)
    lm_head: TernaryMatrix | None
    source: str
    seed: int | None

    def matrices(self) -> list[TernaryMatrix]:
        """Every ternary matrix, indexed by ``matrix_id``."""
        out = [m for layer in self.layers for m in layer.matrices]
        if self.lm_head is not None:
            out.append(self.lm_head)
        return out

    @property
    def ternary_weights(self) -> int:
        """Ternary weights (all of them are read once per token)."""
        return sum(m.weights for m in self.matrices())

    @property
    def zero_fraction(self) -> float:
        """Fraction of zero weights over all ternary matrices."""
        return 1.0 - sum(m.nonzeros for m in self.matrices()) / self.ternary_weights

    @property
    def packed_bytes(self) -> int:
        """Memory held by the packed matrices."""
        return sum(m.packed.nbytes for m in self.matrices())


class WeightSource(Protocol):
    """Where :func:`build_weights` gets tensors from (checkpoint names and shapes)."""

    def tensor(self, name: str, shape: tuple[int, ...]) -> F32:
        """Return a full-precision tensor as float32."""

    def ternary(self, name: str, shape: tuple[int, int]) -> tuple[npt.NDArray[np.uint8], float]:
        """Return a latent matrix quantised: packed 2-bit weights and scale ``s_w``."""


def resolve_lower_bounds(raw: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
    """Turn the ``[L, d]`` lower-bound parameter into per-layer bounds.

    ``softmax`` over layers, cumulative sum, minus the first row: layer 0's bound is 0
    (and unused), later bounds grow towards 1.
    """
    x = np.asarray(raw, dtype=np.float64)
    e = np.exp(x - x.max(axis=0, keepdims=True))
    soft = e / e.sum(axis=0, keepdims=True)
    out: npt.NDArray[np.float64] = np.cumsum(soft, axis=0) - soft[0]
    return out


def build_weights(
    config: ModelConfig,
    source: WeightSource,
    description: str,
    seed: int | None = None,
    on_tensor: Callable[[str], None] | None = None,
) -> ModelWeights:
    """Assemble the weights of ``config`` from ``source``.

    Args:
        config: The model configuration.
        source: Synthetic generator or checkpoint.
        description: Where the weights come from (kept in :attr:`ModelWeights.source`).
        seed: The synthetic seed, if any.
        on_tensor: Called with each parameter name as it is built (progress).

    Returns:
        The weights, matrices packed.
    """
    shapes = parameter_shapes(config)
    ids: Iterator[int] = iter(range(1 << 30))

    def vec(name: str) -> F32:
        if on_tensor is not None:
            on_tensor(name)
        return np.ascontiguousarray(source.tensor(name, shapes[name]), dtype=np.float32)

    def mat(prefix: str, name: str, layer: int) -> TernaryMatrix:
        full = f"{prefix}{name}.weight"
        if on_tensor is not None:
            on_tensor(full)
        rows, cols = shapes[full]
        packed, scale = source.ternary(full, (rows, cols))
        return TernaryMatrix(
            matrix_id=next(ids),
            layer=layer,
            name=name,
            rows=rows,
            cols=cols,
            packed=packed,
            scale=scale,
            norm=vec(f"{prefix}{name}.norm.weight"),
        )

    bounds = None
    if config.use_lower_bound:
        bounds = resolve_lower_bounds(vec("model.lower_bounds")).astype(np.float32)
    layers = []
    for i in range(config.layers):
        p = f"model.layers.{i}."
        attn_norm = vec(p + "attn_norm.weight")
        i_proj = mat(p, "attn.i_proj", i)
        f_proj = mat(p, "attn.f_proj", i)
        g_proj = mat(p, "attn.g_proj", i)
        g_norm = vec(p + "attn.g_norm.weight")
        o_proj = mat(p, "attn.o_proj", i)
        mlp_norm = vec(p + "mlp_norm.weight")
        gate = mat(p, "mlp.gate_proj", i)
        down = mat(p, "mlp.down_proj", i)
        lb = None if bounds is None or i == 0 else np.ascontiguousarray(bounds[i])
        layers.append(
            LayerWeights(
                index=i,
                attn_norm=attn_norm,
                i_proj=i_proj,
                f_proj=f_proj,
                g_proj=g_proj,
                o_proj=o_proj,
                g_norm=g_norm,
                lower_bound=lb,
                mlp_norm=mlp_norm,
                gate_proj=gate,
                down_proj=down,
            )
        )
    embedding = final_norm = head = None
    if not config.block_only:
        embedding = vec("model.embeddings.weight")
        final_norm = vec("model.norm.weight")
        head = mat("", "lm_head", -1)
    for arr in (
        embedding,
        final_norm,
        *(v for la in layers for v in (la.attn_norm, la.g_norm, la.mlp_norm, la.lower_bound)),
    ):
        if arr is not None:
            arr.setflags(write=False)
    return ModelWeights(
        config=config,
        layers=tuple(layers),
        embedding=embedding,
        final_norm=final_norm,
        lm_head=head,
        source=description,
        seed=seed,
    )
