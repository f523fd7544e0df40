"""Simulation speed: wall seconds per simulated decode token, and SimPy events per second
(of the event loop alone; the per-token wall time includes planning and collection).

For 370M, 1.3B and 2.7B on every FPGA example design, one trace per model (1 prompt token,
N decode tokens) is replayed at the default fidelity; the time to make the trace is not
counted. Target (issue): at most 1 s per 2.7B decode token on one core.

Run: ``.venv/bin/python benchmarks/sim_speed.py [--tokens N]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from arch_models.spec import load_arch
from cosim.engine import simulate
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from workloads.trace import generate_trace

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ("d5005_paper_core.yaml", "u280_hbm.yaml")
MODELS = ("370m", "1.3b", "2.7b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2, help="decode tokens per run")
    args = parser.parse_args()
    print(
        f"{'model':<6} {'design':<22} {'s/token':>8} {'events/s':>10} {'events/token':>13} "
        f"{'tok/s (sim)':>12}"
    )
    for model in MODELS:
        t0 = time.perf_counter()
        trace = generate_trace(model, prompt_tokens=1, gen_tokens=args.tokens, seed=0)
        made = time.perf_counter() - t0
        for design in DESIGNS:
            arch = load_arch(ROOT / "examples" / design)
            workload = workload_from_trace(trace, design_elementwise_bytes(arch))
            t0 = time.perf_counter()
            result = simulate(arch, workload)
            wall = time.perf_counter() - t0
            steps = len(workload.steps)
            events = result.summary["sim"]["events"]
            print(
                f"{model:<6} {design:<22} {wall / steps:8.3f} {events / wall:10,.0f} "
                f"{events / steps:13,.0f} {result.summary['tokens_per_s']:12,.2f}"
            )
        print(f"{'':<6} (trace of {1 + args.tokens} tokens made in {made:.1f} s, not counted)")


if __name__ == "__main__":
    main()
