"""The queue of a study's trials: claiming a waiting trial, and a running trial's heartbeat.

A study's trials to run are Optuna *waiting* trials. :class:`Claimer` takes one at a time
by changing its state from WAITING to RUNNING in the storage, a read-check-write that the
storage makes atomic (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite, see :mod:`explorer.storage`), so no two workers run the same trial.
:class:`Heartbeat` records a running trial's heartbeat in a thread, which is how a trial
whose worker died is recognised as stale.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from explorer.storage import record_heartbeat

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = ["Claimer", "Heartbeat"]


class Heartbeat:
    """Records a running trial's heartbeat every ``interval`` seconds in a thread."""

    def __init__(self, storage: BaseStorage, trial_id: int, interval: int) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                record_heartbeat(self.storage, self.trial_id)
            except Exception:  # a missed beat; the next one may get through
                continue

    def __enter__(self) -> Heartbeat:
        record_heartbeat(self.storage, self.trial_id)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


class Claimer:
    """Takes waiting trials one at a time, atomically (WAITING → RUNNING in the storage).

    The waiting list is read once and taken from locally, re-read only when used up (a
    trial another worker took just fails to change state), so a claim costs one small
    transaction rather than a read of every waiting trial. Worker ``spread`` starts at the
    ``spread``-th oldest trial, so parallel workers rarely race for the same one; worker 0
    takes them oldest first.
    """

    def __init__(self, storage: BaseStorage, study_id: int, spread: int = 0) -> None:
        self.storage, self.study_id, self.spread = storage, study_id, spread
        self.numbers: list[int] = []

    def _refresh(self) -> None:
        from optuna.trial import TrialState

        waiting = self.storage.get_all_trials(
            self.study_id, deepcopy=False, states=(TrialState.WAITING,)
        )
        numbers = [t.number for t in waiting]
        k = self.spread % len(numbers) if numbers else 0
        self.numbers = numbers[k:] + numbers[:k]

    def claim(self) -> int | None:
        """Return the id of the trial taken, or ``None`` when none is waiting."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        for _ in range(2):
            while self.numbers:
                number = self.numbers.pop(0)
                trial_id = self.storage.get_trial_id_from_study_id_trial_number(
                    self.study_id, number
                )
                try:
                    # The heartbeat first: a trial that is RUNNING without one would never
                    # go stale if this process died between the two writes.
                    record_heartbeat(self.storage, trial_id)
                    if self.storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                        return int(trial_id)
                except UpdateFinishedTrialError:
                    continue
            self._refresh()
        return None
