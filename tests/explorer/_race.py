"""Processes that race: taking every waiting trial they can, raising a study's target."""

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


def raise_target(
    url: str, name: str, arch_path: str, space_path: str, target: int, barrier: Any, queue: Any
) -> None:
    """Join study ``name`` asking for ``target`` trials, all processes at the same instant."""
    from arch_models.spec import load_arch
    from explorer.space import load_space
    from explorer.study import StudySettings, _create_or_join, _metadata

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = StudySettings(
        arch_path=arch_path, space_path=space_path, model="tiny", storage_url=url, study_name=name
    )
    arch = load_arch(arch_path)
    meta = _metadata(settings, arch, load_space(space_path, arch), 8)
    storage = open_storage(url, heartbeat_interval=60, grace_period=120)
    barrier.wait(timeout=120)
    try:
        _create_or_join(storage, settings, meta, target)
    except Exception as exc:  # reported to the test, which shows it
        queue.put(f"{type(exc).__name__}: {exc}")
        return
    queue.put("ok")
