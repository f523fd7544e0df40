"""generate_trace reports each phase that takes time: building the weights, running."""

from __future__ import annotations

from pathlib import Path

from workloads.config import get_config
from workloads.loading import clear_weight_cache, load_weights
from workloads.trace import PHASE_TOKENS, PHASE_WEIGHTS, generate_trace
from workloads.weights import parameter_shapes


def test_on_progress_reports_weights_per_tensor_then_tokens_per_step(tmp_path: Path) -> None:
    clear_weight_cache()
    calls: list[tuple[str, int, int]] = []
    steps: list[int] = []
    trace = generate_trace(
        "tiny",
        2,
        3,
        seed=5,
        out=tmp_path / "t",
        progress=steps.append,
        on_progress=lambda *a: calls.append(a),
    )
    tensors = len(parameter_shapes(get_config("tiny")))
    weights = [c for c in calls if c[0] == PHASE_WEIGHTS]
    tokens = [c for c in calls if c[0] == PHASE_TOKENS]
    assert calls == weights + tokens  # weights first, then tokens
    assert len(weights) >= tensors and all(c[2] == tensors for c in weights)
    assert [c[1] for c in weights][:tensors] == list(range(1, tensors + 1))
    assert weights[-1][1] == tensors
    assert tokens[0] == (PHASE_TOKENS, 0, 5) and tokens[-1] == (PHASE_TOKENS, 5, 5)
    assert [c[1] for c in tokens] == sorted(c[1] for c in tokens)
    assert sum(steps) == 5  # the older per-step callback still called
    assert trace.summary["steps"] == 5
    # weights already built are kept: no weights phase the second time
    again: list[tuple[str, int, int]] = []
    generate_trace("tiny", 2, 3, seed=5, on_progress=lambda *a: again.append(a))
    assert {c[0] for c in again} == {PHASE_TOKENS}


def test_load_weights_calls_on_tensor_per_parameter() -> None:
    clear_weight_cache()
    names: list[str] = []
    load_weights("tiny", 3, on_tensor=names.append)
    assert sorted(names) == sorted(parameter_shapes(get_config("tiny")))
    names.clear()
    load_weights("tiny", 3, on_tensor=names.append)
    assert names == []  # kept from the first call
