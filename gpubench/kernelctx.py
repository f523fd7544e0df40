"""Microbenchmarks of what a kernel costs in a decode step's context, not alone.

Two things a kernel timed alone, back to back with itself, does not show:

- ``switch``: a CUDA graph whose nodes cycle over ``k`` distinct tiny kernels (in-place
  elementwise ops on a 4-element tensor) costs more per node than one kernel repeated:
  the GPU fetches another kernel's code and parameters. A decode step's kernels all
  differ from their neighbours. Per node, median of replays, for k = 1, 2, 4, 8, 16.
- ``blocks``: a reduction kernel of ``b`` thread blocks, each summing ``n`` float32s of
  its own (Triton, one program a block, L2-resident input as a producer just wrote it),
  for b from 1 to four times the SMs: how fast few blocks read. Compiled decode code is
  full of one-block reductions (a norm, an absmax over one token's activations); one SM
  reads far below the card's bandwidth.

Run on the GPU machine: ``PYTHONPATH=. python3 -m gpubench.kernelctx --out F``; the GPU
model reads it beside its baseline (``<stem>_kernel_context.json``, see
:func:`cosim.gpu_calibration.load_opcost`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from gpubench.timing import median, time_each
from safeio import dumps, write_atomic

__all__ = ["block_reads", "main", "switch_costs"]

#: Distinct kernels in turn (k) measured by :func:`switch_costs`.
SWITCH_KS = (1, 2, 4, 8, 16)
#: Thread blocks and float32s per block measured by :func:`block_reads`.
BLOCKS = (1, 4, 16, 64, 132, 528)
FLOATS = (2048, 8192, 32768)


def _per_launch_us(run: Callable[[], None], launches: int, reps: int = 5) -> float:
    """Median µs per launch of ``run`` (one graph replay of ``launches`` launches)."""
    run()  # warm
    return median(time_each(run, reps, torch.device("cuda"))) * 1e3 / launches


def switch_costs(device: torch.device, launches: int = 400) -> list[dict[str, float]]:
    """Per-node µs of a graph cycling over ``k`` distinct tiny kernels, for each k."""
    from gpubench.micro import graph_or_loop

    xs = [torch.zeros(4, device=device) for _ in range(max(SWITCH_KS))]
    ops: list[Callable[[torch.Tensor], Any]] = [
        lambda x: x.add_(1),
        lambda x: x.mul_(1.0001),
        lambda x: x.sub_(1),
        lambda x: x.abs_(),
        lambda x: x.neg_(),
        lambda x: x.clamp_(-5, 5),
        lambda x: x.sqrt_(),
        lambda x: x.exp_(),
        lambda x: x.sin_(),
        lambda x: x.cos_(),
        lambda x: x.tanh_(),
        lambda x: x.sigmoid_(),
        lambda x: x.relu_(),
        lambda x: x.floor_(),
        lambda x: x.ceil_(),
        lambda x: x.round_(),
    ]
    rows = []
    for k in SWITCH_KS:
        state = {"i": 0}

        def step(k: int = k, state: dict[str, int] = state) -> None:
            i = state["i"]
            ops[i % k](xs[i % k])
            state["i"] = i + 1

        rows.append(
            {"k": k, "node_us": _per_launch_us(graph_or_loop(step, launches, device), launches)}
        )
    return rows


def block_reads(device: torch.device, launches: int = 200) -> list[dict[str, float]]:
    """µs of a ``b``-block reduction over ``n`` float32s a block, for each (b, n)."""
    from gpubench._kernelctx_triton import block_sum
    from gpubench.micro import graph_or_loop

    rows = []
    for n in FLOATS:
        for b in BLOCKS:
            x = torch.randn(b * n, device=device)
            out = torch.empty(b, device=device)
            run = graph_or_loop(partial(block_sum, x, out, b, n), launches, device)
            rows.append({"blocks": b, "bytes": 4 * n, "us": _per_launch_us(run, launches)})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure both; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    device = torch.device("cuda")
    t0 = time.perf_counter()
    with torch.inference_mode():
        switch = switch_costs(device)
        print("switch: " + ", ".join(f"k={r['k']:.0f} {r['node_us']:.2f} us" for r in switch))
        blocks = block_reads(device)
        for r in blocks:
            print(f"blocks {r['blocks']:.0f} x {r['bytes']:.0f} B: {r['us']:.2f} us")
    out = {
        "kind": "mmfree-cosim/kernel-context",
        "version": 1,
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sms": torch.cuda.get_device_properties(device).multi_processor_count,
        "switch": switch,
        "blocks": blocks,
    }
    write_atomic(Path(args.out), dumps(out, indent=1))  # a killed run leaves no half file
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
