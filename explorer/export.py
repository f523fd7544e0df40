r"""Export of a chosen design for synthesis: parameter files an HDL flow reads.

Every exporter reads only the validated description (:class:`~arch_models.spec.Arch`):
:func:`hdl_parameters` flattens it into named parameters (``TMAC_LANES``,
``WBUF_DOUBLE_BUFFERED``, ``CLOCK_MHZ``; ``<UNIT>_<FIELD>`` for every block's fields, with
a few derived figures such as ``TMAC_TILE_BYTES``), and every value is written through the
one set of literal formatters in :mod:`explorer._hdl`. The formats (:data:`EXPORTERS`):

- ``sv``: a SystemVerilog package of typed ``localparam``\\ s (``<design>_pkg.sv``);
- ``vh``: a Verilog header of ``` `define``\\ s with an include guard
  (``<design>_params.vh``);
- ``tcl``: the same generics as a Tcl dict, applied to the top level when sourced in
  Vivado (``set_property generic`` on the current fileset) or Quartus
  (``set_parameter -name``) (``<design>_generics.tcl``);
- ``json``: the parameters, their source fields and the resolved description
  (``<design>.json``);
- ``yaml``: the resolved architecture description, loadable by ``cosim simulate``
  (``<design>.yaml``);
- ``rtl``: the RTL bundle (:mod:`explorer._rtl_bundle`): the package, a top
  ``<design>_top`` that instantiates the RTL twin's ``tmac_core`` with the package's
  values, copies of the RTL sources, a file list and Yosys, Vivado and Quartus scripts
  (``yosys -s <design>_synth.ys`` synthesises it).

Where the RTL twin builds the design (:meth:`arch_models.rtl.RtlParams.of_arch`), the
parameters include every ``tmac_core`` parameter under its HDL name (``LANES``,
``BEAT_BITS``, ``ACT_PATH_BITS``...), read from that one mapping, so the package is what
the RTL is parameterised by. ``max_rows`` and ``max_cols`` size the core's result and
activation stores (the largest matvec it takes). Asked for by name, ``rtl`` refuses a
design the RTL cannot build, saying why; within ``all`` it is skipped, and the reason is
returned with the files (:class:`ExportSet`).

Each file starts with its provenance (study, trial, objectives, package version). The
files are written as one set (the folder holds the whole old output or the whole new
one, whenever the command is stopped); an existing file is replaced only with ``force``,
except the RTL sources, which are the same for every design: where the folder holds them
already, unchanged, they are kept (so several designs' bundles can share a folder).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from arch_models.rtl import SOURCES, RtlParams, RtlUnsupportedError
from arch_models.spec.arch import Arch, validate_arch
from arch_models.spec.units import Buffer, OffChipMemory, TernaryArray
from arch_models.validation.base import SpecModel
from arch_models.validation.source import Document
from cosim import __version__
from explorer._files import write_set
from explorer._hdl import HdlValue, hdl_identifier, sv_param_type, tcl_word, verilog_literal
from explorer._rtl_bundle import BundleNames, render_bundle
from explorer.errors import ExplorerError
from explorer.records import StudyAttr, TrialRecord
from safeio import json_safe

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

__all__ = [
    "EXPORTERS",
    "FORMATS",
    "OBJECTIVE_FIGURES",
    "RTL_FORMAT",
    "ExportSet",
    "Exported",
    "Exporter",
    "HdlParam",
    "Provenance",
    "core_parameters",
    "design_of_trial",
    "export_design",
    "export_set",
    "hdl_parameters",
    "parse_formats",
    "render_design",
    "render_set",
    "trial_description",
    "trial_design_name",
]

#: The summary figures a design's provenance carries.
OBJECTIVE_FIGURES = ("tokens_per_s", "avg_power_w", "energy_per_token_j")

#: The RTL bundle's format name.
RTL_FORMAT = "rtl"
#: The source of the parameters that are ``tmac_core``'s.
_CORE_SOURCE = "tmac_core parameter (RtlParams.of_arch)"
#: Default rows and columns of the largest matvec the exported core takes.
_MAX_ROWS = RtlParams().max_rows
_MAX_COLS = RtlParams().max_cols

#: Derived figures exported per block kind (property names).
_DERIVED: dict[type, tuple[str, ...]] = {
    TernaryArray: ("tree_depth", "bits_per_weight", "adds_per_cycle", "tile_bytes"),
    Buffer: ("capacity_bytes", "tile_capacity_bytes"),
    OffChipMemory: ("peak_gb_per_s",),
}


@dataclass(frozen=True)
class HdlParam:
    """One exported parameter.

    Attributes:
        name: Upper-case identifier (``TMAC_LANES``).
        value: ``bool``, ``int``, ``float`` or ``str``.
        source: Where it comes from in the description (``units[2].lanes``; derived
            figures say so).
    """

    name: str
    value: HdlValue
    source: str


@dataclass(frozen=True)
class Provenance:
    """Where an exported design comes from.

    Attributes:
        study: Study name ('' when not from a study).
        trial: Trial number (-1 when not from a study).
        objectives: ``tokens_per_s``, ``avg_power_w``, ``energy_per_token_j``.
        package_version: mmfree-cosim's version.
        status: The trial's status (``feasible`` or ``infeasible``).
        model: The model it was simulated on.
        params_by_path: The searched parameters of the trial.
        source: The description file it was exported from ('' for a study's trial).
    """

    study: str = ""
    trial: int = -1
    objectives: dict[str, float | None] = field(default_factory=dict)
    package_version: str = __version__
    status: str = ""
    model: str = ""
    params_by_path: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def of_trial(cls, study: Study, trial: FrozenTrial) -> Provenance:
        """Return the provenance of a study's trial."""
        record = TrialRecord.of(trial)
        return cls(
            study=study.study_name,
            trial=record.number,
            objectives={k: record.summary.get(k) for k in OBJECTIVE_FIGURES},
            status=record.status or "",
            model=str(study.user_attrs.get(StudyAttr.MODEL, "")),
            params_by_path=dict(record.params_by_path),
        )

    def lines(self, arch: Arch) -> list[str]:
        """Return the provenance as comment lines (no comment markers, one line each)."""
        out = [
            f"Generated by mmfree-cosim {self.package_version} (cosim export); do not edit.",
            f"design: {arch.spec.name} on {arch.device.id} ({arch.device.part_number}), "
            f"clock {arch.spec.clock_mhz:g} MHz",
        ]
        if self.source:
            out.append(f"description: {self.source}")
        if self.study:
            out.append(f"study: {self.study}, trial {self.trial} ({self.status or 'unknown'})")
        if self.model:
            out.append(f"model: {self.model}")
        o = self.objectives
        if o:
            figs = [
                f"{o['tokens_per_s']:,.2f} tokens/s" if o.get("tokens_per_s") is not None else "",
                f"{o['avg_power_w']:.4g} W" if o.get("avg_power_w") is not None else "",
                f"{o['energy_per_token_j']:.4g} J/token"
                if o.get("energy_per_token_j") is not None
                else "",
            ]
            out.append("objectives: " + ", ".join(f for f in figs if f))
        if self.params_by_path:
            out.append(
                "searched: "
                + ", ".join(f"{k}={json.dumps(v)}" for k, v in self.params_by_path.items())
            )
        return [_printable(line) for line in out]


def _printable(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", " ".join(text.split()))


def core_parameters(
    arch: Arch, *, max_rows: int = _MAX_ROWS, max_cols: int = _MAX_COLS
) -> RtlParams:
    """Return the RTL twin's ``tmac_core`` parameters for one core of ``arch``.

    Args:
        arch: The validated description.
        max_rows: Rows of the largest matvec the core takes (its result store).
        max_cols: Columns of the largest matvec (its activation store).

    Raises:
        RtlUnsupportedError: The RTL does not build this design (the message says why).
    """
    return RtlParams.of_arch(arch, max_rows=max_rows, max_cols=max_cols)


def hdl_parameters(
    arch: Arch, *, max_rows: int = _MAX_ROWS, max_cols: int = _MAX_COLS
) -> list[HdlParam]:
    """Flatten a validated description into HDL parameters, in description order.

    Top level: ``DESIGN_NAME``, ``DEVICE_PART``, ``DEVICE_PART_NUMBER``, ``CLOCK_MHZ``,
    ``CLOCK_HZ``, ``CORES``; then ``<UNIT>_<FIELD>`` for every field of every block
    (nested fields joined by ``_``; unset optional fields left out) and its derived
    figures; then, where the RTL twin builds the design, every ``tmac_core`` parameter
    under its HDL name (:func:`core_parameters`: ``LANES``, ``BEAT_BITS``...). Names are
    unique.

    Args:
        arch: The validated description.
        max_rows: Rows of the largest matvec the RTL core takes (``MAX_ROWS``).
        max_cols: Columns of the largest matvec (``MAX_COLS``).

    Raises:
        ExplorerError: Two parameters would share a name.
    """
    spec = arch.spec
    out: list[HdlParam] = [
        HdlParam("DESIGN_NAME", spec.name, "name"),
        HdlParam("DEVICE_PART", arch.device.id, "device.part"),
        HdlParam("DEVICE_PART_NUMBER", arch.device.part_number, "device catalog part_number"),
        HdlParam("CLOCK_MHZ", float(spec.clock_mhz), "clock_mhz"),
        HdlParam("CLOCK_HZ", round(spec.clock_mhz * 1e6), "clock_mhz (derived, Hz)"),
        HdlParam("CORES", spec.layout.cores, "core_layout cores (derived, 1 without one)"),
    ]

    def add(name: str, value: Any, source: str) -> None:
        if value is None:
            return
        if isinstance(value, SpecModel):
            for sub in type(value).model_fields:
                add(f"{name}_{sub.upper()}", getattr(value, sub), f"{source}.{sub}")
        elif isinstance(value, bool | int | float | str):
            out.append(HdlParam(name, value, source))

    for i, unit in enumerate(spec.units):
        prefix = unit.name.upper()
        for fname in type(unit).model_fields:
            if fname not in ("kind", "name", "sources"):
                add(f"{prefix}_{fname.upper()}", getattr(unit, fname), f"units[{i}].{fname}")
        for prop in _DERIVED.get(type(unit), ()):
            add(f"{prefix}_{prop.upper()}", getattr(unit, prop), f"units[{i}].{prop} (derived)")
    try:
        core = core_parameters(arch, max_rows=max_rows, max_cols=max_cols)
    except RtlUnsupportedError:
        core = None
    for name, value in core.hdl().items() if core is not None else ():
        out.append(HdlParam(name, value, _CORE_SOURCE))
    seen: dict[str, str] = {}
    for p in out:
        if p.name in seen:
            raise ExplorerError(
                f"{arch.filename}: parameter name {p.name} would stand for both {seen[p.name]} "
                f"and {p.source}; rename a unit"
            )
        seen[p.name] = p.source
    return out


def _comment(prefix: str, lines: Sequence[str]) -> str:
    return "".join(f"{prefix} {line}\n" if line else f"{prefix}\n" for line in lines)


def _render_sv(arch: Arch, params: list[HdlParam], prov: Provenance) -> str:
    pkg = hdl_identifier(arch.spec.name, "_pkg")
    width_t = max(len(sv_param_type(p.value)) for p in params)
    width_n = max(len(p.name) for p in params)
    body = "".join(
        f"  localparam {sv_param_type(p.value):<{width_t}} {p.name:<{width_n}} = "
        f"{verilog_literal(p.value)};  // {_printable(p.source)}\n"
        for p in params
    )
    return (
        _comment("//", prov.lines(arch)) + f"\npackage {pkg};\n"
        "  // A design uses some of these; Verilator -Wall would flag the others as unused.\n"
        "  // Strings are untyped (Yosys 0.23 and Icarus 11 refuse string parameters).\n"
        "  /* verilator lint_off UNUSEDPARAM */\n"
        f"{body}"
        "  /* verilator lint_on UNUSEDPARAM */\n"
        f"endpackage : {pkg}\n"
    )


def _render_vh(arch: Arch, params: list[HdlParam], prov: Provenance) -> str:
    guard = hdl_identifier(arch.spec.name, "_params_vh").upper()
    width = max(len(p.name) for p in params)
    body = "".join(f"`define {p.name:<{width}} {verilog_literal(p.value)}\n" for p in params)
    return (
        _comment("//", prov.lines(arch))
        + f"\n`ifndef {guard}\n`define {guard}\n\n{body}\n`endif  // {guard}\n"
    )


def _render_tcl(arch: Arch, params: list[HdlParam], prov: Provenance) -> str:
    width = max(len(p.name) for p in params)
    pairs = "".join(
        f"    {p.name:<{width}} {tcl_word(verilog_literal(p.value))} \\\n" for p in params
    )
    return (
        _comment("#", prov.lines(arch))
        + "#\n# Top-level generics as Verilog literals. Sourced in a Vivado project this sets\n"
        "# the current fileset's generic property; in a Quartus project (quartus_sh -t) it\n"
        "# adds one set_parameter per generic. Elsewhere it only defines cosim_generics.\n\n"
        f"set cosim_generics [dict create \\\n{pairs}]\n\n"
        "if {[llength [info commands current_fileset]] && "
        "[llength [info commands set_property]]} {\n"
        "    # Vivado\n"
        "    set cosim_pairs {}\n"
        '    dict for {name value} $cosim_generics { lappend cosim_pairs "$name=$value" }\n'
        '    set_property generic [join $cosim_pairs " "] [current_fileset]\n'
        "} elseif {[llength [info commands set_parameter]]} {\n"
        "    # Quartus\n"
        "    dict for {name value} $cosim_generics { set_parameter -name $name $value }\n"
        "}\n"
    )


def _render_json(arch: Arch, params: list[HdlParam], prov: Provenance) -> str:
    doc = {
        "format": "mmfree-cosim-design",
        "format_version": 1,
        "provenance": json_safe(asdict(prov)),
        "design": arch.spec.name,
        "device": {"part": arch.device.id, "part_number": arch.device.part_number},
        "parameters": {p.name: p.value for p in params},
        "parameter_sources": {p.name: p.source for p in params},
        "description": arch.spec.model_dump(mode="json"),
    }
    for p in params:
        verilog_literal(p.value)  # the same refusals as the HDL formats
    return json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n"


def _render_yaml(arch: Arch, params: list[HdlParam], prov: Provenance) -> str:
    body = yaml.safe_dump(
        arch.spec.model_dump(mode="json"), sort_keys=False, allow_unicode=False, width=100
    )
    return _comment("#", [*prov.lines(arch), "The resolved architecture description."]) + body


def _core_of(arch: Arch, params: list[HdlParam]) -> RtlParams:
    """The ``tmac_core`` parameters that ``params`` carries (as :func:`hdl_parameters` put them)."""
    by_name = {p.name: p.value for p in params if p.source == _CORE_SOURCE}
    fields = [f.name for f in dataclasses.fields(RtlParams)]
    if not by_name or any(f.upper() not in by_name for f in fields):
        raise ExplorerError(f"{arch.spec.name}: the RTL twin does not build this design")
    return RtlParams(**{f: by_name[f.upper()] for f in fields})  # type: ignore[arg-type]


def _render_top(arch: Arch, params: list[HdlParam], prov: Provenance) -> str:
    return _render_rtl(arch, params, prov)[0][1]


def _render_rtl(arch: Arch, params: list[HdlParam], prov: Provenance) -> list[tuple[str, str]]:
    names = BundleNames(hdl_identifier(arch.spec.name))
    core = _core_of(arch, params)
    package = _render_sv(arch, params, prov)
    return render_bundle(arch, names, core, package, prov.lines(arch))


@dataclass(frozen=True)
class Exporter:
    """One output format.

    Attributes:
        name: The ``--format`` name.
        description: What it writes.
        filename: Design identifier → file name (a bundle's: its main file's).
        render: ``(arch, parameters, provenance) → text`` (a bundle's: its main file's).
        files: A bundle's ``(arch, parameters, provenance) → [(file name, text)]``, its
            main file first (``None``: the format is the one file above).
        shared: Files of the bundle that are the same for every design.
    """

    name: str
    description: str
    filename: Callable[[str], str]
    render: Callable[[Arch, list[HdlParam], Provenance], str]
    files: Callable[[Arch, list[HdlParam], Provenance], list[tuple[str, str]]] | None = None
    shared: frozenset[str] = frozenset()


#: The exporters, by ``--format`` name.
EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter("sv", "SystemVerilog package of localparams", lambda d: f"{d}_pkg.sv", _render_sv),
        Exporter("vh", "Verilog header of defines", lambda d: f"{d}_params.vh", _render_vh),
        Exporter(
            "tcl", "Tcl generics for Vivado and Quartus", lambda d: f"{d}_generics.tcl", _render_tcl
        ),
        Exporter("json", "JSON parameters and description", lambda d: f"{d}.json", _render_json),
        Exporter("yaml", "resolved architecture description", lambda d: f"{d}.yaml", _render_yaml),
        Exporter(
            RTL_FORMAT,
            "RTL bundle: package, top, RTL sources, file list, Yosys/Vivado/Quartus scripts",
            lambda d: BundleNames(d).top_file,
            _render_top,
            files=_render_rtl,
            shared=frozenset(SOURCES),
        ),
    )
}
#: Format names, in order.
FORMATS = tuple(EXPORTERS)


