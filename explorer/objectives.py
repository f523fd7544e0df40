"""What a study optimises: two or three of a design's summary figures, each with a direction.

A search space names its objectives (``objectives: [tokens_per_s, energy_per_token_j]``);
without the key a study maximises tokens/s and minimises average power, as every study
did before the key existed. The study records the names (``objectives``) and Optuna the
directions, so a study, its front and its dashboard always agree on what "better" means.

A design is on the front when no other feasible design is at least as good in every
objective and better in one (:func:`front_mask`); designs with identical figures are all
kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_OBJECTIVES",
    "METRICS",
    "Metric",
    "directions",
    "front_mask",
    "objectives_of",
]

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Metric:
    """A summary figure a study may optimise.

    Attributes:
        key: Its key in the simulator's summary and the study table.
        direction: ``maximize`` or ``minimize``.
        label: How pages and tables name it, with its unit.
    """

    key: str
    direction: Direction
    label: str


#: Every figure a study may optimise, by summary key.
METRICS: Final[Mapping[str, Metric]] = {
    m.key: m
    for m in (
        Metric("tokens_per_s", "maximize", "tokens/s"),
        Metric("avg_power_w", "minimize", "average power (W)"),
        Metric("energy_per_token_j", "minimize", "energy per token (J)"),
        Metric("ms_per_token", "minimize", "ms/token per sequence"),
        Metric("time_to_first_token_ms", "minimize", "time to first token (ms)"),
    )
}
#: What a study optimises when its space names nothing.
DEFAULT_OBJECTIVES: Final[tuple[str, ...]] = ("tokens_per_s", "avg_power_w")


def directions(names: Sequence[str]) -> list[Direction]:
    """Return the direction of each objective (Optuna's ``directions``)."""
    return [METRICS[n].direction for n in names]


def objectives_of(user_attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """Return a study's objectives from its user attributes (older studies: the default)."""
    names = user_attrs.get("objectives")
    if isinstance(names, list) and names and all(n in METRICS for n in names):
        return tuple(str(n) for n in names)
    return DEFAULT_OBJECTIVES


def front_mask(values: npt.ArrayLike, names: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Return which rows no other row dominates.

    Args:
        values: One row per design, one column per objective in ``names``' order.
        names: The objectives (their directions decide "better").

    Returns:
        A boolean per row: ``True`` on the front. Rows with a non-finite value are never
        on it; a row repeated exactly is kept every time it appears.
    """
    v = np.asarray(values, dtype=float).reshape(-1, len(names))
    sign = np.array([-1.0 if METRICS[n].direction == "maximize" else 1.0 for n in names])
    cost = v * sign  # every column minimised
    finite = np.isfinite(cost).all(axis=1)
    keep = np.zeros(len(cost), dtype=bool)
    idx = np.flatnonzero(finite)
    if not len(idx):
        return keep
    pts = cost[idx]
    if pts.shape[1] == 2:
        keep[idx[_front_2d(pts)]] = True
        return keep
    # sweep in lexicographic order: a point can only be dominated by one before it
    order = np.lexsort(pts.T[::-1])
    front: list[int] = []
    for k in order:
        p = pts[k]
        if front:
            f = pts[front]
            if ((f <= p).all(axis=1) & (f < p).any(axis=1)).any():
                continue
        front.append(int(k))
    keep[idx[front]] = True
    return keep


def _front_2d(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Return the rows of two minimised columns that no other row dominates (a sort).

    Distinct rows in lexicographic order: a row is on the front when its second value is
    below every earlier row's; repeated rows share their distinct row's verdict.
    """
    uniq, inv = np.unique(pts, axis=0, return_inverse=True)  # sorted by column 0, then 1
    best_before = np.minimum.accumulate(np.concatenate([[np.inf], uniq[:-1, 1]]))
    on: npt.NDArray[np.bool_] = (uniq[:, 1] < best_before)[inv.ravel()]
    return on
