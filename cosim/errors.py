"""The exceptions that mean "bad input", which the CLI reports as one clean message.

Every package raises its own error class for input the user can fix; this module
gathers them so the CLI prints them (exit code 2) instead of a traceback. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

from arch_models.energy import MissingCoefficientError
from arch_models.validation.errors import SpecError
from cosim.baseline.errors import BaselineError
from dashboards.errors import DashboardError
from explorer.errors import ExplorerError
from workloads.errors import ModelConfigError, TraceError, WorkloadError

__all__ = ["USER_ERRORS", "CliInputError", "ResultsError", "SimulationError"]


class CliInputError(ValueError):
    """A command-line argument the user must fix (unwritable path, bad combination...)."""


class SimulationError(ValueError):
    """A design cannot be simulated on this workload (what is missing, and where)."""


class ResultsError(ValueError):
    """A results folder cannot be written or read."""


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
