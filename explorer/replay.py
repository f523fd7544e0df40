"""Replaying a trial: its per-event frame, by simulating its stored design again.

A study stores each trial's summary, not its per-event frame. :class:`Replayer` makes the
frame on demand: the trial's stored design, validated again
(:func:`~explorer.export.design_of_trial`), replayed through :func:`cosim.engine.simulate`
on the study's trace with the study's simulator options and seed; the result is the same
run the study measured. Frames and traces are kept for the last few asked for.

A replayer is a viewer's: it never writes, and it treats what a study stores as data,
never as a path to open. The trace is read from the explorer's trace cache (where the
study's own run left it, under a name made from the stored fields, never a path taken
from them), or else made in memory, only for a built-in model or a model configuration
named by whoever started the viewer (``model_files``); for anything else the replay is
refused (:class:`ReplayError`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError
from explorer.records import StudyAttr, TrialRecord
from explorer.storage import default_cache_dir, storage_url

if TYPE_CHECKING:
    import pandas as pd
    from optuna import Study
    from optuna.trial import FrozenTrial

    from workloads.config import ModelConfig
    from workloads.trace import Trace

__all__ = ["MAX_REPLAY_TOKENS", "NotSimulatedError", "ReplayError", "Replayer"]

#: Most prompt or generated tokens a replay makes a trace of (a stored count is data).
MAX_REPLAY_TOKENS = 4096


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
        cache_dir: The explorer's cache folder (where the studies' traces are kept); only
            read.
        keep: How many frames (and traces) to keep.
        model_files: Model configurations (``config.json`` files or checkpoint folders)
            that a study's ``model`` may name, as given on the command line; a study
            whose model is neither one of these nor a built-in model is not replayed
            unless its trace is in the cache.
    """

    def __init__(
        self, cache_dir: str | Path, keep: int = 6, model_files: Iterable[str | Path] = ()
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.keep = keep
        self.model_files: dict[str, Path] = {}
        for f in model_files:
            path = Path(f).expanduser().resolve()
            self.model_files[str(f)] = path
            self.model_files[str(path)] = path
        self._frames: OrderedDict[tuple[str, int], pd.DataFrame] = OrderedDict()
        self._traces: OrderedDict[tuple[str, int, int, int], Trace] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def for_storage(
        cls, storage: str | Path | None, keep: int = 6, model_files: Iterable[str | Path] = ()
    ) -> Replayer:
        """Return a replayer using the default cache of a storage (``<db>.cache``)."""
        return cls(default_cache_dir(storage_url(storage)), keep, model_files)

    def frame(self, study: Study, trial: FrozenTrial) -> pd.DataFrame:
        """Return a trial's per-event frame (simulated on first request).

        Raises:
            NotSimulatedError: The trial has no simulated result to replay.
            ReplayError: Its design is no longer valid, its model is not one this
                replayer may load, or the simulation raised.
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

    def _trace(self, attrs: dict[str, Any], number: int) -> Trace:
        """The study's trace: from the cache, else made in memory from an allowed model."""
        from explorer._files import safe_name
        from workloads.config import BUILTIN_CONFIGS
        from workloads.errors import TraceError
        from workloads.trace import generate_trace, read_trace

        model = attrs.get(StudyAttr.MODEL)
        tokens = attrs.get(StudyAttr.TRACE)
        tokens = tokens if isinstance(tokens, dict) else {}
        seed = attrs.get(StudyAttr.SEED, 0)
        prompt = tokens.get(StudyAttr.PROMPT_TOKENS, 1)
        gen = tokens.get(StudyAttr.GEN_TOKENS, 2)
        counts = (seed, prompt, gen)
        if not isinstance(model, str) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in counts
        ):
            raise ReplayError(number, "the study's model, seed or token counts are malformed")
        if not (0 <= prompt <= MAX_REPLAY_TOKENS and 1 <= gen <= MAX_REPLAY_TOKENS):
            raise ReplayError(
                number, f"its trace ({prompt} + {gen} tokens) is longer than a replay makes"
            )
        key = (model, seed, prompt, gen)
        if key in self._traces:
            self._traces.move_to_end(key)
            return self._traces[key]
        cached = self.cache_dir / "traces" / f"{safe_name(model)}-seed{seed}-p{prompt}-g{gen}"
        trace: Trace | None = None
        if (cached / "manifest.json").is_file():
            try:
                trace = read_trace(cached)
            except (TraceError, OSError, ValueError):
                trace = None  # an old or damaged cache entry: made again, in memory
        if trace is None:
            source: ModelConfig | Path
            if model.lower() in BUILTIN_CONFIGS:  # the configuration itself: no file looked at
                source = BUILTIN_CONFIGS[model.lower()]
            elif model in self.model_files:
                source = self.model_files[model]
            else:
                raise ReplayError(
                    number,
                    f"its study's model {model[:80]!r} is not a built-in model "
                    f"({', '.join(BUILTIN_CONFIGS)}) and its trace is not in {cached.parent}; "
                    "give its configuration with --model-config to replay it",
                )
            try:
                trace = generate_trace(source, prompt_tokens=prompt, gen_tokens=gen, seed=seed)
            except Exception as exc:  # the configuration given cannot make the trace
                raise ReplayError(number, f"{type(exc).__name__}: {_one_line(exc)}") from None
        self._traces[key] = trace
        while len(self._traces) > self.keep:
            self._traces.popitem(last=False)
        return trace

    def _simulate(self, study: Study, trial: FrozenTrial) -> pd.DataFrame:
        from cosim.engine import simulate
        from cosim.fpga import SimOptions
        from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
        from explorer.export import design_of_trial
        from explorer.objective import CARD_DESIGNS

        record = TrialRecord.of(trial)
        if not record.summary:
            raise NotSimulatedError(record.number, record.reason)
        if isinstance(record.design.get(CARD_DESIGNS), list):
            raise ReplayError(
                record.number,
                "it is a system of cards, whose timeline is not replayed (its cards' and "
                "links' figures are in the Design view)",
            )
        attrs = dict(study.user_attrs)
        options = attrs.get(StudyAttr.SIM_OPTIONS) or {}
        trace = self._trace(attrs, record.number)
        try:
            arch = design_of_trial(study, trial)
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
            raise ReplayError(record.number, f"{type(exc).__name__}: {_one_line(exc)}") from None
        return result.frame


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
