"""The dashboard's one error class for input the user can fix.

Raised by the command (not by the page) for a port already in use or a host that cannot
be bound. A storage, study, baseline or results folder that cannot be read never raises
out of the app: it becomes a :class:`~dashboards.data.Notice` shown in the page.

This module imports nothing from the rest of the project: the command line
(:mod:`cosim_cli.errors`) lists it at start-up, before any command needs the package.
"""

from __future__ import annotations

__all__ = ["DashboardError"]


class DashboardError(ValueError):
    """A dashboard request that the user must fix (host, port)."""
