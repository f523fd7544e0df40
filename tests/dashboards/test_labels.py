"""The label placer: its geometry against hand-worked cases, and crowded placements."""

from __future__ import annotations

import numpy as np
import pytest

from dashboards._labels import (
    Box,
    _segment_hits_box,
    _segments_cross,
    place_labels,
    text_box,
)

AREA = Box(0, 0, 600, 400)


def test_a_segment_crosses_a_box_only_where_it_passes_through_it() -> None:
    box = np.array([[10.0, 10.0, 20.0, 20.0]])
    segments = np.array(
        [
            [0.0, 15.0, 30.0, 15.0],  # straight through
            [0.0, 0.0, 30.0, 30.0],  # diagonally through
            [0.0, 0.0, 30.0, 0.0],  # along y = 0, below it
            [15.0, 0.0, 15.0, 5.0],  # stops short of it
            [0.0, 30.0, 30.0, 25.0],  # above it
            [15.0, 15.0, 40.0, 40.0],  # starts inside
        ]
    )
    assert _segment_hits_box(segments, box)[:, 0].tolist() == [
        True,
        True,
        False,
        False,
        False,
        True,
    ]


def test_two_segments_cross_only_when_each_straddles_the_other() -> None:
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[0.0, 10.0, 10.0, 0.0], [20.0, 0.0, 30.0, 10.0], [0.0, 1.0, 10.0, 11.0]])
    assert _segments_cross(a, b)[0].tolist() == [True, False, False]


def _boxes(anchors: list[tuple[float, float]], texts: list[str], font: float) -> list[Box]:
    offsets = place_labels(anchors, texts, font, AREA)
    return [
        text_box(t, font, x + dx, y + dy)
        for (x, y), t, (dx, dy) in zip(anchors, texts, offsets, strict=True)
    ]


def test_a_tight_cluster_gets_labels_clear_of_each_other_and_inside_the_plot() -> None:
    rng = np.random.default_rng(7)
    anchors = [(float(x), float(y)) for x, y in rng.normal((300, 200), 12, size=(14, 2))]
    texts = [f"GPU case number {k} ×16" for k in range(14)]
    boxes = _boxes(anchors, texts, 11)
    for i, a in enumerate(boxes):
        assert a.x0 >= AREA.x0 and a.x1 <= AREA.x1 and a.y0 >= AREA.y0 and a.y1 <= AREA.y1
        for b in boxes[:i]:
            assert not a.overlaps(b), (a, b)


def test_a_cluster_in_a_corner_is_resolved_by_moving_labels_in_pairs() -> None:
    # five long labels on stars near the top right corner: the free places are few
    anchors = [(560.0, 30.0), (545.0, 40.0), (570.0, 55.0), (530.0, 25.0), (555.0, 70.0)]
    texts = [f"H100 Transformer compiled graph ×{k}" for k in range(5)]
    boxes = _boxes(anchors, texts, 11)
    for i, a in enumerate(boxes):
        assert AREA.x0 <= a.x0 and a.x1 <= AREA.x1
        for b in boxes[:i]:
            assert not a.overlaps(b), (a, b)


def test_placement_is_deterministic_and_checks_its_input() -> None:
    anchors = [(100.0, 100.0), (110.0, 105.0), (120.0, 98.0)]
    texts = ["a label", "another label", "a third one"]
    assert place_labels(anchors, texts, 11, AREA) == place_labels(anchors, texts, 11, AREA)
    assert place_labels([], [], 11, AREA) == []
    with pytest.raises(ValueError, match="3 anchors but 2 texts"):
        place_labels(anchors, texts[:2], 11, AREA)
