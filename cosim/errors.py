"""The engine's errors for input a user can fix.

The engine raises these (never a traceback for bad input); the command line
(:mod:`cosim_cli.errors`) maps them, with every other package's errors, to one clean
message and exit code 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["ResultsError", "SimulationError", "UnsupportedChangeError"]


class SimulationError(ValueError):
    """A design cannot be simulated on this workload (what is missing, and where)."""


class ResultsError(ValueError):
    """A results folder cannot be written or read."""


class UnsupportedChangeError(ValueError):
    """A variant changes something the analytical tier does not model (naming it)."""
