"""The RTL bundle: the RTL twin, parameterised by an exported package, and scripts that read it.

For a design ``<d>`` whose package is ``<d>_pkg`` (which carries every ``tmac_core``
parameter under its HDL name, see :func:`explorer.export.hdl_parameters`), the bundle is:

- ``<d>_top.sv``: a thin top, ``<d>_top``, with ``tmac_core``'s ports, that instantiates
  ``tmac_core`` with the package's values (its port list is read from ``tmac_core.sv``,
  so the two cannot drift apart; ``tmac_core``'s parameters that no description sets,
  such as ``ADDR_BITS``, stay parameters of the top with the same defaults);
- copies of the synthesizable sources (:data:`arch_models.rtl.SOURCES`, not the bench);
- ``<d>_files.f``: the file list, in an order that elaborates (package, leaves, top);
- ``<d>_synth.ys``: Yosys (``read_verilog -sv`` of each file, ``hierarchy -top``, the
  device family's flow: ``synth_xilinx -family xcup`` for UltraScale+, ``xc7`` for
  7-series; a generic 6-input-LUT ``synth`` where Yosys has none, as for Stratix 10), then
  ``stat``;
- ``<d>_vivado.tcl``: ``read_verilog -sv`` of the files and ``synth_design -top ... -part``
  (the catalog's part as Vivado names it, when the device is AMD's);
- ``<d>_quartus.tcl``: ``set_global_assignment`` of the family, device, top and files;
- ``<d>_README.md``: what the files are and the one command, ``yosys -s <d>_synth.ys``.

Every name but the sources' carries the design's, as every exported file does, so the
bundles of several designs can share a folder; the sources are the same for every design.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from arch_models.catalog import Device
from arch_models.rtl import RTL_DIR, SOURCES, RtlParams
from arch_models.spec.arch import Arch
from explorer.errors import ExplorerError

__all__ = [
    "BundleNames",
    "CorePort",
    "core_header",
    "render_bundle",
    "vivado_part",
    "yosys_flow",
]

#: The synthesizable top of the RTL twin.
CORE = "tmac_core"


@dataclass(frozen=True)
class CorePort:
    """One port of ``tmac_core``.

    Attributes:
        direction: ``input`` or ``output``.
        width: The packed range as written (``[BEAT_BITS-1:0]``; '' for one bit).
        name: The port's name.
    """

    direction: str
    width: str
    name: str


@dataclass(frozen=True)
class BundleNames:
    """The file and module names of one design's bundle.

    Attributes:
        ident: The design's HDL identifier (``u280_hbm_16core``).
    """

    ident: str

    @property
    def package(self) -> str:
        """Return the package's name (``<d>_pkg``)."""
        return f"{self.ident}_pkg"

    @property
    def top(self) -> str:
        """Return the top module's name (``<d>_top``)."""
        return f"{self.ident}_top"

    @property
    def package_file(self) -> str:
        """Return the package's file name."""
        return f"{self.package}.sv"

    @property
    def top_file(self) -> str:
        """Return the top's file name."""
        return f"{self.top}.sv"

    @property
    def file_list(self) -> str:
        """Return the file list's name."""
        return f"{self.ident}_files.f"

    @property
    def yosys_script(self) -> str:
        """Return the Yosys script's name."""
        return f"{self.ident}_synth.ys"

    @property
    def vivado_script(self) -> str:
        """Return the Vivado script's name."""
        return f"{self.ident}_vivado.tcl"

    @property
    def quartus_script(self) -> str:
        """Return the Quartus script's name."""
        return f"{self.ident}_quartus.tcl"

    @property
    def readme(self) -> str:
        """Return the README's name."""
        return f"{self.ident}_README.md"

    @property
    def sources(self) -> tuple[str, ...]:
        """Return every HDL file in elaboration order: package, RTL leaves first, top."""
        return (self.package_file, *SOURCES, self.top_file)


# ---------------------------------------------------------------- tmac_core's header
_HEADER = re.compile(
    rf"\bmodule\s+{CORE}\s*#\s*\((?P<params>.*?)\)\s*\((?P<ports>.*?)\)\s*;", re.DOTALL
)
_PARAM = re.compile(
    r"^parameter\s+(?:(?P<type>int)\s+)?(?P<name>[A-Z][A-Z0-9_]*)\s*=\s*(?P<default>.+)$"
)
_PORT = re.compile(
    r"^(?P<dir>input|output)\s+logic\s*(?P<width>\[[^\]]*\])?\s*(?P<name>[a-z_][a-z0-9_]*)$"
)


