"""Exported parameter files: lint-clean HDL, Tcl and JSON that agree, a loadable YAML."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from arch_models.spec import load_arch
from explorer._hdl import hdl_identifier, parse_verilog_literal
from explorer.errors import ExplorerError
from explorer.export import (
    EXPORTERS,
    FORMATS,
    Provenance,
    export_design,
    hdl_parameters,
    parse_formats,
)
from tests.explorer.conftest import D5005, U280

PROV = Provenance(
    study="s1",
    trial=7,
    objectives={"tokens_per_s": 1234.5, "avg_power_w": 30.25, "energy_per_token_j": 0.0245},
    status="feasible",
    model="1.3b",
    params_by_path={"units[2].lanes": 64},
)

needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None,
    reason="verilator is not installed (Debian: apt-get install verilator)",
)
needs_tclsh = pytest.mark.skipif(
    shutil.which("tclsh") is None, reason="tclsh is not installed (Debian: apt-get install tcl)"
)


@pytest.fixture(params=[U280, D5005], ids=["u280", "d5005"])
def exported(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    arch = load_arch(request.param)
    paths = {p.name: p for p in export_design(arch, "all", tmp_path / "out", PROV)}
    ident = hdl_identifier(arch.spec.name)
    return request.param, {f: paths[e.filename(ident)] for f, e in EXPORTERS.items()}


def test_every_format_written_with_provenance(exported: tuple[Path, dict[str, Path]]) -> None:
    _, files = exported
    assert sorted(files) == sorted(["sv", "vh", "tcl", "json", "yaml", "rtl"])
    for path in files.values():
        text = path.read_text()
        if path.suffix != ".json":
            assert "study: s1, trial 7 (feasible)" in text
            assert "objectives: 1,234.50 tokens/s, 30.25 W, 0.0245 J/token" in text
            assert "mmfree-cosim" in text
    meta = json.loads(files["json"].read_text())["provenance"]
    assert (meta["study"], meta["trial"], meta["model"]) == ("s1", 7, "1.3b")
    assert meta["objectives"]["avg_power_w"] == 30.25 and meta["package_version"]
    assert not list(files["sv"].parent.glob(".*.tmp"))  # atomic writes leave nothing behind


@needs_verilator
def test_systemverilog_package_lints_clean(
    exported: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    _, files = exported
    pkg = files["sv"].stem
    top = tmp_path / "cosim_top.sv"
    top.write_text(
        "module cosim_top (output logic [31:0] lanes, output logic skip);\n"
        f"  import {pkg}::*;\n"
        "  assign lanes = TMAC_LANES;\n"
        "  assign skip = TMAC_ZERO_SKIPPING;\n"
        "endmodule\n"
    )
    proc = subprocess.run(
        ["verilator", "--lint-only", "-Wall", str(files["sv"]), str(top)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


@needs_verilator
def test_verilog_header_lints_clean(exported: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    _, files = exported
    top = tmp_path / "cosim_top.v"
    top.write_text(
        f'`include "{files["vh"].name}"\n'
        f'`include "{files["vh"].name}"\n'  # the include guard makes a second one harmless
        "module cosim_top (output wire [31:0] lanes, output wire skip);\n"
        "  assign lanes = `TMAC_LANES;\n"
        "  assign skip = `TMAC_ZERO_SKIPPING;\n"
        "endmodule\n"
    )
    proc = subprocess.run(
        ["verilator", "--lint-only", "-Wall", f"-I{files['vh'].parent}", str(top)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _tcl(script: str) -> str:
    proc = subprocess.run(["tclsh"], input=script, capture_output=True, text=True, check=True)
    return proc.stdout


@needs_tclsh
def test_tcl_and_json_round_trip_to_the_same_values(
    exported: tuple[Path, dict[str, Path]],
) -> None:
    arch_path, files = exported
    params = json.loads(files["json"].read_text())["parameters"]
    assert params == {p.name: p.value for p in hdl_parameters(load_arch(arch_path))}
    out = _tcl(
        f'source {{{files["tcl"]}}}\ndict for {{k v}} $cosim_generics {{ puts "$k\\t$v" }}\n'
    )
    from_tcl = {}
    for line in out.splitlines():
        name, literal = line.split("\t")
        from_tcl[name] = parse_verilog_literal(literal)
    assert from_tcl == params
    assert [type(v) for v in from_tcl.values()] == [type(v) for v in params.values()]


@needs_tclsh
def test_tcl_drives_vivado_and_quartus(exported: tuple[Path, dict[str, Path]]) -> None:
    """Stand-ins for the tools' commands record what the file asks of them."""
    _, files = exported
    params = json.loads(files["json"].read_text())["parameters"]
    vivado = _tcl(
        "proc current_fileset {} { return sources_1 }\n"
        'proc set_property {name value obj} { puts "$name|$obj"; puts $value }\n'
        f"source {{{files['tcl']}}}\n"
    ).splitlines()
    assert vivado[0] == "generic|sources_1"
    pairs = dict(item.split("=", 1) for item in vivado[1].split(" "))
    assert {k: parse_verilog_literal(v) for k, v in pairs.items()} == params
    quartus = _tcl(
        'proc set_parameter {flag name value} { puts "$flag $name $value" }\n'
        f"source {{{files['tcl']}}}\n"
    ).splitlines()
    got = {}
    for line in quartus:
        flag, name, literal = line.split(" ", 2)
        assert flag == "-name"
        got[name] = parse_verilog_literal(literal)
    assert got == params


def test_yaml_is_the_resolved_description(exported: tuple[Path, dict[str, Path]]) -> None:
    arch_path, files = exported
    again = load_arch(files["yaml"])
    assert again.spec == load_arch(arch_path).spec
    assert json.loads(files["json"].read_text())["description"] == again.spec.model_dump(
        mode="json"
    )


def test_parameters_named_and_typed() -> None:
    params = {p.name: p for p in hdl_parameters(load_arch(U280))}
    assert params["TMAC_LANES"].value == 64 and params["TMAC_LANES"].source == "units[2].lanes"
    assert params["WBUF_DOUBLE_BUFFERED"].value is True
    assert params["CLOCK_MHZ"].value == 250.0 and params["CLOCK_HZ"].value == 250_000_000
    assert params["ROWWISE_LATENCY_CYCLES_SIGMOID"].value == 4
    assert params["TMAC_TILE_BYTES"].source.endswith("(derived)")
    assert "TMAC_ADDER_TREE_DEPTH" not in params  # unset optional fields are left out
    assert params["TMAC_TREE_DEPTH"].value == 6


def test_existing_files_need_force(tmp_path: Path) -> None:
    arch = load_arch(U280)
    first = export_design(arch, "sv,json", tmp_path, PROV)
    before = [p.read_text() for p in first]
    with pytest.raises(ExplorerError, match=r"already exist.*--force"):
        export_design(arch, ["json", "yaml"], tmp_path, Provenance())
    assert not (tmp_path / "u280_hbm_16core.yaml").exists()  # nothing written at all
    assert [p.read_text() for p in first] == before
    again = export_design(arch, "sv,json", tmp_path, Provenance(), force=True)
    assert again == first and "study:" not in again[0].read_text()


def test_format_names() -> None:
    assert parse_formats("all") == list(FORMATS)
    assert parse_formats("tcl, SV,tcl") == ["tcl", "sv"]
    with pytest.raises(ExplorerError, match="'vhdl' is not in supported list: sv, vh, tcl"):
        parse_formats("vhdl")
