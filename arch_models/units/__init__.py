"""SimPy unit models, one small class per description ``kind``.

Each has a timing model (cycles and SimPy processes), an energy model (sourced pJ
coefficients) and a resource model. :data:`UNIT_MODELS` is the registry by kind.
"""

from arch_models.units.base import BuildContext, UnitModel
from arch_models.units.buffer import BufferModel
from arch_models.units.control import ControlModel
from arch_models.units.memory import OffChipModel
from arch_models.units.recorder import Recorder
from arch_models.units.ternary import TernaryArrayModel, plan_matvec
from arch_models.units.vector import NormUnitModel, VectorUnitModel

#: Description kind → unit model class.
UNIT_MODELS: dict[str, type[UnitModel]] = {  # type: ignore[type-arg]
    "ternary_array": TernaryArrayModel,
    "vector_unit": VectorUnitModel,
    "norm_unit": NormUnitModel,
    "buffer": BufferModel,
    "ddr4": OffChipModel,
    "hbm": OffChipModel,
    "control": ControlModel,
}

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
]
