"""Exporting a system trial: every card group's design, and the system file that joins them.

A trial of a system study (its base a system of cards, :mod:`arch_models.spec.system`)
records the system description with each card group's description under
``card_designs`` (:func:`explorer.objective.design_of`). Its export is one set: each card
group's files as :func:`explorer.export.render_set` writes a design's (named
``<system>-trial<N>-card<i>``; its YAML always among them), and
``<system>-trial<N>.system.yaml``, the system description whose cards name those YAML
files, so ``cosim simulate`` on it runs exactly the trial's system again. The set is
written as :func:`explorer.export.export_set` writes one design's: all of it or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from arch_models.spec.arch import Arch, validate_arch
from arch_models.spec.system import SystemSpec
from arch_models.validation.base import validate_document
from arch_models.validation.source import Document
from explorer._files import write_set
from explorer._hdl import hdl_identifier
from explorer.errors import ExplorerError
from explorer.export import Exported, Provenance, render_set, trial_description, trial_design_name
from explorer.objective import CARD_DESIGNS
from explorer.records import StudyAttr, TrialRecord

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

__all__ = ["SystemDesign", "export_system_set", "system_of_trial"]


@dataclass(frozen=True)
class SystemDesign:
    """A system trial's designs.

    Attributes:
        name: The system's name (``<base>-trial<N>``).
        cards: Each card group's validated description, in order.
        system: The system description, its cards naming the groups' YAML files.
    """

    name: str
    cards: tuple[Arch, ...]
    system: dict[str, Any]

    @property
    def filename(self) -> str:
        """The system file's name."""
        return f"{hdl_identifier(self.name)}.system.yaml"


def system_of_trial(study: Study, trial: FrozenTrial) -> SystemDesign | None:
    """Return a system trial's designs, validated again (``None`` for a design's trial).

    Raises:
        SpecError: A stored card description, or the system's, is invalid.
    """
    record = TrialRecord.of(trial)
    data = record.design
    if not data or not isinstance(data.get(CARD_DESIGNS), list):
        return None
    base = study.user_attrs.get(StudyAttr.BASE_DESIGN)
    name = trial_design_name(str(data.get("name") or "system"), record.number)
    where = f"{study.study_name}#trial{trial.number}"
    cards = []
    for i, card in enumerate(data[CARD_DESIGNS]):
        own = {
            **card,
            "name": f"{name[: 128 - 6]}-card{i}",
            "description": f"Card group {i} of {name} (trial {record.number} of study "
            f"{study.study_name}).",
        }
        cards.append(validate_arch(Document(own, f"{where}:card{i}", {(): 1})))
    system = {k: v for k, v in data.items() if k != CARD_DESIGNS}
    system["name"] = name
    system["description"] = trial_description(
        study.study_name, record, base if isinstance(base, dict) else None
    )
    groups = list(system.get("cards") or [])
    if len(groups) != len(cards):
        raise ExplorerError(f"{where}: {len(groups)} card groups but {len(cards)} card designs")
    system["cards"] = [
        {**g, "design": f"{hdl_identifier(c.spec.name)}.yaml"}
        for g, c in zip(groups, cards, strict=True)
    ]
    validate_document(SystemSpec, Document(system, where, {(): 1}))
    return SystemDesign(name, tuple(cards), system)


def export_system_set(
    design: SystemDesign,
    fmt: str | Sequence[str],
    out_dir: str | Path,
    provenance: Provenance | None = None,
    force: bool = False,
    *,
    max_rows: int,
    max_cols: int,
) -> Exported:
    """Write a system trial's cards and its system file as one set.

    Args:
        design: The trial's designs (:func:`system_of_trial`).
        fmt: Format name(s) for each card (the YAML is always written: the system file
            names it).
        out_dir: The folder (created when missing).
        provenance: Where the designs come from.
        force: Replace existing files.
        max_rows: Rows of the largest matvec the RTL core takes.
        max_cols: Columns of the largest matvec.

    Raises:
        ExplorerError: As :func:`explorer.export.export_set`.
    """
    names = [fmt] if isinstance(fmt, str) else list(fmt)
    formats = [*names, "yaml"] if "all" not in names and "yaml" not in names else names
    files: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    for card in design.cards:
        rendered = render_set(card, formats, provenance, max_rows=max_rows, max_cols=max_cols)
        for fname, text in rendered.files:
            if files.setdefault(fname, text) != text:
                raise ExplorerError(f"{fname}: two cards would write it differently")
        skipped += [s for s in rendered.skipped if s not in skipped]
    prov = provenance or Provenance()
    count = sum(int(g.get("count") or 1) for g in design.system.get("cards") or [])
    head = [
        f"Generated by mmfree-cosim {prov.package_version} (cosim export); do not edit.",
        f"system: {design.name}, {count} card(s) in {len(design.cards)} group(s), "
        "each group's files beside this one",
        *(
            line
            for line in prov.lines(design.cards[0])
            if not line.startswith(("Generated by", "design:"))
        ),
    ]
    body = yaml.safe_dump(design.system, sort_keys=False, allow_unicode=False, width=100)
    files[design.filename] = "".join(f"# {line}\n" for line in head) + body
    write_set(Path(out_dir), files, force)
    return Exported(tuple(Path(out_dir) / n for n in files), tuple(skipped))
