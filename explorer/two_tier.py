"""The two-tier search: the analytical tier over a whole space, SimPy on what may be on the front.

A study with ``--sampler two-tier`` runs in rounds, every SimPy evaluation an ordinary
trial of the study (storage, resume, workers and the dashboard as for any study):

1. **Sweep** (:func:`sweep`): every design of the space (its grid, conditions
   respected) is estimated by the analytical tier (:mod:`cosim.analytical`), in this
   process, a few seconds per hundred thousand designs.
2. **Calibration** (:func:`calibration`): a fixed set of designs, spread along the
   analytical front and two of every family of the tier's regimes
   (:attr:`cosim.analytical.Estimates.family`), is simulated; the tier's error on each
   figure is measured on them, per family and over all (:func:`measured_errors`).
3. **Candidates** (:func:`candidates`): every design that could be on the front once each
   is allowed its family's worst measured error, both ways (a design's optimistic
   figures against the others' pessimistic ones, :func:`allowances`), the analytical
   front first and then the nearest, within the study's trial budget. After they are
   simulated the errors are measured again on every simulated design; if they grew, the
   designs the wider margins admit follow.

The front a user sees is the SimPy-verified one: every trial was simulated, and says
which tier chose it (``tier_plan``: calibration or candidate) and what the analytical
tier predicted (``analytical``). Only what the tier cannot judge is left to SimPy: a
space's accuracy bound, and a variant the validator refuses (pruned as in any study).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from arch_models.spec.arch import Arch
from arch_models.spec.evolve import system_value_at, value_at
from arch_models.spec.system import System
from arch_models.workload import Workload
from cosim.analytical import AnalyticalModel, Estimates, UnsupportedChangeError
from cosim.analytical_system import SystemAnalyticalModel
from cosim.fpga import SimOptions
from explorer.errors import ExplorerError
from explorer.objectives import METRICS, front_mask
from explorer.space import Constraints, Space

__all__ = [
    "ALL",
    "ERROR_FLOOR",
    "Sweep",
    "allowances",
    "calibration",
    "candidates",
    "measured_errors",
    "sweep",
]

#: The least error allowance of a figure (the tier's error is never taken as zero).
ERROR_FLOOR = 0.001
#: Designs spread along the analytical front in the calibration round (two of every
#: family of the tier's regimes come on top).
CALIBRATION = 8


@dataclass(frozen=True)
class Sweep:
    """Every design of a space with the analytical tier's figures.

    Attributes:
        keys: The space's parameter keys.
        domains: Each key's values.
        positions: Per key, each design's position in its domain (-1: inactive).
        objectives: The space's objectives.
        values: Designs × objectives (NaN where the tier cannot estimate).
        feasible: The estimate fits the device and meets the space's constraints.
        constraints: The space's constraints.
        estimates: The tier's figures.
        seconds: Wall time of the estimates.
    """

    keys: tuple[str, ...]
    domains: Mapping[str, Sequence[Any]]
    positions: Mapping[str, npt.NDArray[np.int64]]
    objectives: tuple[str, ...]
    values: npt.NDArray[np.float64]
    feasible: npt.NDArray[np.bool_]
    constraints: Constraints
    estimates: Estimates = field(repr=False)
    seconds: float

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def params(self, i: int) -> dict[str, Any]:
        """Return design ``i`` as a trial's parameters (its active keys only)."""
        out = {}
        for k in self.keys:
            pos = int(self.positions[k][i])
            if pos >= 0:
                out[k] = self.domains[k][pos]
        return out

    @property
    def per_second(self) -> float:
        """Return the designs estimated per second."""
        return len(self) / self.seconds if self.seconds > 0 else math.inf