def _uncommented(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _items(text: str) -> list[str]:
    """Split a comma-separated header list into items of single-spaced words."""
    return [" ".join(item.split()) for item in text.split(",") if item.strip()]


def core_header(source: str) -> tuple[list[tuple[str, str, str]], list[CorePort]]:
    """Read ``tmac_core``'s parameters and ports from its source.

    Args:
        source: The text of ``tmac_core.sv``.

    Returns:
        ``(type, name, default)`` per parameter (type ``int`` or ''), and the ports, in
        declaration order.

    Raises:
        ExplorerError: The header is not in the plain ANSI form this reader knows.
    """
    m = _HEADER.search(_uncommented(source))
    if m is None:
        raise ExplorerError(f"{CORE}.sv: no 'module {CORE} #(...) (...);' header found")
    params = []
    for item in _items(m.group("params")):
        pm = _PARAM.match(item)
        if pm is None:
            raise ExplorerError(f"{CORE}.sv: cannot read the parameter {item!r}")
        params.append((pm.group("type") or "", pm.group("name"), pm.group("default")))
    ports = []
    for item in _items(m.group("ports")):
        po = _PORT.match(item)
        if po is None:
            raise ExplorerError(f"{CORE}.sv: cannot read the port {item!r}")
        ports.append(CorePort(po.group("dir"), po.group("width") or "", po.group("name")))
    return params, ports


# ---------------------------------------------------------------- tools' device names
#: Catalog families → Quartus ``FAMILY``.
_QUARTUS_FAMILIES = {
    "stratix10": "Stratix 10",
    "agilex": "Agilex",
    "arria10": "Arria 10",
    "cyclone10gx": "Cyclone 10 GX",
}


def _is_amd(device: Device) -> bool:
    return device.vendor.strip().lower() in ("amd", "xilinx", "amd/xilinx")


def _xilinx_family(family: str) -> str | None:
    """Return Yosys's ``synth_xilinx -family`` for a catalog family (``None``: none fits)."""
    f = family.lower()
    if "ultrascale-plus" in f or "ultrascale+" in f:
        return "xcup"
    if "ultrascale" in f:
        return "xcu"
    if re.search(r"(artix|kintex|virtex|spartan|zynq)-?7", f):
        return "xc7"
    return None


def yosys_flow(device: Device, top: str) -> tuple[str, str]:
    """Return the Yosys synthesis command for the design's device, and why that one.

    UltraScale+ parts get ``synth_xilinx -family xcup``, UltraScale ``xcu``, 7-series
    ``xc7``; devices Yosys has no flow for (Stratix 10, Agilex...) a generic synthesis
    into 6-input LUTs (``synth -lut 6``), which counts LUTs and flip-flops but no device
    primitives.
    """
    family = _xilinx_family(device.family) if _is_amd(device) else None
    if family is not None:
        return (
            f"synth_xilinx -flatten -family {family} -top {top}",
            f"{device.family}: Yosys's synth_xilinx for the family {family}",
        )
    return (
        f"synth -flatten -lut 6 -top {top}",
        f"Yosys has no synthesis flow for {device.family}: a generic one into "
        "6-input LUTs and flip-flops",
    )


#: AMD ordering codes → Vivado part names (``XCU280-L2FSVH2892E`` → ``xcu280-fsvh2892-2L-e``).
_AMD_ORDERING = (
    # device-L<speed><package><temperature>: XCU280-L2FSVH2892E
    re.compile(r"^(?P<dev>XC[A-Z0-9]+)-(?P<low>L)(?P<speed>\d)(?P<pkg>[A-Z]+\d+)(?P<temp>[CEI])$"),
    # device-<package>-<speed>[L]-<temperature>: XCU250-FIGD2104-2L-E
    re.compile(
        r"^(?P<dev>XC[A-Z0-9]+)-(?P<pkg>[A-Z]+\d+)-(?P<speed>\d)(?P<low>L?)-(?P<temp>[CEI])$"
    ),
)
#: 7-series: device-<speed><package><temperature> (XC7A100T-1CSG324C → xc7a100tcsg324-1).
_AMD_7SERIES = re.compile(r"^(?P<dev>XC7[A-Z0-9]+)-(?P<speed>\d)(?P<pkg>[A-Z]+\d+)(?P<temp>[CEI])$")


def vivado_part(device: Device) -> str | None:
    """Return the device's part as Vivado's ``-part`` names it (``None``: not an AMD part).

    The catalog holds ordering codes; UltraScale(+) codes become
    ``<device>-<package>-<speed>[L]-<temperature>`` and 7-series ones
    ``<device><package>-<speed>``, in lower case but for the low-power ``L``. A code of
    another form is passed as written, in lower case.
    """
    if not _is_amd(device):
        return None
    code = device.part_number.strip().upper()
    m7 = _AMD_7SERIES.match(code)
    if m7:
        return f"{m7['dev'].lower()}{m7['pkg'].lower()}-{m7['speed']}"
    for pattern in _AMD_ORDERING:
        m = pattern.match(code)
        if m:
            grade = f"{m['speed']}{m['low']}"
            return f"{m['dev'].lower()}-{m['pkg'].lower()}-{grade}-{m['temp'].lower()}"
    return code.lower()


# ---------------------------------------------------------------- the files
def _comment(prefix: str, lines: Sequence[str]) -> str:
    return "".join(f"{prefix} {line}\n" if line else f"{prefix}\n" for line in lines)


def _top(names: BundleNames, core: RtlParams, head: Sequence[str]) -> str:
    params, ports = core_header((RTL_DIR / f"{CORE}.sv").read_text())
    design = set(core.hdl())
    header = {name for _, name, _ in params}
    missing = sorted(design - header)
    if missing:
        raise ExplorerError(f"{CORE}.sv has no parameter {', '.join(missing)} (RtlParams has)")
    own = [(t, n, d) for t, n, d in params if n not in design]
    pkg = names.package

    def qualified(width: str) -> str:
        return re.sub(
            r"\b[A-Z][A-Z0-9_]*\b",
            lambda m: f"{pkg}::{m.group(0)}" if m.group(0) in design else m.group(0),
            width,
        )

    widths = {p.name: qualified(p.width) for p in ports}
    w_dir = max(len(p.direction) for p in ports)
    w_width = max(len(w) for w in widths.values())
    port_lines = ",\n".join(
        f"    {p.direction:<{w_dir}} logic {widths[p.name]:<{w_width}} {p.name}" for p in ports
    )
    own_lines = ",\n".join(f"    parameter {t + ' ' if t else ''}{n} = {d}" for t, n, d in own)
    overrides = [f".{n}({pkg}::{n})" for _, n, _ in params if n in design]
    overrides += [f".{n}({n})" for _, n, _ in own]
    override_lines = ",\n".join(f"      {o}" for o in overrides)
    w_name = max(len(p.name) for p in ports)
    connections = ",\n".join(f"      .{p.name:<{w_name}} ({p.name})" for p in ports)
    lines = [
        *head,
        "",
        f"{names.top}: the design's ternary datapath (one core), {CORE} with the",
        f"parameters of the package {pkg}. {CORE}'s own parameters that no",
        "description sets stay parameters of this top, with the same defaults.",
    ]
    params_block = f" #(\n{own_lines}\n)" if own else ""
    return (
        _comment("//", lines)
        + f"module {names.top}{params_block} (\n{port_lines}\n);\n"
        + f"  {CORE} #(\n{override_lines}\n  ) core (\n{connections}\n  );\n"
        + f"endmodule : {names.top}\n"
    )


def _file_list(names: BundleNames) -> str:
    return "".join(f"{name}\n" for name in names.sources)


def _yosys(names: BundleNames, arch: Arch, head: Sequence[str]) -> str:
    flow, why = yosys_flow(arch.device, names.top)
    reads = "".join(f"read_verilog -sv -DSYNTHESIS {name}\n" for name in names.sources)
    return (
        _comment("#", [*head, "", f"Synthesise {names.top} with Yosys, in this folder:",
                       f"    yosys -s {names.yosys_script}", f"Flow: {why}."])
        + f"\n{reads}hierarchy -check -top {names.top}\n{flow}\nstat\n"
    )  # fmt: skip


def _tcl_list(names: Sequence[str]) -> str:
    return "".join(f" \\\n    [file join $here {n}]" for n in names)


def _vivado(names: BundleNames, arch: Arch, head: Sequence[str]) -> str:
    part = vivado_part(arch.device)
    if part is not None:
        choose = (
            f"# {arch.device.part_number} (catalog: {arch.device.id}) as Vivado names it;\n"
            "# set part before sourcing this file to use another.\n"
            f"if {{![info exists part]}} {{ set part {part} }}\n"
        )
    else:
        choose = (
            f"# {arch.device.id} ({arch.device.part_number}) is not an AMD part: set part to\n"
            "# one before sourcing this file.\n"
            "if {![info exists part]} {\n"
            '    error "set part to an AMD part (e.g. xcu280-fsvh2892-2L-e) first"\n'
            "}\n"
        )
    return (
        _comment("#", [*head, "", f"Synthesise {names.top} with Vivado (non-project mode):",
                       f"    vivado -mode batch -source {names.vivado_script}"])
        + "\nset here [file dirname [file normalize [info script]]]\n"
        + choose
        + f"read_verilog -sv [list{_tcl_list(names.sources)}\n]\n"
        + f"synth_design -top {names.top} -part $part\n"
        + "report_utilization\n"
    )  # fmt: skip


def _quartus(names: BundleNames, arch: Arch, head: Sequence[str]) -> str:
    family = _QUARTUS_FAMILIES.get(arch.device.family.lower())
    if family is not None and not _is_amd(arch.device):
        device = (
            f'set_global_assignment -name FAMILY "{family}"\n'
            f"set_global_assignment -name DEVICE {arch.device.part_number}\n"
        )
    else:
        device = (
            f"# {arch.device.id} ({arch.device.part_number}) is not an Intel part Quartus\n"
            "# builds: set FAMILY and DEVICE yourself.\n"
        )
    files = "".join(
        f"set_global_assignment -name SYSTEMVERILOG_FILE [file join $here {n}]\n"
        for n in names.sources
    )
    return (
        _comment("#", [*head, "", f"{names.top}'s files for Quartus. Sourced in an open project it",
                       "adds them; run alone it makes the project first and closes it after:",
                       f"    quartus_sh -t {names.quartus_script}",
                       f"then synthesise: quartus_syn {names.top} (Pro) or quartus_map "
                       f"{names.top} (Standard)."])
        + "\npackage require ::quartus::project\n"
        + "set here [file dirname [file normalize [info script]]]\n"
        + "set cosim_own_project [expr {![is_project_open]}]\n"
        + f"if {{$cosim_own_project}} {{ project_new -overwrite {names.top} }}\n"
        + device
        + f"set_global_assignment -name TOP_LEVEL_ENTITY {names.top}\n"
        + files
        + "if {$cosim_own_project} { project_close }\n"
    )  # fmt: skip


def _readme(names: BundleNames, arch: Arch, core: RtlParams, head: Sequence[str]) -> str:
    flow, why = yosys_flow(arch.device, names.top)
    rows = "".join(f"| `{k}` | `{v}` |\n" for k, v in core.hdl().items())
    listed = "".join(f"- `{n}`\n" for n in names.sources)
    store_bits = (
        2 * core.half_beats * core.beat_bits
        + core.max_rows * core.accumulator_bits
        + core.max_cols * core.activation_bits
    )
    return (
        f"# {arch.spec.name}: RTL bundle\n\n"
        + "".join(f"{line}  \n" for line in head)
        + "\nSynthesise it with Yosys, in this folder (one command):\n\n"
        f"```\nyosys -s {names.yosys_script}\n```\n\n"
        f"Flow: {why} (`{flow}`); `stat` prints the cells. Also:\n\n"
        f"- lint: `verilator --lint-only -Wall -f {names.file_list} --top-module {names.top}`\n"
        f"- Vivado: `vivado -mode batch -source {names.vivado_script}`\n"
        f"- Quartus: `quartus_sh -t {names.quartus_script}`\n\n"
        f"`{names.top}` (in `{names.top_file}`) is `{CORE}`, the project's ternary datapath of "
        f"one core, with the parameters of the package `{names.package}` "
        f"(`{names.package_file}`, which holds every parameter of the design). The files, "
        f"in elaboration order (`{names.file_list}`):\n\n{listed}\n"
        f"`{CORE}`'s parameters for this design:\n\n| parameter | value |\n|---|---|\n{rows}\n"
        "Storage: the weight buffer (two halves of "
        f"{core.half_beats} words of {core.beat_bits} bits), the activation store "
        "(`MAX_COLS` activations) and the result store (`MAX_ROWS` results) are RAMs with "
        f"registered reads, {store_bits:,} bits in all: `synth_xilinx` maps them to block "
        "or LUT RAM; the generic flow, which has no RAM cells, to flip-flops.\n"
    )


def render_bundle(
    arch: Arch, names: BundleNames, core: RtlParams, package: str, head: Sequence[str]
) -> list[tuple[str, str]]:
    """Return the bundle's files as ``(name, text)``, the top first.

    Args:
        arch: The validated description.
        names: The bundle's names.
        core: ``tmac_core``'s parameters for the design (those the package carries).
        package: The package's text (the ``sv`` export).
        head: Provenance lines (no comment markers).

    Raises:
        ExplorerError: ``tmac_core.sv``'s header cannot be read, or lacks a parameter.
    """
    return [
        (names.top_file, _top(names, core, head)),
        (names.package_file, package),
        *((name, (RTL_DIR / name).read_text()) for name in SOURCES),
        (names.file_list, _file_list(names)),
        (names.yosys_script, _yosys(names, arch, head)),
        (names.vivado_script, _vivado(names, arch, head)),
        (names.quartus_script, _quartus(names, arch, head)),
        (names.readme, _readme(names, arch, core, head)),
    ]
