"""The RTL bundle: the package the RTL reads, a top, the sources, and scripts that build it.

The bundle of the examples lints clean under ``verilator -Wall`` from its own file list;
Yosys synthesises a small design's bundle with its one command (``yosys -s
<design>_synth.ys``) into LUTs and flip-flops; the Vivado and Quartus scripts, run
against stand-ins for the tools' commands, read every file of the list and name the top
and the part. Designs the RTL does not build: ``--format rtl`` refuses them (exit 2),
``--format all`` writes the parameter files and says why it skipped the bundle.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from arch_models.catalog import get_device
from arch_models.rtl import RTL_DIR, SOURCES, RtlParams
from arch_models.spec import load_arch
from cosim_cli.main import main
from explorer._rtl_bundle import BundleNames, core_header, vivado_part, yosys_flow
from explorer.errors import ExplorerError
from explorer.export import Provenance, export_design, export_set, hdl_parameters
from tests.conftest import EXAMPLES
from tests.explorer.conftest import D5005, U280

needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None,
    reason="verilator is not installed (Debian: apt-get install verilator)",
)
needs_yosys = pytest.mark.skipif(
    shutil.which("yosys") is None, reason="yosys is not installed (Debian: apt-get install yosys)"
)
needs_tclsh = pytest.mark.skipif(
    shutil.which("tclsh") is None, reason="tclsh is not installed (Debian: apt-get install tcl)"
)

#: The smallest core worth synthesising: 2 lanes, one tree, an 8-bit memory beat and
#: activation path, a 4-byte buffer half; with 4 rows and 8 columns of stores (below).
SMALL = """\
version: 1
name: rtl-small
device: {part: alveo-u280}
clock_mhz: 250
units:
  - {kind: hbm, name: hbm, channels: 1, bandwidth_gb_per_s_per_channel: 14.375, request_bytes: 1}
  - {kind: ternary_array, name: tmac, lanes: 2, tile_cols: 8, accumulator_bits: 10}
  - kind: buffer
    name: wbuf
    memory: bram
    capacity_kib: 0.0078125
    double_buffered: true
    holds: weights
  - kind: buffer
    name: act
    memory: bram
    capacity_kib: 1
    ports: 1
    width_bits: 8
    holds: activations
  - {kind: vector_unit, name: vec, ops_per_cycle: 1}
  - {kind: control, name: ctrl, op_overhead_cycles: 3}
