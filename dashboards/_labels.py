"""Label placement for the Pareto plot: text boxes that do not collide, in pixel space.

Plotly places an annotation's text where it is told and never moves it out of another's
way, so the GPU stars' labels are placed here. Each label has candidate places around its
star (rings of growing radius, a dozen directions each); a place costs for every placed
box it overlaps, every star it covers, every placed box its leader line crosses or
placed leader that crosses it, leaving the plot, and (a little) for its distance. A
greedy pass puts each label at its cheapest place, then repair passes move any label to
its cheapest place given all the others until none moves: an early label is not stuck
where a later, more crowded one needed to go. Boxes are estimated from the text's length
and font size (:func:`text_box`); the costs are NumPy arrays over all candidates at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Box", "place_labels", "text_box"]

#: Width of a character as a fraction of the font size (Plotly's default sans-serif,
#: rounded up), and the annotation's padding around its text, in pixels.
CHAR_WIDTH = 0.62
PAD_PX = 3.0
#: Radius of a star marker in pixels (the box a label and its leader keep clear of).
STAR_PX = 8.0
_RADII = (20.0, 30.0, 44.0, 60.0, 80.0, 105.0, 135.0, 170.0, 210.0, 260.0, 320.0)
_ANGLES = tuple(
    math.radians(a)
    for a in (
        180,
        0,
        165,
        195,
        15,
        345,
        150,
        210,
        30,
        330,
        135,
        225,
        45,
        315,
        120,
        240,
        60,
        300,
        105,
        255,
        75,
        285,
        90,
        270,
    )
)
#: Costs: a box on a box, a leader through a box, leaders crossing, a box on a star,
#: leaving the plot, and per pixel of leader (so that the nearest free place wins).
_BOX, _LEADER_BOX, _LEADERS, _STAR, _OUTSIDE, _PER_PX = 1000.0, 60.0, 3.0, 60.0, 10000.0, 0.02
_PASSES = 8

_F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels, y growing downwards."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        """Return whether the boxes overlap (or come within ``gap`` pixels)."""
        return not (
            self.x1 + gap <= other.x0
            or other.x1 + gap <= self.x0
            or self.y1 + gap <= other.y0
            or other.y1 + gap <= self.y0
        )

    def contains(self, x: float, y: float) -> bool:
        """Return whether the point is inside the box."""
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


def text_box(text: str, font_px: float, cx: float, cy: float) -> Box:
    """Return the box of one line of ``text`` centred on ``(cx, cy)``."""
    w = len(text) * font_px * CHAR_WIDTH + 2 * PAD_PX
    h = font_px * 1.3 + 2 * PAD_PX
    return Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(a: _F, b: _F, gap: float = 0.0) -> npt.NDArray[np.bool_]:
    """Boxes ``a`` (n x 4) against boxes ``b`` (m x 4): n x m, whether each pair overlaps."""
    return ~(
        (a[:, None, 2] + gap <= b[None, :, 0])
        | (b[None, :, 2] + gap <= a[:, None, 0])
        | (a[:, None, 3] + gap <= b[None, :, 1])
        | (b[None, :, 3] + gap <= a[:, None, 1])
    )


def _segment_hits_box(seg: _F, box: _F) -> npt.NDArray[np.bool_]:
    """Segments (n x 4: x0 y0 x1 y1) against boxes (m x 4): n x m, whether each crosses.

    Liang-Barsky clipping: the segment's parameter interval inside the box is non-empty.
    """
    x0, y0 = seg[:, None, 0], seg[:, None, 1]
    dx, dy = seg[:, None, 2] - x0, seg[:, None, 3] - y0
    lo = np.zeros((len(seg), len(box)))
    hi = np.ones((len(seg), len(box)))
    with np.errstate(divide="ignore", invalid="ignore"):
        for d, start, b0, b1 in (
            (dx, x0, box[None, :, 0], box[None, :, 2]),
            (dy, y0, box[None, :, 1], box[None, :, 3]),
        ):
            t0, t1 = (b0 - start) / d, (b1 - start) / d
            near, far = np.minimum(t0, t1), np.maximum(t0, t1)
            flat = d == 0  # parallel to this pair of sides: inside them or never
            outside = flat & ((start < b0) | (start > b1))
            near = np.where(flat, -np.inf, near)
            far = np.where(flat, np.inf, far)
            far = np.where(outside, -np.inf, far)
            lo, hi = np.maximum(lo, near), np.minimum(hi, far)
    return lo < hi


def _segments_cross(a: _F, b: _F) -> npt.NDArray[np.bool_]:
    """Segments ``a`` (n x 4) against ``b`` (m x 4): n x m, whether each pair properly crosses."""

    def side(px: _F, py: _F, qx: _F, qy: _F, rx: _F, ry: _F) -> _F:
        return np.sign((qx - px) * (ry - py) - (qy - py) * (rx - px))

    ax0, ay0, ax1, ay1 = (a[:, None, k] for k in range(4))
    bx0, by0, bx1, by1 = (b[None, :, k] for k in range(4))
    d1 = side(ax0, ay0, ax1, ay1, bx0, by0)
    d2 = side(ax0, ay0, ax1, ay1, bx1, by1)
    d3 = side(bx0, by0, bx1, by1, ax0, ay0)
    d4 = side(bx0, by0, bx1, by1, ax1, ay1)
    return (d1 * d2 < 0) & (d3 * d4 < 0)


class _Placement:
    """Every label's candidate places (offsets, boxes, leaders) and the place chosen."""

    def __init__(
        self,
        anchors: Sequence[tuple[float, float]],
        texts: Sequence[str],
        font_px: float,
        area: Box,
        obstacles: Sequence[Box],
        gap: float,
    ) -> None:
        self.n, self.gap = len(anchors), gap
        anchor = np.asarray(anchors, dtype=float).reshape(self.n, 2)
        stars = np.column_stack([anchor - STAR_PX, anchor + STAR_PX])
        self.fixed = np.array([[b.x0, b.y0, b.x1, b.y1] for b in obstacles]).reshape(-1, 4)
        self.offsets: list[_F] = []
        self.boxes: list[_F] = []
        self.leaders: list[_F] = []  # anchor to the box's centre
        self.base: list[_F] = []  # the costs that do not depend on the other labels
        self.alone: list[npt.NDArray[np.bool_]] = []  # inside, clear of every obstacle
        for i, text in enumerate(texts):
            half = text_box(text, font_px, 0, 0)
            hw, hh = half.x1, half.y1
            off = np.array(
                [
                    # beside the star the box's near edge (not its centre) is at the radius
                    (math.cos(a) * (r + hw * abs(math.cos(a))), -math.sin(a) * r)
                    for r in _RADII
                    for a in _ANGLES
                ]
            )
            centre = anchor[i] + off
            extent = np.array([hw, hh])
            box = np.column_stack([centre - extent, centre + extent])
            lead = np.column_stack([np.repeat(anchor[i : i + 1], len(off), axis=0), centre])
            inside = (
                (box[:, 0] >= area.x0)
                & (box[:, 2] <= area.x1)
                & (box[:, 1] >= area.y0)
                & (box[:, 3] <= area.y1)
            )
            cost = np.where(inside, 0.0, _OUTSIDE)
            cost += _STAR * _overlap(box, stars).sum(axis=1)
            clear = inside.copy()
            if len(self.fixed):
                on_fixed = _overlap(box, self.fixed, gap).sum(axis=1)
                cost += _BOX * on_fixed
                cost += _LEADER_BOX * _segment_hits_box(lead, self.fixed).sum(axis=1)
                clear &= on_fixed == 0
            # the leader's visible length: from the star to the box's nearest edge
            gap_x = np.maximum(np.maximum(box[:, 0] - anchor[i, 0], anchor[i, 0] - box[:, 2]), 0)
            gap_y = np.maximum(np.maximum(box[:, 1] - anchor[i, 1], anchor[i, 1] - box[:, 3]), 0)
            cost += _PER_PX * np.hypot(gap_x, gap_y)
            self.offsets.append(off)
            self.boxes.append(box)
            self.leaders.append(lead)
            self.base.append(cost)
            self.alone.append(clear)
        self.choice = [-1] * self.n

    def chosen_boxes(self, but: int = -1) -> tuple[list[int], _F]:
        """The placed labels (but one) and their boxes."""
        idx = [j for j in range(self.n) if j != but and self.choice[j] >= 0]
        return idx, np.array([self.boxes[j][self.choice[j]] for j in idx]).reshape(-1, 4)

    def cost_of(self, i: int) -> _F:
        """Every candidate place of label ``i`` priced against the others' places."""
        others, ob = self.chosen_boxes(but=i)
        cost = self.base[i].copy()
        if others:
            ol = np.array([self.leaders[j][self.choice[j]] for j in others])
            cost += _BOX * _overlap(self.boxes[i], ob, self.gap).sum(axis=1)
            cost += _LEADER_BOX * _segment_hits_box(self.leaders[i], ob).sum(axis=1)
            cost += _LEADER_BOX * _segment_hits_box(ol, self.boxes[i]).sum(axis=0)
            cost += _LEADERS * _segments_cross(self.leaders[i], ol).sum(axis=1)
        return cost

    def total(self) -> float:
        """The placement's cost (each pair's terms counted from both sides)."""
        return float(sum(self.cost_of(i)[self.choice[i]] for i in range(self.n)))

    def collisions(self) -> int:
        """Label boxes on label boxes or obstacles, and labels outside the plot."""
        _, b = self.chosen_boxes()
        pairs = (int(_overlap(b, b, self.gap).sum()) - len(b)) // 2
        return pairs + sum(not self.alone[i][self.choice[i]] for i in range(self.n))

    def repair(self) -> None:
        """Move each label to its cheapest place given the others, until none moves."""
        for _ in range(_PASSES):
            moved = False
            for i in range(self.n):
                cost = self.cost_of(i)
                best = int(np.argmin(cost))
                if cost[best] < cost[self.choice[i]] - 1e-9:
                    self.choice[i], moved = best, True
            if not moved:
                return

    def eject(self) -> bool:
        """Free a colliding label's place by moving the one label in its way elsewhere.

        A single move cannot leave a state where each free place is held by another
        label; a move of two can. Returns whether the collisions went down.
        """
        before = self.collisions()
        for i in range(self.n):
            _, ob = self.chosen_boxes(but=i)
            mine = self.boxes[i][self.choice[i]][None, :]
            if self.alone[i][self.choice[i]] and not _overlap(mine, ob, self.gap).any():
                continue
            old_i = self.choice[i]
            for c in np.argsort(self.base[i], kind="stable"):
                if not self.alone[i][c]:
                    continue
                others, boxes = self.chosen_boxes(but=i)
                hit = _overlap(self.boxes[i][c][None, :], boxes, self.gap)[0]
                if hit.sum() != 1:
                    continue
                j = others[int(np.argmax(hit))]
                old_j = self.choice[j]
                self.choice[i] = int(c)
                self.choice[j] = int(np.argmin(self.cost_of(j)))
                if self.collisions() < before:
                    return True
                self.choice[i], self.choice[j] = old_i, old_j
        return False


