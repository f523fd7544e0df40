"""Measured GPU baselines as reference points: one :class:`GpuPoint` per measured case.

A baseline file (:mod:`gpubench.schema`) holds cases by model × implementation ×
launch mode × batch. Every ``ok`` case becomes a point with its measured tokens/s, watts,
J/token and ms/token (``None`` where the file says it was not measured, with the reason).
A missing, unreadable or invalid file becomes a :class:`~dashboards.data.Notice` for the
page; the other files still load. "The GPU" a design is held against is, by default, the
fastest of them (:func:`fastest_points`, as :func:`gpubench.fastest.fastest_case`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dashboards.data import Notice
from dashboards.names import gpu_label, gpu_short_label

__all__ = [
    "FASTEST_NOTE",
    "GPU_ALL",
    "GPU_FASTEST",
    "GPU_MODES",
    "GpuPoint",
    "fastest_points",
    "load_baselines",
    "points_for_model",
]

#: Which GPU cases the Pareto view shows: the fastest measured one per model and batch…
GPU_FASTEST = "fastest"
#: …or every measured implementation.
GPU_ALL = "all"
GPU_MODES = (GPU_FASTEST, GPU_ALL)
#: What a fastest point's label says after the case's name.
FASTEST_NOTE = " (fastest measured)"


@dataclass(frozen=True)
class GpuPoint:
    """One measured GPU case.

    Attributes:
        key: Stable identifier in the page (``gpu:<file>:<case>``).
        label: Its name on the page (``H200 packed 2-bit, CUDA graph, batch 1``).
        gpu: The GPU's name as the driver reports it.
        model: Model measured.
        impl: Implementation (reference, dense, packed, transformer).
        launch: ``eager`` or ``graph``.
        batch: Sequences decoded together.
        tokens_per_s: Tokens per second over the batch.
        avg_power_w: Average board power while decoding.
        energy_per_token_j: Energy per generated token.
        ms_per_token: Median decode step time.
        peak_memory_gib: Peak device memory.
        source: The file it came from.
        date: When its run started.
        missing: Why a figure is missing (field → reason).
    """

    key: str
    label: str
    gpu: str
    model: str
    impl: str
    launch: str
    batch: int
    tokens_per_s: float | None
    avg_power_w: float | None
    energy_per_token_j: float | None
    ms_per_token: float | None
    peak_memory_gib: float | None
    source: str
    date: str
    missing: tuple[tuple[str, str], ...] = ()

    @property
    def plottable(self) -> bool:
        """Return whether it has both tokens/s and watts (a point on the Pareto plot)."""
        return bool(self.tokens_per_s) and bool(self.avg_power_w)

    @property
    def batch_note(self) -> str:
        """Return what its tokens/s mean beside batch-1 designs ("" at batch 1).

        A batch-16 case decodes 16 sequences together: its tokens/s is their aggregate,
        not the speed of one sequence.
        """
        return "" if self.batch == 1 else f"aggregate of {self.batch} sequences"

    @property
    def card(self) -> str:
        """Return the card's short name: its name's first word (``H100 80GB HBM3`` → ``H100``)."""
        return self.gpu.split()[0] if self.gpu.strip() else "GPU"

    @property
    def short_label(self) -> str:
        """Return a compact name where many are shown (``H100 dense compiled graph ×16``)."""
        return gpu_short_label(self.card, self.impl, self.launch, self.batch)


def _short_gpu(name: str | None) -> str:
    if not name:
        return "GPU"
    return name.replace("NVIDIA ", "").strip() or name


def load_baselines(paths: Sequence[str | Path]) -> tuple[list[GpuPoint], list[Notice]]:
    """Read baseline files into points; problems become notices.

    Args:
        paths: Baseline files (as given on the command line).

    Returns:
        The points of every ``ok`` case, in file order, and a notice per file that could
        not be read (or had nothing measured).
    """
    from gpubench import BaselineError, read_baseline

    points: list[GpuPoint] = []
    notices: list[Notice] = []
    for i, path in enumerate(paths):
        try:
            baseline = read_baseline(path)
        except BaselineError as exc:
            first, *rest = str(exc).splitlines()
            shown = "; ".join(line.strip() for line in rest[:5])
            if len(rest) > 5:
                shown += f"; and {len(rest) - 5} more"
            notices.append(
                Notice(
                    "warning",
                    f"GPU baseline not shown: {first}",
                    shown,
                    "Measure one with `cosim baseline measure`, or give another --baseline.",
                )
            )
            continue
        got = 0
        for j, case in enumerate(baseline.cases):
            if case.status != "ok":
                continue
            run = baseline.run_of(case)
            gpu = _short_gpu(run.environment.gpu_name)
            missing = tuple(
                (k, v)
                for k, v in case.null_reasons.items()
                if k in ("tokens_per_s", "avg_power_w", "energy_per_token_j", "decode_ms_per_token")
            )
            points.append(
                GpuPoint(
                    key=f"gpu:{i}:{j}",
                    label=gpu_label(
                        gpu.split()[0] if gpu.strip() else "GPU", case.impl, case.launch, case.batch
                    ),
                    gpu=gpu,
                    model=case.model,
                    impl=case.impl,
                    launch=case.launch,
                    batch=case.batch,
                    tokens_per_s=case.tokens_per_s,
                    avg_power_w=case.avg_power_w,
                    energy_per_token_j=case.energy_per_token_j,
                    ms_per_token=case.decode_ms_per_token,
                    peak_memory_gib=case.peak_memory_gib,
                    source=Path(path).name,
                    date=run.environment.date_utc[:10],
                    missing=missing,
                )
            )
            got += 1
        if not got:
            notices.append(
                Notice(
                    "warning",
                    f"GPU baseline {Path(path).name} has no measured case",
                    f"{len(baseline.cases)} cases, none with status ok",
                )
            )
    return points, notices


def points_for_model(
    points: Iterable[GpuPoint], model: str, batches: Iterable[int] | None = None
) -> list[GpuPoint]:
    """Return the points measured on ``model`` (and, if given, these batch sizes)."""
    wanted = set(batches) if batches is not None else None
    return [p for p in points if p.model == model and (wanted is None or p.batch in wanted)]


def fastest_points(
    points: Iterable[GpuPoint], batches: Iterable[int] | None = None
) -> list[GpuPoint]:
    """Return the fastest point of each model and batch size, labelled as such.

    The fastest is the lowest decode ms/token (as :func:`gpubench.fastest.fastest_case`;
    the first one loaded on a tie); points without ms/token are never it.

    Args:
        points: Measured points (any models, cards and implementations).
        batches: Batch sizes wanted (``None``: every one measured).

    Returns:
        One point per (model, batch) that has one, ordered by model then batch, its label
        ending in ``(fastest measured)``:
        ``H100 fused 2-bit (Triton), CUDA graph, batch 1 (fastest measured)``.
    """
    wanted = set(batches) if batches is not None else None
    best: dict[tuple[str, int], GpuPoint] = {}
    for p in points:
        if not p.ms_per_token or (wanted is not None and p.batch not in wanted):
            continue
        key = (p.model, p.batch)
        held = best.get(key)
        if held is None or p.ms_per_token < (held.ms_per_token or float("inf")):
            best[key] = p
    return [replace(best[k], label=best[k].label + FASTEST_NOTE) for k in sorted(best)]
