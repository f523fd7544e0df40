"""GPU model fidelity: predicted vs measured decode ms/token and W for every H200 case.

The model (``examples/h200.yaml`` + :mod:`arch_models.gpu_model`) is calibrated only from
microbenchmarks: the baseline's ``micro`` sections (HBM/L2 bandwidth, launch costs,
GEMV shapes, NVML power windows) and the per-call kernel microbenchmark
``baselines/h200_opcost.json`` (``python3 -m cosim.baseline.opcost`` on the GPU). The
decode measurements are only compared against.

Run: ``.venv/bin/python benchmarks/gpu_fidelity.py``
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

from arch_models.spec import load_arch
from cosim.baseline.schema import default_baseline_path, read_baseline
from cosim.gpu_engine import simulate_gpu

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    baseline = read_baseline(default_baseline_path())
    opcost = json.loads((ROOT / "baselines" / "h200_opcost.json").read_text())
    arch = load_arch(ROOT / "examples" / "h200.yaml")
    rows = []
    print(
        f"{'model':<5} {'impl':<11} {'launch':<6} {'batch':>5} {'meas ms':>9} {'pred ms':>9} "
        f"{'err':>7} {'meas W':>7} {'pred W':>7} {'err':>7}"
    )
    for c in sorted(baseline.cases, key=lambda c: (c.model, c.impl, c.launch, c.batch)):
        if c.status != "ok" or c.decode_ms_per_token is None:
            continue
        s = simulate_gpu(arch, c.model, c.impl, c.launch, c.batch, baseline, opcost)
        watts = c.energy_avg_power_w or c.avg_power_w
        e_ms = (s["ms_per_token"] - c.decode_ms_per_token) / c.decode_ms_per_token
        e_w = (s["avg_power_w"] - watts) / watts if watts else float("nan")
        rows.append((c.launch, e_ms, e_w))
        print(
            f"{c.model:<5} {c.impl:<11} {c.launch:<6} {c.batch:>5} "
            f"{c.decode_ms_per_token:9.3f} {s['ms_per_token']:9.3f} {e_ms:+7.1%} "
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
