"""The four implementations: the harness's options give the reference's function; decoders agree.

Tolerances: float32 on both sides with the same latent weights; the two option sets
differ only in rounding order (the recurrence and the norm), measured 1e-6 against logits of
~0.4, so 1e-4 relative to the largest logit; ``packed`` multiplies the same ternary
values with the scale applied after the sum, the same bound.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gpubench.models import (  # noqa: E402
    TransformerPP,
    build_decoder,
    build_model,
    mmfree_options,
    weight_bytes,
)
from gpubench.shapes import ModelShape, get_shape  # noqa: E402
from workloads.config import get_config  # noqa: E402
from workloads.torch_model import TorchMMfreeLM, TorchOptions, weight_quant  # noqa: E402

pytestmark = pytest.mark.torch

TINY = get_shape("tiny")


@pytest.fixture(scope="module")
def reference_lm() -> TorchMMfreeLM:
    ref = TorchMMfreeLM(get_config("tiny"), torch.float32, "cpu", TorchOptions(round_half="even"))
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if p.dim() == 2 and "lower_bounds" not in name:
                p.normal_(0, 0.02, generator=gen)
            elif "lower_bounds" in name:
                p.normal_(0, 1, generator=gen)
            else:
                p.uniform_(0.5, 1.5, generator=gen)
    return ref


def _from_ref(ref: TorchMMfreeLM, impl: str) -> TorchMMfreeLM:
    model = TorchMMfreeLM(TINY.config, torch.float32, "cpu", mmfree_options(impl))
    sd = ref.state_dict()
    bitlinears = dict(model.named_bitlinears())
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.removesuffix(".weight") not in bitlinears:
                p.copy_(sd[name])
        for name, bl in bitlinears.items():
            bl.load_latent_(sd[name + ".weight"])
    return model


@pytest.mark.parametrize("impl", ["reference", "dense", "packed"])
def test_same_function_as_the_reference(reference_lm: TorchMMfreeLM, impl: str) -> None:
    ids = torch.randint(0, TINY.vocab, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, want_state = reference_lm(ids)
    model = _from_ref(reference_lm, impl)
    state = torch.zeros(2, TINY.layers, TINY.d)
    with torch.no_grad():
        got, _ = model(ids, state)
    scale = float(want.abs().max())
    assert float((got - want).abs().max()) < 1e-4 * scale
    assert torch.allclose(state, want_state, atol=1e-4)
    # one token at a time from the prompt's state: the decode path
    state = torch.zeros(2, TINY.layers, TINY.d)
    with torch.no_grad():
        model(ids[:, :8], state)
        step, _ = model(ids[:, 8:], state, last_only=True)
    assert float((step - want[:, -1]).abs().max()) < 1e-4 * scale


def test_reference_and_dense_weights_agree() -> None:
    w = torch.randn(16, 32, dtype=torch.bfloat16)
    ref = build_model(TINY, "reference", "cpu")
    dense = build_model(TINY, "dense", "cpu")
    assert isinstance(ref, TorchMMfreeLM) and isinstance(dense, TorchMMfreeLM)
    r = dict(ref.named_bitlinears())["model.layers.0.attn.i_proj"]
    d = dict(dense.named_bitlinears())["model.layers.0.attn.i_proj"]
    assert torch.equal(weight_quant(r.weight), d.weight)
    assert weight_quant(w).unique().numel() <= 3


@pytest.mark.parametrize("impl", ["reference", "dense", "packed", "transformer"])
def test_decoder_greedy_rewind(impl: str, one_thread: None) -> None:
    model = build_model(TINY, impl, "cpu", torch.float32, seed=5)
    dec = build_decoder(model, batch=3, prompt_tokens=5, max_steps=6)
    gen = torch.Generator().manual_seed(2)
    dec.prompt.copy_(torch.randint(0, TINY.vocab, (3, 5), generator=gen))
    dec.prefill_()
    first = [dec.token.clone()]
    for _ in range(6):
        dec.step_()
        first.append(dec.token.clone())
    dec.rewind_()
    again = [dec.token.clone()]
    for _ in range(6):
        dec.step_()
        again.append(dec.token.clone())
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    dec.prefill_()
    assert torch.equal(dec.token, first[0])


def test_transformer_cache_equals_recompute(one_thread: None) -> None:
    """Decoding with the static KV cache gives the logits of a full forward pass."""
    model = build_model(TINY, "transformer", "cpu", torch.float32, seed=1)
    assert isinstance(model, TransformerPP)
    dec = build_decoder(model, batch=2, prompt_tokens=4, max_steps=5)
    gen = torch.Generator().manual_seed(0)
    dec.prompt.copy_(torch.randint(0, TINY.vocab, (2, 4), generator=gen))
    dec.prefill_()
    seq = [dec.prompt, dec.token.unsqueeze(1).clone()]
    for _ in range(5):
        dec.step_()
        seq.append(dec.token.unsqueeze(1).clone())
    ids = torch.cat(seq, dim=1)  # prompt + 6 chosen tokens
    for t in range(4, ids.shape[1]):
        full = build_decoder(model, batch=2, prompt_tokens=t, max_steps=1)
        full.prompt.copy_(ids[:, :t])
        full.prefill_()
        assert torch.equal(full.token, ids[:, t]), t


def test_sizes_and_memory() -> None:
    shape = ModelShape("s", 2, 64, 256, 512, head_dim=16)
    impls = ("dense", "packed", "transformer")
    sizes = {impl: weight_bytes(build_model(shape, impl, "cpu")) for impl in impls}
    matrices = shape.matrix_weights
    assert sizes["packed"] < sizes["dense"] / 3
    assert sizes["transformer"] == pytest.approx(sizes["dense"], rel=0.02)
    assert sizes["dense"] >= 2 * matrices


@pytest.mark.parametrize("impl", ["reference", "dense", "packed", "transformer"])
def test_meta_device(impl: str) -> None:
    """Shapes only (for tracing what a step dispatches): no weights are drawn."""
    shape = get_shape("370m")
    model = build_model(
        ModelShape("meta", 2, shape.d, shape.intermediate, shape.vocab), impl, "meta"
    )
    dec = build_decoder(model, batch=16, prompt_tokens=128, max_steps=4)
    dec.step_()
    assert dec.token.device.type == "meta"


def test_unknown_impl() -> None:
    with pytest.raises(ValueError, match="'fast' is not in the supported list"):
        build_model(TINY, "fast", "cpu")
