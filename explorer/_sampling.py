"""Samplers of a study: Optuna's, by name, each drawing designs not tried before.

:func:`make_sampler` returns NSGA-II (default), TPE, random or grid sampling. A grid study
queues every distinct design (conditions respected) as a trial with fixed parameters, so
it needs no drawing. The others are wrapped in :class:`DistinctSampler`, which changes two
things and leaves the choosing to the inner sampler (NSGA-II's selection, crossover and
mutation, TPE's densities):

- a design (the values of the parameters active in it) that the study has already run,
  is running or has queued is drawn again, up to :data:`ATTEMPTS` times (the second half
  at random, should the inner sampler insist), so a small discrete space does not spend
  trials on repeats (the "eliminate duplicates" of genetic algorithms): the simulator is
  deterministic, a repeat teaches nothing;
- where the inner sampler draws a whole design at random (NSGA-II's first generation,
  the random sampler), the farthest of :data:`CANDIDATES` random draws from every design
  seen is taken: a space-filling start (maximin), which reaches the corners of the space,
  where the extreme designs of the front lie, sooner. TPE's draws come from its model and
  are taken as they are.

The planner gives a study's first :data:`CORNERS` positions the space's two corners
(:func:`corner`: every parameter at its first value, then at its last) through
:class:`FixedSampler`, whatever the sampler (not the grid, which runs every design).

Constraints: workers store each trial's constraint values in its ``constraints`` system
attribute before telling Optuna the result. Optuna 5's samplers read them from there;
older ones are given a ``constraints_func`` that returns them.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from explorer.errors import ExplorerError
from explorer.objective import CONSTRAINTS
from explorer.records import SystemAttr
from explorer.space import Parameter, Space, active

__all__ = [
    "ATTEMPTS",
    "CANDIDATES",
    "CORNERS",
    "SAMPLERS",
    "DistinctSampler",
    "FixedSampler",
    "corner",
    "make_sampler",
]

#: Sampler names accepted by ``--sampler``.
SAMPLERS = ("nsga2", "tpe", "random", "grid", "two-tier")
#: Draws per trial before a repeated design is accepted (the space may be exhausted).
ATTEMPTS = 32
#: Random draws compared for the one farthest from the designs seen.
CANDIDATES = 8
#: A study's first positions that take the space's corners (:func:`corner`).
CORNERS = 2


def corner(space: Space, which: int) -> dict[str, Any]:
    """Return a corner of the space: every parameter at its first value, or its last.

    ``which`` 0 takes each parameter's first choice (a range's ``low``), 1 its last (its
    ``high``): spaces list their choices in order, so these are the smallest and the
    largest design, where the ends of a front often lie (the fastest design of the D5005
    space is its last corner). Keys are the space's; a conditional parameter is in the
    corner only where its condition holds there.
    """
    chosen: dict[str, Any] = {}
    for key, param in space.parameters.items():
        if not active(param, chosen):
            continue
        if param.choices is not None:
            chosen[key] = param.choices[-1 if which else 0]
        else:
            values = param.domain()
            if values is not None:
                chosen[key] = values[-1 if which else 0]
            else:
                chosen[key] = param.high if which else param.low
    return chosen


class FixedSampler(BaseSampler):
    """Gives a trial the values of a given design (the rest, if any, from ``fallback``).

    The planner gives a study's first positions the space's corners through it: the
    trial's parameters are then written as any sampled ones are.
    """

    def __init__(self, values: dict[str, Any], fallback: BaseSampler) -> None:
        self.values, self.fallback = values, fallback

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if param_name in self.values:
            return self.values[param_name]
        return self.fallback.sample_independent(study, trial, param_name, param_distribution)


def _constraints_of(trial: FrozenTrial) -> list[float]:
    """Optuna 4's ``constraints_func``: the values the worker stored before telling."""
    stored = trial.system_attrs.get(SystemAttr.CONSTRAINTS)
    return [float(c) for c in stored] if stored else [1e6] * len(CONSTRAINTS)


