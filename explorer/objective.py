"""The objective: a trial's parameters → a design variant → the simulator → objectives.

:class:`Evaluator` is the thin objective of the study. :meth:`Evaluator.evaluate` is pure
(no Optuna): it builds the variant with :func:`~arch_models.spec.evolve.evolve`, replays
the study's trace through :func:`cosim.engine.simulate` and judges the constraints, giving
an :class:`Evaluation` with one of three outcomes:

- ``feasible``: the space's objectives (by default ``(tokens_per_s, avg_power_w)``),
  every constraint met;
- ``infeasible``: a valid design that breaks a constraint (objectives still measured), or
  a variant the validator refuses (no objectives: the trial is pruned);
- ``failed``: the simulator raised; ``reason`` says what it raised.

Constraint values follow Optuna's convention (``<= 0`` is satisfied), in the order of
:data:`CONSTRAINTS`: the device's worst resource utilisation minus one, the power over the
cap relative to the cap, the accuracy report's ``max |Δlogit|`` over its bound
(relative) and top-1 agreement under its bound, and the latency over its budget (the worse
of ms/token and time to first token, relative). A constraint the space does not ask for
is 0. Studies made before the latency budget existed hold four values a trial; Optuna
sums a trial's violations, so old and new trials still compare.
"""

from __future__ import annotations

import copy
import json
import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arch_models.spec.arch import Arch
from arch_models.spec.evolve import CARD_PREFIX, parse_path
from arch_models.spec.system import System
from arch_models.spec.units import TernaryArray, VectorUnit
from arch_models.validation.errors import SpecError
from cosim.engine import simulate
from cosim.fpga import SimOptions
from cosim.run_result import SimResult
from cosim.system import simulate_system
from cosim.system_result import SystemResult
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from explorer._files import safe_name, write_atomic
from explorer.records import Status, TrialAttr
from explorer.space import AccuracyBound, Space
from explorer.space import variant as space_variant
from safeio import json_safe

if TYPE_CHECKING:
    from optuna import Trial

    from arch_models.workload import Workload
    from workloads.numerics import Numerics
    from workloads.trace import Trace
    from workloads.weights import ModelWeights

__all__ = [
    "CONSTRAINTS",
    "Evaluation",
    "Evaluator",
    "NumericsJudge",
    "TrialFailedError",
    "design_numerics",
]

#: Names of the constraint values, in order.
CONSTRAINTS = ("resources", "power_cap", "accuracy_dlogit", "accuracy_top1", "latency")

#: Constraint value used for "cannot be judged" (an invalid design) and infinities.
_VIOLATED = 1e6


class TrialFailedError(Exception):
    """Raised by :meth:`Evaluator.__call__` for a failed trial (recorded as FAIL)."""


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """What one design variant gave.

    Attributes:
        status: ``feasible``, ``infeasible`` or ``failed``.
        reason: Why it is not feasible ('' when it is).
        summary: The simulator's summary, JSON-safe (empty when it did not run), with the
            numerics report under ``numerics_cost`` when the space bounds accuracy.
        design: The variant's resolved description (for an invalid variant: the base
            description with the changes applied, unvalidated).
        values: The space's objectives, in its order (by default ``(tokens_per_s,
            avg_power_w)``), or ``None`` when not simulated.
        constraints: One value per :data:`CONSTRAINTS` (``<= 0`` satisfied).
    """

    status: Status
    reason: str
    summary: dict[str, Any]
    design: dict[str, Any]
    values: tuple[float, ...] | None
    constraints: tuple[float, ...] = field(default=())


#: Key of a system design's card descriptions (one per card group) in a trial's design.
CARD_DESIGNS = "card_designs"


def design_of(base: Arch | System) -> dict[str, Any]:
    """Return a design as a trial records it: the description, JSON-ready.

    A system's record is its description with each card group's description under
    :data:`CARD_DESIGNS`, so a trial says everything that was simulated.
    """
    if isinstance(base, System):
        data = base.spec.model_dump(mode="json")
        data[CARD_DESIGNS] = [g.spec.model_dump(mode="json") for g in base.groups]
        return data
    return base.spec.model_dump(mode="json")


