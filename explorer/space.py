"""Search spaces: which fields of a design the explorer may change, and how.

A search space is a YAML file (format version 1) read and validated like an architecture
description: every problem is reported at once as a
:class:`~arch_models.validation.errors.SpecError` naming file, line and dotted path.
Parameters are keyed by their path in the description, by list index or by unit name
(``units[0].cores``, ``tmac.lanes``, ``clock_mhz``)::

    version: 1
    name: u280-hbm
    objectives: [tokens_per_s, energy_per_token_j]  # optional: 2 or 3 (default: tokens/s, W)
    constraints:
      power_cap_w: 45                     # optional: designs above it are infeasible
      max_ms_per_token: 2.0               # optional latency budget: each sequence's ms/token
      max_time_to_first_token_ms: 50      # optional latency budget: the prompt's time
      accuracy:                           # optional: numerics report of the functional model
        max_abs_dlogit: 2.0
        min_top1_agreement: 0.9
        model: tiny                       # proxy model for the report (default: the study's)
        tokens: 2
    parameters:
      layout.cores: {low: 4, high: 32, step: 4}        # integers 4, 8, ..., 32
      clock_mhz: {low: 150.0, high: 300.0, step: 25.0} # a float range (floats in the file)
      tmac.lanes: {choices: [16, 32, 64, 128]}
      wbuf.double_buffered: {choices: [true, false]}
      ddr.max_outstanding: {choices: [1, 4, null]}
      ddr.path_latency_cycles:                         # only sampled when the condition holds
        choices: [2, 8]
        when: {ddr.max_outstanding: 1}

A range is integer when ``low``, ``high`` (and ``step``) are all integers, float otherwise;
``log: true`` samples it on a log scale. ``when`` names earlier parameters and the value
(or list of values) each must have; a parameter whose condition fails keeps the base
design's value. Bound to a design (:meth:`Space.bind`, or :func:`load_space` with ``arch``),
every path must name an existing scalar field, and every value a parameter can take must
be valid for that field on its own (``tmac.lanes: {choices: [48]}`` is refused at its
line: ``units[2].lanes must be a power of two (got 48)``); combinations that break
cross-field rules are found per trial and recorded as infeasible.

A range is never expanded: its number of values is counted arithmetically, and numbers
are bounded (integers within ±2**53 and finite floats, as Optuna stores parameters as
64-bit floats; a stepped float range of at most 2**52 values), so any file a user can
write is a valid space or a :class:`SpecError`, at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from arch_models.spec.arch import Arch
from arch_models.spec.evolve import CARD_PREFIX, evolve, evolve_system, parse_path, resolve_path
from arch_models.spec.system import System
from arch_models.validation.base import SpecModel, describe_value, validate_document
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, PathT, format_path, read_yaml
from arch_models.validation.version import check_format_version
from explorer.objectives import DEFAULT_OBJECTIVES, METRICS

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import BaseTrial

__all__ = [
    "FORMAT_VERSION",
    "MAX_COUNT_STATES",
    "MAX_INT",
    "MAX_STEPS",
    "AccuracyBound",
    "Constraints",
    "Parameter",
    "Space",
    "SpaceSpec",
    "load_space",
]

FORMAT_VERSION = 1

Scalar = StrictBool | StrictInt | StrictFloat | str | None
T = TypeVar("T")

#: Ranges with at most this many values have every value checked against the design.
_CHECK_ALL_UP_TO = 64
#: Largest integer magnitude in a space: Optuna stores parameter values as 64-bit floats,
#: which hold every integer up to 2**53 exactly.
MAX_INT = 2**53
#: Most values a stepped float range may have: beyond 2**52 steps, neighbouring values
#: are no longer distinct 64-bit floats.
MAX_STEPS = 2**52
#: Partial designs :meth:`Space.size` examines at most (conditions on many parameters can
#: make counting exponential; the grid sampler is refused such a space).
MAX_COUNT_STATES = 20_000


def _bounded(value: T) -> T:
    """Refuse an integer beyond :data:`MAX_INT` (floats are finite by the model's config)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ValueError(f"must be within ±{MAX_INT} (got {describe_value(value)})")
    return value


class _FloatSteps(Sequence[float]):
    """The values ``low + i * step`` of a stepped float range, computed when asked for."""

    def __init__(self, low: float, step: float, n: int) -> None:
        self.low, self.step, self.n = low, step, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> float:  # type: ignore[override]
        if not isinstance(i, int):
            raise TypeError("float steps are indexed by integers")
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return float(self.low + i * self.step)

    def index_of(self, value: Any) -> int | None:
        """Return the index of ``value`` among the steps (``None`` when it is not one)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            i = round((value - self.low) / self.step)
        except (OverflowError, ValueError):
            return None
        return i if 0 <= i < self.n and self[i] == value else None

    def __contains__(self, value: object) -> bool:
        return self.index_of(value) is not None


class Parameter(SpecModel):
    """One searchable field: a list of choices, or an integer or float range.

    Attributes:
        choices: The values to choose from (booleans, numbers, strings, ``null``).
        low: Smallest value of a range.
        high: Largest value of a range.
        step: Spacing of a range's values (integer ranges default to 1).
        log: Sample the range on a log scale.
        when: Earlier parameter (as keyed in the file) → required value or values.
    """

    choices: list[Scalar] | None = Field(default=None, min_length=1, max_length=10_000)
    low: StrictInt | StrictFloat | None = None
    high: StrictInt | StrictFloat | None = None
    step: StrictInt | StrictFloat | None = None
    log: bool = False
    when: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)

    @field_validator("choices")
    @classmethod
    def _distinct(cls, v: list[Scalar] | None) -> list[Scalar] | None:
        if v is not None:
            seen: set[tuple[type, Scalar]] = set()
            for item in v:
                _bounded(item)
                key = (type(item), item)
                if key in seen:
                    raise ValueError(f"must be distinct (got {describe_value(item)} twice)")
                seen.add(key)
        return v

    @field_validator("low", "high", "step")
    @classmethod
    def _bound(cls, v: int | float | None) -> int | float | None:
        return _bounded(v)

    @field_validator("when")
    @classmethod
    def _wanted(cls, v: dict[str, Scalar | list[Scalar]]) -> dict[str, Scalar | list[Scalar]]:
        for other, wanted in v.items():
            if isinstance(wanted, list) and not wanted:
                raise ValueError(f"{other!r} must list at least one value (got an empty list)")
            for item in wanted if isinstance(wanted, list) else [wanted]:
                _bounded(item)
        return v

    @model_validator(mode="after")
    def _shape(self) -> Parameter:
        ranged = self.low is not None or self.high is not None
        if self.choices is not None and (ranged or self.step is not None or self.log):
            raise ValueError("give either choices or a range (low, high, step, log), not both")
        if self.choices is None and (self.low is None or self.high is None):
            raise ValueError("give choices, or low and high")
        if self.choices is not None:
            return self
        assert self.low is not None and self.high is not None
        if self.high < self.low:
            raise ValueError(f"high must be >= low ({self.low}) (got {self.high})")
        span = self.high - self.low  # exact for integers; finite floats may overflow
        if not math.isfinite(span):
            raise ValueError(f"high - low must be finite (got {self.low} to {self.high})")
        if self.step is not None:
            if self.step <= 0:
                raise ValueError(f"step must be > 0 (got {self.step})")
            if self.log and not (self.kind == "int" and self.step == 1):
                raise ValueError("log cannot be combined with a step")
            if self.kind == "int":
                if span % self.step:
                    raise ValueError(
                        f"high - low must be a multiple of step {self.step} (got {span})"
                    )
            else:
                steps = span / self.step
                if not steps <= MAX_STEPS:  # also catches an overflow to infinity
                    raise ValueError(
                        f"step {self.step:g} gives more than 2**52 values from {self.low:g} to "
                        f"{self.high:g} (not distinct floats); use a coarser step"
                    )
                if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
                    raise ValueError(
                        f"high - low must be a multiple of step {self.step} (got {span})"
                    )
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got {self.low})")
        return self

    @property
    def kind(self) -> Literal["categorical", "int", "float"]:
        """Return ``categorical``, ``int`` or ``float``."""
        if self.choices is not None:
            return "categorical"
        nums = [x for x in (self.low, self.high, self.step) if x is not None]
        return "int" if all(isinstance(x, int) for x in nums) else "float"

    def domain(self) -> Sequence[Scalar] | None:
        """Return the values the parameter can take, computed when read (never expanded).

        A ``range`` for an integer range, a lazy sequence for a stepped float range, the
        list for choices; ``None`` for a continuous range.
        """
        if self.choices is not None:
            return self.choices
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            return range(int(self.low), int(self.high) + 1, int(self.step or 1))
        if self.step is None:
            return None
        n = round((self.high - self.low) / self.step)
        return _FloatSteps(float(self.low), float(self.step), n + 1)

    def count(self) -> int | None:
        """Return how many values the parameter can take (``None`` for a continuous range)."""
        domain = self.domain()
        return None if domain is None else len(domain)

    def values(self) -> list[Scalar] | None:
        """Return every value as a list, or ``None`` for a continuous range.

        This expands the range: for anything that may be wide use :meth:`domain`,
        :meth:`count` or :meth:`contains`.
        """
        domain = self.domain()
        return None if domain is None else list(domain)

    def position(self, value: Any) -> int | None:
        """Return the index of ``value`` in :meth:`domain` (``None``: not a value of it).

        Equality as in conditions: a boolean is never equal to a number.
        """
        domain = self.domain()
        if domain is None:
            return None
        if isinstance(domain, list):
            return next((i for i, v in enumerate(domain) if _same(v, value)), None)
        if isinstance(domain, _FloatSteps):
            return domain.index_of(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if isinstance(value, float) and not value.is_integer():
            return None
        number = int(value)
        return domain.index(number) if number in domain else None

    def contains(self, value: Any) -> bool:
        """Return whether the parameter can take ``value`` (a continuous range: its bounds)."""
        if self.domain() is None:
            assert self.low is not None and self.high is not None
            number = isinstance(value, int | float) and not isinstance(value, bool)
            return number and self.low <= value <= self.high
        return self.position(value) is not None

    def distribution(self) -> BaseDistribution:
        """Return the Optuna distribution of this parameter."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.choices is not None:
            return CategoricalDistribution(self.choices)
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            return IntDistribution(
                int(self.low), int(self.high), log=self.log, step=int(self.step or 1)
            )
        return FloatDistribution(
            float(self.low),
            float(self.high),
            log=self.log,
            step=float(self.step) if self.step is not None else None,
        )


class AccuracyBound(SpecModel):
    """An accuracy bound from the functional model's numerics report.

    A design's numerics (activation and accumulator widths of its ternary array, fixed-point
    format and sigmoid/SiLU approximation of its vector unit) are compared with exact
    arithmetic over ``tokens`` generated tokens (see :mod:`workloads.cost`).

    Attributes:
        max_abs_dlogit: Largest allowed ``max |Δlogit|``.
        min_top1_agreement: Smallest allowed top-1 agreement (ignored by block-only
            models, which have no logits).
        model: Model to measure on (default: the study's model); a smaller model of the
            same family is a cheap proxy.
        tokens: Generated tokens compared.
    """

    max_abs_dlogit: float | None = Field(default=None, gt=0)
    min_top1_agreement: float | None = Field(default=None, ge=0, le=1)
    model: str | None = None
    tokens: int = Field(default=2, ge=1, le=64)

    @model_validator(mode="after")
    def _some_bound(self) -> AccuracyBound:
        if self.max_abs_dlogit is None and self.min_top1_agreement is None:
            raise ValueError("give max_abs_dlogit, min_top1_agreement or both")
        return self


class Constraints(SpecModel):
    """Constraints beyond the device's resources (which always apply).

    Attributes:
        power_cap_w: Largest allowed average power.
        accuracy: Bound on the numerics' cost.
        max_ms_per_token: Latency budget: the longest allowed decode time per token of
            each sequence (with ``layout.batch`` above 1, a batch's step).
        max_time_to_first_token_ms: Latency budget: the longest allowed time to the first
            token (the prompt's time).
    """

    power_cap_w: float | None = Field(default=None, gt=0)
    accuracy: AccuracyBound | None = None
    max_ms_per_token: float | None = Field(default=None, gt=0)
    max_time_to_first_token_ms: float | None = Field(default=None, gt=0)


class SpaceSpec(SpecModel):
    """A validated search-space file.

    Attributes:
        version: Format version (1).
        name: The space's name.
        description: Free text.
        constraints: Power cap and accuracy bound (both optional).
        parameters: Path in the description → how to search it, in sampling order.
        design: The description the space was written for, relative to the space's own
            file (optional): ``cosim validate`` checks the space against it first.
        objectives: What the study optimises: two or three distinct summary figures of
            :data:`explorer.objectives.METRICS`, each in its own direction (default:
            tokens/s maximised, average power minimised).
    """

    version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)
    description: str = ""
    design: str | None = Field(default=None, min_length=1, max_length=1000)
    objectives: list[str] = Field(default_factory=lambda: list(DEFAULT_OBJECTIVES))
    constraints: Constraints = Field(default_factory=Constraints)
    parameters: dict[str, Parameter] = Field(min_length=1, max_length=256)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        return check_format_version(v, FORMAT_VERSION)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, v: list[str]) -> list[str]:
        unknown = [n for n in v if n not in METRICS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not in supported list: {', '.join(METRICS)}")
        if not 2 <= len(v) <= 3:
            raise ValueError(f"give 2 or 3 objectives (got {len(v)})")
        if len(set(v)) != len(v):
            raise ValueError(f"an objective is named twice ({', '.join(v)})")
        return v


@dataclass(frozen=True)
class Space:
    """A validated search space, optionally bound to the design it varies.

    Attributes:
        spec: The validated file.
        document: The parsed file (for the line of every key).
        paths: Parameter key → canonical path in the bound design (``tmac.lanes`` →
            ``units[2].lanes``); empty until bound.
    """

    spec: SpaceSpec
    document: Document = field(repr=False)
    paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        """Return the file's name as used in messages."""
        return self.document.filename

    @property
    def parameters(self) -> dict[str, Parameter]:
        """Return the parameters in sampling order."""
        return self.spec.parameters

    @property
    def objectives(self) -> tuple[str, ...]:
        """Return what the study optimises (summary keys, in order)."""
        return tuple(self.spec.objectives)

    def as_dict(self) -> dict[str, Any]:
        """Return the validated space as JSON-ready data (as stored with a study).

        Default objectives are left out, as in files written before the key existed: a
        study made then and resumed now finds the same space.
        """
        data = self.spec.model_dump(mode="json")
        if tuple(data.get("objectives") or ()) == DEFAULT_OBJECTIVES:
            del data["objectives"]
        return data

    def bind(self, arch: Arch | System) -> Space:
        """Check the space against a design (or a system of cards) and resolve every path.

        For a system, a path names a field of the system description (``cards[0].count``,
        ``links.card``, ``mapping``) or, after ``card.``, a field of every card
        (``card.tmac.lanes``; see :func:`arch_models.spec.evolve.evolve_system`).

        Args:
            arch: The validated base design or system.

        Returns:
            The space with :attr:`paths` filled.

        Raises:
            SpecError: A path names no scalar field of the design, two keys name the same
                field, or a value is invalid for its field (located in the space file).
        """
        problems: list[Problem] = []
        paths: dict[str, str] = {}
        seen: dict[str, str] = {}
        for key, param in self.parameters.items():
            where: PathT = ("parameters", key)
            try:
                data, parts, prefix = _target(arch, key)
            except ValueError:
                continue  # reported by load_space
            fault = _leaf_fault(data, parts)
            if fault:
                problems.append(self.document.problem(where, fault))
                continue
            canonical = prefix + format_path(parts)
            if canonical in seen:
                problems.append(
                    self.document.problem(
                        where, f"names the same field as {seen[canonical]!r} ({canonical})"
                    )
                )
                continue
            seen[canonical] = key
            paths[key] = canonical
            problems.extend(self._value_problems(arch, key, param, canonical))
        if problems:
            raise SpecError(problems)
        return replace(self, paths=paths)

    def _value_problems(
        self, arch: Arch | System, key: str, param: Parameter, canonical: str
    ) -> list[Problem]:
        """Check each value a parameter can take against its field, alone."""
        where: PathT = ("parameters", key)
        candidates: list[tuple[PathT, Scalar]] = []
        if param.choices is not None:
            candidates = [((*where, "choices", i), v) for i, v in enumerate(param.choices)]
        else:
            values = param.domain()
            if values is not None and len(values) <= _CHECK_ALL_UP_TO:
                candidates = [
                    (
                        (*where, "low")
                        if i == 0
                        else (*where, "high")
                        if i == len(values) - 1
                        else where,
                        v,
                    )
                    for i, v in enumerate(values)
                ]
            else:
                candidates = [((*where, "low"), param.low), ((*where, "high"), param.high)]
        problems = []
        own = canonical.removeprefix(CARD_PREFIX) if isinstance(arch, System) else canonical
        for loc, value in candidates:
            try:
                variant(arch, {canonical: value})
            except SpecError as exc:
                for p in exc.problems:
                    if p.path == own:
                        problems.append(self.document.problem(loc, f"{canonical} {p.message}"))
        return problems

    def suggest(self, trial: BaseTrial) -> dict[str, Scalar]:
        """Sample a design variant's parameters from an Optuna trial.

        Parameters are suggested in file order under their key (``tmac.lanes``); one
        whose ``when`` condition fails is not suggested.

        Args:
            trial: An ``optuna.Trial`` (or ``FixedTrial``).

        Returns:
            Canonical path → value, for every active parameter (needs a bound space).
        """
        from optuna.distributions import FloatDistribution, IntDistribution

        if not self.paths:
            raise RuntimeError("bind the space to a design before sampling it")
        chosen: dict[str, Scalar] = {}
        out: dict[str, Scalar] = {}
        for key, param in self.parameters.items():
            if not active(param, chosen):
                continue
            dist = param.distribution()
            value: Scalar
            if isinstance(dist, IntDistribution):
                value = trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
            elif isinstance(dist, FloatDistribution):
                value = trial.suggest_float(key, dist.low, dist.high, step=dist.step, log=dist.log)
            else:
                value = trial.suggest_categorical(key, param.choices or [])
            chosen[key] = value
            out[self.paths[key]] = value
        return out

    def grid(self) -> dict[str, Sequence[Scalar]]:
        """Return every parameter's values (each a lazy sequence, see :meth:`Parameter.domain`).

        Raises:
            ValueError: A parameter is a continuous range (naming it).
        """
        out: dict[str, Sequence[Scalar]] = {}
        for key, param in self.parameters.items():
            values = param.domain()
            if values is None:
                raise ValueError(
                    f"{self.filename}:{self.document.line_of(('parameters', key))} "
                    f"parameters[{key!r}]: a grid needs a step or choices (a continuous range)"
                )
            out[key] = values
        return out

    def size(self) -> int | float:
        """Return the number of distinct designs (``inf`` with a continuous range).

        Counted, not enumerated: values that no condition names are counted together.

        Raises:
            ValueError: Conditions over many parameters would need more than
                :data:`MAX_COUNT_STATES` partial designs to be told apart.
        """
        return _Counter(self).count()

    def designs(self) -> Iterator[dict[str, Scalar]]:
        """Yield every distinct design once: parameter key → value, conditions respected.

        Raises:
            ValueError: A parameter is a continuous range.
        """
        grid = self.grid()

        def walk(keys: list[str], chosen: dict[str, Scalar]) -> Iterator[dict[str, Scalar]]:
            if not keys:
                yield dict(chosen)
                return
            key, rest = keys[0], keys[1:]
            if not active(self.parameters[key], chosen):
                yield from walk(rest, chosen)
                return
            for value in grid[key]:
                yield from walk(rest, {**chosen, key: value})

        yield from walk(list(self.parameters), {})


class _Counter:
    """Counts a space's distinct designs without enumerating its ranges.

    Only what a later condition can tell apart matters: a parameter's values fall into
    classes, one per set of values the conditions name (grouped by the value they equal)
    and one for every other value. Designs are counted per class, depth first over the
    parameters in order, memoised on the classes of earlier parameters that later
    conditions still read.
    """

    def __init__(self, space: Space) -> None:
        self.params = space.parameters
        self.keys = list(self.params)
        self.filename = space.filename
        #: Per parameter: (class, weight) of its values; a class is the set of the
        #: values named for it by conditions that it equals (empty: none of them).
        self.classes: dict[str, list[tuple[frozenset[int], int]]] = {}
        #: Per parameter: every value conditions name for it (a class holds positions here).
        self.named: dict[str, list[Scalar]] = {}
        #: Per parameter: the index of the last parameter whose condition reads it.
        self.last_use: dict[str, int] = {}
        for i, param in enumerate(self.params.values()):
            for other, wanted in param.when.items():
                for value in wanted if isinstance(wanted, list) else [wanted]:
                    self.named.setdefault(other, []).append(value)
                self.last_use[other] = i
        #: Per parameter: its conditions as (parameter read, positions of allowed values).
        self.requires = {
            key: [
                (other, self._positions(other, wanted if isinstance(wanted, list) else [wanted]))
                for other, wanted in param.when.items()
            ]
            for key, param in self.params.items()
        }
        self.memo: dict[tuple[int, tuple[tuple[str, frozenset[int]], ...]], int | float] = {}

    def _classes(self, key: str) -> list[tuple[frozenset[int], int]] | None:
        """Return the classes of ``key``'s values with how many values each holds."""
        if key in self.classes:
            return self.classes[key]
        param = self.params[key]
        count = param.count()
        if count is None:
            return None
        named = self.named.get(key, [])
        if isinstance(param.domain(), list):  # choices: few, each classed
            groups: dict[frozenset[int], int] = {}
            for value in param.choices or []:
                cls = frozenset(j for j, n in enumerate(named) if _same(value, n))
                groups[cls] = groups.get(cls, 0) + 1
        else:  # a range: only the named values are told apart
            by_position: dict[int, set[int]] = {}
            for j, n in enumerate(named):
                pos = param.position(n)
                if pos is not None:
                    by_position.setdefault(pos, set()).add(j)
            groups = {}
            for members in by_position.values():
                cls = frozenset(members)
                groups[cls] = groups.get(cls, 0) + 1
            rest = count - len(by_position)
            if rest:
                groups[frozenset()] = groups.get(frozenset(), 0) + rest
        self.classes[key] = list(groups.items())
        return self.classes[key]

    def _active(self, key: str, state: Mapping[str, frozenset[int]]) -> bool:
        return all(
            other in state and not state[other].isdisjoint(positions)
            for other, positions in self.requires[key]
        )

    def _positions(self, other: str, allowed: list[Scalar]) -> frozenset[int]:
        named = self.named.get(other, [])
        return frozenset(j for j, n in enumerate(named) if any(_same(n, a) for a in allowed))

    def count(self) -> int | float:
        return self._count(0, {})

    def _count(self, i: int, state: dict[str, frozenset[int]]) -> int | float:
        if i == len(self.keys):
            return 1
        kept = tuple(sorted((k, c) for k, c in state.items() if self.last_use.get(k, -1) >= i))
        memo_key = (i, kept)
        if memo_key in self.memo:
            return self.memo[memo_key]
        if len(self.memo) >= MAX_COUNT_STATES:
            raise ValueError(
                f"{self.filename}: the conditions between parameters are too intricate to "
                f"count the designs (more than {MAX_COUNT_STATES} partial designs)"
            )
        key = self.keys[i]
        live = dict(kept)
        total: int | float
        if not self._active(key, live):
            total = self._count(i + 1, live)
        else:
            classes = self._classes(key)
            if classes is None:
                total = math.inf
            elif key not in self.last_use:  # no later condition reads it
                total = sum(w for _, w in classes) * self._count(i + 1, live)
            else:
                total = sum(w * self._count(i + 1, {**live, key: c}) for c, w in classes)
        self.memo[memo_key] = total
        return total


def active(param: Parameter, chosen: Mapping[str, Scalar]) -> bool:
    """Return whether ``param``'s condition holds for the values ``chosen`` so far."""
    for other, wanted in param.when.items():
        if other not in chosen:
            return False
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if not any(_same(chosen[other], a) for a in allowed):
            return False
    return True


def _same(a: Scalar, b: Scalar) -> bool:
    """Return whether two values are equal, a boolean never equal to a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def variant(base: Arch | System, changes: Mapping[str, Any]) -> Arch | System:
    """Return the base design's (or system's) variant with ``changes`` (canonical paths)."""
    if isinstance(base, System):
        return evolve_system(base, changes)
    return evolve(base, changes)


def _target(base: Arch | System, key: str) -> tuple[Any, tuple[str | int, ...], str]:
    """Where a parameter key points: (the data it names a field of, the path, its prefix).

    Raises:
        ValueError: The key is not a well-formed path.
    """
    if isinstance(base, System):
        if key.startswith(CARD_PREFIX):
            card = base.groups[0]
            parts = resolve_path(card, parse_path(key.removeprefix(CARD_PREFIX)))
            return card.spec.model_dump(mode="json"), parts, CARD_PREFIX
        return base.spec.model_dump(mode="json"), parse_path(key), ""
    return base.spec.model_dump(mode="json"), resolve_path(base, parse_path(key)), ""


def _leaf_fault(data: Any, parts: tuple[str | int, ...]) -> str:
    """Return why ``parts`` names no scalar field of ``data`` ('' when it does)."""
    node = data
    for i, part in enumerate(parts):
        here = format_path(parts[: i + 1])
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            if i == 0 and isinstance(data, dict) and isinstance(part, str):
                units = [str(u.get("name")) for u in data.get("units", []) if isinstance(u, dict)]
                return (
                    f"no such field or unit {part!r} in the design; fields: "
                    f"{', '.join(k for k in data if k != 'units')}; units: {', '.join(units)}"
                )
            if isinstance(node, dict):
                known = ", ".join(k for k in node if k not in ("kind", "name", "sources"))
                return f"no such field {here} in the design; this block has: {known}"
            return f"no such field {here} in the design"
    if isinstance(node, dict | list):
        return f"{format_path(parts)} is not a single value; name one of its fields"
    if parts and parts[-1] in ("kind", "name", "sources", "version"):
        return f"{format_path(parts)} cannot be searched"
    return ""


def _cross_checks(spec: SpaceSpec, doc: Document) -> list[Problem]:
    """Rules across parameters: well-formed paths, conditions naming earlier parameters."""
    problems: list[Problem] = []
    keys = list(spec.parameters)
    for i, (key, param) in enumerate(spec.parameters.items()):
        try:
            parse_path(key)
        except ValueError:
            problems.append(
                doc.problem(
                    ("parameters", key),
                    f"must be a path like units[2].lanes or tmac.lanes (got {key!r})",
                )
            )
        for other, wanted in param.when.items():
            loc: PathT = ("parameters", key, "when", other)
            if other not in spec.parameters:
                problems.append(
                    doc.problem(loc, f"names no parameter; parameters: {', '.join(keys)}")
                )
                continue
            if keys.index(other) >= i:
                problems.append(doc.problem(loc, "must name a parameter listed before this one"))
                continue
            allowed = wanted if isinstance(wanted, list) else [wanted]
            for a in allowed:
                if not spec.parameters[other].contains(a):
                    problems.append(
                        doc.problem(loc, f"{describe_value(a)} is not a value {other!r} can take")
                    )
    return problems


def validate_space(doc: Document, arch: Arch | System | None = None) -> Space:
    """Validate a parsed search space (and bind it to ``arch`` when given).

    Raises:
        SpecError: Listing every problem with file:line and dotted path.
    """
    spec = validate_document(SpaceSpec, doc)
    problems = _cross_checks(spec, doc)
    space = Space(spec=spec, document=doc)
    if arch is not None:
        try:
            space = space.bind(arch)
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return space


def load_space(path: str | Path, arch: Arch | System | None = None) -> Space:
    """Read and validate a search-space file.

    Args:
        path: The YAML file.
        arch: Bind the space to this design (check every path and value against it).

    Returns:
        The validated space.

    Raises:
        SpecError: The file is unreadable or invalid; lists every problem.
    """
    return validate_space(read_yaml(path), arch)
