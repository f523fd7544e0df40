"""``cosim`` with every file-system step of a write slowed down, for the kill tests.

Run as ``python -m tests.explorer._slow_export ARGS...``: it imports the command line,
slows ``fsync``, ``link``, ``rename``, ``replace`` and ``rmdir``/``unlink`` by
``SLOW_S`` seconds each (so that a kill at a random instant often lands between two of
them), and runs ``cosim ARGS``, printing ``writing`` when the export starts writing (to
the set's own folder, or to its first file before there was one), and ``swapped`` when the
new set has been exchanged with the old.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import explorer._files
import explorer.export
import safeio.files
from cosim_cli.main import main

SLOW_S = 0.02


def _slowed(fn: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_S)
        return fn(*args, **kwargs)

    return slow


def _announced(fn: Callable[..., Any]) -> Callable[..., Any]:
    said = []

    def announce(*args: Any, **kwargs: Any) -> Any:
        if not said:
            print("writing", flush=True)
            said.append(True)
        return fn(*args, **kwargs)

    return announce


if __name__ == "__main__":
    for name in ("fsync", "link", "rename", "replace", "rmdir", "unlink"):
        setattr(os, name, _slowed(getattr(os, name)))
    # the set is written from its own folder on (after leftovers of killed runs are gone,
    # whose removal would put the swap later in some runs than in others)
    for module, name in ((explorer._files, "_swap_in"), (safeio.files, "atomic_file")):
        if hasattr(module, name):
            setattr(module, name, _announced(getattr(module, name)))
    exchange = explorer._files._exchange

    def exchanged(*args: Any) -> Any:
        done = exchange(*args)
        print("swapped", flush=True)  # the new set is in place from here on
        return done

    explorer._files._exchange = exchanged
    sys.exit(main(sys.argv[1:]))
