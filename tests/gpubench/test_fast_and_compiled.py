"""The engineer's Transformer++ and the compiled decoders, on the CPU.

``transformer_fast``'s cached decode equals recomputing from the prompt (same float32
arithmetic on the same tokens: exact argmax agreement). A compiled decoder must choose
the same tokens as the eager one: with the ``eager`` and ``aot_eager`` backends (the
decoder wiring, graph capture without breaks, functionalised in-place cache and state
updates) always; with inductor (a C++ compiler on the CPU) where it runs, marked slow.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gpubench.models import (  # noqa: E402
    COMPILED,
    FAST_HEADS,
    TransformerFast,
    build_decoder,
    build_model,
    step_bytes,
    weight_bytes,
)
from gpubench.shapes import get_shape  # noqa: E402

pytestmark = pytest.mark.torch

TINY = get_shape("tiny")


def _tokens(impl: str, backend: str | None, batch: int = 2) -> list[list[int]]:
    model = build_model(TINY, impl, "cpu", torch.float32, seed=4)
    d = build_decoder(model, batch, 8, 6)
    d.prompt.copy_(
        torch.randint(0, TINY.vocab, (batch, 8), generator=torch.Generator().manual_seed(1))
    )
    if backend is not None:
        assert d.compile_(backend) >= 0.0
    d.prefill_()
    seen = [d.token.clone()]
    for _ in range(4):
        d.step_()
        seen.append(d.token.clone())
    d.rewind_()  # the compiled step again after a rewind
    d.step_()
    seen.append(d.token.clone())
    return torch.stack(seen).T.tolist()  # type: ignore[no-any-return]


def test_fast_cache_equals_recompute(one_thread: None) -> None:
    model = build_model(TINY, "transformer_fast", "cpu", torch.float32, seed=2)
    assert isinstance(model, TransformerFast) and model.heads == FAST_HEADS
    d = build_decoder(model, 2, 8, 6)
    d.prompt.copy_(torch.randint(0, TINY.vocab, (2, 8), generator=torch.Generator().manual_seed(5)))
    d.prefill_()
    seq = [d.prompt.clone(), d.token.unsqueeze(1).clone()]
    for _ in range(3):
        d.step_()
        seq.append(d.token.unsqueeze(1).clone())
    full = torch.cat(seq, 1)
    again = build_decoder(model, 2, full.shape[1] - 1, 1)
    again.prompt.copy_(full[:, :-1])
    again.prefill_()
    assert torch.equal(again.token, full[:, -1])


def test_fast_has_the_transformer_weights() -> None:
    fast = build_model(TINY, "transformer_fast", "cpu", torch.float32)
    plain = build_model(TINY, "transformer", "cpu", torch.float32)
    assert weight_bytes(fast) == weight_bytes(plain)


@pytest.mark.parametrize("impl", sorted(COMPILED))
@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_compiled_wiring(impl: str, backend: str, one_thread: None) -> None:
    assert _tokens(impl, backend) == _tokens(COMPILED[impl], None)


@pytest.mark.slow
def test_compiled_by_inductor_where_it_runs(one_thread: None) -> None:
    try:
        got = _tokens("transformer_compiled", "inductor", batch=1)
    except Exception as exc:  # no C++ compiler, or inductor unsupported here
        pytest.skip(f"inductor does not run here: {type(exc).__name__}: {exc}"[:200])
    assert got == _tokens("transformer_fast", None, batch=1)


def test_step_bytes() -> None:
    """Weights once (one embedding row per sequence) plus cache or state."""
    d_model = TINY.d
    for impl in ("dense", "transformer_fast"):
        model = build_model(TINY, impl, "cpu", torch.float32)
        d = build_decoder(model, 2, 8, 6)
        table = TINY.vocab * d_model * 4
        at0 = step_bytes(model, d, 0)
        at9 = step_bytes(model, d, 9)
        assert at0 >= weight_bytes(model) - table + 2 * d_model * 4
        if impl == "dense":
            assert at9 == at0  # a recurrent state does not grow
        else:  # keys and values of 9 more positions, 2 sequences, every layer
            assert at9 - at0 == 9 * 2 * 2 * TINY.layers * d_model * 4


def test_meta_device_and_unknown() -> None:
    from gpubench.capture import capture_harness_step

    step = capture_harness_step("tiny", "transformer_fast", 1)
    names = [k.name for k in step.kernels]
    assert sum("index_copy" in n for n in names) == TINY.layers  # one cache write a layer
    assert sum("linear" in n or "mm" in n for n in names) >= 3 * TINY.layers + 1
    with pytest.raises(ValueError, match="cannot be traced on the meta device"):
        capture_harness_step("tiny", "dense_compiled", 1)
