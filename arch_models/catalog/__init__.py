"""A catalog of real devices (FPGAs and GPUs) with datasheet figures, each with a source."""

from arch_models.catalog.loader import catalog, catalog_document, get_device, known_parts
from arch_models.catalog.models import RESOURCE_KINDS, Device, Sourced

__all__ = [
    "RESOURCE_KINDS",
    "Device",
    "Sourced",
    "catalog",
    "catalog_document",
    "get_device",
    "known_parts",
]
