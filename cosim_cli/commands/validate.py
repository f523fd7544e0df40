"""``cosim validate FILE...``: check architecture descriptions and search spaces.

Each file is recognised by its content (:func:`explorer.inputs.input_kind`). A search
space is checked against its design (:func:`explorer.inputs.fit_space`): ``--design``,
else the descriptions among the files given that it fits, else those in its own folder.
Exit code 0 when every file is valid, 2 when any is not; each problem is printed as
``file:line path: message``. ``--json`` prints one object per file instead of tables.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from arch_models.spec import Arch, SpecError, validate_arch
from arch_models.spec.summary import summarize
from arch_models.spec.system import System, validate_system
from arch_models.validation.source import read_yaml
from cosim_cli.console import stderr_console, stdout_console

if TYPE_CHECKING:
    from explorer.space import Space

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``validate`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check architecture descriptions and search spaces (YAML) and summarise them",
        description="Check architecture descriptions and search spaces, each recognised by "
        "its content, and print a summary table of the valid ones. A search space is "
        "checked against its design: --design, else the descriptions among the files "
        "given that it fits, else those in the space's own folder. Every problem is "
        "printed as file:line path: message; exit 2 when any file is invalid.",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="architecture descriptions and search spaces, in any order",
    )
    p.add_argument(
        "--design",
        type=Path,
        metavar="ARCH.yaml",
        help="check every search space against this design only",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate every file; print summary tables and every problem."""
    from explorer.inputs import designs_beside, fit_space, input_kind
    from explorer.space import validate_space

    out = stdout_console()
    err = stderr_console()
    given = _read_design(args.design) if args.design is not None else None
    results: dict[int, dict[str, Any]] = {}
    archs: dict[Path, Arch] = {}  # by resolved path: the candidates for the spaces
    valid: list[Arch] = []
    spaces: dict[int, tuple[Path, Space]] = {}
    for i, path in enumerate(args.files):
        kind: str | None = None
        try:
            doc = read_yaml(path)
            kind = "neither"
            kind = input_kind(doc)
            if kind == "space":
                spaces[i] = (Path(path), validate_space(doc))
                continue
            if kind == "system":
                system = validate_system(doc, Path(path).resolve().parent)
                results[i] = {
                    "file": path,
                    "kind": "system",
                    "valid": True,
                    "summary": _system_summary(system),
                }
                continue
            arch = validate_arch(doc)
        except SpecError as exc:
            results[i] = _refused(path, exc, kind)
            continue
        archs[Path(path).resolve()] = arch
        valid.append(arch)
        results[i] = {"file": path, "kind": "design", "valid": True, "summary": summarize(arch)}
    beside: dict[Path, list[Arch]] = {}

    def candidates(path: Path, space: Space) -> Iterator[Sequence[Arch | System]]:
        if given is not None:
            yield [given]
            return
        if space.spec.design is not None:  # the design the space names, and only it
            yield [_named_design(path, space)]
            return
        yield list(archs.values())
        folder = path.resolve().parent
        if folder not in beside:
            beside[folder] = designs_beside(path, known=archs)
        yield beside[folder]

    fitted: list[tuple[str, Any]] = []
    for i, (path, space) in spaces.items():
        try:
            fit = fit_space(space, candidates(path, space))
        except SpecError as exc:
            results[i] = _refused(str(path), exc, "space")
            continue
        fitted.append((str(path), fit))
        results[i] = {
            "file": str(path),
            "kind": "space",
            "valid": True,
            "summary": _space_summary(fit),
        }
    ordered = [results[i] for i in range(len(args.files))]
    if args.json:
        out.print_json(json.dumps(ordered))
    else:
        for r in ordered:
            if not r["valid"]:
                n = r["count"]
                err.print(
                    f"[red]✗[/] {r['file']}: {n:,} problem{'s' if n != 1 else ''}", markup=True
                )
                for line in r["problems"]:
                    err.print(f"  {line}", markup=False)
        if valid:
            out.print(_table(valid))
        if fitted:
            out.print(_space_table(fitted))
        for r in ordered:
            if r["valid"] and r["kind"] == "system":
                v = r["summary"]
                out.print(
                    f"system {v['name']} ({r['file']}): {len(v['cards'])} cards "
                    f"({', '.join(sorted(set(v['cards'])))}), mapping {v['mapping']}, "
                    f"links {v['card_link']} between cards and {v['host_link']} to the host"
                )
    return 0 if all(r["valid"] for r in ordered) else 2


