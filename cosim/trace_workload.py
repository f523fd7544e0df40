"""Turning a trace (the ``workloads`` contract) into the work the hardware models replay.

This is the only place where the trace schema meets ``arch_models``: each trace op row
becomes an :class:`~arch_models.workload.Op`, each matrix row a
:class:`~arch_models.workload.MatrixInfo` with its nonzeros per row per 64-column block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arch_models.workload import OP_KINDS, MatrixInfo, Op, Step, Workload

__all__ = ["workload_from_trace"]


def _matrices(frame: Any) -> dict[int, MatrixInfo]:
    out: dict[int, MatrixInfo] = {}
    for row in frame.itertuples(index=False):
        rows, cols, block = int(row.rows), int(row.cols), int(row.block_cols)
        nblk = -(-cols // block)
        nnz = np.asarray(row.nnz_blocks, dtype=np.uint8).reshape(rows, nblk)
        out[int(row.matrix)] = MatrixInfo(int(row.matrix), str(row.name), rows, cols, block, nnz)
    return out


def workload_from_trace(trace: Any) -> Workload:
    """Build a workload from a trace read by ``workloads.trace.read_trace``.

    Args:
        trace: An object with ``manifest`` (dict), ``ops`` and ``matrices`` (frames).

    Returns:
        The steps in order with their ops, and every matrix's structure.

    Raises:
        ValueError: The trace holds an op kind the hardware models do not know.
    """
    ops = trace.ops
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
