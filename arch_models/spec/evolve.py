"""Design variants: a validated description with some fields changed, validated again.

Fields are named by their path in the description (``units[2].lanes``, ``clock_mhz``,
``units[0].channels``), or by unit name (``tmac.lanes``). The variant goes through the
whole validation pipeline, cross-field rules included, so a variant is exactly as
trustworthy as a file; a bad value raises the same located :class:`SpecError`, whose lines
point into the original file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from arch_models.spec.arch import Arch, validate_arch
from arch_models.spec.system import System, SystemSpec, assemble_system
from arch_models.validation.base import validate_document
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document

__all__ = [
    "CARD_PREFIX",
    "evolve",
    "evolve_system",
    "parse_path",
    "resolve_path",
    "system_value_at",
    "value_at",
]

#: Prefix of a system variant's paths that change every card's description.
CARD_PREFIX = "card."

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def parse_path(path: str) -> tuple[str | int, ...]:
    """Parse ``units[2].lanes`` into ``("units", 2, "lanes")``.

    Raises:
        ValueError: The path is malformed.
    """
    parts: list[str | int] = []
    pos = 0
    for segment in path.split("."):
        if not segment:
            raise ValueError(f"malformed path {path!r}")
        for m in _PART.finditer(segment):
            parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        if "".join(str(p) if isinstance(p, str) else f"[{p}]" for p in parts[pos:]) != segment:
            raise ValueError(f"malformed path {path!r}")
        pos = len(parts)
    return tuple(parts)


def resolve_path(arch: Arch, parts: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Map a leading unit name (``tmac.lanes``) onto ``units[i].lanes``."""
    if parts and isinstance(parts[0], str) and parts[0] not in type(arch.spec).model_fields:
        for i, unit in enumerate(arch.spec.units):
            if unit.name == parts[0]:
                return ("units", i, *parts[1:])
    return parts


def value_at(arch: Arch, path: str) -> Any:
    """Return the value a description has at ``path`` (its default where not written).

    Raises:
        ValueError: The path is malformed or names no field.
    """
    node: Any = arch.spec.model_dump(mode="json")
    for part in resolve_path(arch, parse_path(path)):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{arch.filename}: no field {path!r}") from None
    return node


def system_value_at(system: System, path: str) -> Any:
    """Return the value a system has at ``path`` (a field of its own, or ``card.``...).

    A card field is its first card group's (:func:`evolve_system` changes every card's).

    Raises:
        ValueError: The path is malformed or names no field.
    """
    if path.startswith(CARD_PREFIX):
        return value_at(system.groups[0], path[len(CARD_PREFIX) :])
    node: Any = system.spec.model_dump(mode="json")
    for part in parse_path(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{system.filename}: no field {path!r}") from None
    return node


def evolve(arch: Arch, changes: Mapping[str, Any]) -> Arch:
    """Return a validated variant of ``arch`` with ``changes`` applied.

    Args:
        arch: A validated description.
        changes: Path → new value.

    Returns:
        The variant (a new object; ``arch`` is untouched).

    Raises:
        SpecError: A path does not exist or the variant is invalid.
    """
    data: dict[str, Any] = arch.spec.model_dump(mode="json", exclude_unset=True)
    problems = _apply(data, changes, arch.filename, lambda parts: resolve_path(arch, parts))
    if problems:
        raise SpecError(problems)
    return validate_arch(Document(data, arch.filename, {(): 1}))


def _apply(
    data: dict[str, Any],
    changes: Mapping[str, Any],
    filename: str,
    resolve: Callable[[tuple[str | int, ...]], tuple[str | int, ...]],
) -> list[Problem]:
    """Set each path of ``changes`` in ``data`` (in place); return what could not be set."""
    problems: list[Problem] = []
    for path, value in changes.items():
        try:
            parts = resolve(parse_path(path))
        except ValueError as exc:
            problems.append(Problem(filename, 0, path, str(exc)))
            continue
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                where = ".".join(map(str, parts[: i + 1]))
                problems.append(Problem(filename, 0, path, f"no such field ({where})"))
                node = None
                break
        if node is None:
            continue
        if isinstance(node, list) and not (isinstance(parts[-1], int) and parts[-1] < len(node)):
            problems.append(Problem(filename, 0, path, "no such list item"))
            continue
        node[parts[-1]] = value
    return problems


def evolve_system(system: System, changes: Mapping[str, Any]) -> System:
    """Return a validated variant of a system with ``changes`` applied.

    A path names a field of the system description (``cards[0].count``, ``links.card``,
    ``mapping``, ``sequences_in_flight``), or, after :data:`CARD_PREFIX`, a field of every
    card's description (``card.tmac.lanes``, ``card.layout.batch``: the cards of a system
    run the same step, so their batch and their variants change together).

    Raises:
        SpecError: A path does not exist, or the variant (system or a card) is invalid.
    """
    own = {k: v for k, v in changes.items() if not k.startswith(CARD_PREFIX)}
    cards = {k[len(CARD_PREFIX) :]: v for k, v in changes.items() if k.startswith(CARD_PREFIX)}
    data: dict[str, Any] = system.spec.model_dump(mode="json", exclude_unset=True)
    problems = _apply(data, own, system.filename, lambda parts: parts)
    if problems:
        raise SpecError(problems)
    doc = Document(data, system.filename, {(): 1})
    spec = validate_document(SystemSpec, doc)
    old = system.groups
    if len(spec.cards) != len(old):
        raise SpecError([Problem(system.filename, 0, "cards", "a variant keeps the card groups")])
    groups = [evolve(arch, cards) if cards else arch for arch in old]
    return assemble_system(doc, spec, groups)
