"""The harness's copy of the model shapes agrees with ``workloads.config``."""

from __future__ import annotations

import pytest

from gpubench.errors import BaselineError
from gpubench.shapes import MODEL_SHAPES, get_shape
from workloads.config import BUILTIN_CONFIGS


@pytest.mark.parametrize("name", sorted(MODEL_SHAPES))
def test_same_as_workloads(name: str) -> None:
    s, c = MODEL_SHAPES[name], BUILTIN_CONFIGS[name]
    assert (s.layers, s.d, s.intermediate, s.vocab) == (c.layers, c.d, c.intermediate, c.vocab)
    assert s.weights_per_layer == c.ternary_weights_per_layer
    assert s.matrix_weights == c.ternary_weights_per_token


def test_matrices_and_heads() -> None:
    s = get_shape("2.7B")
    assert s.matrices() == {
        "attn": (2560, 2560),
        "gate_up": (13824, 2560),
        "down": (2560, 6912),
        "head": (32000, 2560),
    }
    assert s.heads == 20 and s.d % s.heads == 0


def test_unknown_model_lists_known() -> None:
    with pytest.raises(BaselineError, match=r"'7b' is not in the supported list: 370m, 1\.3b"):
        get_shape("7b")
