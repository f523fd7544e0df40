"""Systems of several FPGA cards: the description format (version 1) and its load path.

A system names its cards (each an architecture description file, relative to the
system's own file, with a count), the links that join them (a card-to-card link and the
host link, by catalog id: :mod:`arch_models.catalog.links`) and how the model is mapped
onto them::

    version: 1
    name: two-u280-layers
    cards:
      - {design: u280_onchip_card.yaml, count: 2}
    links: {card: aurora-64b66b-x4, host: pcie-gen3-x16}
    mapping: layers          # or rows
    sequences_in_flight: 2   # layers only: groups of sequences the pipeline holds

``mapping: layers`` gives each card a contiguous run of layers (the first card also the
embedding, the last the final norm and head); a token's activations cross one
card-to-card link per card boundary. ``mapping: rows`` gives each card a slice of every
matrix's rows; after each matrix-vector product the cards exchange their slices (a ring
all-gather over the card-to-card links) so that each holds the whole vector, and every
card runs the elementwise and norm work on it. Tokens come in and go out over the host
link of the first and the last card.

Every card runs its share as its own description says; within a card the cores split
rows (``core_layout.split: rows``, or one core), since the system takes each card's
share a step at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from arch_models.catalog.links import LinkType, link_catalog
from arch_models.spec.arch import Arch, validate_arch
from arch_models.validation.base import SpecModel, validate_document
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, read_yaml

__all__ = [
    "MAX_CARDS",
    "System",
    "SystemSpec",
    "assemble_system",
    "load_system",
    "validate_system",
]

#: Most cards a system may hold.
MAX_CARDS = 64


class CardGroup(SpecModel):
    """Cards of one design.

    Attributes:
        design: Architecture description file, relative to the system file.
        count: Cards of this design.
    """

    design: str = Field(min_length=1, max_length=1000)
    count: int = Field(default=1, ge=1, le=MAX_CARDS)


class SystemLinks(SpecModel):
    """The links of a system, by link catalog id.

    Attributes:
        card: Between neighbouring cards (a chain for ``layers``, a ring for ``rows``).
        host: Between the host and a card (tokens in to the first, out of the last).
    """

    card: str = "aurora-64b66b-x4"
    host: str = "pcie-gen3-x16"


class SystemSpec(SpecModel):
    """A validated system description.

    Attributes:
        version: Format version (1).
        name: The system's name.
        description: Free text.
        cards: The cards, in order (the first takes tokens in, the last gives them out).
        links: The link types.
        mapping: ``layers`` (a pipeline of layer runs) or ``rows`` (every matrix's rows
            split across cards).
        sequences_in_flight: Groups of sequences the ``layers`` pipeline holds at once
            (each group is the cards' batch); 1 for ``rows``.
        references: Citations for ``source`` keys (figures the system file states).
    """

    version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)
    description: str = ""
    cards: list[CardGroup] = Field(min_length=1, max_length=MAX_CARDS)
    links: SystemLinks = Field(default_factory=SystemLinks)
    mapping: Literal["layers", "rows"]
    sequences_in_flight: int = Field(default=1, ge=1, le=MAX_CARDS)
    references: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _counts(self) -> SystemSpec:
        total = sum(c.count for c in self.cards)
        if total > MAX_CARDS:
            raise ValueError(f"holds {total} cards; at most {MAX_CARDS}")
        if self.mapping == "rows" and self.sequences_in_flight != 1:
            raise ValueError(
                "sequences_in_flight applies to mapping: layers (a rows split runs one "
                "group of sequences on all cards at once); use the cards' batch instead"
            )
        return self


@dataclass(frozen=True)
class System:
    """A validated system with its cards' descriptions and its link types.

    Attributes:
        spec: The description.
        cards: One description per card, in order (a group of ``count`` repeats).
        card_link: The card-to-card link type.
        host_link: The host link type.
        filename: Where it was read from (for messages).
    """

    spec: SystemSpec
    cards: tuple[Arch, ...]
    card_link: LinkType
    host_link: LinkType
    filename: str

    @property
    def groups(self) -> tuple[Arch, ...]:
        """One description per card group (``spec.cards``), in order."""
        starts = [sum(g.count for g in self.spec.cards[:i]) for i in range(len(self.spec.cards))]
        return tuple(self.cards[i] for i in starts)


def _link(doc: Document, field: str, link_id: str, role: str, problems: list[Problem]) -> None:
    links = link_catalog()
    if link_id not in links:
        known = ", ".join(sorted(k for k, v in links.items() if v.role == role))
        problems.append(doc.problem(("links", field), f"unknown link {link_id!r}; known: {known}"))
    elif links[link_id].role != role:
        problems.append(
            doc.problem(
                ("links", field),
                f"{link_id!r} joins a card to its {links[link_id].role}, not to a {role}",
            )
        )


def validate_system(doc: Document, folder: Path) -> System:
    """Validate a parsed system description; its card files are read from ``folder``.

    Raises:
        SpecError: Every problem of the file, or those of a card's description (in that
            card's own file).
    """
    spec = validate_document(SystemSpec, doc)
    problems: list[Problem] = []
    groups: list[Arch | None] = []
    for i, group in enumerate(spec.cards):
        where = ("cards", i, "design")
        path = (folder / group.design).resolve()
        if not path.is_file():
            why = "not a regular file" if path.exists() else "no such file"
            problems.append(doc.problem(where, f"{why}: {group.design}"))
            groups.append(None)
            continue
        card_doc = read_yaml(path)  # its own problems name its own file
        if isinstance(card_doc.data, dict) and "cards" in card_doc.data:
            problems.append(doc.problem(where, f"{group.design} is a system; a card is a design"))
            groups.append(None)
            continue
        groups.append(validate_arch(card_doc))
    return assemble_system(doc, spec, groups, problems)


def assemble_system(
    doc: Document,
    spec: SystemSpec,
    groups: Sequence[Arch | None],
    problems: Sequence[Problem] = (),
) -> System:
    """Check a system's links and cards together and build it.

    Args:
        doc: The system's document (for the line of each problem).
        spec: Its validated description.
        groups: One validated card description per group of ``spec.cards`` (``None``
            where it could not be read: its problem is among ``problems``).
        problems: Problems found already.

    Raises:
        SpecError: Every problem: unknown or misplaced links, GPU cards, cards whose
            cores do not split rows, and ``problems``.
    """
    found = list(problems)
    _link(doc, "card", spec.links.card, "card", found)
    _link(doc, "host", spec.links.host, "host", found)
    cards: list[Arch] = []
    for i, (group, arch) in enumerate(zip(spec.cards, groups, strict=True)):
        where = ("cards", i, "design")
        if arch is None:
            continue
        if arch.is_gpu:
            found.append(doc.problem(where, f"{group.design} describes a GPU, not an FPGA card"))
            continue
        layout = arch.spec.layout
        if layout.cores > 1 and layout.split != "rows":
            found.append(
                doc.problem(
                    where,
                    f"{group.design}: a card in a system splits its share over its cores "
                    f"by rows (core_layout.split: rows, or one core); got split: {layout.split}",
                )
            )
            continue
        cards.extend([arch] * group.count)
    if found:
        raise SpecError(found)
    links = link_catalog()
    return System(spec, tuple(cards), links[spec.links.card], links[spec.links.host], doc.filename)


def load_system(path: str | Path) -> System:
    """Read and validate a system description file.

    Raises:
        SpecError: The file or one of its cards' files is unreadable or invalid.
    """
    return validate_system(read_yaml(path), Path(path).resolve().parent)