"""
SMALL_STORES = ("--max-rows", "4", "--max-cols", "8")


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def _bundle(arch_path: Path, out: Path, *extra: str) -> dict[str, Path]:
    assert main(["export", "--arch", str(arch_path), "--format", "rtl", "--out", str(out),
                 *extra]) == 0  # fmt: skip
    return {p.name: p for p in out.iterdir()}


def test_the_bundle_and_its_file_list(tmp_path: Path) -> None:
    files = _bundle(U280, tmp_path / "b")
    names = BundleNames("u280_hbm_16core")
    assert sorted(files) == sorted(
        [
            *names.sources,
            names.file_list,
            names.yosys_script,
            names.vivado_script,
            names.quartus_script,
            names.readme,
        ]
    )
    order = files[names.file_list].read_text().split()
    assert order == [names.package_file, *SOURCES, names.top_file]
    for source in SOURCES:  # the RTL sources as shipped, not the test bench
        assert files[source].read_bytes() == (RTL_DIR / source).read_bytes()
    assert "yosys -s u280_hbm_16core_synth.ys" in files[names.readme].read_text()
    ys = files[names.yosys_script].read_text()
    assert [line.split()[-1] for line in ys.splitlines() if line.startswith("read_verilog")] == (
        order
    )
    assert "hierarchy -check -top u280_hbm_16core_top" in ys
    assert "synth_xilinx -flatten -family xcup -top u280_hbm_16core_top" in ys


def test_the_package_carries_every_core_parameter_and_the_top_reads_them(
    tmp_path: Path,
) -> None:
    arch = load_arch(U280)
    core = RtlParams.of_arch(arch)
    package = {p.name: p for p in hdl_parameters(arch)}
    for name, value in core.hdl().items():  # every RtlParams field, under its HDL name
        assert package[name].value == value, name
    files = _bundle(U280, tmp_path / "b")
    pkg_text = files["u280_hbm_16core_pkg.sv"].read_text()
    assert "localparam      WEIGHT_PACKING " in pkg_text  # strings untyped (Yosys 0.23)
    top = files["u280_hbm_16core_top.sv"].read_text()
    params, ports = core_header((RTL_DIR / "tmac_core.sv").read_text())
    for name in core.hdl():
        assert f".{name}(u280_hbm_16core_pkg::{name})" in top
    for _, name, default in params:
        if name not in core.hdl():  # tmac_core's own (ADDR_BITS...): the top's, same default
            assert f"parameter int {name} = {default}" in top and f".{name}({name})" in top
    for port in ports:
        assert re.search(rf"\.{port.name}\s+\({port.name}\)", top), port.name
    assert "[u280_hbm_16core_pkg::BEAT_BITS-1:0]" in top


@needs_verilator
@pytest.mark.parametrize("example", [U280, D5005], ids=["u280", "d5005"])
def test_bundle_lints_clean(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    files = _bundle(example, out)
    ident = load_arch(example).spec.name.replace("-", "_")
    proc = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "-f", files[f"{ident}_files.f"].name,
         "--top-module", f"{ident}_top"],
        cwd=out, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


@needs_yosys
@pytest.mark.slow
def test_yosys_synthesises_a_small_design_with_one_command(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    _bundle(small, out, *SMALL_STORES)
    proc = subprocess.run(
        ["yosys", "-q", "-l", "synth.log", "-s", "rtl_small_synth.ys"],
        cwd=out, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    log = (out / "synth.log").read_text() if (out / "synth.log").exists() else ""
    assert proc.returncode == 0, proc.stderr[-3000:] + log[-3000:]
    stat = log[log.rindex("=== rtl_small_top ===") :]
    luts = sum(int(n) for n in re.findall(r"^\s+LUT\d\s+(\d+)$", stat, re.MULTILINE))
    ffs = sum(int(n) for n in re.findall(r"^\s+FD[A-Z]+\s+(\d+)$", stat, re.MULTILINE))
    assert luts > 0 and ffs > 0, stat


def _tcl(script: str) -> list[str]:
    proc = subprocess.run(
        ["tclsh"], input=script, capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@needs_tclsh
def test_vivado_and_quartus_scripts_read_every_file(tmp_path: Path) -> None:
    """Stand-ins for the tools' commands record what the scripts ask of them."""
    out = tmp_path / "b"
    files = _bundle(U280, out)
    listed = [str(out / n) for n in files["u280_hbm_16core_files.f"].read_text().split()]
    vivado = _tcl(
        'proc read_verilog {flag files} { puts "read $flag"; foreach f $files { puts $f } }\n'
        'proc synth_design {args} { puts "synth $args" }\n'
        "proc report_utilization {} {}\n"
        f"source {{{files['u280_hbm_16core_vivado.tcl']}}}\n"
    )
    assert vivado == [
        "read -sv",
        *listed,
        "synth -top u280_hbm_16core_top -part xcu280-fsvh2892-2L-e",
    ]
    d5005 = _bundle(D5005, tmp_path / "d")
    quartus = _tcl(
        "package provide ::quartus::project 1.0\n"
        "proc is_project_open {} { return 0 }\n"
        'proc project_new {args} { puts "new $args" }\n'
        'proc project_close {} { puts "close" }\n'
        'proc set_global_assignment {flag name value} { puts "$name=$value" }\n'
        f"source {{{d5005['d5005_paper_core_quartus.tcl']}}}\n"
    )
    d_listed = [
        f"SYSTEMVERILOG_FILE={tmp_path / 'd' / n}"
        for n in d5005["d5005_paper_core_files.f"].read_text().split()
    ]
    assert quartus == [
        "new -overwrite d5005_paper_core_top",
        "FAMILY=Stratix 10",
        "DEVICE=1SX280HN2F43E2VG",
        "TOP_LEVEL_ENTITY=d5005_paper_core_top",
        *d_listed,
        "close",
    ]


