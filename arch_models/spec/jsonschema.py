"""JSON Schema of the architecture description format (for editors and other tools).

Generated from the pydantic models, with the catalog's part ids as an enum and the
power-of-two fields constrained, so the schema alone rejects most bad files.
"""

from __future__ import annotations

from typing import Any

from arch_models.catalog.loader import known_parts
from arch_models.spec.arch import FORMAT_VERSION, ArchSpec

__all__ = ["arch_json_schema"]

_POW2_FIELDS = {
    "TernaryArray": ("lanes", "tile_cols"),
    "VectorUnit": ("lut_entries",),
    "OffChipMemory": ("burst_bytes",),
}


def arch_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of format version 1."""
    schema = ArchSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://mmfree-cosim/arch-v{FORMAT_VERSION}.schema.json"
    schema["title"] = f"Ternary-LLM accelerator architecture description, version {FORMAT_VERSION}"
    defs = schema.get("$defs", {})
    defs["DeviceRef"]["properties"]["part"]["enum"] = known_parts()
    for model, fields in _POW2_FIELDS.items():
        props = defs[model]["properties"]
        for name in fields:
            lo = props[name].get("minimum", 1)
            hi = props[name].get("maximum", 1 << 20)
            props[name]["enum"] = [1 << k for k in range(64) if lo <= 1 << k <= hi]
    return schema