def _figure(value: Any) -> float:
    """A summary figure as a float (``NaN`` where missing or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def design_numerics(arch: Arch) -> Numerics:
    """Return the functional model's :class:`~workloads.numerics.Numerics` of a design.

    Activation and accumulator widths and the accumulator's overflow (``wrap`` or
    ``saturate``, as the RTL twin builds it) come from the first ternary array; the
    elementwise format ``fixed<W>.<F>`` and the sigmoid/SiLU approximation from the first
    vector unit (float32 and exact functions when the design has none).
    """
    from workloads.numerics import ElementFormat, FunctionApprox, Numerics

    arrays = arch.spec.units_of(TernaryArray)
    vectors = arch.spec.units_of(VectorUnit)
    kwargs: dict[str, Any] = {}
    if arrays:
        a = arrays[0]
        kwargs.update(
            act_bits=a.activation_bits,
            acc_bits=a.accumulator_bits,
            acc_overflow=a.accumulator_overflow,
        )
    if vectors:
        v = vectors[0]
        approx = (
            FunctionApprox("lut", size=v.lut_entries)
            if v.sigmoid == "lut"
            else FunctionApprox("pwl", size=v.pwl_segments, order=v.pwl_order)
        )
        kwargs.update(
            elementwise=ElementFormat("fixed", bits=v.data_bits, frac=v.frac_bits),
            sigmoid=approx,
            silu=approx,
        )
    return Numerics(**kwargs)


class NumericsJudge:
    """The accuracy side: a design's numerics cost, measured once per distinct numerics.

    Results are kept in memory and in ``cache_dir/numerics/<model>-seed<S>-g<N>.json``
    (shared by workers and later runs); the model's weights are built on first use.
    """

    def __init__(self, bound: AccuracyBound, model: str, seed: int, cache_dir: Path) -> None:
        self.bound = bound
        self.model = bound.model or model
        self.seed = seed
        name = f"{safe_name(self.model)}-seed{seed}-g{bound.tokens}.json"
        self.path = cache_dir / "numerics" / name
        self._memo: dict[str, dict[str, Any]] = {}
        self._weights: ModelWeights | None = None

    def cost(self, arch: Arch) -> dict[str, Any]:
        """Return the numerics report of ``arch`` (``max_abs_dlogit``, ``top1_agreement``)."""
        from workloads.cost import numerics_cost
        from workloads.loading import load_weights
        from workloads.trace import prompt_ids

        numerics = design_numerics(arch)
        key = json.dumps(numerics.to_dict(), sort_keys=True)
        if key in self._memo:
            return self._memo[key]
        stored = self._read()
        if key in stored:
            self._memo[key] = stored[key]
            return stored[key]
        if self._weights is None:
            self._weights = load_weights(self.model, self.seed)
        prompt = prompt_ids(self._weights.config, self.seed, 1)
        report = numerics_cost(self._weights, numerics, prompt, self.bound.tokens, seed=self.seed)
        result: dict[str, Any] = json_safe({**report.to_dict(), "model": self.model})
        self._memo[key] = result
        stored = self._read()
        stored[key] = result
        write_atomic(self.path, json.dumps(stored, indent=1, sort_keys=True))
        return result

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


class Evaluator:
    """Trial → spec variant → simulate → objectives and constraints.

    Args:
        arch: The base design, or a system of cards.
        space: The search space, bound to ``arch``.
        trace: The study's trace (``workloads.trace.Trace``).
        seed: Recorded with every simulation.
        options: The simulator's fidelity knobs.
        judge: Measures numerics cost when the space bounds accuracy.
    """

    def __init__(
        self,
        arch: Arch | System,
        space: Space,
        trace: Trace,
        *,
        seed: int = 0,
        options: SimOptions | None = None,
        judge: NumericsJudge | None = None,
    ) -> None:
        self.arch = arch
        self.space = space
        self.trace = trace
        self.seed = seed
        self.options = options or SimOptions()
        self.judge = judge
        self.power_cap_w = space.spec.constraints.power_cap_w
        self.latency = (
            space.spec.constraints.max_ms_per_token,
            space.spec.constraints.max_time_to_first_token_ms,
        )
        self._workloads: dict[int, Workload] = {}
        self._memo: dict[str, Evaluation] = {}
        self._base = design_of(arch)
        #: The evaluation of the last trial :meth:`__call__` ran (its constraint values).
        self.last: Evaluation | None = None

    def evaluate(self, params_by_path: Mapping[str, Any]) -> Evaluation:
        """Evaluate one variant (identical variants are simulated once per process).

        Args:
            params_by_path: Canonical path → value.

        Returns:
            The outcome; never raises for a bad design or a failing simulation.
        """
        key = json.dumps(dict(params_by_path), sort_keys=True, default=str)
        if key not in self._memo:
            self._memo[key] = self._evaluate(params_by_path)
        return self._memo[key]

    def _evaluate(self, params: Mapping[str, Any]) -> Evaluation:
        try:
            variant = space_variant(self.arch, params)
        except SpecError as exc:
            why = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
            return Evaluation(
                status="infeasible",
                reason=f"invalid design: {why}",
                summary={},
                design=self.applied(params),
                values=None,
                constraints=(_VIOLATED,) + (0.0,) * (len(CONSTRAINTS) - 1),
            )
        design = design_of(variant)
        try:
            if isinstance(variant, System):
                card = variant.cards[0]
                result: SimResult | SystemResult = simulate_system(
                    variant, self._workload(card), options=self.options, seed=self.seed
                )
            else:
                card = variant
                result = simulate(
                    variant, self._workload(variant), options=self.options, seed=self.seed
                )
            summary = dict(result.summary)
            cost = self.judge.cost(card) if self.judge is not None else None
        except Exception as exc:  # the study goes on: the trial is recorded as failed
            return Evaluation(
                status="failed",
                reason=f"{type(exc).__name__}: {exc}",
                summary={},
                design=design,
                values=None,
            )
        if cost is not None:
            summary["numerics_cost"] = cost
        summary = json_safe(summary)
        constraints, reasons = self._judge(summary, cost)
        values = tuple(_figure(result.summary.get(name)) for name in self.space.objectives)
        if not all(math.isfinite(v) for v in values):
            shown = ", ".join(
                f"{n} {v}" for n, v in zip(self.space.objectives, values, strict=True)
            )
            return Evaluation(
                status="failed",
                reason=f"non-finite objectives ({shown})",
                summary=summary,
                design=design,
                values=None,
            )
        status: Status = "infeasible" if reasons else "feasible"
        return Evaluation(
            status=status,
            reason="; ".join(reasons),
            summary=summary,
            design=design,
            values=values,
            constraints=constraints,
        )

    def _workload(self, variant: Arch) -> Workload:
        width = design_elementwise_bytes(variant)
        if width not in self._workloads:
            self._workloads[width] = workload_from_trace(self.trace, width)
        return self._workloads[width]

    def _judge(
        self, summary: dict[str, Any], cost: dict[str, Any] | None
    ) -> tuple[tuple[float, ...], list[str]]:
        reasons: list[str] = []
        # a system's cards each fit their own device: the worst card's worst resource
        blocks = [c.get("resources") or {} for c in summary.get("cards") or []] or [
            summary.get("resources") or {}
        ]
        util = [r.get("utilisation") for block in blocks for r in block.values()]
        worst = max((_VIOLATED if u is None else float(u) for u in util), default=0.0)
        resources = min(worst - 1.0, _VIOLATED)
        if not summary.get("fits", True):
            resources = max(resources, 1e-9)
            problems = list(summary.get("fit_problems") or [])
            for i, card in enumerate(summary.get("cards") or []):
                problems += [f"card {i}: {p}" for p in card.get("fit_problems") or []]
            reasons.extend(problems or ["does not fit the device"])
        power = 0.0
        if self.power_cap_w is not None:
            watts = float(summary["avg_power_w"])
            power = (watts - self.power_cap_w) / self.power_cap_w
            if power > 0:
                reasons.append(
                    f"average power {watts:.3g} W exceeds the cap of {self.power_cap_w:g} W"
                )
        dlogit = top1 = 0.0
        if cost is not None and self.judge is not None:
            bound = self.judge.bound
            if bound.max_abs_dlogit is not None:
                d = float(cost["max_abs_dlogit"])
                dlogit = (d - bound.max_abs_dlogit) / bound.max_abs_dlogit
                if dlogit > 0:
                    reasons.append(
                        f"max |Δlogit| {d:.3g} exceeds the bound of {bound.max_abs_dlogit:g}"
                    )
            agree = cost.get("top1_agreement")
            if bound.min_top1_agreement is not None and agree is not None:
                top1 = bound.min_top1_agreement - float(agree)
                if top1 > 0:
                    reasons.append(
                        f"top-1 agreement {agree:.3g} is below the bound of "
                        f"{bound.min_top1_agreement:g}"
                    )
        latency = 0.0
        budgets = zip(
            ("ms_per_token", "time_to_first_token_ms"),
            ("ms per token", "ms to the first token"),
            self.latency,
            strict=True,
        )
        for key, words, budget in budgets:
            got = summary.get(key)
            if budget is None or not isinstance(got, int | float):
                continue
            over = (float(got) - budget) / budget
            latency = max(latency, over)
            if over > 0:
                reasons.append(f"{float(got):.3g} {words} exceeds the budget of {budget:g}")
        return (resources, power, dlogit, top1, latency), reasons

    def applied(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return the base description with ``params`` applied (not validated).

        A system's ``card.`` paths apply to each of its ``card_designs``.
        """
        data = copy.deepcopy(self._base)
        for path, value in params.items():
            targets: list[Any] = [data]
            if path.startswith(CARD_PREFIX) and isinstance(self.arch, System):
                targets = list(data.get(CARD_DESIGNS) or [])
                path = path.removeprefix(CARD_PREFIX)
            parts = parse_path(path)
            for node in targets:
                try:
                    for part in parts[:-1]:
                        node = node[part]
                    node[parts[-1]] = value
                except (KeyError, IndexError, TypeError):
                    continue
        return dict(json_safe(data))

    def __call__(self, trial: Trial) -> tuple[float, ...]:
        """Optuna objective: sample, evaluate, record the trial's user attributes.

        Before evaluating, the trial is marked ``failed`` ("the worker stopped before the
        trial finished"), so a trial whose worker dies keeps a truthful record.

        Raises:
            optuna.TrialPruned: For a variant the validator refuses.
            TrialFailedError: When the simulation raised.
        """
        import optuna

        params = self.space.suggest(trial)
        # status and reason first: a trial that names its worker always says what became of it
        trial.set_user_attr(TrialAttr.STATUS, "failed")
        trial.set_user_attr(TrialAttr.REASON, "the worker stopped before the trial finished")
        trial.set_user_attr(TrialAttr.WORKER, f"{socket.gethostname()}:{os.getpid()}")
        trial.set_user_attr(TrialAttr.TIER, "simpy")
        trial.set_user_attr(TrialAttr.PARAMS_BY_PATH, json_safe(params))
        trial.set_user_attr(TrialAttr.SUMMARY, {})
        trial.set_user_attr(TrialAttr.DESIGN, self.applied(params))
        ev = self.evaluate(params)
        trial.set_user_attr(TrialAttr.SUMMARY, ev.summary)
        trial.set_user_attr(TrialAttr.DESIGN, ev.design)
        trial.set_user_attr(TrialAttr.REASON, ev.reason)
        trial.set_user_attr(TrialAttr.STATUS, ev.status)
        self.last = ev
        if ev.status == "failed":
            raise TrialFailedError(ev.reason)
        if ev.values is None:
            raise optuna.TrialPruned(ev.reason)
        return ev.values
