"""Architecture descriptions: YAML files → validated, frozen, typed specs.

The one load path is ``read_yaml → validate → Arch`` (:func:`load_arch`); every problem
is reported at once as a :class:`SpecError` naming file, line and dotted path.
"""

from arch_models.spec.arch import (
    FORMAT_VERSION,
    Arch,
    ArchSpec,
    DeviceRef,
    load_arch,
    validate_arch,
)
from arch_models.spec.units import UNIT_KINDS
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, format_path, parse_yaml, read_yaml

__all__ = [
    "FORMAT_VERSION",
    "UNIT_KINDS",
    "Arch",
    "ArchSpec",
    "DeviceRef",
    "Document",
    "Problem",
    "SpecError",
    "format_path",
    "load_arch",
    "parse_yaml",
    "read_yaml",
    "validate_arch",
]
