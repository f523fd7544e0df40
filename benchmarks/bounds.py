"""No design beats its own bound: random designs of every example space, simulated.

For each example search space (with the design it belongs to), ``--designs`` variants are
drawn by Optuna's random sampler (seeded) and simulated on the tiny model's trace with
``--tokens`` decode steps (at >= 64 the engine's own check used to abort valid designs
that beat their bound). Printed per space: designs simulated, invalid variants (refused by
validation), designs whose tokens/s exceeds ``bound_tokens_per_s`` (beyond float
rounding, 1e-9 relative), aborted simulations, and the largest ratio of tokens/s to the
bound seen. Target (issue): 0 faster than their bound over >= 1,000 designs per space.

Run: ``.venv/bin/python benchmarks/bounds.py [--designs 1000] [--tokens 64] [--seed 0]
[--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
#: Space file → the design it searches.
SPACES = {
    "u280_hbm_space.yaml": "u280_hbm.yaml",
    "u280_small_space.yaml": "u280_hbm.yaml",
    "d5005_space.yaml": "d5005_paper_core.yaml",
}


def _variants(space_file: str, designs: int, seed: int) -> list[dict[str, Any]]:
    """Draw ``designs`` parameter sets (by canonical path) with Optuna's random sampler."""
    import optuna

    from arch_models.spec import load_arch
    from explorer import load_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    arch = load_arch(EXAMPLES / SPACES[space_file])
    space = load_space(EXAMPLES / space_file, arch)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(designs):
        trial = study.ask()
        out.append(space.suggest(trial))
        study.tell(trial, 0.0)
    return out


def _simulate(job: tuple[str, list[dict[str, Any]], int]) -> dict[str, Any]:
    """Simulate a batch of variants of one design; count what beat or broke the bound."""
    from arch_models.spec import load_arch
    from arch_models.spec.evolve import evolve
    from arch_models.validation.errors import SpecError
    from cosim.engine import simulate
    from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
    from workloads.trace import generate_trace

    design, variants, tokens = job
    base = load_arch(EXAMPLES / design)
    trace = generate_trace("tiny", prompt_tokens=4, gen_tokens=tokens)
    workloads: dict[int, Any] = {}
    tally: dict[str, Any] = {"simulated": 0, "invalid": 0, "faster": 0, "aborted": 0}
    tally["worst"] = 0.0
    for params in variants:
        try:
            arch = evolve(base, params)
        except SpecError:
            tally["invalid"] += 1
            continue
        width = design_elementwise_bytes(arch)
        if width not in workloads:
            workloads[width] = workload_from_trace(trace, width)
        try:
            s = simulate(arch, workloads[width])
        except AssertionError:  # the engine's own "beats its bound" check
            tally["aborted"] += 1
            continue
        tally["simulated"] += 1
        ratio = s.tokens_per_s / s.bound_tokens_per_s
        tally["worst"] = max(tally["worst"], ratio)
        if ratio > 1 + 1e-9:
            tally["faster"] += 1
    return tally


def main() -> None:
    """Print, per example space, how many random designs beat their bound."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--designs", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    print(f"{'space':24} {'designs':>8} {'invalid':>8} {'faster':>7} {'aborted':>8} "
          f"{'max tok/s / bound':>18} {'s':>6}")  # fmt: skip
    total_faster = 0
    for space_file, design in SPACES.items():
        t0 = time.perf_counter()
        variants = _variants(space_file, args.designs, args.seed)
        n = max(1, args.workers)
        jobs = [(design, variants[i::n], args.tokens) for i in range(n)]
        with ProcessPoolExecutor(max_workers=n) as pool:
            parts = list(pool.map(_simulate, jobs))
        tally = {k: sum(p[k] for p in parts) for k in ("simulated", "invalid", "faster", "aborted")}
        worst = max(p["worst"] for p in parts)
        total_faster += tally["faster"] + tally["aborted"]
        print(
            f"{space_file:24} {tally['simulated']:8d} {tally['invalid']:8d} "
            f"{tally['faster']:7d} {tally['aborted']:8d} {worst:18.12f} "
            f"{time.perf_counter() - t0:6.0f}"
        )
    print(f"designs faster than their bound (or aborted as such): {total_faster}")


if __name__ == "__main__":
    main()