def place_labels(
    anchors: Sequence[tuple[float, float]],
    texts: Sequence[str],
    font_px: float,
    area: Box,
    obstacles: Sequence[Box] = (),
    gap: float = 3.0,
) -> list[tuple[float, float]]:
    """Return each label's offset ``(dx, dy)`` in pixels from its anchor (its box's centre).

    Args:
        anchors: Pixel positions of the points labelled (y downwards).
        texts: One label each.
        font_px: Font size.
        area: The plot area the labels must stay inside.
        obstacles: Boxes already taken (other labels).
        gap: Least distance between two boxes.

    Returns:
        The offset of each label's centre; a label with no free place takes the one that
        costs least (overlaps least).
    """
    if len(texts) != len(anchors):
        raise ValueError(f"{len(anchors)} anchors but {len(texts)} texts")
    if not anchors:
        return []
    plan = _Placement(anchors, texts, font_px, area, obstacles, gap)
    xy = np.asarray(anchors, dtype=float).reshape(-1, 2)
    near = (np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) < 150).sum(axis=1)
    orders = (  # greedy orders tried; the cheapest result is kept
        range(plan.n),
        np.argsort(-xy[:, 0], kind="stable"),  # right to left
        np.argsort(xy[:, 1], kind="stable"),  # top to bottom
        np.argsort(-near, kind="stable"),  # the most crowded first
    )
    best: tuple[tuple[int, float], list[int]] | None = None
    for order in orders:
        plan.choice = [-1] * plan.n
        for i in order:  # greedy: each at its cheapest place given those placed
            plan.choice[int(i)] = int(np.argmin(plan.cost_of(int(i))))
        plan.repair()
        for _ in range(plan.n):  # while labels collide, moves of two, then repair again
            if not plan.collisions() or not plan.eject():
                break
            plan.repair()
        score = (plan.collisions(), plan.total())
        if best is None or score < best[0]:
            best = (score, list(plan.choice))
    assert best is not None
    return [
        (float(plan.offsets[i][c][0]), float(plan.offsets[i][c][1])) for i, c in enumerate(best[1])
    ]
