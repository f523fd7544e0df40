"""What the RTL tests share: skips where a tool is missing, real matvecs of the tiny model."""

from __future__ import annotations

import copy
import shutil
from functools import cache
from typing import Any

import pytest

from arch_models.spec.arch import Arch, validate_arch
from arch_models.spec.evolve import evolve
from arch_models.validation.source import Document
from workloads.matvec_record import MatvecRecord, decode_matvecs
from workloads.numerics import Numerics

needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None,
    reason="verilator is not installed (scripts/setup.sh installs it: apt-get install verilator)",
)
needs_yosys = pytest.mark.skipif(
    shutil.which("yosys") is None,
    reason="yosys is not installed (scripts/setup.sh installs it: apt-get install yosys)",
)


@cache
def tiny_matvecs(acc_bits: int | None, overflow: str) -> tuple[MatvecRecord, ...]:
    """Every matvec of one decode step of the tiny model (synthetic weights, seed 0)."""
    numerics = Numerics(acc_bits=acc_bits, acc_overflow=overflow)  # type: ignore[arg-type]
    return decode_matvecs("tiny", seed=0, numerics=numerics)


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
