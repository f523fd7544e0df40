"""Search spaces: which fields of a design the explorer may change, and how.

A search space is a YAML file (format version 1) read and validated like an architecture
description: every problem is reported at once as a
:class:`~arch_models.validation.errors.SpecError` naming file, line and dotted path.
Parameters are keyed by their path in the description, by list index or by unit name
(``units[0].cores``, ``tmac.lanes``, ``clock_mhz``)::

    version: 1
    name: u280-hbm
    constraints:
      power_cap_w: 45                     # optional: designs above it are infeasible
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
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from arch_models.spec.arch import Arch
from arch_models.spec.evolve import evolve, parse_path, resolve_path
from arch_models.validation.base import SpecModel, describe_value, validate_document
from arch_models.validation.errors import Problem, SpecError
from arch_models.validation.source import Document, PathT, format_path, read_yaml
from arch_models.validation.version import check_format_version

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import BaseTrial

__all__ = [
    "FORMAT_VERSION",
    "AccuracyBound",
    "Constraints",
    "Parameter",
    "Space",
    "SpaceSpec",
    "load_space",
]

FORMAT_VERSION = 1

Scalar = StrictBool | StrictInt | StrictFloat | str | None

#: Ranges with at most this many values have every value checked against the design.
_CHECK_ALL_UP_TO = 64


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
            seen: list[tuple[type, Scalar]] = []
            for item in v:
                key = (type(item), item)
                if key in seen:
                    raise ValueError(f"must be distinct (got {describe_value(item)} twice)")
                seen.append(key)
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
        if self.step is not None:
            if self.step <= 0:
                raise ValueError(f"step must be > 0 (got {self.step})")
            if self.log and not (self.kind == "int" and self.step == 1):
                raise ValueError("log cannot be combined with a step")
            count = (self.high - self.low) / self.step
            if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
                span = self.high - self.low
                raise ValueError(f"high - low must be a multiple of step {self.step} (got {span})")
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

    def values(self) -> list[Scalar] | None:
        """Return every value the parameter can take, or ``None`` for a continuous range."""
        if self.choices is not None:
            return list(self.choices)
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            return None
        n = round((self.high - self.low) / self.step)
        return [float(self.low + i * self.step) for i in range(n + 1)]

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
    """

    power_cap_w: float | None = Field(default=None, gt=0)
    accuracy: AccuracyBound | None = None


class SpaceSpec(SpecModel):
    """A validated search-space file.

    Attributes:
        version: Format version (1).
        name: The space's name.
        description: Free text.
        constraints: Power cap and accuracy bound (both optional).
        parameters: Path in the description → how to search it, in sampling order.
    """

    version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)
    description: str = ""
    constraints: Constraints = Field(default_factory=Constraints)
    parameters: dict[str, Parameter] = Field(min_length=1, max_length=256)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        return check_format_version(v, FORMAT_VERSION)


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

    def as_dict(self) -> dict[str, Any]:
        """Return the validated space as JSON-ready data (as stored with a study)."""
        return self.spec.model_dump(mode="json")

    def bind(self, arch: Arch) -> Space:
        """Check the space against a design and resolve every path.

        Args:
            arch: The validated base design.

        Returns:
            The space with :attr:`paths` filled.

        Raises:
            SpecError: A path names no scalar field of the design, two keys name the same
                field, or a value is invalid for its field (located in the space file).
        """
        problems: list[Problem] = []
        data = arch.spec.model_dump(mode="json")
        paths: dict[str, str] = {}
        seen: dict[str, str] = {}
        for key, param in self.parameters.items():
            where: PathT = ("parameters", key)
            try:
                parts = resolve_path(arch, parse_path(key))
            except ValueError:
                continue  # reported by load_space
            fault = _leaf_fault(data, parts)
            if fault:
                problems.append(self.document.problem(where, fault))
                continue
            canonical = format_path(parts)
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
        self, arch: Arch, key: str, param: Parameter, canonical: str
    ) -> list[Problem]:
        """Check each value a parameter can take against its field, alone."""
        where: PathT = ("parameters", key)
        candidates: list[tuple[PathT, Scalar]] = []
        if param.choices is not None:
            candidates = [((*where, "choices", i), v) for i, v in enumerate(param.choices)]
        else:
            values = param.values()
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
        for loc, value in candidates:
            try:
                evolve(arch, {canonical: value})
            except SpecError as exc:
                for p in exc.problems:
                    if p.path == canonical:
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

    def grid(self) -> dict[str, list[Scalar]]:
        """Return every parameter's values.

        Raises:
            ValueError: A parameter is a continuous range (naming it).
        """
        out: dict[str, list[Scalar]] = {}
        for key, param in self.parameters.items():
            values = param.values()
            if values is None:
                raise ValueError(
                    f"{self.filename}:{self.document.line_of(('parameters', key))} "
                    f"parameters[{key!r}]: a grid needs a step or choices (a continuous range)"
                )
            out[key] = values
        return out

    def size(self) -> float:
        """Return the number of distinct designs (``inf`` with a continuous range)."""
        return _count(self.parameters, list(self.parameters), {})

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


def _count(params: dict[str, Parameter], keys: list[str], chosen: dict[str, Scalar]) -> float:
    """Count the distinct active-parameter combinations (conditions respected)."""
    if not keys:
        return 1.0
    key, rest = keys[0], keys[1:]
    param = params[key]
    if not active(param, chosen):
        return _count(params, rest, chosen)
    values = param.values()
    if values is None:
        return math.inf
    if not any(key in p.when for p in params.values()):
        return len(values) * _count(params, rest, chosen)
    return sum(_count(params, rest, {**chosen, key: v}) for v in values)


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
            values = spec.parameters[other].values()
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if values is not None:
                for a in allowed:
                    if not any(_same(a, v) for v in values):
                        problems.append(
                            doc.problem(
                                loc, f"{describe_value(a)} is not a value {other!r} can take"
                            )
                        )
    return problems


def validate_space(doc: Document, arch: Arch | None = None) -> Space:
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


def load_space(path: str | Path, arch: Arch | None = None) -> Space:
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
