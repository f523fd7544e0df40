"""Yosys synthesis of ``tmac_core``: the counts read from ``stat -json``, the errors, and
the resource model's estimate of the same core against one real synthesis."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from arch_models.catalog import catalog
from arch_models.rtl import RTL_DIR, RtlParams, RtlToolError
from arch_models.rtl import synth as synth_module
from arch_models.rtl.estimate import core_estimate
from arch_models.rtl.synth import SynthCounts, synthesize, yosys_family
from arch_models.units.logic import LOGIC_COSTS
from tests.rtl.conftest import bench_design, needs_yosys

#: A small core: 4 lanes x 2 trees, stores of one row group and 16 columns.
SMALL_ROWS, SMALL_COLS = 2, 16


def test_cells_are_sorted_into_resource_kinds() -> None:
    cells = {
        "LUT1": 1,
        "LUT2": 2,
        "LUT6": 6,
        "INV": 3,
        "RAM64M8": 2,
        "RAM32M16": 1,
        "SRLC32E": 4,
        "FDRE": 10,
        "FDSE": 1,
        "CARRY4": 5,
        "CARRY8": 1,
        "MUXF7": 2,
        "MUXF8": 1,
        "RAMB18E2": 1,
        "RAMB36E2": 2,
        "URAM288": 1,
        "DSP48E2": 3,
        "BUFG": 1,
        "XORCY": 7,
    }
    c = SynthCounts.from_cells(cells, "xcup", 1.0, "Yosys 0.23")
    assert c.lut_by_inputs == (1, 2, 0, 0, 0, 6)
    assert (c.inverters, c.lutram_luts, c.srl_luts) == (3, 24, 4)
    assert c.logic_luts == 12 and c.lut == 12 + 24 + 4
    assert c.lut_sites_min == 6 + 3 + 24 + 4  # six small LUTs share three sites
    assert (c.ff, c.carry, c.muxf) == (11, 6, 3)
    assert (c.bram_36k, c.uram, c.dsp) == (2.5, 1, 3)
    assert c.other == (("XORCY", 7),)  # nothing is dropped silently


def test_family_of_each_catalog_part() -> None:
    families = {d.id: yosys_family(d) for d in catalog().values() if d.kind == "fpga"}
    assert families["alveo-u280"] == "xcup" and families["alveo-u250"] == "xcup"
    assert families["arty-a7-100t"] == "xc7"
    assert families["intel-d5005"] == "xcup"  # the LUT6 proxy (no Stratix 10 in Yosys 0.23)


def test_missing_yosys_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(RtlToolError, match="apt-get install yosys"):
        synthesize(RtlParams())


def test_unknown_family_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'family' must be in \(xcup, xcu, xc7\) \(got 'xc9'\)"):
        synthesize(RtlParams(), "xc9")


@needs_yosys
def test_a_failed_run_reports_the_log_tail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(
        synth_module, "_script", lambda *_args: "read_verilog -sv /nonexistent/tmac.sv\n"
    )
    with pytest.raises(RtlToolError, match=r"(?s)synth_xilinx failed.*nonexistent"):
        synthesize(RtlParams(), cache=tmp_path)


@needs_yosys
def test_small_core_synthesises_near_the_model(tmp_path: Path) -> None:
    arch = bench_design()
    params = RtlParams.of_arch(arch, max_rows=SMALL_ROWS, max_cols=SMALL_COLS)
    counts = synthesize(params, yosys_family(arch.device), cache=tmp_path, timeout_s=600)
    assert counts.family == "xcup" and counts.yosys.startswith("Yosys")
    assert counts.other == ()
    # stores this small are distributed RAM; no block RAM, no URAM
    assert counts.lutram_luts > 0 and counts.bram_36k == 0 and counts.uram == 0
    assert 0 < counts.ff < counts.lut and counts.carry > 0
    estimate = core_estimate(arch, max_rows=SMALL_ROWS, max_cols=SMALL_COLS)
    # tolerances: the held-out worst errors of benchmarks/rtl_fidelity.py (LUT 22.3%,
    # FF 14.2%); this 2-lane core is smaller than any drawn there, its control's fixed
    # flip-flops (priced per block, fitted) weigh most
    assert estimate.lut == pytest.approx(counts.lut, rel=0.15)
    assert estimate.ff == pytest.approx(counts.ff, rel=0.15)
    assert estimate.dsp == counts.dsp  # index products, counted exactly
    assert estimate.bram_36k == counts.bram_36k and estimate.uram == counts.uram
    # a second call reads the cache
    assert synthesize(params, "xcup", cache=tmp_path) == counts


@needs_yosys
def test_the_5trit_decoder_costs_what_the_model_prices(tmp_path: Path) -> None:
    """``le_per_decoder`` is Yosys's count for ``tmac_dec5`` alone (kept whole in a core)."""
    yosys = shutil.which("yosys")
    assert yosys is not None
    stat = tmp_path / "stat.json"
    script = (
        f"read_verilog -sv {RTL_DIR / 'tmac_dec5.sv'}; "
        "synth_xilinx -family xcup -top tmac_dec5 -flatten -noiopad -noclkbuf; "
        f"tee -q -o {stat} stat -json"
    )
    out = subprocess.run([yosys, "-q", "-p", script], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    cells = json.loads(stat.read_text())["design"]["num_cells_by_type"]
    luts = sum(n for name, n in cells.items() if name.startswith("LUT"))
    assert luts == LOGIC_COSTS.le_per_decoder
