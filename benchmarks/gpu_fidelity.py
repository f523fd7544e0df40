"""GPU model fidelity: predicted vs measured decode ms/token and W for every H200 case.

The model (``examples/h200.yaml`` + :mod:`arch_models.gpu_model`) is calibrated only from
microbenchmarks: the baseline's ``micro`` sections (HBM/L2 bandwidth, launch costs,
GEMV shapes, NVML power windows) and the per-call microbenchmark
``baselines/h200_opcost.json`` (``python3 -m cosim.baseline.opcost`` on the GPU: each
operator call's device and eager host time, the host's cost of views, module calls and
the Triton launcher, and NVML windows of kernel classes). The decode measurements are
only compared against.

Eager decode is host-bound, and the GPU machine's host (a VM) runs it at a speed that
varies from run to run: the eager cases were measured four times (the baseline's run and
the three runs in ``baselines/h200_eager_repeats/``, 64 generated tokens each); each
eager case is compared with the median of its runs, and the runs' spread ((max - min) /
median) is printed next to it. Graph cases are compared with the baseline's one run.

Run: ``.venv/bin/python benchmarks/gpu_fidelity.py``
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import mean, median

from arch_models.spec import load_arch
from cosim.baseline.schema import default_baseline_path, read_baseline
from cosim.gpu_calibration import load_opcost
from cosim.gpu_engine import simulate_gpu

ROOT = Path(__file__).resolve().parents[1]
REPEATS = ROOT / "baselines" / "h200_eager_repeats"


def _watts(c: object) -> float | None:
    return getattr(c, "energy_avg_power_w", None) or getattr(c, "avg_power_w", None)


def main() -> None:
    baseline = read_baseline(default_baseline_path())
    opcost = load_opcost(default_baseline_path())
    arch = load_arch(ROOT / "examples" / "h200.yaml")
    runs: dict[tuple[str, str, str, int], list[object]] = defaultdict(list)
    for path in sorted(REPEATS.glob("*.json")):
        for c in read_baseline(path).cases:
            if c.status == "ok" and c.launch == "eager" and c.decode_ms_per_token:
                runs[(c.model, c.impl, c.launch, c.batch)].append(c)
    rows = []
    print(
        f"{'model':<5} {'impl':<11} {'launch':<6} {'batch':>5} {'runs':>4} {'spread':>6} "
        f"{'meas ms':>9} {'pred ms':>9} {'err':>7} {'meas W':>7} {'pred W':>7} {'err':>7}"
    )
    for c in sorted(baseline.cases, key=lambda c: (c.model, c.impl, c.launch, c.batch)):
        if c.status != "ok" or c.decode_ms_per_token is None:
            continue
        cases = [c, *runs.get((c.model, c.impl, c.launch, c.batch), [])]
        ms_all = [float(x.decode_ms_per_token) for x in cases]  # type: ignore[attr-defined]
        ms = median(ms_all)
        watts = median(w for w in (_watts(x) for x in cases) if w)
        spread = (max(ms_all) - min(ms_all)) / ms
        s = simulate_gpu(arch, c.model, c.impl, c.launch, c.batch, baseline, opcost)
        e_ms = (s["ms_per_token"] - ms) / ms
        e_w = (s["avg_power_w"] - watts) / watts if watts else float("nan")
        rows.append((c.launch, e_ms, e_w))
        print(
            f"{c.model:<5} {c.impl:<11} {c.launch:<6} {c.batch:>5} {len(cases):>4} "
            f"{spread:6.0%} {ms:9.3f} {s['ms_per_token']:9.3f} {e_ms:+7.1%} "
            f"{watts:7.1f} {s['avg_power_w']:7.1f} {e_w:+7.1%}"
        )
    for launch in ("graph", "eager", "all"):
        sel = [r for r in rows if launch in ("all", r[0])]
        print(
            f"{launch:>5}: mean |err| ms/token {mean(abs(r[1]) for r in sel):.1%} "
            f"(worst {max(abs(r[1]) for r in sel):.1%}), W {mean(abs(r[2]) for r in sel):.1%} "
            f"(worst {max(abs(r[2]) for r in sel):.1%}), {len(sel)} cases"
        )


if __name__ == "__main__":
    main()
