"""A process that takes every waiting trial it can (imports only the queue and storage)."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from explorer._queue import Claimer
from explorer.storage import open_storage


def take_all(url: str, name: str, index: int, queue: Any) -> None:
    """Claim waiting trials until none is left; put the ids taken on ``queue``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url, heartbeat_interval=60, grace_period=120)
    study_id = storage.get_study_id_from_name(name)
    got = []
    claimer = Claimer(storage, study_id, index % 2)  # two of them race head to head
    while (trial_id := claimer.claim()) is not None:
        got.append(trial_id)
        storage.set_trial_state_values(trial_id, state=TrialState.FAIL)  # done with it
    queue.put(got)
