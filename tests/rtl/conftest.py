"""What the RTL tests share: skips where a tool is missing, real matvecs of the tiny model."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import workloads.model
from arch_models.spec.arch import Arch, validate_arch
from arch_models.spec.evolve import evolve
from arch_models.validation.source import Document
from workloads.loading import load_weights
from workloads.model import TernaryLM
from workloads.numerics import Numerics
from workloads.packing import unpack

needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None,
    reason="verilator is not installed (scripts/setup.sh installs it: apt-get install verilator)",
)
needs_yosys = pytest.mark.skipif(
    shutil.which("yosys") is None,
    reason="yosys is not installed (scripts/setup.sh installs it: apt-get install yosys)",
)


@dataclass(frozen=True)
class RealMatvec:
    """One ternary product the functional model computed.

    Attributes:
        weights: ``[rows, cols]`` ternary weights (int8).
        acts: ``[cols]`` quantised activations of the token.
        fitted: What the model's ``acc_bits`` accumulator held (its result).
        exact: The exact integer sums.
    """

    weights: npt.NDArray[np.int8]
    acts: npt.NDArray[np.int64]
    fitted: npt.NDArray[np.int64]
    exact: npt.NDArray[np.int64]


@cache
def tiny_matvecs(acc_bits: int | None, overflow: str) -> tuple[RealMatvec, ...]:
    """Every matvec of one decode step of the tiny model (synthetic weights, seed 0).

    The functional model runs a two-token prompt and one decode step with the given
    accumulator; its ``packed_product`` calls of the decode step are recorded: the packed
    weights, the quantised activations of the token and the model's own results.
    """
    calls: list[tuple[Any, ...]] = []
    real = workloads.model.packed_product

    def recording(packed: Any, cols: int, xq: Any, *args: Any, **kwargs: Any) -> Any:
        out = real(packed, cols, xq, *args, **kwargs)
        calls.append((packed, cols, np.asarray(xq), out))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(workloads.model, "packed_product", recording)
        numerics = Numerics(acc_bits=acc_bits, acc_overflow=overflow)  # type: ignore[arg-type]
        model = TernaryLM(load_weights("tiny", seed=0), numerics)
        model.run([5, 17], 1)
    decode = [c for c in calls if c[2].shape[0] == 1]  # the prompt ran as one batch of 2
    out = []
    for packed, cols, xq, acc in decode:
        out.append(
            RealMatvec(
                weights=unpack(packed, cols),
                acts=xq[0].astype(np.int64),
                fitted=np.asarray(acc.fitted[0]).astype(np.int64),
                exact=np.asarray(acc.exact[0]).astype(np.int64),
            )
        )
    return tuple(out)


#: A small single-core design for cycle checks (its memory is replaced by the bench's).
BENCH_DESIGN: dict[str, Any] = {
    "version": 1,
    "name": "rtl-bench",
    "device": {"part": "alveo-u280"},
    "clock_mhz": 250,
    "units": [
        {
            "kind": "hbm",
            "name": "hbm",
            "channels": 1,
            "bandwidth_gb_per_s_per_channel": 14.375,
            "request_bytes": 4,
        },
        {
            "kind": "ternary_array",
            "name": "tmac",
            "lanes": 4,
            "rows_parallel": 2,
            "tile_cols": 16,
            "accumulator_bits": 16,
        },
        {
            "kind": "buffer",
            "name": "wbuf",
            "memory": "bram",
            "capacity_kib": 0.0625,
            "double_buffered": True,
            "holds": "weights",
        },
        {
            "kind": "buffer",
            "name": "act",
            "memory": "bram",
            "capacity_kib": 4,
            "ports": 1,
            "width_bits": 32,
            "holds": "activations",
        },
        {"kind": "vector_unit", "name": "vec", "ops_per_cycle": 1},
        {"kind": "control", "name": "ctrl", "op_overhead_cycles": 3},
    ],
}


def bench_design(**changes: Any) -> Arch:
    """Return :data:`BENCH_DESIGN`, validated, with ``changes`` (paths such as ``tmac.lanes``)."""
    arch = validate_arch(Document(data=copy.deepcopy(BENCH_DESIGN), filename="rtl-bench.yaml"))
    return evolve(arch, changes) if changes else arch
