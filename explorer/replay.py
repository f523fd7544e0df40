"""Replaying a trial: its per-event frame, by simulating its stored design again.

A study stores each trial's summary, not its per-event frame. :class:`Replayer` makes the
frame on demand: the trial's stored design, validated again
(:func:`~explorer.export.design_of_trial`), replayed through :func:`cosim.engine.simulate`
on the study's trace (read from the explorer's trace cache, made there once if it is
missing) with the study's simulator options and seed; the result is the same run the
study measured. Frames are kept for the last few trials asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError
from explorer.records import StudyAttr, TrialRecord
from explorer.storage import default_cache_dir, storage_url

if TYPE_CHECKING:
    import pandas as pd
    from optuna import Study
    from optuna.trial import FrozenTrial

    from workloads.trace import Trace

__all__ = ["NotSimulatedError", "ReplayError", "Replayer"]


class NotSimulatedError(ExplorerError):
    """A trial with nothing to replay: it was never simulated (refused, or failed).

    Attributes:
        number: The trial's number.
        reason: Why it was not simulated (its stored reason; may be empty).
    """

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"trial {number} was not simulated: {reason}")
        self.number = number
        self.reason = reason


class ReplayError(ExplorerError):
    """A trial whose design could not be simulated again.

    Attributes:
        number: The trial's number.
        detail: What was raised, in one line (``SpecError: ...``).
    """

    def __init__(self, number: int, detail: str) -> None:
        super().__init__(f"cannot simulate trial {number} again: {detail}")
        self.number = number
        self.detail = detail


class Replayer:
    """Makes trials' per-event frames by simulating their stored designs again (thread-safe).

    Args:
        cache_dir: The explorer's cache folder (where the studies' traces are kept).
        keep: How many frames to keep.
    """

    def __init__(self, cache_dir: str | Path, keep: int = 6) -> None:
        self.cache_dir = Path(cache_dir)
        self.keep = keep
        self._frames: OrderedDict[tuple[str, int], pd.DataFrame] = OrderedDict()
        self._traces: dict[tuple[str, int, int, int], Trace] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_storage(cls, storage: str | Path | None, keep: int = 6) -> Replayer:
        """Return a replayer using the default cache of a storage (``<db>.cache``)."""
        return cls(default_cache_dir(storage_url(storage)), keep)

    def frame(self, study: Study, trial: FrozenTrial) -> pd.DataFrame:
        """Return a trial's per-event frame (simulated on first request).

        Raises:
            NotSimulatedError: The trial has no simulated result to replay.
            ReplayError: Its design is no longer valid, or the simulation raised.
        """
        key = (str(study.study_name), int(trial.number))
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
            frame = self._simulate(study, trial)
            self._frames[key] = frame
            while len(self._frames) > self.keep:
                self._frames.popitem(last=False)
            return frame

    def _trace(self, attrs: dict[str, Any], study_name: str) -> Trace:
        from explorer.study import StudySettings, ensure_trace

        tokens = attrs.get(StudyAttr.TRACE) or {}
        settings = StudySettings(
            arch_path=str(attrs.get(StudyAttr.ARCH_PATH, "")),
            space_path=str(attrs.get(StudyAttr.SPACE_PATH, "")),
            model=str(attrs.get(StudyAttr.MODEL)),
            storage_url="",
            study_name=study_name,
            seed=int(attrs.get(StudyAttr.SEED) or 0),
            prompt_tokens=int(tokens.get(StudyAttr.PROMPT_TOKENS, 1)),
            gen_tokens=int(tokens.get(StudyAttr.GEN_TOKENS, 2)),
            cache_dir=str(self.cache_dir),
        )
        key = (settings.model, settings.seed, settings.prompt_tokens, settings.gen_tokens)
        if key not in self._traces:
            self._traces[key] = ensure_trace(settings)
        return self._traces[key]

    def _simulate(self, study: Study, trial: FrozenTrial) -> pd.DataFrame:
        from cosim.engine import simulate
        from cosim.fpga import SimOptions
        from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
        from explorer.export import design_of_trial

        record = TrialRecord.of(trial)
        if not record.summary:
            raise NotSimulatedError(record.number, record.reason)
        attrs = dict(study.user_attrs)
        options = attrs.get(StudyAttr.SIM_OPTIONS) or {}
        try:
            arch = design_of_trial(study, trial)
            trace = self._trace(attrs, str(study.study_name))
            workload = workload_from_trace(trace, design_elementwise_bytes(arch))
            result = simulate(
                arch,
                workload,
                options=SimOptions(
                    max_transactions=int(
                        options.get(StudyAttr.MAX_TRANSACTIONS, SimOptions().max_transactions)
                    )
                ),
                seed=int(attrs.get(StudyAttr.SEED) or 0),
            )
        except Exception as exc:  # any failure of the replay is the caller's to show
            raise ReplayError(
                record.number, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            ) from None
        return result.frame
