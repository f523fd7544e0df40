"""The ``cosim`` command line: the top of the house, the only code that imports every layer.

Each subcommand (:mod:`cosim_cli.commands`) parses its arguments, calls the public API of
the layer that does the work (``workloads``, ``arch_models``, ``cosim``, ``explorer``,
``dashboards``, ``gpubench``) and prints; :mod:`cosim_cli.errors` maps every package's
"bad input" errors to one message and exit code 2.
"""

from cosim_cli.main import main

__all__ = ["main"]
