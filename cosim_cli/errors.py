"""The errors that mean "bad input", which the command line reports as one clean message.

Every package owns its error classes for input the user can fix; this module, at the top
of the house, gathers them so the CLI prints them (exit code 2) instead of a traceback.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from arch_models.energy import MissingCoefficientError
from arch_models.validation.errors import SpecError
from cosim.errors import ResultsError, SimulationError
from dashboards.errors import DashboardError
from explorer.errors import ExplorerError
from gpubench.errors import BaselineError
from workloads.errors import ModelConfigError, TraceError, WorkloadError

__all__ = ["USER_ERRORS", "CliInputError"]


class CliInputError(ValueError):
    """A command-line argument the user must fix (unwritable path, bad combination...)."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    SpecError,
    CliInputError,
    SimulationError,
    ResultsError,
    MissingCoefficientError,
    TraceError,
    ModelConfigError,
    WorkloadError,
    BaselineError,
    ExplorerError,
    DashboardError,
)