def _named_design(path: Path, space: Space) -> Arch | System:
    """The design (or system of cards) a space names (``design:``), read beside the space.

    Raises:
        SpecError: The file is missing (at the space's ``design`` line) or invalid.
    """
    from explorer.inputs import load_base

    assert space.spec.design is not None
    target = path.resolve().parent / space.spec.design
    if not target.is_file():
        raise SpecError([space.document.problem(("design",), f"no such file: {space.spec.design}")])
    return load_base(target)


def _system_summary(system: System) -> dict[str, Any]:
    """What a valid system holds: its cards, links and mapping."""
    return {
        "name": system.spec.name,
        "mapping": system.spec.mapping,
        "cards": [f"{a.spec.name} ({a.device.id})" for a in system.cards],
        "card_link": system.card_link.id,
        "host_link": system.host_link.id,
        "sequences_in_flight": system.spec.sequences_in_flight,
    }


def _read_design(path: Path) -> Arch:
    """Read the ``--design`` file (a search space's design must be a valid description)."""
    from cosim_cli.errors import CliInputError
    from explorer.inputs import input_kind

    doc = read_yaml(path)
    kind = input_kind(doc)
    if kind != "design":
        what = {"space": "search space", "system": "system of cards"}.get(kind, kind)
        raise CliInputError(f"--design {path.name} is a {what}, not an architecture description")
    return validate_arch(doc)


def _refused(path: str, exc: SpecError, kind: str | None) -> dict[str, Any]:
    """A refused file as JSON-ready data (``kind`` None: it could not be read)."""
    listed = [str(p) for p in exc.problems]
    if exc.more:
        listed.append(f"... and {exc.more:,} more problems")
    count = len(exc.problems) + exc.more
    return {"file": path, "kind": kind, "valid": False, "problems": listed, "count": count}


def _space_summary(fit: Any) -> dict[str, Any]:
    """A valid space as JSON-ready data: name, size, parameters and its design."""
    space = fit.space
    try:
        size = space.size()
    except ValueError:
        size = None
    return {
        "name": space.spec.name,
        "parameters": len(space.parameters),
        "designs": None if size is None or math.isinf(size) else int(size),
        "continuous": size is not None and math.isinf(size),
        "power_cap_w": space.spec.constraints.power_cap_w,
        "accuracy_bound": space.spec.constraints.accuracy is not None,
        "max_ms_per_token": space.spec.constraints.max_ms_per_token,
        "max_time_to_first_token_ms": space.spec.constraints.max_time_to_first_token_ms,
        "design": fit.design.filename if fit.design else None,
        "design_name": fit.design.spec.name if fit.design else None,
        "fits": [a.filename for a in fit.designs],
    }


def _table(archs: list[Arch]) -> Table:
    table = Table(title="valid architecture descriptions", title_justify="left")
    for col in (
        "file",
        "design",
        "device",
        "clock MHz",
        "cores",
        "off-chip GB/s",
        "adds/cycle",
        "units",
    ):
        table.add_column(
            col,
            justify="right"
            if col in ("clock MHz", "cores", "off-chip GB/s", "adds/cycle")
            else "left",
        )
    for arch in archs:
        s = summarize(arch)
        table.add_row(
            arch.filename,
            s["name"],
            s["device"],
            f"{s['clock_mhz']:g}",
            str(s["cores"]),
            f"{s['offchip_peak_gb_per_s']:g}",
            str(s["ternary_adds_per_cycle"]) if s["ternary_adds_per_cycle"] else "-",
            ", ".join(f"{k}×{v}" if v > 1 else k for k, v in s["unit_kinds"].items()),
        )
    return table


def _space_table(fitted: list[tuple[str, Any]]) -> Table:
    table = Table(title="valid search spaces", title_justify="left")
    for col in ("file", "space", "designs", "parameters", "constraints", "design it varies"):
        table.add_column(col, justify="right" if col in ("designs", "parameters") else "left")
    for path, fit in fitted:
        s = _space_summary(fit)
        if s["continuous"]:
            size = "continuous"
        elif s["designs"] is None:
            size = "?"
        else:
            size = f"{s['designs']:,}"
        limits = [f"≤ {s['power_cap_w']:g} W"] if s["power_cap_w"] else []
        if s["accuracy_bound"]:
            limits.append("accuracy")
        if s["max_ms_per_token"]:
            limits.append(f"≤ {s['max_ms_per_token']:g} ms/token")
        if s["max_time_to_first_token_ms"]:
            limits.append(f"first token ≤ {s['max_time_to_first_token_ms']:g} ms")
        if fit.designs:
            design = ", ".join(f"{a.filename} ({a.spec.name})" for a in fit.designs)
        else:
            design = "none found (give --design ARCH.yaml)"
        table.add_row(
            Path(path).name,
            s["name"],
            size,
            str(s["parameters"]),
            ", ".join(limits) or "-",
            design,
        )
    return table
