"""The errors that mean "bad input", which the command line reports as one clean message.

Every package owns its error classes for input the user can fix; this module, at the top
of the house, gathers them so the CLI prints them (exit code 2) instead of a traceback.
The RTL twin's are here too: a design it cannot build, and its tools (Verilator) missing
or failing, whose message says what to install or what the tool said. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

from arch_models.energy import MissingCoefficientError
from arch_models.rtl import RtlToolError, RtlUnsupportedError
from arch_models.validation.errors import SpecError
from cosim.errors import ResultsError, SimulationError
from dashboards.errors import DashboardError
from explorer.errors import ExplorerError
from gpubench.errors import BaselineError
from workloads.errors import ModelConfigError, TraceError, WorkloadError

__all__ = ["OPTIONAL_PACKAGES", "USER_ERRORS", "CliInputError", "missing_package_message"]


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
    RtlUnsupportedError,
    RtlToolError,
)


#: Optional packages → the extra of ``mmfree-cosim`` that installs them.
OPTIONAL_PACKAGES: dict[str, str] = {
    "torch": "gpu",
    "triton": "gpu",
    "pynvml": "gpu",
    "psycopg": "postgres",
    "psycopg2": "postgres",
}


def missing_package_message(exc: ModuleNotFoundError) -> str | None:
    """Say what to install for a missing optional package (``None`` for any other module)."""
    top = (exc.name or "").split(".")[0]
    extra = OPTIONAL_PACKAGES.get(top)
    if extra is None:
        return None
    return (
        f"this needs the optional package {top!r}, which is not installed: "
        f"pip install 'mmfree-cosim[{extra}]'"
    )
