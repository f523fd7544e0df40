"""Reading and validating YAML descriptions: located problems, one error for all of them.

Shared by architecture descriptions, the device catalog and search spaces:
:func:`read_yaml` keeps the line of every value, :class:`SpecModel` is the strict frozen
base model, :func:`validate_document` turns pydantic errors into :class:`Problem` lines;
:func:`check_format_version` checks every format's ``version`` field.
"""

from arch_models.validation.base import (
    SpecModel,
    describe_value,
    is_power_of_two,
    validate_document,
)
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, format_path, parse_yaml, read_yaml
from arch_models.validation.version import check_format_version

__all__ = [
    "Document",
    "Problem",
    "SpecError",
    "SpecModel",
    "check_format_version",
    "describe_value",
    "format_path",
    "is_power_of_two",
    "parse_yaml",
    "read_yaml",
    "validate_document",
]
