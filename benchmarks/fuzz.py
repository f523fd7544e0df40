"""Fuzzing at scale: hostile inputs of every kind, and how the tool answered them.

Runs the same properties as the fuzz tests (which run a bounded sample in CI), on many
more cases, seeded: architecture descriptions (mutated, tagged, aliased, garbage; valid
ones are simulated), systems of cards (mutated, garbage, odd card files; valid ones are
simulated), search spaces, traces and checkpoints. A case passes when the tool
answers it within a few seconds with a result or a located refusal; an exception of
another kind (a traceback) or no answer in time stops the run with the case that caused
it. Printed per input kind: cases, outcomes, the slowest answer.

Run: ``.venv/bin/python benchmarks/fuzz.py [--cases 3000] [--seed 0]`` (cases per kind).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the runners live beside the tests


def _kinds() -> dict[str, Callable[[int, int], Counter[str]]]:
    from tests.arch import fuzzing as descriptions
    from tests.arch.system_fuzzing import run_system_cases
    from tests.explorer.test_space_fuzz import run_space_cases
    from tests.workloads import fuzzing as workloads

    return {
        "descriptions": descriptions.run_cases,
        "systems of cards": run_system_cases,
        "search spaces": run_space_cases,
        "traces": workloads.run_trace_cases,
        "checkpoints": workloads.run_checkpoint_cases,
    }


def main() -> None:
    """Run every kind of hostile input; print the outcomes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases per input kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    # Bounded memory: a case that tried to expand an input without limit fails here.
    limit = 6 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    total = 0
    for kind, run in _kinds().items():
        t0 = time.perf_counter()
        counts = run(args.cases, args.seed)
        slowest = counts.pop("slowest_ms", None)
        n = sum(counts.values())
        total += n
        outcomes = ", ".join(f"{k} {v}" for k, v in counts.most_common())
        print(
            f"{kind}: {n} cases in {time.perf_counter() - t0:.0f} s, 0 tracebacks, 0 hangs; "
            f"{outcomes}" + (f"; slowest answer {slowest} ms" if slowest is not None else "")
        )
    print(f"all: {total} cases, 0 tracebacks, 0 hangs (a traceback or a hang stops the run)")


if __name__ == "__main__":
    main()
