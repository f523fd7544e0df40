"""The functional model: prefill equals stepwise decode, generation, variants, numerics cost."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from workloads.config import ModelConfig, get_config, glu_width
from workloads.cost import numerics_cost
from workloads.errors import WorkloadError
from workloads.model import BOS_TOKEN, TernaryLM, block_inputs
from workloads.numerics import ElementFormat, FunctionApprox, Numerics
from workloads.synthetic import synthetic_weights
from workloads.weights import ModelWeights

PROMPT = [5, 17, 400, 3, 99]


@pytest.fixture(scope="module")
def tiny() -> ModelWeights:
    return synthetic_weights(get_config("tiny"), 0)


@pytest.mark.parametrize(
    "numerics",
    [Numerics(), Numerics.exact(), Numerics(elementwise=ElementFormat.parse("fixed16.10"))],
    ids=["float32", "float64", "fixed"],
)
def test_batched_prefill_equals_token_by_token(tiny: ModelWeights, numerics: Numerics) -> None:
    model = TernaryLM(tiny, numerics)
    a = model.run(PROMPT, 6, keep_outputs=True)
    b = model.run(PROMPT, 6, keep_outputs=True, batch_prefill=False)
    assert a.tokens == b.tokens and a.next_token == b.next_token
    assert a.outputs is not None and b.outputs is not None
    assert np.array_equal(a.outputs, b.outputs)
    assert np.array_equal(a.state.h, b.state.h)
    # and a batch forward over the whole sequence gives the decode steps' logits
    logits, _ = model.forward(a.tokens, model.initial_state())
    assert np.array_equal(logits[len(PROMPT) - 1 :], a.outputs)


def test_generation_is_greedy_and_deterministic(tiny: ModelWeights) -> None:
    model = TernaryLM(tiny)
    new = model.generate(PROMPT, 8)
    assert len(new) == 8 and new == TernaryLM(tiny).generate(PROMPT, 8)
    r = model.run(PROMPT, 7, keep_outputs=True)
    assert [*r.tokens[len(PROMPT) :], r.next_token] == new
    assert r.outputs is not None
    assert [int(t) for t in r.outputs.argmax(axis=1)] == new
    assert r.outputs.shape == (8, tiny.config.vocab)
    assert len(set(new)) > 1  # not stuck on one token


def test_no_prompt_starts_from_bos(tiny: ModelWeights) -> None:
    r = TernaryLM(tiny).run([], 3)
    assert r.tokens[0] == BOS_TOKEN and len(r.tokens) == 3


def test_variant_switches_change_the_result(tiny: ModelWeights) -> None:
    cfg = tiny.config
    base = TernaryLM(tiny).run(PROMPT, 2, keep_outputs=True).outputs
    for change in ({"mlgru_form": "paper"}, {"bitlinear_eps": 1e-8}):
        w = synthetic_weights(dataclasses.replace(cfg, **change), 0)  # type: ignore[arg-type]
        out = TernaryLM(w).run(PROMPT, 2, keep_outputs=True).outputs
        assert out is not None and base is not None and np.isfinite(out).all()
        assert not np.array_equal(out, base)


def test_block_only_model() -> None:
    cfg = ModelConfig("blk", 2, 64, glu_width(64), 512, block_only=True)
    w = synthetic_weights(cfg, 1)
    assert w.embedding is None and w.lm_head is None
    x = block_inputs(cfg, 1, 5)
    model = TernaryLM(w)
    r = model.run(range(3), 2, inputs=x, keep_outputs=True)
    assert r.tokens == [] and r.next_token is None
    assert r.outputs is not None and r.outputs.shape == (5, 64)
    with pytest.raises(WorkloadError, match="block-only"):
        model.embed([1])
    with pytest.raises(WorkloadError, match="one input vector per step"):
        model.run(range(3), 2, inputs=x[:4])


def test_bad_tokens(tiny: ModelWeights) -> None:
    with pytest.raises(WorkloadError, match=r"token ids must be in 0\.\.511"):
        TernaryLM(tiny).run([512], 1)


def test_cost_of_exact_is_zero(tiny: ModelWeights) -> None:
    cost = numerics_cost(tiny, Numerics.exact(), PROMPT, 6)
    assert cost.positions == 7 and cost.max_abs_dlogit == 0 and cost.top1_agreement == 1


def test_cost_grows_with_coarser_numerics(tiny: ModelWeights) -> None:
    f32 = numerics_cost(tiny, Numerics(), PROMPT, 8)
    coarse = numerics_cost(
        tiny,
        Numerics(
            act_bits=4,
            elementwise=ElementFormat.parse("fixed12.6"),
            sigmoid=FunctionApprox.parse("lut:16@4"),
            silu=FunctionApprox.parse("pwl:4@4"),
        ),
        PROMPT,
        8,
    )
    assert 0 < f32.max_abs_dlogit < 1e-4 and f32.top1_agreement == 1
    assert coarse.max_abs_dlogit > 100 * f32.max_abs_dlogit
    assert coarse.top1_agreement is not None and coarse.top1_agreement < 1
    assert coarse.to_dict()["numerics"]["elementwise"] == "fixed12.6"


def test_narrow_accumulator_costs_and_wide_one_does_not(tiny: ModelWeights) -> None:
    # |acc| < 128·256 = 2^15 for tiny: 17 bits never overflow, 10 bits do
    wide = numerics_cost(tiny, Numerics(acc_bits=17), PROMPT, 4, reference=Numerics())
    assert wide.max_abs_dlogit == 0
    for overflow in ("wrap", "saturate"):
        narrow = Numerics(acc_bits=10, acc_overflow=overflow)  # type: ignore[arg-type]
        assert numerics_cost(tiny, narrow, PROMPT, 4).max_abs_dlogit > 1e-3


def test_block_only_cost() -> None:
    cfg = ModelConfig("blk", 1, 64, glu_width(64), 512, block_only=True)
    cost = numerics_cost(synthetic_weights(cfg, 0), Numerics(act_bits=6), range(2), 2)
    assert cost.top1_agreement is None and cost.positions == 4 and cost.max_abs_dlogit > 0


@pytest.mark.parametrize(
    "numerics",
    [
        Numerics(),
        Numerics(acc_bits=12, acc_overflow="saturate"),
        Numerics(acc_bits=12, acc_overflow="wrap"),
        Numerics.exact(),
    ],
    ids=["float32", "saturate12", "wrap12", "float64"],
)
def test_weights_unpacked_once_give_the_same_results_to_the_bit(
    tiny: ModelWeights, numerics: Numerics
) -> None:
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    packed = TernaryLM(tiny, numerics).run(PROMPT, 4, keep_outputs=True)
    fast = TernaryLM(
        tiny,
        numerics,
        unpacked=True,
        on_matvec=lambda m, q, acc: seen.append((acc.exact, acc.fitted)),
    ).run(PROMPT, 4, keep_outputs=True)
    assert fast.tokens == packed.tokens and fast.next_token == packed.next_token
    assert packed.outputs is not None and fast.outputs is not None
    assert np.array_equal(fast.outputs, packed.outputs)
    assert seen and all(np.array_equal(e, np.rint(e)) for e, _ in seen)
