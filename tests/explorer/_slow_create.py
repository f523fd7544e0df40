"""``cosim`` with a study's creation slowed down, for the kill tests.

Run as ``python -m tests.explorer._slow_create ARGS...``: every study attribute written
and every trial queued takes ``SLOW_S`` seconds longer (so that a kill at a random
instant lands between two of them); ``creating`` is printed when the study is about to
be created or joined. Then ``cosim ARGS`` runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import optuna

import explorer.study
from cosim_cli.main import main

SLOW_S = 0.02


def _slowed(fn: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_S)
        return fn(*args, **kwargs)

    return slow


def _announced(fn: Callable[..., Any]) -> Callable[..., Any]:
    def announce(*args: Any, **kwargs: Any) -> Any:
        print("creating", flush=True)
        return fn(*args, **kwargs)

    return announce


if __name__ == "__main__":
    for name in ("set_user_attr", "add_trial", "enqueue_trial"):
        setattr(optuna.Study, name, _slowed(getattr(optuna.Study, name)))
    explorer.study._create_or_join = _announced(explorer.study._create_or_join)
    sys.exit(main(sys.argv[1:]))
