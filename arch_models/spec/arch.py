"""The architecture description (format version 1) and its one load path.

``load_arch(path)`` = ``read_yaml → validate fields → resolve the device (catalog entry
plus overrides) → cross-field rules → Arch``. Every problem found at a stage is reported
together in one :class:`SpecError`; cross-field rules run once every field is valid.

A description::

    version: 1
    name: u280-hbm-8core
    device: {part: alveo-u280, overrides: {power: {static_w: {value: 32, source: mine}}}}
    clock_mhz: 250
    references: {mine: "Our bench measurement, 2026"}
    units:
      - {kind: hbm, name: hbm, channels: 16, bandwidth_gb_per_s_per_channel: 14.375}
      - {kind: ternary_array, name: tmac, lanes: 64, rows_parallel: 16}
      ...
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, field_validator

from arch_models.catalog.loader import catalog, catalog_document
from arch_models.catalog.models import Device
from arch_models.spec.units import (
    GPU_KINDS,
    Buffer,
    CoreLayout,
    OffChipMemory,
    TernaryArray,
    Unit,
    UnitBase,
    fpga_kinds,
)
from arch_models.validation.base import SpecModel, validate_document
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, PathT, read_yaml
from arch_models.validation.version import check_format_version
from arch_models.workload import ELEMENTWISE_OPS

__all__ = ["FORMAT_VERSION", "Arch", "ArchSpec", "DeviceRef", "load_arch", "validate_arch"]

FORMAT_VERSION = 1
#: The model's operations an FPGA design runs on vector blocks (all but matvecs and the
#: embedding-row read).
VECTOR_OPS = ELEMENTWISE_OPS | {"norm"}
U = TypeVar("U", bound=UnitBase)

#: Which catalog resource a buffer's memory primitive draws on (first one the device has).
BUFFER_RESOURCE: dict[str, tuple[str, ...]] = {
    "bram": ("bram_36k",),
    "uram": ("uram",),
    "m20k": ("m20k",),
    "lutram": ("lut", "alm"),
}


#: Catalog sections a description may override (figures, not identity).
OVERRIDABLE = ("resources", "gpu", "memory", "clock", "power", "energy", "resource_costs")


class DeviceRef(SpecModel):
    """The device a design targets.

    Attributes:
        part: Catalog id (``cosim devices`` lists them).
        overrides: A partial catalog entry whose figures replace the catalog's; each
            figure needs a source from the description's ``references``.
    """

    part: str
    overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("overrides")
    @classmethod
    def _overridable(cls, v: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(set(v) - set(OVERRIDABLE))
        if bad:
            raise ValueError(
                f"cannot override {', '.join(map(repr, bad))}; overridable: "
                + ", ".join(OVERRIDABLE)
            )
        return v

    @field_validator("part")
    @classmethod
    def _known_part(cls, v: str) -> str:
        parts = sorted(catalog())
        if v not in parts:
            raise ValueError(f"unknown device {v!r}; known: {', '.join(parts)}")
        return v


class ArchSpec(SpecModel):
    """A validated architecture description.

    Attributes:
        version: Format version (1).
        name: The design's name.
        description: Free text.
        device: The target part and any overrides.
        clock_mhz: Core (FPGA fabric) or SM (GPU) clock.
        references: Citations for the ``source`` keys used in this file.
        units: The hardware blocks.
    """

    version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)
    description: str = ""
    device: DeviceRef
    clock_mhz: float = Field(gt=0, le=100_000)
    references: dict[str, str] = Field(default_factory=dict)
    units: list[Unit] = Field(min_length=1, max_length=1024)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        return check_format_version(v, FORMAT_VERSION)

    def units_of(self, kind: type[U]) -> list[U]:
        """Return the blocks of one model class, in file order."""
        return [u for u in self.units if isinstance(u, kind)]

    def unit(self, name: str) -> Unit:
        """Return the block called ``name``.

        Raises:
            KeyError: Listing the names there are.
        """
        for u in self.units:
            if u.name == name:
                return u
        raise KeyError(f"no unit {name!r}; units: {', '.join(u.name for u in self.units)}")

    @property
    def layout(self) -> CoreLayout:
        """Return the core layout (one core splitting rows when none is given)."""
        layouts = self.units_of(CoreLayout)
        if layouts:
            return layouts[0]
        return CoreLayout(kind="core_layout", name="layout", cores=1)


@dataclass(frozen=True)
class Arch:
    """A validated description together with its resolved device.

    Attributes:
        spec: The description.
        device: The catalog entry with the description's overrides applied.
        filename: Where it was read from (for messages).
    """

    spec: ArchSpec
    device: Device
    filename: str

    @property
    def is_gpu(self) -> bool:
        """Return whether the target is a GPU."""
        return self.device.kind == "gpu"


def _deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _deep_merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _paths(data: Any, prefix: PathT = ()) -> Iterator[PathT]:
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


def _resolve_device(
    part: str, overrides: dict[str, Any], refs: dict[str, str], doc: Document
) -> Device:
    """Apply a description's overrides to its catalog entry and validate the result.

    Args:
        part: A known catalog id.
        overrides: The description's ``device.overrides`` (raw data).
        refs: The description's ``references``.
        doc: The description (for file lines of override problems).

    Raises:
        SpecError: An override is invalid (located in the description).
    """
    if not overrides:
        return catalog()[part]
    base_doc = catalog_document(part)
    prefix: PathT = ("device", "overrides")
    merged = _deep_merge(base_doc.data, overrides)
    all_refs = {**base_doc.data.get("references", {}), **refs}
    merged["references"] = all_refs
    lines = {p: doc.line_of((*prefix, *p)) for p in _paths(overrides)}
    lines[()] = doc.line_of(prefix)
    synthetic = Document(merged, doc.filename, lines)
    try:
        return validate_document(Device, synthetic, context={"references": all_refs})
    except SpecError as exc:
        raise SpecError(
            Problem(p.filename, p.line, _prefixed(p.path), p.message) for p in exc.problems
        ) from None


def _prefixed(path: str) -> str:
    return "device.overrides" if path == "<root>" else f"device.overrides.{path}"


def _cross_checks(spec: ArchSpec, device: Device, doc: Document) -> list[Problem]:
    """Rules that relate several fields, the device, or several blocks."""
    problems: list[Problem] = []

    def at(i: int | None, field: str | None, message: str) -> None:
        path: tuple[str | int, ...] = ("units", i) if i is not None else ()
        if field:
            path = (*path, field)
        problems.append(doc.problem(path, message))

    names = Counter(u.name for u in spec.units)
    kinds: Counter[str] = Counter(u.kind for u in spec.units)
    for i, u in enumerate(spec.units):
        if names[u.name] > 1:
            at(i, "name", f"must be unique (got {u.name!r} {names[u.name]} times)")

    # Device kind versus block kinds.
    wrong = GPU_KINDS if device.kind == "fpga" else fpga_kinds()
    needs, is_a = ("a GPU", "an FPGA") if device.kind == "fpga" else ("an FPGA", "a GPU")
    for i, u in enumerate(spec.units):
        if u.kind in wrong:
            at(i, "kind", f"kind {u.kind!r} needs {needs} device; {device.id!r} is {is_a}")

    # Clock within the device's range.
    lo, hi = device.clock.min_mhz.value, device.clock.max_mhz.value
    if not lo <= spec.clock_mhz <= hi:
        problems.append(
            doc.problem(
                ("clock_mhz",),
                f"must be within {device.id}'s clock range {lo:g}..{hi:g} MHz "
                f"(got {spec.clock_mhz:g})",
            )
        )

    # Blocks that must appear exactly once, or at most once.
    once = {"gpu_sms", "gpu_l2", "kernel_launch", "hbm"} if device.kind == "gpu" else set()
    at_most_once = {"core_layout", "control"}
    for kind in sorted(once):
        if kinds[kind] != 1:
            problems.append(
                doc.problem(
                    ("units",),
                    f"a GPU description needs exactly one {kind!r} block (got {kinds[kind]})",
                )
            )
    for kind in sorted(at_most_once):
        if kinds[kind] > 1:
            problems.append(
                doc.problem(("units",), f"at most one {kind!r} block (got {kinds[kind]})")
            )
    if device.kind == "fpga":
        if not kinds["ternary_array"]:
            problems.append(doc.problem(("units",), "an FPGA design needs a 'ternary_array' block"))
        if not (kinds["ddr4"] or kinds["hbm"]):
            problems.append(
                doc.problem(
                    ("units",), "an FPGA design needs an off-chip memory block ('ddr4' or 'hbm')"
                )
            )
        run = set().union(*(u.executes for u in spec.units))
        missing = sorted(VECTOR_OPS - run)
        if missing:
            problems.append(
                doc.problem(
                    ("units",),
                    f"no block runs the model's {', '.join(map(repr, missing))} operations "
                    "(a 'vector_unit' runs them all)",
                )
            )

    # Off-chip channels against the device's memory systems.
    for i, u in enumerate(spec.units):
        if not isinstance(u, OffChipMemory):
            continue
        family = "hbm" if u.kind == "hbm" else "ddr"
        mem = device.memory_of(family)
        if mem is None:
            have = ", ".join(m.kind for m in device.memory)
            at(i, "kind", f"{device.id} has no {family.upper()} (it has {have})")
            continue
        if u.channels > mem.channels.value:
            at(
                i,
                "channels",
                f"must be <= {mem.channels.value}, the {mem.kind} channels "
                f"{device.id} has (got {u.channels})",
            )
        elif u.peak_gb_per_s > mem.bandwidth_gb_per_s.value * 1.0001:
            at(
                i,
                "bandwidth_gb_per_s_per_channel",
                f"{u.channels} channels x {u.bandwidth_gb_per_s_per_channel:g} GB/s = "
                f"{u.peak_gb_per_s:g} GB/s exceeds {device.id}'s {mem.kind} peak "
                f"{mem.bandwidth_gb_per_s.value:g} GB/s",
            )
        if device.kind == "gpu" and u.path_bits_per_cycle is not None:
            at(i, "path_bits_per_cycle", "applies to FPGA designs only")

    # Buffers: primitive present on the device; weight buffers hold at least one tile.
    available = device.resources.available() if device.resources else {}
    arrays = spec.units_of(TernaryArray)
    for i, u in enumerate(spec.units):
        if not isinstance(u, Buffer):
            continue
        if device.kind == "fpga" and not any(r in available for r in BUFFER_RESOURCE[u.memory]):
            have = ", ".join(
                k
                for k in ("bram", "uram", "m20k", "lutram")
                if any(r in available for r in BUFFER_RESOURCE[k])
            )
            at(i, "memory", f"{device.id} has no {u.memory} (it has {have})")
        if u.holds == "weights":
            for a in arrays:
                if u.tile_capacity_bytes < a.tile_bytes:
                    per = "per half (double buffered)" if u.double_buffered else ""
                    at(
                        i,
                        "capacity_kib",
                        f"holds {_kib(u.tile_capacity_bytes)} {per}".replace("  ", " ")
                        + f"; smaller than one weight tile of {a.name!r} "
                        f"({_kib(a.tile_bytes)} = {a.rows_parallel} rows x {a.tile_cols} "
                        f"columns x {a.bits_per_weight:g} bits)",
                    )

    for i, u in enumerate(spec.units):
        if isinstance(u, TernaryArray) and u.activation_bits > u.accumulator_bits:
            at(
                i,
                "accumulator_bits",
                f"must be >= activation_bits ({u.activation_bits}) (got {u.accumulator_bits})",
            )
    return problems


def _kib(n_bytes: float) -> str:
    return f"{n_bytes / 1024:.4g} KiB"


def validate_arch(doc: Document) -> Arch:
    """Validate a parsed description.

    Fields and device overrides are checked together; cross-field rules run once both
    are valid. All problems found are raised together.

    Args:
        doc: The parsed YAML document.

    Returns:
        The validated description and its resolved device.

    Raises:
        SpecError: Listing every problem found.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    refs = data.get("references")
    refs = refs if isinstance(refs, dict) and all(isinstance(v, str) for v in refs.values()) else {}
    problems: list[Problem] = []
    more = 0  # problems found beyond those listed
    spec: ArchSpec | None = None
    device: Device | None = None
    try:
        spec = validate_document(ArchSpec, doc, context={"references": refs})
    except SpecError as exc:
        problems.extend(exc.problems)
        more += exc.more
    raw_device = data.get("device")
    if isinstance(raw_device, dict):
        part, overrides = raw_device.get("part"), raw_device.get("overrides") or {}
        if isinstance(part, str) and part in catalog() and isinstance(overrides, dict):
            try:
                device = _resolve_device(part, overrides, refs, doc)
            except SpecError as exc:
                problems.extend(exc.problems)
                more += exc.more
    if spec is not None and device is not None and not problems:
        problems.extend(_cross_checks(spec, device, doc))
    if problems:
        raise SpecError(problems, more=more)
    assert spec is not None and device is not None
    return Arch(spec=spec, device=device, filename=doc.filename)


def load_arch(path: str | Path) -> Arch:
    """Read and validate an architecture description file.

    Args:
        path: The YAML file.

    Returns:
        The validated description and its resolved device.

    Raises:
        SpecError: The file is unreadable or invalid; lists every problem.
    """
    return validate_arch(read_yaml(path))
