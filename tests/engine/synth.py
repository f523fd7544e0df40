"""Synthetic workloads shaped like the MatMul-free LM, for engine tests without a trace.

Ops per block follow the model (PAPER.md): seven BitLinears (each norm → quantise →
matvec), the MLGRU elementwise ops and the GLU's, residual adds. Nonzero structure is
random with about a third of the weights zero, from a seed.
"""

from __future__ import annotations

import numpy as np

from arch_models.workload import MatrixInfo, Op, Step, Workload


def _bitlinear(ops: list[Op], layer: int, name: str, rows: int, cols: int, mid: int) -> None:
    ops.append(Op("norm", f"{name}.norm", layer, 0, 0, cols, -1, 2 * cols, 2 * cols))
    ops.append(Op("quantise", f"{name}.quant", layer, 0, 0, cols, -1, 2 * cols, cols))
    ops.append(Op("ternary_matvec", name, layer, rows, cols, rows * cols, mid, cols, 2 * rows))


def synthetic_workload(
    layers: int = 2,
    d: int = 256,
    inter: int = 768,
    vocab: int = 0,
    steps: int = 2,
    prompt: int = 1,
    seed: int = 0,
    zero_fraction: float = 1 / 3,
) -> Workload:
    rng = np.random.default_rng(seed)
    matrices: dict[int, MatrixInfo] = {}

    def matrix(name: str, rows: int, cols: int) -> int:
        mid = len(matrices)
        nblk = -(-cols // 64)
        nnz = rng.binomial(64, 1 - zero_fraction, size=(rows, nblk)).astype(np.uint8)
        if cols % 64:
            nnz[:, -1] = np.minimum(nnz[:, -1], cols % 64)
        matrices[mid] = MatrixInfo(mid, name, rows, cols, 64, nnz)
        return mid

    ops: list[Op] = []
    if vocab:
        ops.append(Op("embedding", "embed", -1, 0, 0, d, -1, 0, 2 * d))
    for layer in range(layers):
        ops.append(Op("norm", "attn_norm", layer, 0, 0, d, -1, 2 * d, 2 * d))
        for proj in ("i_proj", "f_proj", "g_proj"):
            _bitlinear(ops, layer, f"attn.{proj}", d, d, matrix(f"{layer}.{proj}", d, d))
        for kind in ("sigmoid", "mul", "silu", "mul", "recurrence"):
            ops.append(Op(kind, f"attn.{kind}", layer, 0, 0, d, -1, 4 * d, 2 * d))
        ops.append(Op("norm", "attn.g_norm", layer, 0, 0, d, -1, 2 * d, 2 * d))
        ops.append(Op("silu", "attn.silu_h", layer, 0, 0, d, -1, 2 * d, 2 * d))
        ops.append(Op("mul", "attn.gate", layer, 0, 0, d, -1, 4 * d, 2 * d))
        _bitlinear(ops, layer, "attn.o_proj", d, d, matrix(f"{layer}.o_proj", d, d))
        ops.append(Op("add", "residual", layer, 0, 0, d, -1, 4 * d, 2 * d))
        ops.append(Op("norm", "mlp_norm", layer, 0, 0, d, -1, 2 * d, 2 * d))
        _bitlinear(
            ops, layer, "mlp.gate_proj", 2 * inter, d, matrix(f"{layer}.gate_proj", 2 * inter, d)
        )
        ops.append(Op("silu", "mlp.silu", layer, 0, 0, inter, -1, 2 * inter, 2 * inter))
        ops.append(Op("mul", "mlp.mul", layer, 0, 0, inter, -1, 4 * inter, 2 * inter))
        _bitlinear(ops, layer, "mlp.down_proj", d, inter, matrix(f"{layer}.down_proj", d, inter))
        ops.append(Op("add", "residual", layer, 0, 0, d, -1, 4 * d, 2 * d))
    if vocab:
        ops.append(Op("norm", "norm", -1, 0, 0, d, -1, 2 * d, 2 * d))
        _bitlinear(ops, -1, "lm_head", vocab, d, matrix("lm_head", vocab, d))
        ops[-1] = Op("head", "lm_head", -1, vocab, d, vocab * d, ops[-1].matrix, d, 2 * vocab)
    all_steps = tuple(
        Step(i, "prefill" if i < prompt else "decode", tuple(ops)) for i in range(prompt + steps)
    )
    model = {
        "name": f"synthetic-{layers}x{d}",
        "layers": layers,
        "d": d,
        "intermediate": inter,
        "vocab": vocab,
    }
    return Workload(model=model, matrices=matrices, steps=all_steps, meta={"seed": seed})
