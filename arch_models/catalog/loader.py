"""Loading the device catalog: one YAML file per part under ``catalog/data/``.

Entries are validated like descriptions (file:line errors) and cached. User catalogs can
be added with the ``COSIM_CATALOG_PATH`` environment variable (``os.pathsep``-separated
folders); an entry there with the same id replaces the bundled one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel

from arch_models.catalog.models import Device
from arch_models.validation.base import validate_document
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, read_yaml

__all__ = [
    "CATALOG_ENV",
    "catalog",
    "catalog_document",
    "device_from_document",
    "entry_from_document",
    "get_device",
    "known_parts",
    "validated_entries",
]

CATALOG_ENV = "COSIM_CATALOG_PATH"


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


E = TypeVar("E", bound=_Identified)
M = TypeVar("M", bound=BaseModel)


def device_from_document(doc: Document) -> Device:
    """Validate one catalog document into a :class:`Device`.

    Args:
        doc: A parsed catalog file.

    Returns:
        The validated entry.

    Raises:
        SpecError: Listing every problem of the entry.
    """
    return entry_from_document(Device, doc)


def entry_from_document(model: type[M], doc: Document) -> M:
    """Validate a catalog file (device or link) against ``model``, sources checked.

    Every figure's ``source`` must be a key of the file's own ``references``.

    Raises:
        SpecError: Listing every problem of the entry.
    """
    refs = doc.data.get("references") if isinstance(doc.data, dict) else None
    context = {"references": refs if isinstance(refs, dict) else {}}
    return validate_document(model, doc, context=context)


def _catalog_files() -> list[Path]:
    bundled = resources.files("arch_models.catalog") / "data"
    files = sorted(Path(str(bundled)).glob("*.yaml"))
    for folder in filter(None, os.environ.get(CATALOG_ENV, "").split(os.pathsep)):
        files.extend(sorted(Path(folder).glob("*.yaml")))
    return files


def validated_entries(
    files: Iterable[Path], validate: Callable[[Document], E]
) -> dict[str, tuple[E, Document]]:
    """Validate one catalog entry per file; each entry's ``id`` must be its file's name.

    Args:
        files: The entries' YAML files.
        validate: Turns a parsed file into its entry (raising :class:`SpecError`).

    Raises:
        SpecError: Every problem of every file, together.
    """
    entries: dict[str, tuple[E, Document]] = {}
    problems: list[Problem] = []
    for path in files:
        try:
            doc = read_yaml(path)
            entry = validate(doc)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if entry.id != path.stem:
            problems.append(doc.problem(("id",), f"must equal the file name {path.stem!r}"))
            continue
        entries[entry.id] = (entry, doc)
    if problems:
        raise SpecError(problems)
    return entries


@cache
def _load(env_value: str) -> dict[str, tuple[Device, Document]]:
    return validated_entries(_catalog_files(), device_from_document)


def catalog() -> dict[str, Device]:
    """Return every catalog entry by id.

    Raises:
        SpecError: A catalog file is invalid.
    """
    return {k: v[0] for k, v in _load(os.environ.get(CATALOG_ENV, "")).items()}


def catalog_document(part: str) -> Document:
    """Return the parsed catalog file of ``part`` (raw data and lines, for overrides)."""
    return _load(os.environ.get(CATALOG_ENV, ""))[part][1]


def known_parts() -> list[str]:
    """Return the catalog ids, sorted."""
    return sorted(catalog())


def get_device(part: str) -> Device:
    """Return one catalog entry.

    Args:
        part: The catalog id.

    Raises:
        KeyError: With a message listing the known parts.
    """
    entries = catalog()
    if part not in entries:
        raise KeyError(f"{part!r} is not in the catalog; known parts: {', '.join(sorted(entries))}")
    return entries[part]
