"""What synthesis makes of the RTL's storage and decode.

Yosys 0.23's ``synth_xilinx -family xcup`` of a mid-size core (512 result rows, 512
activation columns, 2 KiB weight-buffer halves) maps the weight buffer's banks, the
activation store and the result store's banks to block or LUT RAM, and the core keeps
far fewer flip-flops than its result store alone has bits. The 5-trit decoder is a table:
it inverts the packing (:func:`arch_models.rtl.pack_5trit`) for every byte the packing
makes, and decodes the bytes it never makes as their base-3 digits.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from arch_models.rtl import RTL_DIR, SOURCES, RtlParams, pack_5trit
from tests.rtl.conftest import needs_yosys

#: Every memory of these is to become RAM (``mapping memory <name> via $__XILINX_...``).
STORES = ("wbuf.g_bank", "acts.ram", "results.g_bank")
#: Xilinx RAM primitives (block RAM and distributed RAM).
RAM_CELL = re.compile(r"^\s+(RAMB(?:18|36)E2|RAM(?:32|64|128|256|512)\w*)\s+(\d+)$", re.MULTILINE)
#: The 2-bit code of each weight (-1, 0, +1).
CODE = {-1: 0b11, 0: 0b00, 1: 0b01}


def _dec5_table() -> dict[int, int]:
    text = (RTL_DIR / "tmac_dec5.sv").read_text()
    rows = re.findall(r"^\s+8'd(\d+): codes = 10'b([01]{10});$", text, re.MULTILINE)
    return {int(b): int(c, 2) for b, c in rows}


def test_dec5_table_inverts_the_packing() -> None:
    table = _dec5_table()
    assert sorted(table) == list(range(256))
    for w in itertools.product((-1, 0, 1), repeat=5):
        (byte,) = pack_5trit(np.array(w))
        assert table[int(byte)] == sum(CODE[x] << (2 * k) for k, x in enumerate(w)), w
    for byte in range(243, 256):  # never packed: the base-3 digits (the top one wraps)
        digits = [(byte // 3**k) % 3 for k in range(5)]
        assert table[byte] == sum(CODE[d - 1] << (2 * k) for k, d in enumerate(digits))


@needs_yosys
@pytest.mark.slow
def test_stores_are_inferred_as_ram(tmp_path: Path) -> None:
    p = RtlParams(
        lanes=8,
        rows_parallel=2,
        tile_cols=64,
        tile_capacity_bytes=2048,
        beat_bits=64,
        act_path_bits=64,
        out_path_bits=48,
        accumulator_bits=20,
        max_rows=512,
        max_cols=512,
    )
    chparams = " ".join(
        f'-set {k} "{v}"' if isinstance(v, str) else f"-set {k} {v}" for k, v in p.hdl().items()
    )
    files = " ".join(str(RTL_DIR / s) for s in SOURCES)
    script = (
        f"read_verilog -sv -DSYNTHESIS {files}; chparam {chparams} tmac_core; "
        "hierarchy -check -top tmac_core; synth_xilinx -flatten -family xcup -top tmac_core; "
        "stat"
    )
    log = tmp_path / "synth.log"
    out = subprocess.run(
        ["yosys", "-q", "-l", str(log), "-p", script],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    text = log.read_text() if log.exists() else ""
    assert out.returncode == 0, out.stderr[-3000:] + text[-3000:]
    mapped = re.findall(r"^mapping memory tmac_core\.(\S+) via \$__XILINX_(\w+)", text, re.M)
    for store in STORES:
        kinds = {kind for name, kind in mapped if name.startswith(store)}
        assert kinds and all("RAM" in k for k in kinds), (store, mapped)
    stat = text[text.rindex("Number of cells") :]
    rams = sum(int(n) for _, n in RAM_CELL.findall(stat))
    ffs = sum(int(n) for n in re.findall(r"^\s+FD[A-Z]+\s+(\d+)$", stat, re.MULTILINE))
    assert rams > 0, stat
    # the flip-flops are the pipeline, the trees, the reducers and the control, not the stores
    assert ffs < p.max_rows * p.accumulator_bits // 4, stat
