"""The explorer's one error class for input the user can fix.

Raised for an unusable storage URL, a study that does not exist or was created for a
different design, space or model, a trial that cannot be picked or exported, and files
that would be overwritten. The CLI prints it as one clean message (exit 2). A problem in
a search-space file is a :class:`~arch_models.validation.errors.SpecError` instead, like
any other description, with file:line and dotted path.

This module imports nothing from the rest of the project: the command line
(:mod:`cosim_cli.errors`) lists it at start-up, before any command needs the package.
"""

from __future__ import annotations

__all__ = ["ExplorerError"]


class ExplorerError(ValueError):
    """A study, storage, pick or export request that the user must fix."""
