"""How the page names things: resources, energy components, GPU implementations, figures.

Summaries, baseline files and the ``--json`` output keep their machine keys (``lut``,
``ternary_array``, ``transformer_compiled``, ``energy_per_token_j``); a reader of the
page sees the words here instead. Energy per token is shown in one unit everywhere on
the page (millijoules: FPGA designs and GPUs land between about 1 and 1,000 mJ), and
yes/no instead of Python's ``True``/``False``.
"""

from __future__ import annotations

import math

__all__ = [
    "ENERGY_UNIT",
    "energy_text",
    "gpu_label",
    "gpu_short_label",
    "impl_name",
    "launch_name",
    "millijoules",
    "part_name",
    "resource_name",
    "value_text",
]

#: The unit the page gives energy per token in.
ENERGY_UNIT = "mJ/token"

_RESOURCES = {
    "lut": "LUTs",
    "alm": "ALMs",
    "ff": "flip-flops",
    "bram_36k": "block RAM (36 Kb)",
    "m20k": "block RAM (M20K)",
    "uram": "UltraRAM",
    "dsp": "DSP slices",
}

_PARTS = {
    "static": "static (leakage)",
    "clock": "clock tree",
    "offchip": "off-chip memory",
    "ternary_array": "ternary array",
    "vector_unit": "vector unit",
    "norm_unit": "norm unit",
    "buffer": "on-chip buffers",
    "control": "control",
}

_IMPLS = {
    "reference": "public code (bf16)",
    "dense": "dense bf16",
    "packed": "packed 2-bit",
    "fused": "fused 2-bit (Triton)",
    "transformer": "Transformer++",
    "transformer_fast": "Transformer++ (fused QKV)",
    "dense_compiled": "dense bf16 (torch.compile)",
    "transformer_compiled": "Transformer++ (torch.compile)",
}

#: Shorter names where many GPU cases are labelled at once.
_IMPLS_SHORT = {
    "reference": "public code",
    "transformer": "Transf++",
    "transformer_fast": "Transf++ fast",
    "dense_compiled": "dense compiled",
    "transformer_compiled": "Transf++ compiled",
}

_LAUNCHES = {"graph": "CUDA graph", "eager": "eager"}


def _spaced(key: str) -> str:
    return key.replace("_", " ")


def resource_name(kind: str) -> str:
    """A device resource kind as the page names it (``bram_36k`` → ``block RAM (36 Kb)``)."""
    return _RESOURCES.get(kind, _spaced(kind))


def part_name(kind: str) -> str:
    """A part of a design that draws power (``ternary_array`` → ``ternary array``)."""
    return _PARTS.get(kind, _spaced(kind))


def impl_name(impl: str) -> str:
    """A GPU implementation as the page names it (``packed`` → ``packed 2-bit``)."""
    return _IMPLS.get(impl, _spaced(impl))


def launch_name(launch: str) -> str:
    """How the kernels were launched (``graph`` → ``CUDA graph``)."""
    return _LAUNCHES.get(launch, launch)


def gpu_label(card: str, impl: str, launch: str, batch: int) -> str:
    """A measured GPU case in full: ``H200 packed 2-bit, CUDA graph, batch 1``."""
    return f"{card} {impl_name(impl)}, {launch_name(launch)}, batch {batch}"


def gpu_short_label(card: str, impl: str, launch: str, batch: int) -> str:
    """A measured GPU case where many are labelled: ``H200 packed graph``.

    A case decoding more than one sequence ends in ``×16`` (the batch).
    """
    name = _IMPLS_SHORT.get(impl, _spaced(impl))
    return f"{card} {name} {launch}" + (f" ×{batch}" if batch != 1 else "")


def millijoules(joules: float, digits: int = 3) -> str:
    """Joules in the page's energy unit: ``9.96 mJ``, ``10,000 mJ`` (``digits`` significant)."""
    return f"{float(f'{joules * 1e3:.{digits}g}'):,g} mJ"


def energy_text(joules: float | None, digits: int = 3) -> str:
    """Energy per token in the page's one unit: ``9.96 mJ/token`` (``—`` when unknown)."""
    if joules is None or not math.isfinite(joules):
        return "—"
    return f"{millijoules(joules, digits)}/token"


def value_text(value: object) -> str:
    """A parameter value as the page shows it: yes/no for booleans, numbers without ``.0``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)
