"""The RTL lints clean under verilator -Wall, and Yosys 0.23 elaborates it, for several
parameter sets: the defaults, both weight packings and overflow modes, one lane and no
pipeline, a wide array with every path option, zero skipping, and the example designs' cores."""

from __future__ import annotations

import subprocess

import pytest

from arch_models.rtl import RTL_DIR, SOURCES, RtlParams, RtlUnsupportedError, lint
from arch_models.spec import load_arch
from tests.conftest import EXAMPLES
from tests.rtl.conftest import needs_verilator, needs_yosys

PARAM_SETS = {
    "defaults": RtlParams(),
    "5trit-saturate": RtlParams(
        lanes=8,
        rows_parallel=3,
        count=2,
        weight_packing="5trit",
        accumulator_overflow="saturate",
        accumulator_bits=12,
        tile_cols=32,
        max_rows=96,
        max_cols=128,
    ),
    "one-lane": RtlParams(lanes=1, tree_depth=1, pipeline_stages=0, tile_cols=4, max_cols=64),
    "wide-paths": RtlParams(
        lanes=32,
        rows_parallel=4,
        tree_depth=7,
        pipeline_stages=3,
        tile_cols=256,
        tile_capacity_bytes=4096,
        beat_bits=512,
        path_fifo_beats=16,
        path_beat_interval_cycles=2,
        max_outstanding=8,
        act_path_bits=144,
        out_path_bits=144,
        handoff_bubble_cycles=2,
        start_latency_cycles=3,
        op_overhead_cycles=16,
        accumulator_bits=20,
        max_rows=256,
        max_cols=1024,
    ),
    "zero-skip": RtlParams(
        lanes=8,
        rows_parallel=2,
        count=2,
        zero_skip=1,
        handoff_bubble_cycles=1,
        tile_capacity_bytes=256,
        beat_bits=64,
        max_rows=128,
        max_cols=256,
    ),
    "zero-skip-5trit": RtlParams(
        lanes=4, weight_packing="5trit", zero_skip=1, pipeline_stages=0, max_cols=128
    ),
}


def _example(name: str) -> RtlParams:
    return RtlParams.of_arch(load_arch(EXAMPLES / name), max_rows=256, max_cols=512)


@needs_verilator
@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_lint_clean(name: str) -> None:
    lint(PARAM_SETS[name])


@needs_verilator
@pytest.mark.parametrize("example", ["d5005_paper_core.yaml", "u280_hbm.yaml"])
def test_example_cores_lint_clean(example: str) -> None:
    lint(_example(example))


def test_params_of_example_follow_the_description() -> None:
    p = _example("u280_hbm.yaml")
    assert (p.lanes, p.rows_parallel, p.weight_packing, p.accumulator_bits) == (64, 16, "5trit", 20)
    assert p.tile_capacity_bytes == 128 * 1024 and p.beat_bits == 512
    assert p.act_path_bits == 144 and p.op_overhead_cycles == 16
    d = _example("d5005_paper_core.yaml")
    assert (d.beat_bits, d.max_outstanding, d.act_path_bits, d.out_path_bits) == (8, 1, 8, 8)


def test_refuses_what_it_does_not_build() -> None:
    with pytest.raises(RtlUnsupportedError, match="tile_cols"):
        RtlParams(lanes=64, tile_cols=32)
    with pytest.raises(RtlUnsupportedError, match="beat"):
        RtlParams(beat_bits=24)
    with pytest.raises(RtlUnsupportedError, match="zero skipping with a saturating"):
        RtlParams(zero_skip=1, accumulator_overflow="saturate")


@needs_yosys
def test_yosys_elaborates() -> None:
    p = PARAM_SETS["5trit-saturate"]
    chparams = " ".join(
        f'-set {k} "{v}"' if isinstance(v, str) else f"-set {k} {v}" for k, v in p.hdl().items()
    )
    files = " ".join(str(RTL_DIR / s) for s in SOURCES)
    script = (
        f"read_verilog -sv -DSYNTHESIS {files}; chparam {chparams} tmac_core; "
        "hierarchy -check -top tmac_core; proc; opt_clean; stat"
    )
    out = subprocess.run(
        ["yosys", "-q", "-p", script], capture_output=True, text=True, check=False, timeout=300
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


@pytest.mark.parametrize("example", ["d5005_paper_core.yaml", "u280_hbm.yaml"])
def test_core_parameters_are_the_exported_packages(example: str) -> None:
    # tmac_core's parameters are the parameter package's (cosim export --format sv):
    # <array>_<FIELD> for the array's fields, the weight buffer's derived half, the
    # memory path's fields and the dispatch overhead.
    from explorer.export import hdl_parameters

    arch = load_arch(EXAMPLES / example)
    pkg = {p.name: p.value for p in hdl_parameters(arch, max_rows=256, max_cols=512)}
    core = _example(example).hdl()
    array_fields = (
        "LANES",
        "ROWS_PARALLEL",
        "COUNT",
        "TREE_DEPTH",
        "PIPELINE_STAGES",
        "WEIGHT_PACKING",
        "ACCUMULATOR_BITS",
        "ACCUMULATOR_OVERFLOW",
        "ACTIVATION_BITS",
        "TILE_COLS",
        "HANDOFF_BUBBLE_CYCLES",
        "START_LATENCY_CYCLES",
    )
    for name in array_fields:
        assert core[name] == pkg[f"TMAC_{name}"], name
    assert core["TILE_CAPACITY_BYTES"] == pkg["WBUF_TILE_CAPACITY_BYTES"]
    mem = "DDR" if "DDR_CHANNELS" in pkg else "HBM"
    assert core["PATH_FIFO_BEATS"] == pkg[f"{mem}_PATH_FIFO_BEATS"]
    assert core["MAX_OUTSTANDING"] == pkg.get(f"{mem}_MAX_OUTSTANDING", 0)
    beat = pkg.get(f"{mem}_REQUEST_BYTES", pkg[f"{mem}_BURST_BYTES"])
    assert core["BEAT_BITS"] == 8 * beat
    assert core["OP_OVERHEAD_CYCLES"] == pkg["CTRL_OP_OVERHEAD_CYCLES"]
    # and the package carries every one of them under its HDL name, read from RtlParams
    assert {name: pkg[name] for name in core} == core