class DistinctSampler(BaseSampler):
    """Wraps a sampler so that each trial gets a design the study has not seen.

    The whole design is drawn in :meth:`sample_relative`: the inner sampler's relative
    parameters (NSGA-II's offspring, for instance), the rest from its independent sampling,
    conditional parameters only where their condition holds; repeated while the design
    equals one the study has run, is running or has queued.

    Args:
        inner: The sampler that chooses.
        space: The search space (its parameters and conditions).
        attempts: Draws before a repeat is accepted.
        candidates: Random whole-design draws compared for the farthest from the designs
            seen (1 for TPE, whose draws are not random).
        seed: Seed of the random draws that replace repeats the inner sampler insists on.
    """

    def __init__(
        self,
        inner: BaseSampler,
        space: Space,
        attempts: int = ATTEMPTS,
        candidates: int = CANDIDATES,
        seed: int | None = None,
    ) -> None:
        self.inner, self.space = inner, space
        # Not the inner sampler's seed: its own random draws would be repeated.
        self._random = optuna.samplers.RandomSampler(
            seed=None if seed is None else (seed * 7919 + 1) % 2**32
        )
        self.attempts = attempts
        # Only where the inner sampler's independent draws are random (NSGA-II's first
        # generation and mutations, the random sampler); TPE's are its model's choice.
        self.candidates = 1 if isinstance(inner, optuna.samplers.TPESampler) else candidates
        self._dists = {k: p.distribution() for k, p in space.parameters.items()}
        self._spans = {k: _span(p) for k, p in space.parameters.items()}

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._dists)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if trial.params:
            return {}  # a retried or re-queued trial keeps its design
        seen = {
            _key(t.params)
            for t in study.get_trials(deepcopy=False)
            if t.params and t.number != trial.number
        }
        inner_space = self.inner.infer_relative_search_space(study, trial)
        seen_designs = [json.loads(k) for k in seen]
        best: dict[str, Any] = {}
        best_gap = -1.0
        fresh = 0
        for attempt in range(self.attempts):
            # The inner sampler first; if it keeps proposing designs already run (TPE sure
            # of its choice), random ones: rerunning a deterministic simulation teaches
            # nothing.
            source = self.inner if attempt < self.attempts // 2 else self._random
            drawn = (
                self.inner.sample_relative(study, trial, inner_space)
                if inner_space and source is self.inner
                else {}
            )
            chosen: dict[str, Any] = {}
            for key, param in self.space.parameters.items():
                if not active(param, chosen):
                    continue
                chosen[key] = (
                    drawn[key]
                    if key in drawn
                    else source.sample_independent(study, trial, key, self._dists[key])
                )
            if _key(chosen) in seen:
                best = best or chosen
                continue
            if drawn:
                return chosen  # the inner sampler's own offspring: taken as it is
            # A draw of the inner sampler's independent (random) sampling: of several such
            # draws, the one farthest from every design seen covers the space best.
            gap = min((self._distance(chosen, d) for d in seen_designs), default=0.0)
            if gap > best_gap:
                best, best_gap = chosen, gap
            fresh += 1
            if fresh >= self.candidates:
                break
        return best

    def _distance(self, a: dict[str, Any], b: dict[str, Any]) -> float:
        """Sum over parameters of how far apart two designs are (each term in [0, 1])."""
        total = 0.0
        for key in self.space.parameters:
            if (key in a) != (key in b):
                total += 1.0
            elif key in a:
                total += self._spans[key](a[key], b[key])
        return total

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.inner.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()
        self._random.reseed_rng()


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _span(param: Parameter) -> Callable[[Any, Any], float]:
    """Return a distance in [0, 1] between two values of ``param``.

    Ranges and numeric choices by position (choices in their listed order); other choices
    (strings, booleans, ``null``) are equal or not.
    """
    if param.choices is not None:
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in param.choices)
        if not numeric or len(param.choices) < 2:
            return lambda x, y: 0.0 if x == y else 1.0
        order = sorted(param.choices, key=float)  # type: ignore[arg-type]
        last = len(order) - 1
        return lambda x, y: abs(order.index(x) - order.index(y)) / last
    lo, hi = float(param.low or 0), float(param.high or 0)
    width = (math.log(hi) - math.log(lo)) if param.log and lo > 0 else (hi - lo)
    if width <= 0:
        return lambda x, y: 0.0
    if param.log and lo > 0:
        return lambda x, y: abs(math.log(x) - math.log(y)) / width
    return lambda x, y: abs(x - y) / width


def make_sampler(
    name: str,
    *,
    seed: int | None,
    space: Space,
    population_size: int = 50,
) -> BaseSampler:
    """Return a sampler by name (see :data:`SAMPLERS`).

    NSGA-II and TPE handle the constraints (a feasible trial beats an infeasible one; of
    two infeasible ones, the smaller total violation wins); random and grid ignore them.

    Args:
        name: ``nsga2``, ``tpe``, ``random`` or ``grid``.
        seed: The sampler's seed.
        space: The search space (bound).
        population_size: NSGA-II's population.

    Raises:
        ExplorerError: For an unknown name.
    """
    legacy: dict[str, Any] = (
        {} if hasattr(FrozenTrial, "constraints") else {"constraints_func": _constraints_of}
    )
    inner: BaseSampler
    if name == "nsga2":
        inner = optuna.samplers.NSGAIISampler(population_size=population_size, seed=seed, **legacy)
    elif name == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            inner = optuna.samplers.TPESampler(seed=seed, **legacy)
    elif name == "random":
        inner = optuna.samplers.RandomSampler(seed=seed)
    elif name in ("grid", "two-tier"):
        # A grid study queues every design as a trial with fixed parameters, a two-tier
        # study the designs its analytical sweep chose (see explorer.study, which also
        # refuses a space with a continuous range); nothing is left to draw.
        return optuna.samplers.RandomSampler(seed=seed)
    else:
        raise ExplorerError(f"sampler {name!r} is not in supported list: {', '.join(SAMPLERS)}")
    return DistinctSampler(inner, space, seed=seed)