def parse_formats(fmt: str | Sequence[str]) -> list[str]:
    """Return the formats named by ``fmt`` (``"sv"``, ``"sv,json"``, ``"all"``, a list).

    Raises:
        ExplorerError: An unknown name (listing the supported ones).
    """
    names = fmt.split(",") if isinstance(fmt, str) else list(fmt)
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        picked = list(FORMATS) if name == "all" else [name]
        for n in picked:
            if n not in EXPORTERS:
                raise ExplorerError(
                    f"format {raw.strip()!r} is not in supported list: {', '.join(FORMATS)}, all"
                )
            if n not in out:
                out.append(n)
    if not out:
        raise ExplorerError(f"give a format: {', '.join(FORMATS)} or all")
    return out


@dataclass(frozen=True)
class ExportSet:
    """A design rendered in one or more formats, in memory.

    Attributes:
        files: ``(file name, text)`` per file, in format order (a file two formats share,
            such as the package of ``sv`` and ``rtl``, once).
        skipped: ``(format, why)`` per format ``all`` left out (``rtl`` for a design the
            RTL twin does not build).
        shared: Names of files that are the same for every design (the RTL sources).
    """

    files: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...] = ()
    shared: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Exported:
    """What :func:`export_set` wrote.

    Attributes:
        paths: The set's files, in format order (kept unchanged RTL sources included).
        skipped: ``(format, why)`` per format ``all`` left out.
    """

    paths: tuple[Path, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def _named(fmt: str | Sequence[str], name: str) -> bool:
    """Whether ``fmt`` names the format ``name`` itself (not only through ``all``)."""
    names = fmt.split(",") if isinstance(fmt, str) else list(fmt)
    return any(raw.strip().lower() == name for raw in names)


def render_set(
    arch: Arch,
    fmt: str | Sequence[str],
    provenance: Provenance | None = None,
    *,
    max_rows: int = _MAX_ROWS,
    max_cols: int = _MAX_COLS,
) -> ExportSet:
    """Render a validated design in one or more formats, in memory.

    Args:
        arch: The validated description.
        fmt: Format name(s), see :func:`parse_formats`.
        provenance: Where the design comes from (default: no study).
        max_rows: Rows of the largest matvec the RTL core takes (``MAX_ROWS``).
        max_cols: Columns of the largest matvec (``MAX_COLS``).

    Raises:
        ExplorerError: Unknown format, a value no literal can carry, or ``rtl`` named for
            a design the RTL twin does not build (saying why).
    """
    formats = parse_formats(fmt)
    prov = provenance or Provenance()
    skipped: list[tuple[str, str]] = []
    if RTL_FORMAT in formats:
        try:
            core_parameters(arch, max_rows=max_rows, max_cols=max_cols)
        except RtlUnsupportedError as exc:
            why = f"the RTL twin does not build this design: {exc}"
            if _named(fmt, RTL_FORMAT):
                raise ExplorerError(f"cannot export {arch.spec.name} as rtl: {why}") from None
            formats.remove(RTL_FORMAT)
            skipped.append((RTL_FORMAT, why))
    params = hdl_parameters(arch, max_rows=max_rows, max_cols=max_cols)
    ident = hdl_identifier(arch.spec.name)
    rendered: dict[str, str] = {}
    shared: set[str] = set()
    for name in formats:
        exporter = EXPORTERS[name]
        try:
            if exporter.files is not None:
                files = exporter.files(arch, params, prov)
            else:
                files = [(exporter.filename(ident), exporter.render(arch, params, prov))]
        except (TypeError, ValueError) as exc:
            raise ExplorerError(f"cannot export {arch.spec.name} as {name}: {exc}") from None
        for fname, text in files:
            if rendered.setdefault(fname, text) != text:
                raise ExplorerError(f"{fname}: two formats would write it differently")
        shared |= exporter.shared
    return ExportSet(tuple(rendered.items()), tuple(skipped), frozenset(shared))


def render_design(
    arch: Arch,
    fmt: str | Sequence[str],
    provenance: Provenance | None = None,
    *,
    max_rows: int = _MAX_ROWS,
    max_cols: int = _MAX_COLS,
) -> list[tuple[str, str]]:
    """Render a validated design in one or more formats, in memory.

    Args:
        arch: The validated description.
        fmt: Format name(s), see :func:`parse_formats`.
        provenance: Where the design comes from (default: no study).
        max_rows: Rows of the largest matvec the RTL core takes (``MAX_ROWS``).
        max_cols: Columns of the largest matvec (``MAX_COLS``).

    Returns:
        ``(file name, text)`` per file, in format order (see :func:`render_set`, which
        also says which formats ``all`` skipped).

    Raises:
        ExplorerError: Unknown format, a value no literal can carry, or ``rtl`` named for
            a design the RTL twin does not build.
    """
    return list(render_set(arch, fmt, provenance, max_rows=max_rows, max_cols=max_cols).files)


def export_set(
    arch: Arch,
    fmt: str | Sequence[str],
    out_dir: str | Path,
    provenance: Provenance | None = None,
    force: bool = False,
    *,
    max_rows: int = _MAX_ROWS,
    max_cols: int = _MAX_COLS,
) -> Exported:
    """Write a validated design in one or more formats, as one set.

    Everything is rendered first, then every target is checked: a refused value or an
    existing file writes nothing. The set is then written with
    :func:`~explorer._files.write_set`: made aside and swapped in by one rename, so
    ``out_dir`` holds the whole previous output or the whole new one, never part of
    each, however the command is stopped (leftovers of interrupted runs are removed).
    Other files in ``out_dir`` are kept; it may not hold folders. RTL sources the folder
    already holds, unchanged, are kept as they are (they are the same for every design).

    Args:
        arch: The validated description.
        fmt: Format name(s), see :func:`parse_formats`.
        out_dir: The folder (created when missing).
        provenance: Where the design comes from (default: no study).
        force: Replace existing files.
        max_rows: Rows of the largest matvec the RTL core takes (``MAX_ROWS``).
        max_cols: Columns of the largest matvec (``MAX_COLS``).

    Returns:
        The set's files, and the formats ``all`` skipped with the reason.

    Raises:
        ExplorerError: Unknown format, a value no literal can carry, ``rtl`` named for a
            design the RTL twin does not build, files in the way, or an output folder
            that holds folders or is the working folder.
    """
    rendered = render_set(arch, fmt, provenance, max_rows=max_rows, max_cols=max_cols)
    folder = Path(out_dir)
    files = dict(rendered.files)
    if not force:
        for name in rendered.shared & set(files):
            path = folder / name
            if path.is_file() and not path.is_symlink() and _same(path, files[name]):
                del files[name]  # carried over as it is
    write_set(folder, files, force)
    return Exported(tuple(folder / n for n, _ in rendered.files), rendered.skipped)


def _same(path: Path, text: str) -> bool:
    try:
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


def export_design(
    arch: Arch,
    fmt: str | Sequence[str],
    out_dir: str | Path,
    provenance: Provenance | None = None,
    force: bool = False,
    *,
    max_rows: int = _MAX_ROWS,
    max_cols: int = _MAX_COLS,
) -> list[Path]:
    """Write a validated design in one or more formats, as one set (see :func:`export_set`).

    Args:
        arch: The validated description.
        fmt: Format name(s), see :func:`parse_formats`.
        out_dir: The folder (created when missing).
        provenance: Where the design comes from (default: no study).
        force: Replace existing files.
        max_rows: Rows of the largest matvec the RTL core takes (``MAX_ROWS``).
        max_cols: Columns of the largest matvec (``MAX_COLS``).

    Returns:
        The files written, in format order.

    Raises:
        ExplorerError: Unknown format, a value no literal can carry, ``rtl`` named for a
            design the RTL twin does not build, files in the way, or an output folder
            that holds folders or is the working folder.
    """
    written = export_set(
        arch, fmt, out_dir, provenance, force, max_rows=max_rows, max_cols=max_cols
    )
    return list(written.paths)


def design_of_trial(study: Study, trial: FrozenTrial) -> Arch:
    """Return a trial's design, validated again from its stored description.

    The stored description is the base design with the trial's values; its name and
    description are the trial's own (:func:`trial_design_name`: ``<base>-trial<N>``, and
    what the trial changed from the study's base design), so that every export of a
    trial, its file names and its HDL package names say which design it is, and two
    trials' exports never share a name.

    Raises:
        SpecError: The stored description is not a valid design.
        ExplorerError: The trial has no stored description.
    """
    record = TrialRecord.of(trial)
    data = record.design
    if not data:
        raise ExplorerError(f"trial {trial.number} of {study.study_name!r} has no design")
    base = study.user_attrs.get(StudyAttr.BASE_DESIGN)
    own = {
        **data,
        "name": trial_design_name(str(data.get("name") or "design"), record.number),
        "description": trial_description(
            study.study_name, record, base if isinstance(base, dict) else None
        ),
    }
    return validate_arch(Document(own, f"{study.study_name}#trial{trial.number}", {(): 1}))


def trial_design_name(base: str, number: int) -> str:
    """Return the name of trial ``number``'s design: ``<base>-trial<number>``.

    The base name is shortened where the whole would pass a design name's 128 characters.
    """
    suffix = f"-trial{number}"
    return base[: 128 - len(suffix)] + suffix


#: Changes a trial's description lists before it says how many more there are.
_LISTED_CHANGES = 12


def trial_description(study: str, record: TrialRecord, base: dict[str, Any] | None) -> str:
    """Return what a trial's design is: its study, trial, base design and what it changed.

    Args:
        study: The study's name.
        record: The trial (its stored design, and its searched values).
        base: The study's base description (``None`` when the study lacks it: the
            trial's searched values are listed instead).
    """
    design = dict(record.design)
    base_name = str((base or design).get("name") or "design")
    head = f"Trial {record.number} of study {study}: {base_name}"
    if base is None:
        changed = [f"{path} {_shown(v)}" for path, v in sorted(record.params_by_path.items())]
    else:
        changed = [
            f"{path} {_shown(new)} (base {_shown(old)})"
            for path, old, new in _differences(base, design, ())
        ]
    if not changed:
        return f"{head}, unchanged."
    listed = changed[:_LISTED_CHANGES]
    more = len(changed) - len(listed)
    return f"{head} with " + ", ".join(listed) + (f" and {more} more changes." if more else ".")


def _shown(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _differences(old: Any, new: Any, path: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    """Leaves where ``new`` differs from ``old``, named by unit (``wbuf.capacity_kib``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            if not path and key in ("name", "description"):
                continue
            out += _differences(old.get(key), new.get(key), (*path, str(key)))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            named = isinstance(a, dict) and isinstance(b, dict) and a.get("name") == b.get("name")
            if path == ("units",) and named and a.get("name"):
                here: tuple[str, ...] = (str(a["name"]),)
            else:
                here = (*path[:-1], f"{path[-1] if path else ''}[{i}]")
            out += _differences(a, b, here)
        return out
    if old != new or isinstance(old, bool) != isinstance(new, bool):
        return [(".".join(path), old, new)]
    return []
