"""Label placement for the Pareto plot: text boxes that do not collide, in pixel space.

Plotly places an annotation's text where it is told and never moves it out of another's
way, so the GPU stars' labels are placed here: each label tries offsets around its star
(nearest first) and takes the first whose box stays inside the plot, clear of every box
placed before it, of every star, and whose leader line crosses no placed box. Boxes are
estimated from the text's length and font size (:func:`text_box`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Box", "place_labels", "text_box"]

#: Width of a character as a fraction of the font size (Plotly's default sans-serif,
#: rounded up), and the annotation's padding around its text, in pixels.
CHAR_WIDTH = 0.62
PAD_PX = 3.0
#: Radius of a star marker in pixels (the box a label and its leader keep clear of).
STAR_PX = 8.0
_RADII = (20.0, 30.0, 44.0, 60.0, 80.0, 105.0, 135.0, 170.0, 210.0, 260.0, 320.0)
_ANGLES = tuple(math.radians(a) for a in (180, 0, 150, 210, 30, 330, 120, 240, 60, 300, 90, 270))


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


def _crosses(x0: float, y0: float, x1: float, y1: float, box: Box) -> bool:
    steps = max(2, int(math.hypot(x1 - x0, y1 - y0) / 3))
    return any(
        box.contains(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
        for k in range(1, steps)
    )


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
        overlaps least.
    """
    stars = [Box(x - STAR_PX, y - STAR_PX, x + STAR_PX, y + STAR_PX) for x, y in anchors]
    taken: list[Box] = list(obstacles)
    out: list[tuple[float, float]] = []
    for (ax, ay), text in zip(anchors, texts, strict=True):
        best: tuple[float, tuple[float, float], Box] | None = None
        for radius in _RADII:
            for angle in _ANGLES:
                half_w = text_box(text, font_px, 0, 0).x1
                # beside the star the box's near edge (not its centre) is at the radius
                dx = math.cos(angle) * (radius + half_w * abs(math.cos(angle)))
                dy = -math.sin(angle) * radius
                box = text_box(text, font_px, ax + dx, ay + dy)
                cost = sum(box.overlaps(t, gap) for t in taken) * 10.0
                cost += sum(box.overlaps(s) for s in stars)
                cost += sum(_crosses(ax, ay, ax + dx, ay + dy, t) for t in taken)
                inside = (
                    box.x0 >= area.x0
                    and box.x1 <= area.x1
                    and box.y0 >= area.y0
                    and box.y1 <= area.y1
                )
                cost += 0.0 if inside else 100.0
                if best is None or cost < best[0]:
                    best = (cost, (dx, dy), box)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        out.append(best[1])
        taken.append(best[2])
    return out
