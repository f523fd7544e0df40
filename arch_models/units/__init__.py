"""SimPy unit models, one small class per description ``kind``, and their registry.

Each has a timing model (cycles and SimPy processes), an energy model (sourced pJ
coefficients) and a resource model. :data:`UNIT_MODELS` maps a description kind to its
model; the engine builds a design from it and the resource estimate reads it. A new kind
is one file (its block model, a :class:`~arch_models.spec.units.UnitBase`, and its unit
model, a :class:`UnitModel`) plus one :func:`register_unit_kind` call.
"""

from arch_models.spec.arch import ArchSpec
from arch_models.spec.units import UNIT_KINDS, UnitBase
from arch_models.units.base import BuildContext, UnitModel
from arch_models.units.buffer import BufferModel
from arch_models.units.control import ControlModel
from arch_models.units.memory import OffChipModel
from arch_models.units.recorder import Recorder
from arch_models.units.ternary import TernaryArrayModel, plan_matvec
from arch_models.units.vector import NormUnitModel, VectorUnitModel

#: Description kind → unit model class (kinds without one, such as ``core_layout`` and
#: the GPU blocks, describe structure or are priced by the GPU model).
UNIT_MODELS: dict[str, type[UnitModel]] = {  # type: ignore[type-arg]
    "ternary_array": TernaryArrayModel,
    "vector_unit": VectorUnitModel,
    "norm_unit": NormUnitModel,
    "buffer": BufferModel,
    "ddr4": OffChipModel,
    "hbm": OffChipModel,
    "control": ControlModel,
}


def register_unit_kind(
    kind: str,
    block: type[UnitBase],
    model: type[UnitModel],  # type: ignore[type-arg]
) -> None:
    """Add an FPGA block kind: descriptions may then use it and the engine builds it.

    Args:
        kind: The YAML ``kind`` (the block model's ``kind`` field must accept it).
        block: The block's description model (fields, units in their names, validators).
        model: Its unit model (timing, energy, resources, and what it executes).

    Raises:
        ValueError: The kind is taken.
    """
    if kind in UNIT_KINDS:
        raise ValueError(f"unit kind {kind!r} is already registered")
    UNIT_KINDS[kind] = block
    UNIT_MODELS[kind] = model
    ArchSpec.model_rebuild(force=True)  # the description's block union now has it


__all__ = [
    "UNIT_MODELS",
    "BufferModel",
    "BuildContext",
    "ControlModel",
    "NormUnitModel",
    "OffChipModel",
    "Recorder",
    "TernaryArrayModel",
    "UnitModel",
    "VectorUnitModel",
    "plan_matvec",
    "register_unit_kind",
]