def sweep(
    arch: Arch | System,
    space: Space,
    workload: Workload,
    *,
    options: SimOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Estimate every design of a space with the analytical tier.

    Args:
        arch: The base design: one card, or a system of cards
            (:class:`cosim.analytical_system.SystemAnalyticalModel`).
        space: The space, bound to ``arch``.
        workload: The study's workload.
        options: The SimPy tier's fidelity knobs (the tier mirrors their merging).
        progress: Called as ``progress(done, total)``.

    Raises:
        ExplorerError: The space has a continuous range, or changes what the tier does
            not model.
    """
    try:
        grid = space.grid()
    except ValueError as exc:
        raise ExplorerError(f"the two-tier search sweeps a grid: {exc}") from None
    keys = tuple(grid)
    domains = {k: list(grid[k]) for k in keys}
    if any(p.when for p in space.parameters.values()):
        designs = list(space.designs())
        positions = {
            k: np.array([_position(domains[k], d[k]) if k in d else -1 for d in designs])
            for k in keys
        }
    else:
        sizes = [len(domains[k]) for k in keys]
        if math.prod(sizes) > 50_000_000:
            raise ExplorerError(
                f"{space.filename}: {math.prod(sizes):,} designs are more than the two-tier "
                "search sweeps (50,000,000); narrow the space"
            )
        idx = np.indices(sizes).reshape(len(keys), -1)
        positions = {k: idx[i].astype(np.int64) for i, k in enumerate(keys)}
    columns = {}
    for k in keys:
        path = space.paths.get(k, k)
        base = system_value_at(arch, path) if isinstance(arch, System) else value_at(arch, path)
        table = domains[k] + [base]  # -1 (inactive) takes the base's
        columns[path] = _typed(table)[positions[k]]
    model: AnalyticalModel | SystemAnalyticalModel = (
        SystemAnalyticalModel(arch, workload, options)
        if isinstance(arch, System)
        else AnalyticalModel(arch, workload, options)
    )
    t0 = time.perf_counter()
    try:
        est = model.evaluate(columns, progress=progress)
    except UnsupportedChangeError as exc:
        raise ExplorerError(f"{space.filename}: {exc}") from None
    seconds = time.perf_counter() - t0
    names = space.objectives
    values = np.stack([getattr(est, n) for n in names], axis=1)
    return Sweep(
        keys=keys,
        domains=domains,
        positions=positions,
        objectives=names,
        values=values,
        feasible=_feasible(est, space),
        constraints=space.spec.constraints,
        estimates=est,
        seconds=seconds,
    )


def calibration(s: Sweep, seed: int, count: int = CALIBRATION) -> list[int]:
    """Return the designs simulated first to measure the tier's error.

    ``count`` spread along the analytical front (its ends included, evenly by the first
    objective), and two drawn (seeded) from each family of the tier's regimes
    (:attr:`cosim.analytical.Estimates.family`) among the feasible designs, so that
    every family's error is measured.
    """
    feasible = np.flatnonzero(s.feasible & np.isfinite(s.values).all(axis=1))
    if not feasible.size:
        return []
    front = feasible[front_mask(s.values[feasible], s.objectives)]
    front = front[np.argsort(s.values[front, 0], kind="stable")]
    take = min(front.size, max(2, count))
    spread = np.rint(np.linspace(0, front.size - 1, take)).astype(np.int64)
    picks = [int(front[j]) for j in spread]
    rng = np.random.default_rng(seed)
    families = s.estimates.family[feasible]
    for fam in sorted(set(families.tolist())):
        members = np.setdiff1d(feasible[families == fam], picks)
        picks += [int(i) for i in rng.choice(members, size=min(2, members.size), replace=False)]
    return list(dict.fromkeys(picks))


#: Key of the errors measured over every family (:func:`allowances` falls back to it).
ALL = "all"


def allowances(s: Sweep, errors: Mapping[str, Mapping[str, float]]) -> npt.NDArray[np.float64]:
    """Return each design's relative error allowance per objective (designs × objectives).

    Its family's worst measured error where the family was measured, else the worst
    over all families (``errors[ALL]``), never below :data:`ERROR_FLOOR`.
    """
    out = np.empty(s.values.shape)
    overall = errors.get(ALL, {})
    fams = s.estimates.family
    for j, n in enumerate(s.objectives):
        out[:, j] = max(overall.get(n, 0.0), ERROR_FLOOR)
        for fam, errs in errors.items():
            if fam != ALL and n in errs:
                out[fams == fam, j] = max(errs[n], ERROR_FLOOR)
    return out


def candidates(s: Sweep, errors: Mapping[str, Mapping[str, float]]) -> list[int]:
    """Return the designs that could be on the front, nearest first.

    A design is a candidate unless another feasible design, its figures made worse by
    its family's error, still dominates the design's figures made better by its own
    family's error (:func:`allowances`).

    Args:
        s: The sweep.
        errors: Per family (and :data:`ALL`), each objective's relative error allowance.

    Returns:
        Indices into the sweep: the analytical front's designs, then the others by how
        close each is to being dominated.
    """
    ok = np.asarray(np.isfinite(s.values).all(axis=1) & (s.values > 0).all(axis=1), dtype=bool)
    pool = np.flatnonzero(ok & (s.feasible | _near_feasible(s, errors.get(ALL, {}))))
    feas = np.flatnonzero(ok & s.feasible)
    if not pool.size:
        return []
    # log-figures, each turned "bigger is better"; pessimistic and optimistic by the error
    sign = np.array([1.0 if METRICS[n].direction == "maximize" else -1.0 for n in s.objectives])
    logv = np.log(np.where(ok[:, None], s.values, 1.0)) * sign
    allow = np.log1p(allowances(s, errors))
    worse, better = logv - allow, logv + allow
    every = ["avg_power_w"] * len(s.objectives)  # front_mask minimises: hand it -figures
    front = feas[front_mask(-worse[feas], every)] if feas.size else feas
    need = _need(better[pool], np.unique(worse[front], axis=0))
    keep = need < 0.0
    # the analytical front first, then by how far each is from being dominated
    on_front = np.isin(pool, feas[front_mask(s.values[feas], s.objectives)])
    order = np.lexsort((need[keep], ~on_front[keep]))
    return [int(i) for i in pool[keep][order]]


def _need(d: npt.NDArray[np.float64], f: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return, per row of ``d``, how far the front ``f`` is ahead on its worst objective.

    Bigger better: ``max over p of min over j of f[p, j] - d[j]`` (at least 0: some
    front design is at least as good everywhere). Two objectives:
    along a front sorted by the first the gap ``f0 - f1`` rises, so the best ``p`` is where
    it crosses ``d0 - d1`` (a binary search); more: every front design, in chunks.
    """
    if not f.size:
        return np.full(d.shape[0], -np.inf)
    if f.shape[1] == 2:
        f = f[np.argsort(f[:, 0] - f[:, 1], kind="stable")]
        gap = f[:, 0] - f[:, 1]
        k = np.searchsorted(gap, d[:, 0] - d[:, 1])
        out = np.full(d.shape[0], -np.inf)
        for j in (k - 1, k):
            ok = (j >= 0) & (j < f.shape[0])
            p = f[np.clip(j, 0, f.shape[0] - 1)]
            out = np.where(
                ok, np.maximum(out, np.minimum(p[:, 0] - d[:, 0], p[:, 1] - d[:, 1])), out
            )
        return out
    out = np.empty(d.shape[0])
    for lo in range(0, d.shape[0], 2048):
        part = d[lo : lo + 2048]
        out[lo : lo + 2048] = (f[None, :, :] - part[:, None, :]).min(axis=2).max(axis=1)
    return out


def measured_errors(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], names: Sequence[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """Return each figure's mean and worst relative error of the tier against SimPy.

    Args:
        pairs: ``(analytical summary, SimPy summary)`` of each simulated design (the
            analytical one names its ``family``).
        names: The figures (summary keys).

    Returns:
        Per family, and over all of them under :data:`ALL`: figure → ``mean``, ``worst``,
        ``designs``.
    """
    groups: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {ALL: list(pairs)}
    for a, b in pairs:
        groups.setdefault(str(a.get("family", "")), []).append((a, b))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for fam, members in groups.items():
        out[fam] = {}
        for n in names:
            errs = [
                abs(float(a[n]) / float(b[n]) - 1.0)
                for a, b in members
                if _finite(a.get(n)) and _finite(b.get(n)) and float(b[n]) != 0
            ]
            out[fam][n] = {
                "mean": float(np.mean(errs)) if errs else math.nan,
                "worst": float(np.max(errs)) if errs else math.nan,
                "designs": float(len(errs)),
            }
    return out


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _position(domain: Sequence[Any], value: Any) -> int:
    for i, v in enumerate(domain):
        if v == value and type(v) is type(value):
            return i
    raise ValueError(f"value {value!r} is not in its parameter's values")


def _typed(values: list[Any]) -> npt.NDArray[Any]:
    """An array of ``values``: numeric or text where they all are, objects otherwise."""
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return np.array(values, dtype=bool)
    if kinds <= {int} or kinds <= {int, float}:
        return np.array(values, dtype=float if float in kinds else np.int64)
    if kinds <= {str}:
        return np.array(values, dtype=str)
    return np.array(values, dtype=object)


def _feasible(est: Estimates, space: Space) -> npt.NDArray[np.bool_]:
    """Fits, and meets the space's power cap and latency budget (accuracy: SimPy's)."""
    c = space.spec.constraints
    ok = est.valid & est.fits
    if c.power_cap_w is not None:
        ok &= est.avg_power_w <= c.power_cap_w
    if c.max_ms_per_token is not None:
        ok &= est.ms_per_token <= c.max_ms_per_token
    if c.max_time_to_first_token_ms is not None:
        ok &= est.time_to_first_token_ms <= c.max_time_to_first_token_ms
    out: npt.NDArray[np.bool_] = ok
    return out


def _near_feasible(s: Sweep, errors: Mapping[str, float]) -> npt.NDArray[np.bool_]:
    """Designs that fit and meet the constraints once each figure is allowed its error."""
    est = s.estimates

    def allow(name: str) -> float:
        return max(errors.get(name, 0.0), ERROR_FLOOR)

    ok = est.valid & est.fits
    c = s.constraints
    if c.power_cap_w is not None:
        ok &= est.avg_power_w * (1 - allow("avg_power_w")) <= c.power_cap_w
    if c.max_ms_per_token is not None:
        ok &= est.ms_per_token * (1 - allow("ms_per_token")) <= c.max_ms_per_token
    if c.max_time_to_first_token_ms is not None:
        ttft = est.time_to_first_token_ms * (1 - allow("time_to_first_token_ms"))
        ok &= ttft <= c.max_time_to_first_token_ms
    out: npt.NDArray[np.bool_] = ok
    return out
