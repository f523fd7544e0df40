"""The fastest measured GPU case: what the Pareto view shows as "the GPU" by default."""

from __future__ import annotations

import pytest

from dashboards.gpu import FASTEST_NOTE, GpuPoint, fastest_points, load_baselines
from dashboards.names import gpu_label, impl_name

#: The GPU cases' names on the page (dashboards.names).
H100_FUSED_B1 = "H100 fused 2-bit (Triton), CUDA graph, batch 1"
H100_COMPILED_B16 = "H100 dense bf16 (torch.compile), CUDA graph, batch 16"


def _point(
    key: str, gpu: str, impl: str, batch: int, ms: float | None, model: str = "370m"
) -> GpuPoint:
    tps = 1000.0 * batch / ms if ms else None
    return GpuPoint(
        key=key,
        label=gpu_label(gpu, impl, "graph", batch),
        gpu=gpu,
        model=model,
        impl=impl,
        launch="graph",
        batch=batch,
        tokens_per_s=tps,
        avg_power_w=300.0,
        energy_per_token_j=300.0 / tps if tps else None,
        ms_per_token=ms,
        peak_memory_gib=1.0,
        source=f"{gpu.lower()}.json",
        date="2025-01-01",
    )


POINTS = [
    _point("gpu:0:0", "H200", "packed", 1, 3.0),
    _point("gpu:0:1", "H200", "fused", 1, 0.9),
    _point("gpu:1:0", "H100", "fused", 1, 0.64),  # another card is faster
    _point("gpu:1:1", "H100", "dense_compiled", 1, None),  # no ms/token: never the fastest
    _point("gpu:0:2", "H200", "fused", 16, 1.4),
    _point("gpu:1:2", "H100", "dense_compiled", 16, 1.15),
    _point("gpu:0:3", "H200", "fused", 1, 1.2, model="1.3b"),
]


def test_the_fastest_of_each_batch_over_every_card() -> None:
    got = fastest_points(POINTS, [1, 16])
    # ordered by model, then batch
    assert [p.key for p in got] == ["gpu:0:3", "gpu:1:0", "gpu:1:2"]
    by = {(p.model, p.batch): p for p in got}
    assert by[("370m", 1)].key == "gpu:1:0"
    assert by[("370m", 16)].key == "gpu:1:2"
    assert by[("370m", 1)].label == H100_FUSED_B1 + " (fastest measured)"
    assert by[("370m", 16)].label == H100_COMPILED_B16 + FASTEST_NOTE
    # every other model is kept apart: one fastest point per model and batch
    assert by[("1.3b", 1)].key == "gpu:0:3" and len(got) == 3
    # only the label changes; the figures are the case's own
    assert by[("370m", 1)].ms_per_token == pytest.approx(0.64)
    assert by[("370m", 1)].tokens_per_s == POINTS[2].tokens_per_s


def test_only_the_batches_asked_for() -> None:
    assert [p.key for p in fastest_points(POINTS, [16])] == ["gpu:1:2"]
    assert fastest_points(POINTS, []) == []
    assert fastest_points(POINTS, [4]) == []  # none measured at batch 4
    assert len(fastest_points(POINTS)) == 3  # None: every batch measured
    assert fastest_points([], [1]) == []


def test_ties_and_missing_figures() -> None:
    tie = [_point("gpu:0:0", "H200", "a", 1, 1.0), _point("gpu:1:0", "H100", "b", 1, 1.0)]
    assert [p.key for p in fastest_points(tie, [1])] == ["gpu:0:0"]  # the first loaded
    unmeasured = [_point("gpu:0:0", "H200", "a", 1, None)]
    assert fastest_points(unmeasured, [1]) == []


def test_agrees_with_gpubench_on_the_shipped_baselines() -> None:
    from gpubench.fastest import fastest_shipped
    from gpubench.schema import shipped_baseline_paths

    points, notices = load_baselines(shipped_baseline_paths())
    assert notices == [] and points
    pairs = sorted({(p.model, p.batch) for p in points})
    got = {(p.model, p.batch): p for p in fastest_points(points)}
    assert sorted(got) == pairs
    for model, batch in pairs:
        expected = fastest_shipped(model, batch)
        assert expected is not None
        p = got[(model, batch)]
        assert (p.source, p.impl, p.launch, p.batch) == (
            expected.source,
            expected.case.impl,
            expected.case.launch,
            batch,
        )
        assert p.ms_per_token == expected.case.decode_ms_per_token
        assert p.label.endswith(FASTEST_NOTE) and impl_name(p.impl) in p.label
