"""The fastest measured GPU implementation of a model: what an FPGA design is held against.

A baseline file holds several implementations of each model (the public code's path,
packed and fused kernels, compiled variants, the Transformer++). A comparison is honest
only against the fastest of them, so wherever a single GPU figure stands for "the GPU"
(``cosim simulate``'s ``gpu_comparison``, the dashboard's Compare view) it is the ``ok``
case with the lowest decode ms/token for the model and batch, over every file given; the
card and implementation it came from go with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gpubench.schema import Baseline, Case, read_baseline, shipped_baseline_paths

__all__ = ["Fastest", "fastest_case", "fastest_shipped"]


@dataclass(frozen=True)
class Fastest:
    """The fastest measured case of a model and batch.

    Attributes:
        gpu: The card's name as its driver reports it.
        source: The baseline file's name.
        case: The case (implementation, launch, batch and its figures).
    """

    gpu: str
    source: str
    case: Case

    def to_json(self) -> dict[str, object]:
        """Return the figures a comparison needs, JSON-ready."""
        c = self.case
        return {
            "gpu": self.gpu,
            "source": self.source,
            "impl": c.impl,
            "launch": c.launch,
            "batch": c.batch,
            "ms_per_token": c.decode_ms_per_token,
            "tokens_per_s": c.tokens_per_s,
            "avg_power_w": c.avg_power_w,
            "energy_per_token_j": c.energy_per_token_j,
        }


def fastest_case(
    baselines: Sequence[tuple[str, Baseline]], model: str, batch: int = 1
) -> Fastest | None:
    """Return the lowest-ms/token ``ok`` case of ``model`` at ``batch`` (``None`` if none).

    Args:
        baselines: ``(file name, baseline)`` pairs.
        model: ``370m``, ``1.3b`` or ``2.7b``.
        batch: Sequences decoded together.
    """
    best: Fastest | None = None
    for source, baseline in baselines:
        for case in baseline.cases:
            ms = case.decode_ms_per_token
            if case.status != "ok" or case.model != model or case.batch != batch or not ms:
                continue
            if best is None or ms < (best.case.decode_ms_per_token or float("inf")):
                gpu = baseline.run_of(case).environment.gpu_name or "GPU"
                best = Fastest(gpu=gpu, source=source, case=case)
    return best


def fastest_shipped(
    model: str, batch: int = 1, paths: Sequence[Path] | None = None
) -> Fastest | None:
    """Return :func:`fastest_case` over the shipped baselines (or ``paths``)."""
    files = list(paths) if paths is not None else shipped_baseline_paths()
    return fastest_case([(p.name, read_baseline(p)) for p in files], model, batch)
