"""The queue of a study's trials: planning designs, claiming a trial, its heartbeat.

A study's trials to run are Optuna *waiting* trials. A trial queued by raising the target
is a *placeholder* (no design yet); :class:`Planner` gives placeholders their designs, a
batch at a time, and only then may workers take them. :class:`Claimer` takes one planned
trial at a time by changing its state from WAITING to RUNNING in the storage, a
read-check-write that the storage makes atomic (``SELECT ... FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite, see :mod:`explorer.storage`), so no two workers run the
same trial. :class:`Heartbeat` records a running trial's heartbeat in a thread, which is
how a trial whose worker died is recognised as stale.

Planning is what makes a study reproducible whatever the number of workers and machines.
Every trial has a *position*: its rank among the study's trials, a retry taking the
position of the trial it retries. Positions form batches of the study's population size
(NSGA-II's generation). A batch is planned, in position order and under the study's lock,
only once every trial of the batches before it has finished, each design drawn by a
sampler seeded from the study's seed and the position (the first two positions take the
space's corners, :func:`explorer._sampling.corner`). So what a trial is given depends
only on the seed, its position and the designs and results before its batch, never on
which worker asks first or when; the simulator being deterministic, two runs of a study
with the same settings give the same trials, with one worker or many. A worker that dies
breaks this: its trial's retry runs later than the trial would have.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from explorer.records import StudyAttr, SystemAttr
from explorer.storage import record_heartbeat, study_lock

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

    from explorer.space import Space

__all__ = ["Claimer", "Heartbeat", "Planner", "planned", "position_seed", "positions"]


def planned(trial: FrozenTrial) -> bool:
    """Return whether a trial has its whole design (planned, fixed by the grid, a retry's).

    Parameters alone do not say so: the planner writes them one at a time, and a worker
    that took a trial half-planned would complete its design with its own sampler (and the
    planner would then write to a trial already run). The planner's marker comes last;
    a grid's fixed parameters and a retry's copied ones are written with the trial.
    """
    attrs = trial.system_attrs
    if SystemAttr.PLANNED in attrs or SystemAttr.FIXED_PARAMS in attrs:
        return True
    return bool(trial.params) and SystemAttr.FAILED_TRIAL in attrs


def positions(trials: Iterable[FrozenTrial]) -> dict[int, int]:
    """Return every trial's position: number → rank among the trials that are not retries.

    A retry (a trial whose worker died, queued again) takes its original's position.
    """
    out: dict[int, int] = {}
    rank = 0
    for t in sorted(trials, key=lambda t: t.number):
        original = t.system_attrs.get(SystemAttr.FAILED_TRIAL)
        if isinstance(original, int) and original in out:
            out[t.number] = out[original]
        else:
            out[t.number] = rank
            rank += 1
    return out


def position_seed(seed: int, position: int) -> int:
    """Return the sampler's seed for the trial at ``position`` of a study seeded ``seed``."""
    import numpy as np

    return int(np.random.SeedSequence([seed, position]).generate_state(1)[0])


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
    """Takes planned waiting trials one at a time, atomically (WAITING → RUNNING).

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
        numbers = [t.number for t in waiting if planned(t)]
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


class Planner:
    """Gives a study's placeholders their designs, one batch at a time (see the module).

    Args:
        space: The study's search space (bound).
        sampler: The sampler's name (``nsga2``, ``tpe``, ``random``).
        seed: The study's seed.
        batch: Positions per batch (the study's population size).
        storage_url: The storage's URL (for the study's lock).
    """

    def __init__(self, space: Space, sampler: str, seed: int, batch: int, storage_url: str) -> None:
        self.space, self.sampler, self.seed = space, sampler, seed
        self.batch = max(1, batch)
        self.storage_url = storage_url

    def _due(self, trials: list[FrozenTrial]) -> list[tuple[int, FrozenTrial]]:
        """The placeholders of the next batch, by position, if every batch before is done."""
        from optuna.trial import TrialState

        pos = positions(trials)
        waiting = [t for t in trials if t.state == TrialState.WAITING and not planned(t)]
        if not waiting:
            return []
        first = min(pos[t.number] for t in waiting) // self.batch * self.batch
        if any(not t.state.is_finished() and pos[t.number] < first for t in trials):
            return []  # an earlier batch is still running: its results are not all in
        due = [(pos[t.number], t) for t in waiting if pos[t.number] < first + self.batch]
        return sorted(due, key=lambda pair: pair[0])

    def plan(self, storage: BaseStorage, study_id: int, study_name: str) -> int:
        """Plan the next batch if it is due; return how many trials were given a design.

        Args:
            storage: The study's storage (as the workers use it).
            study_id: The study's id in it.
            study_name: The study's name.
        """
        import optuna

        from explorer._sampling import CORNERS, FixedSampler, corner, make_sampler

        if not self._due(storage.get_all_trials(study_id, deepcopy=False)):
            return 0
        done = 0
        with study_lock(self.storage_url, study_name):
            attrs = storage.get_study_user_attrs(study_id)
            population = int(attrs.get(StudyAttr.POPULATION_SIZE) or self.batch)
            for position, placeholder in self._due(storage.get_all_trials(study_id)):
                sampler = make_sampler(
                    self.sampler,
                    seed=position_seed(self.seed, position),
                    space=self.space,
                    population_size=population,
                )
                if position < CORNERS and self.sampler != "grid":  # the space's corners first
                    sampler = FixedSampler(corner(self.space, position), sampler)
                view = optuna.Study(study_name=study_name, storage=storage, sampler=sampler)
                trial_id = storage.get_trial_id_from_study_id_trial_number(
                    study_id, placeholder.number
                )
                self.space.suggest(optuna.Trial(view, trial_id))
                storage.set_trial_system_attr(trial_id, SystemAttr.PLANNED, True)
                done += 1
        return done
