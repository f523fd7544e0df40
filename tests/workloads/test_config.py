"""Model configurations: the built-in table, HF config.json parsing, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workloads.config import (
    BUILTIN_CONFIGS,
    ModelConfig,
    config_from_hf,
    config_to_hf,
    get_config,
    glu_width,
)
from workloads.errors import ModelConfigError
from workloads.weights import parameter_shapes

# PAPER.md's table: layers, d, I, vocab, ternary weights per layer, total parameters (≈).
PAPER_TABLE = {
    "370m": (24, 1024, 2816, 32000, 12_845_056, 374e6),
    "1.3b": (24, 2048, 5632, 32000, 51_380_224, 1.36e9),
    "2.7b": (32, 2560, 6912, 32000, 79_298_560, 2.70e9),
}


@pytest.mark.parametrize("name", sorted(PAPER_TABLE))
def test_builtin_matches_paper_table(name: str) -> None:
    layers, d, inter, vocab, per_layer, total = PAPER_TABLE[name]
    c = get_config(name)
    assert (c.layers, c.d, c.intermediate, c.vocab) == (layers, d, inter, vocab)
    assert c.ternary_weights_per_layer == per_layer
    assert c.parameters == pytest.approx(total, rel=0.01)


@pytest.mark.parametrize("name", sorted(BUILTIN_CONFIGS))
def test_ternary_weights_per_token_formula(name: str) -> None:
    c = get_config(name)
    d, inter = c.d, c.intermediate
    head = 0 if c.block_only else c.vocab * d
    assert c.ternary_weights_per_token == c.layers * (4 * d * d + 3 * d * inter) + head
    # the matrices the model builds hold exactly that many weights
    shapes = parameter_shapes(c)
    ternary = sum(
        r * k
        for n, (r, k, *_) in ((n, s) for n, s in shapes.items() if len(s) == 2)
        if n.endswith("proj.weight") or n == "lm_head.weight"
    )
    assert ternary == c.ternary_weights_per_token


def test_paper_block_and_glu_width() -> None:
    c = get_config("paper-block-d512")
    assert (c.layers, c.d, c.intermediate, c.block_only) == (1, 512, 1536, True)
    assert c.ternary_weights_per_token == 4 * 512**2 + 3 * 512 * 1536
    assert [glu_width(d) for d in (1024, 2048, 2560, 512)] == [2816, 5632, 6912, 1536]


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(ModelConfigError) as exc:
        get_config("13b")
    msg = str(exc.value)
    assert "unknown model '13b'" in msg
    for name in BUILTIN_CONFIGS:
        assert name in msg


def test_names_are_case_insensitive() -> None:
    assert get_config("370M") is BUILTIN_CONFIGS["370m"]


def test_hf_config_json_and_round_trip(tmp_path: Path) -> None:
    hf = config_to_hf(get_config("370m"))
    folder = tmp_path / "MMfreeLM-370M"
    folder.mkdir()
    hf["intermediate_size"] = None  # the released files leave it to the formula
    hf.pop("_name_or_path")
    (folder / "config.json").write_text(json.dumps(hf))
    c = get_config(folder)
    assert c.name == "MMfreeLM-370M"
    assert c.ternary_weights_per_token == get_config("370m").ternary_weights_per_token
    assert get_config(folder / "config.json") == c


def test_config_dict_round_trip() -> None:
    c = get_config("2.7b")
    assert ModelConfig.from_dict(c.to_dict()) == c
    assert c.to_dict()["ternary_weights_per_token"] == c.ternary_weights_per_token


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "config.json"
    f.write_text('{\n  "model_type": "hgrn_bit",\n  "hidden_size": 64,,\n}')
    with pytest.raises(ModelConfigError, match=r"config.json:3 not valid JSON"):
        get_config(f)


def test_every_problem_is_listed() -> None:
    data = {
        "model_type": "llama",
        "hidden_size": -4,
        "vocab_size": "32000",
        "use_short_conv": True,
        "num_heads": 4,
    }
    with pytest.raises(ModelConfigError) as exc:
        config_from_hf(data, "bad")
    problems = exc.value.problems
    assert any(p.startswith("model_type: must be") for p in problems)
    assert any(p.startswith("hidden_size: must be a positive integer (got -4)") for p in problems)
    assert any(p.startswith("num_hidden_layers: required field missing") for p in problems)
    assert any(
        p.startswith('vocab_size: must be a positive integer (got "32000")') for p in problems
    )
    assert any(p.startswith("use_short_conv: only false") for p in problems)
    assert any(p.startswith("num_heads: only 1") for p in problems)


def test_not_an_object_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match="must be a JSON object"):
        config_from_hf([1, 2], "x")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelConfigError, match=r"no config\.json"):
        get_config(empty)


def test_invalid_dataclass_values() -> None:
    with pytest.raises(ModelConfigError, match="layers: must be a positive integer"):
        ModelConfig("x", 0, 64, 256, 100)
    with pytest.raises(ModelConfigError, match="mlgru_form"):
        ModelConfig("x", 1, 64, 256, 100, mlgru_form="figure")  # type: ignore[arg-type]
