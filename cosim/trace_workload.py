"""Turning a trace (the ``workloads`` contract) into the work the hardware models replay.

This is the only place where the trace schema meets ``arch_models``: each trace op row
becomes an :class:`~arch_models.workload.Op`, each matrix row a
:class:`~arch_models.workload.MatrixInfo` with its nonzeros per row per 64-column block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arch_models.spec.arch import Arch
from arch_models.spec.units import VectorUnit
from arch_models.workload import OP_KINDS, MatrixInfo, Op, Step, Workload

__all__ = ["design_elementwise_bytes", "workload_from_trace"]


def design_elementwise_bytes(arch: Arch) -> int:
    """Return the bytes of one elementwise value in a design (its vector unit's width)."""
    vectors = arch.spec.units_of(VectorUnit)
    return -(-vectors[0].data_bits // 8) if vectors else 2


def _matrices(frame: Any) -> dict[int, MatrixInfo]:
    out: dict[int, MatrixInfo] = {}
    for row in frame.itertuples(index=False):
        rows, cols, block = int(row.rows), int(row.cols), int(row.block_cols)
        nblk = -(-cols // block)
        nnz = np.asarray(row.nnz_blocks, dtype=np.uint8).reshape(rows, nblk)
        out[int(row.matrix)] = MatrixInfo(int(row.matrix), str(row.name), rows, cols, block, nnz)
    return out


def _rescale(ops: Any, trace_bytes: int, design_bytes: int) -> Any:
    """Re-express elementwise activation bytes at the design's width.

    Quantised activations (a quantise op's output, a matvec's input) keep the trace's
    width; every other activation is in the elementwise format.
    """
    if design_bytes == trace_bytes:
        return ops
    ops = ops.copy()
    num, den = design_bytes, trace_bytes
    kind = ops["op"].astype(str)
    matvec = kind.isin(["ternary_matvec", "head"])
    quant = kind == "quantise"
    scale_in = ~(matvec | quant) | quant
    scale_out = ~quant
    ops.loc[scale_in, "bytes_in"] = ops.loc[scale_in, "bytes_in"] * num // den
    ops.loc[scale_out, "bytes_out"] = ops.loc[scale_out, "bytes_out"] * num // den
    return ops


def workload_from_trace(trace: Any, elementwise_bytes: int | None = None) -> Workload:
    """Build a workload from a trace read by ``workloads.trace.read_trace``.

    Args:
        trace: An object with ``manifest`` (dict), ``ops`` and ``matrices`` (frames).
        elementwise_bytes: The design's bytes per elementwise value; activation bytes are
            re-expressed at this width (default: as the trace recorded them).

    Returns:
        The steps in order with their ops, and every matrix's structure.

    Raises:
        ValueError: The trace holds an op kind the hardware models do not know.
    """
    ops = trace.ops
    recorded = int(trace.manifest.get("numerics", {}).get("elementwise_bytes", 0) or 0)
    if elementwise_bytes and recorded:
        ops = _rescale(ops, recorded, elementwise_bytes)
    unknown = sorted(set(map(str, ops["op"].unique())) - OP_KINDS)
    if unknown:
        raise ValueError(f"trace has op kinds the hardware models do not know: {unknown}")
    steps: list[Step] = []
    cols = ["op", "name", "layer", "rows", "cols", "elements", "matrix", "bytes_in", "bytes_out"]
    for (index, phase), group in ops.groupby(["step", "phase"], sort=True, observed=True):
        group = group.sort_values("seq")
        step_ops = tuple(
            Op(str(k), str(n), int(la), int(r), int(c), int(e), int(m), int(bi), int(bo))
            for k, n, la, r, c, e, m, bi, bo in group[cols].itertuples(index=False, name=None)
        )
        steps.append(Step(int(index), "decode" if phase == "decode" else "prefill", step_ops))
    steps.sort(key=lambda s: s.index)
    manifest = dict(trace.manifest)
    return Workload(
        model=dict(manifest.get("model", {})),
        matrices=_matrices(trace.matrices),
        steps=tuple(steps),
        meta={
            k: manifest.get(k)
            for k in (
                "schema_version",
                "seed",
                "package_version",
                "prompt_tokens",
                "gen_tokens",
                "created_utc",
            )
        },
    )