def test_tool_names_of_the_catalog_parts() -> None:
    parts = {
        "alveo-u280": "xcu280-fsvh2892-2L-e",
        "alveo-u55c": "xcu55c-fsvh2892-2L-e",
        "alveo-u250": "xcu250-figd2104-2L-e",
        "arty-a7-100t": "xc7a100tcsg324-1",
        "intel-d5005": None,
    }
    for part, name in parts.items():
        assert vivado_part(get_device(part)) == name, part
    assert yosys_flow(get_device("alveo-u250"), "t")[0].startswith(
        "synth_xilinx -flatten -family xcup"
    )
    assert "-family xc7" in yosys_flow(get_device("arty-a7-100t"), "t")[0]
    assert yosys_flow(get_device("intel-d5005"), "t")[0] == "synth -flatten -lut 6 -top t"


def test_a_design_the_rtl_does_not_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpu = EXAMPLES / "h200.yaml"
    out = tmp_path / "b"
    assert main(["export", "--arch", str(gpu), "--format", "rtl", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot export h200-sxm as rtl: the RTL twin does not build this design" in err
    assert "one ternary_array" in err and not out.exists()  # nothing written
    assert main(["export", "--arch", str(gpu), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [Path(f).name for f in printed["files"]] == [
        "h200_sxm_pkg.sv", "h200_sxm_params.vh", "h200_sxm_generics.tcl", "h200_sxm.json",
        "h200_sxm.yaml",
    ]  # fmt: skip
    assert printed["skipped"]["rtl"].startswith("the RTL twin does not build this design")
    assert printed["trial"] is None and printed["design"] == "h200-sxm"
    zero_skipping = load_arch(U280).spec.model_dump(mode="json")
    zero_skipping["units"][2]["zero_skipping"] = True
    zero_skipping["units"][2]["accumulator_overflow"] = "saturate"
    from arch_models.spec import Document, validate_arch

    arch = validate_arch(Document(zero_skipping, "zs.yaml", {(): 1}))
    with pytest.raises(ExplorerError, match="zero skipping with a saturating accumulator"):
        export_design(arch, "sv,rtl", tmp_path / "zs")
    assert "rtl" in dict(export_set(arch, "all", tmp_path / "zs").skipped)


def test_bad_combinations_and_files(small: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "b")
    assert main(["export", "--arch", str(small), "--trial", "1", "--out", out]) == 2
    assert main(["export", "--out", out]) == 2
    assert main(["export", "--study", "s", "--out", out]) == 2  # no --trial or --pick
    assert main(["export", "--arch", str(tmp_path / "missing.yaml"), "--out", out]) == 2
    assert main(["export", "--arch", str(small), "--max-rows", "0", "--out", out]) == 2
    too_many = ["--max-rows", "70000", "--format", "rtl"]
    assert main(["export", "--arch", str(small), *too_many, "--out", out]) == 2


def test_bundles_of_two_designs_share_a_folder(small: Path, tmp_path: Path) -> None:
    """The RTL sources are the same for every design: already there, they are kept."""
    out = tmp_path / "b"
    _bundle(small, out, *SMALL_STORES)
    files = _bundle(D5005, out)
    assert "rtl_small_synth.ys" in files and "d5005_paper_core_synth.ys" in files
    (out / "tmac_core.sv").write_text("// edited\n")
    with pytest.raises(ExplorerError, match=r"b/tmac_core.sv already exists; use --force"):
        export_design(load_arch(U280), "rtl", out, Provenance())  # an edited source
    export_design(load_arch(U280), "rtl", out, Provenance(), force=True)
    assert (out / "tmac_core.sv").read_bytes() == (RTL_DIR / "tmac_core.sv").read_bytes()
