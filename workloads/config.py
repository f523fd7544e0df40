"""Model configurations: the shapes of a MatMul-free LM and the switches of its variants.

A :class:`ModelConfig` fixes everything the functional model and the trace depend on:
layers ``L``, hidden size ``d``, GLU width ``I``, vocabulary ``V``, and two switches where
the released code and the paper differ (PAPER.md):

- ``mlgru_form``: ``"code"`` (default, what released checkpoints run:
  ``o = W_o(RMSNorm(W_g x) ⊙ SiLU(h))``) or ``"paper"`` (the paper's figure:
  ``o = W_o(σ(W_g x) ⊙ h)``);
- ``bitlinear_eps``: the epsilon of the RMSNorm inside every BitLinear; 1e-6 (default) is
  what the fused kernel of the released model uses, 1e-8 what the module is built with.

Every layer holds ``4d² + 3dI`` ternary weights (i, f, g, o projections; the fused
gate/up ``[2I, d]`` and the down ``[d, I]`` matrix); the LM head adds ``V·d``. The
embedding is full precision and read one row per token.

Configurations come from :func:`get_config`: a built-in name (``370m``, ``1.3b``, ``2.7b``,
``paper-block-d512``: one block at d = 512 as in the paper's FPGA measurement, ``tiny``
for tests) or the path of a Hugging Face ``hgrn_bit`` ``config.json`` (or of the folder
holding one).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workloads.errors import ModelConfigError

__all__ = [
    "BUILTIN_CONFIGS",
    "MlgruForm",
    "ModelConfig",
    "config_from_hf",
    "config_to_hf",
    "get_config",
    "glu_width",
]

MlgruForm = Literal["code", "paper"]
_FORMS: tuple[str, ...] = ("code", "paper")


def glu_width(d: int, hidden_ratio: float = 4) -> int:
    """Return the GLU width ``I`` the reference code derives from the hidden size.

    ``I = 256 · ceil(int(d · hidden_ratio · 2/3) / 256)``; for ``hidden_ratio`` 4 that is
    ``256 · ceil(int(8d/3) / 256)`` (2816 at d = 1024, 5632 at 2048, 6912 at 2560).

    Args:
        d: Hidden size.
        hidden_ratio: The config's ``hidden_ratio`` (4 in every released model).

    Returns:
        The intermediate size.
    """
    width = int(d * hidden_ratio * 2 / 3)
    return 256 * ((width + 255) // 256)


@dataclass(frozen=True)
class ModelConfig:
    """The shape and variant switches of one MatMul-free LM.

    Attributes:
        name: A label (built-in name, or the checkpoint's name).
        layers: Number of blocks ``L``.
        d: Hidden size.
        intermediate: GLU width ``I`` (the down projection's input size).
        vocab: Vocabulary size ``V``.
        block_only: Only the blocks, no embedding, final norm or LM head (the paper's
            FPGA measurement: "a token" is one block forward pass).
        mlgru_form: ``"code"`` (released checkpoints) or ``"paper"`` (the paper's figure).
        bitlinear_eps: Epsilon of the RMSNorm inside every BitLinear.
        rms_norm_eps: Epsilon of the pre-norms, the g-norm and the final norm.
        use_lower_bound: Whether forget gates get the learned per-layer lower bound.
        context: Maximum sequence length (``max_position_embeddings``); informational,
            the recurrent model has no positional limit of its own.
    """

    name: str
    layers: int
    d: int
    intermediate: int
    vocab: int
    block_only: bool = False
    mlgru_form: MlgruForm = "code"
    bitlinear_eps: float = 1e-6
    rms_norm_eps: float = 1e-6
    use_lower_bound: bool = True
    context: int = 2048

    def __post_init__(self) -> None:
        problems = []
        for field in ("layers", "d", "intermediate", "vocab", "context"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"{field}: must be a positive integer (got {value!r})")
        for field in ("bitlinear_eps", "rms_norm_eps"):
            value = getattr(self, field)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0 < value < 1:
                problems.append(f"{field}: must be a number in (0, 1) (got {value!r})")
        if self.mlgru_form not in _FORMS:
            problems.append(
                f"mlgru_form: must be one of {', '.join(_FORMS)} (got {self.mlgru_form!r})"
            )
        for field in ("block_only", "use_lower_bound"):
            if not isinstance(getattr(self, field), bool):
                problems.append(f"{field}: must be true or false")
        if problems:
            raise ModelConfigError(f"invalid model configuration {self.name!r}", problems)

    @property
    def ternary_weights_per_layer(self) -> int:
        """Ternary weights of one block: ``4d² + 3dI``."""
        return 4 * self.d * self.d + 3 * self.d * self.intermediate

    @property
    def head_weights(self) -> int:
        """Ternary weights of the LM head (``V·d``; 0 for a block-only config)."""
        return 0 if self.block_only else self.vocab * self.d

    @property
    def ternary_weights_per_token(self) -> int:
        """Ternary weights read once per token: ``L·(4d² + 3dI) + V·d`` (no head if block-only)."""
        return self.layers * self.ternary_weights_per_layer + self.head_weights

    @property
    def parameters(self) -> int:
        """All parameters: ternary weights, the embedding, norms and lower bounds."""
        norms_per_layer = 2 * self.d + 4 * self.d + self.d + self.d + self.intermediate
        total = self.layers * (self.ternary_weights_per_layer + norms_per_layer)
        if self.use_lower_bound:
            total += self.layers * self.d
        if not self.block_only:
            total += self.vocab * self.d + self.d + self.head_weights + self.d
        return total

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-friendly dict (as stored in trace manifests)."""
        data = dataclasses.asdict(self)
        data["ternary_weights_per_token"] = self.ternary_weights_per_token
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a configuration from :meth:`to_dict` output (derived keys are ignored).

        Raises:
            ModelConfigError: On missing or invalid fields.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(
            n for n in ("name", "layers", "d", "intermediate", "vocab") if n not in data
        )
        if missing:
            raise ModelConfigError("model configuration lacks " + ", ".join(missing))
        return cls(**{k: v for k, v in data.items() if k in names})


def _builtin(name: str, layers: int, d: int, **kw: Any) -> ModelConfig:
    return ModelConfig(name=name, layers=layers, d=d, intermediate=glu_width(d), **kw)


#: The built-in configurations (PAPER.md's table; ``tiny`` is for tests).
BUILTIN_CONFIGS: dict[str, ModelConfig] = {
    c.name: c
    for c in (
        _builtin("370m", 24, 1024, vocab=32000),
        _builtin("1.3b", 24, 2048, vocab=32000),
        _builtin("2.7b", 32, 2560, vocab=32000),
        _builtin("paper-block-d512", 1, 512, vocab=32000, block_only=True),
        _builtin("tiny", 2, 64, vocab=512),
    )
}

_HF_DEFAULTS: dict[str, Any] = {
    "num_heads": 1,
    "expand_ratio": 1,
    "hidden_ratio": 4,
    "intermediate_size": None,
    "use_short_conv": False,
    "use_lower_bound": True,
    "rms_norm_eps": 1e-6,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
}


def _int_field(data: dict[str, Any], key: str, problems: list[str]) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(f"{key}: must be a positive integer (got {json.dumps(value)})")
        return 1
    return value


def config_from_hf(data: Any, name: str, source: str = "config.json") -> ModelConfig:
    """Build a configuration from the fields of a Hugging Face ``hgrn_bit`` config.

    Missing optional fields take the reference code's defaults; ``hidden_act`` is ignored
    (the model always uses SiLU). Features the released models do not use (short
    convolutions, several heads, expansion, tied embeddings) are refused.

    Args:
        data: The parsed ``config.json``.
        name: Name to give the configuration.
        source: Where ``data`` came from, for messages.

    Returns:
        The configuration.

    Raises:
        ModelConfigError: Listing every problem found.
    """
    if not isinstance(data, dict):
        raise ModelConfigError(f"{source}: must be a JSON object (got {type(data).__name__})")
    problems: list[str] = []
    if data.get("model_type") != "hgrn_bit":
        problems.append(
            f'model_type: must be "hgrn_bit" (got {json.dumps(data.get("model_type"))})'
        )
    for key in ("hidden_size", "num_hidden_layers", "vocab_size"):
        if key not in data:
            problems.append(f"{key}: required field missing")
    d = _int_field(data, "hidden_size", problems) if "hidden_size" in data else 1
    layers = _int_field(data, "num_hidden_layers", problems) if "num_hidden_layers" in data else 1
    vocab = _int_field(data, "vocab_size", problems) if "vocab_size" in data else 1
    merged = {**_HF_DEFAULTS, **data}
    for key, wanted in (("num_heads", 1), ("expand_ratio", 1)):
        if merged[key] != wanted:
            problems.append(f"{key}: only {wanted} is supported (got {json.dumps(merged[key])})")
    for key in ("use_short_conv", "tie_word_embeddings"):
        if merged[key] is not False:
            problems.append(f"{key}: only false is supported (got {json.dumps(merged[key])})")
    if not isinstance(merged["use_lower_bound"], bool):
        problems.append("use_lower_bound: must be true or false")
    ratio = merged["hidden_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < math.inf:
        problems.append(f"hidden_ratio: must be a positive number (got {json.dumps(ratio)})")
        ratio = 4
    inter = merged["intermediate_size"]
    if inter is None:
        inter = glu_width(d, ratio)
    else:
        inter = _int_field(merged, "intermediate_size", problems)
    eps = merged["rms_norm_eps"]
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0 < eps < 1:
        problems.append(f"rms_norm_eps: must be a number in (0, 1) (got {json.dumps(eps)})")
        eps = 1e-6
    context = merged["max_position_embeddings"]
    if isinstance(context, bool) or not isinstance(context, int) or context < 1:
        problems.append(
            f"max_position_embeddings: must be a positive integer (got {json.dumps(context)})"
        )
        context = 2048
    if problems:
        raise ModelConfigError(f"{source}: not a usable hgrn_bit configuration", problems)
    return ModelConfig(
        name=name,
        layers=layers,
        d=d,
        intermediate=inter,
        vocab=vocab,
        rms_norm_eps=float(eps),
        use_lower_bound=merged["use_lower_bound"],
        context=context,
    )


def config_to_hf(config: ModelConfig) -> dict[str, Any]:
    """Return the Hugging Face ``config.json`` fields of a (non-block-only) configuration.

    Raises:
        ModelConfigError: For a block-only configuration (no checkpoint layout exists).
    """
    if config.block_only:
        raise ModelConfigError(f"{config.name}: a block-only configuration has no checkpoint form")
    return {
        "_name_or_path": config.name,
        "architectures": ["HGRNBitForCausalLM"],
        "model_type": "hgrn_bit",
        "hidden_size": config.d,
        "num_hidden_layers": config.layers,
        "num_heads": 1,
        "expand_ratio": 1,
        "hidden_ratio": 4,
        "intermediate_size": config.intermediate,
        "hidden_act": "swish",
        "vocab_size": config.vocab,
        "max_position_embeddings": config.context,
        "rms_norm_eps": config.rms_norm_eps,
        "use_lower_bound": config.use_lower_bound,
        "use_short_conv": False,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }


def _read_hf(path: Path) -> ModelConfig:
    file = path / "config.json" if path.is_dir() else path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelConfigError(f"{path}: no config.json found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"{file}: cannot read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelConfigError(
            f"{file}:{exc.lineno} not valid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer too long, nesting too deep
        raise ModelConfigError(f"{file}: not valid JSON ({exc})") from None
    default = file.parent.name if file.name == "config.json" else file.stem
    name = data.get("_name_or_path") if isinstance(data, dict) else None
    label = Path(name).name if isinstance(name, str) and name else default or "hgrn_bit"
    return config_from_hf(data, label, str(file))


def get_config(name_or_path: str | Path | ModelConfig) -> ModelConfig:
    """Return a built-in configuration by name, or read a Hugging Face ``config.json``.

    Args:
        name_or_path: A built-in name (case-insensitive), the path of a ``config.json``,
            the folder holding one, or a :class:`ModelConfig` (returned as is).

    Returns:
        The configuration.

    Raises:
        ModelConfigError: For an unknown name (listing the known ones) or an unreadable,
            malformed or unsupported ``config.json``.
    """
    if isinstance(name_or_path, ModelConfig):
        return name_or_path
    key = str(name_or_path)
    if key.lower() in BUILTIN_CONFIGS:
        return BUILTIN_CONFIGS[key.lower()]
    path = Path(key)
    if path.exists():
        return _read_hf(path)
    known = ", ".join(BUILTIN_CONFIGS)
    raise ModelConfigError(
        f"unknown model {key!r}; known: {known} "
        "(or the path of an hgrn_bit config.json or checkpoint folder)"
    )
