"""What a YAML input is, read from its content, and which design a search space belongs to.

Architecture descriptions and search spaces sit side by side (``examples/``), so a tool
that takes "YAML files" tells them apart by their keys (:func:`input_kind`): a mapping
with any of a description's own keys (``device``, ``clock_mhz``, ``units``) is a
description, one with ``cards`` and none of those is a system of cards, one with
``parameters`` (or ``constraints``) and none of those is a search space, and any other
mapping is none of them, which is an error saying so. A search space
names no design: :func:`fit_space` checks it against candidate designs (the one given, or
those found) and reports the ones it fits, or the problems against the closest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from arch_models.spec.arch import Arch, validate_arch
from arch_models.spec.system import System, validate_system
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, read_yaml
from explorer.space import Space

__all__ = [
    "DESIGN_KEYS",
    "MAX_FOLDER_FILES",
    "SPACE_KEYS",
    "SYSTEM_KEYS",
    "InputKind",
    "SpaceFit",
    "designs_beside",
    "fit_space",
    "input_kind",
    "load_base",
]

#: Top-level keys only an architecture description has.
DESIGN_KEYS: tuple[str, ...] = ("device", "clock_mhz", "units")
#: Most files :func:`designs_beside` reads in a folder (a folder of examples has a few).
MAX_FOLDER_FILES = 200
#: Top-level keys only a search space has.
SPACE_KEYS: tuple[str, ...] = ("parameters", "constraints")

#: Top-level keys only a system of cards has.
SYSTEM_KEYS: tuple[str, ...] = ("cards",)

InputKind = Literal["design", "space", "system"]


def load_base(path: str | Path) -> Arch | System:
    """Read the base of a study: an architecture description or a system of cards.

    Raises:
        SpecError: The file is invalid, or is a search space.
    """
    doc = read_yaml(path)
    kind = input_kind(doc)
    if kind == "system":
        return validate_system(doc, Path(path).resolve().parent)
    if kind == "space":
        raise SpecError(
            [doc.problem((), "is a search space; give the design (or system) it varies here")]
        )
    return validate_arch(doc)


def input_kind(doc: Document) -> InputKind:
    """Return what ``doc`` is: an architecture description, a system or a search space.

    Anything that is not a mapping counts as a description, whose validator says what is
    wrong with it (``must be a mapping at the top level``).

    Raises:
        SpecError: A mapping with the keys of neither (one problem at its first line).
    """
    if not isinstance(doc.data, dict) or any(k in doc.data for k in DESIGN_KEYS):
        return "design"
    if any(k in doc.data for k in SYSTEM_KEYS):
        return "system"
    if any(k in doc.data for k in SPACE_KEYS):
        return "space"
    raise SpecError(
        [
            doc.problem(
                (),
                "is neither an architecture description (it has none of "
                f"{', '.join(DESIGN_KEYS)}), a system (it has no {SYSTEM_KEYS[0]}) nor a "
                f"search space (it has no {SPACE_KEYS[0]})",
            )
        ]
    )


@dataclass(frozen=True)
class SpaceFit:
    """A search space and the designs it fits.

    Attributes:
        space: The space, bound to the first design of :attr:`designs` (unbound when none).
        designs: Every candidate design the space fits, in the order given.
        tried: Every candidate design checked, in the order given.
    """

    space: Space
    designs: tuple[Arch | System, ...]
    tried: tuple[Arch | System, ...]

    @property
    def design(self) -> Arch | System | None:
        """Return the design the space belongs to (the first it fits), if any."""
        return self.designs[0] if self.designs else None


def fit_space(space: Space, tiers: Iterable[Sequence[Arch | System]]) -> SpaceFit:
    """Check a space against candidate designs, tier by tier, and keep those it fits.

    The first tier in which the space fits some design gives the answer (so designs the
    user named are preferred to designs found beside the space). With no candidates at all
    the space stands alone (``designs`` empty).

    Args:
        space: The validated, unbound space.
        tiers: Candidate designs, most wanted first (read lazily: a later tier is asked
            for only when the space fits no design of the earlier ones).

    Returns:
        The space bound to the first design it fits, and every design it fits.

    Raises:
        SpecError: It fits none of the candidates: a first problem names them, then the
            problems against the closest one (fewest problems), located in the space.
    """
    tried: list[Arch | System] = []
    failures: list[tuple[Arch | System, tuple[Problem, ...], int]] = []
    for tier in tiers:
        fits: list[tuple[Arch | System, Space]] = []
        for arch in tier:
            if any(arch is t for t in tried):
                continue
            tried.append(arch)
            try:
                fits.append((arch, space.bind(arch)))
            except SpecError as exc:
                failures.append((arch, exc.problems, len(exc.problems) + exc.more))
        if fits:
            return SpaceFit(space=fits[0][1], designs=tuple(a for a, _ in fits), tried=tuple(tried))
    if not tried:
        return SpaceFit(space=space, designs=(), tried=())
    closest, problems, _ = min(failures, key=lambda f: f[2])
    names = ", ".join(_label(a) for a in tried)
    head = (
        f"does not fit the design {names}"
        if len(tried) == 1
        else f"fits none of the designs {names}; the problems against the closest, "
        f"{_label(closest)}, follow"
    )
    raise SpecError([space.document.problem((), head), *problems])


def designs_beside(path: Path, known: Mapping[Path, Arch] | None = None) -> list[Arch]:
    """Return the valid architecture descriptions in the folder of ``path``, by file name.

    Files that cannot be read, are not descriptions or are invalid are passed over (they
    are candidates only); at most :data:`MAX_FOLDER_FILES` YAML files are read.

    Args:
        path: A file (its folder is searched; the file itself is left out).
        known: Designs already read, by resolved path: used instead of reading again.
    """
    known = known or {}
    me = path.resolve()
    found: list[Arch] = []
    try:
        files = sorted(
            f for f in path.parent.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file()
        )
    except OSError:
        return []
    for f in files[:MAX_FOLDER_FILES]:
        real = f.resolve()
        if real == me:
            continue
        if real in known:
            found.append(known[real])
            continue
        try:
            doc = read_yaml(f)
            if input_kind(doc) == "design":
                found.append(validate_arch(doc))
        except SpecError:
            continue
    return found


def _label(arch: Arch | System) -> str:
    """Return how a design is named in messages: ``file (name)``."""
    return f"{arch.filename} ({arch.spec.name})"
