"""Simulation speed: wall seconds per simulated decode token, and SimPy events per second
(of the event loop alone; the per-token wall time includes planning and collection).

For 370M, 1.3B and 2.7B on every FPGA example design, one trace per model (1 prompt token,
N decode tokens) is replayed at the default fidelity; the time to make the trace is not
counted. Target (issue): at most 0.1 s per 2.7B decode token on one core.

Then what a ``cosim simulate`` of the U280 design pays around the simulation, with the
disk caches (a fresh cache folder, each case in this process with the in-memory weights
dropped): *cold* (nothing cached: the synthetic weights built and kept, the trace made
and kept), *weights cached* (a trace of other token counts: the weights read from disk,
the trace made), *warm* (the trace read from the cache).

Run: ``.venv/bin/python benchmarks/sim_speed.py [--tokens N] [--skip-cache]``
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
    parser.add_argument("--skip-cache", action="store_true", help="no cold/warm cache runs")
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
    if not args.skip_cache:
        caches(args.tokens)


def caches(tokens: int) -> None:
    """Cold, weights-cached and warm ``cosim simulate`` of the U280 design, per model."""
    import os
    import tempfile

    from workloads.loading import clear_weight_cache
    from workloads.trace_cache import CACHE_ENV, cached_trace

    arch = load_arch(ROOT / "examples" / "u280_hbm.yaml")
    print(f"\n{'model':<6} {'case':<16} {'trace s':>8} {'simulate s':>11} {'total s':>8}")
    with tempfile.TemporaryDirectory(prefix="sim-speed-cache-") as tmp:
        before = os.environ.get(CACHE_ENV)
        os.environ[CACHE_ENV] = tmp
        try:
            for model in MODELS:
                for case, gen in (("cold", tokens), ("weights cached", tokens + 1),
                                  ("warm", tokens)):  # fmt: skip
                    clear_weight_cache()
                    t0 = time.perf_counter()
                    trace, _, hit = cached_trace(model, 1, gen, 0)
                    made = time.perf_counter() - t0
                    workload = workload_from_trace(trace, design_elementwise_bytes(arch))
                    t1 = time.perf_counter()
                    simulate(arch, workload)
                    sim = time.perf_counter() - t1
                    print(
                        f"{model:<6} {case:<16} {made:8.1f} {sim:11.2f} {made + sim:8.1f}"
                        + (" (trace from the cache)" if hit else "")
                    )
        finally:
            if before is None:
                os.environ.pop(CACHE_ENV, None)
            else:
                os.environ[CACHE_ENV] = before


if __name__ == "__main__":
    main()
