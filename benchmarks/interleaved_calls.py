"""Host cost of operator calls when they interleave, against back-to-back loops.

The GPU model prices each eager call at its host time in a back-to-back loop of that
one call (``baselines/h200_opcost.json``, ``eager_reps_us``); eager decode steps cost the
host about 25% more per call than that. This measures two other settings of the same
calls, to bracket the difference: every distinct call once per pass, in turn (each
timed on the host clock around its asynchronous launch), with the device left running
(``--mode run``: launches after heavy calls can wait for a full queue) or drained before
each call (``--mode drain``). Host times are converted to the op-cost file's quiet
speed by the pure-Python probe (:mod:`gpubench.hostspeed`) before each pass.

On the GPU machine: ``PYTHONPATH=. python3 benchmarks/interleaved_calls.py --mode run
--out $OUT/run.json`` (and ``--mode drain``), about 10 s each. Here, to print what the
shipped results say: ``.venv/bin/python benchmarks/interleaved_calls.py --show
baselines/h200_interleaved/run.json baselines/h200_interleaved/drain.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())


def measure(mode: str, passes: int = 15) -> dict[str, Any]:
    """Time every distinct call of the op-cost file once per pass, in turn."""
    import torch

    from gpubench.calls import aten_op, build_inputs
    from gpubench.hostspeed import probe_us
    from gpubench.opcost import distinct_calls
    from gpubench.timing import sync

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    prepared = []
    for name, key in distinct_calls() if device.type == "cuda" else distinct_calls(("tiny",)):
        args, kwargs = build_inputs(key, device)
        fn = aten_op(name)
        fn(*args, **kwargs)
        prepared.append((f"{name}|{key}", fn, args, kwargs))
    sync(device)
    clock = time.perf_counter_ns
    empty = min(-clock() + clock() for _ in range(1000))
    times: dict[str, list[float]] = {call: [] for call, *_ in prepared}
    probes = []
    for _ in range(passes):
        sync(device)
        probes.append(probe_us())
        for call, fn, args, kwargs in prepared:
            if mode == "drain":
                sync(device)
            t0 = clock()
            fn(*args, **kwargs)
            times[call].append((clock() - t0 - empty) / 1e3)
        sync(device)
    return {
        "source": f"benchmarks/interleaved_calls.py --mode {mode}, {_now()}",
        "mode": mode,
        "passes": passes,
        "probe_us": median(probes),
        "calls": {call: median(v) for call, v in times.items()},
    }


def show(paths: list[Path]) -> None:
    """Per decode step, host ms of the calls priced each way, against the quiet decode."""
    from cosim.gpu_calibration import calibrate_from_baseline, load_opcost, quiet_reference_of
    from gpubench.capture import capture_harness_step
    from gpubench.schema import default_baseline_path, read_baseline

    baseline = read_baseline(default_baseline_path())
    opcost = load_opcost(default_baseline_path())
    cal = calibrate_from_baseline(baseline, opcost)
    ref = quiet_reference_of(baseline) or 1.0
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    loops = {
        f"{r['op']}|{r['key']}": median(
            e * ref / p for e, p in zip(r["eager_reps_us"], r["probe_reps_us"], strict=True)
        )
        for r in (opcost or {}).get("calls", [])
        if "eager_reps_us" in r
    }
    for run in runs:
        scale = ref / run["probe_us"]
        ratios = [
            run["calls"][c] * scale / loops[c]
            for c in run["calls"]
            if c in loops and loops[c] > 1.5 * cal.calibration.kernel_us.get(c, 0.0)
        ]
        print(f"{run['mode']}: median interleaved / loop per host-bound call {median(ratios):.2f}")
    quiet = {
        (c.model, c.impl): c.decode_quiet_ms_per_token
        for c in baseline.cases
        if c.launch == "eager" and c.batch == 1 and c.decode_quiet_ms_per_token
    }
    head = "".join(f" {r['mode']:>8}" for r in runs)
    print(
        f"{'model':<5} {'impl':<11} {'kernels':>7} {'loops':>8}{head} {'decode':>8}  (host ms/step)"
    )
    for (model, impl), q in sorted(quiet.items()):
        step = capture_harness_step(model, impl, 1)
        extra = (
            step.module_calls * cal.calibration.module_call_us
            + step.host_only_ops * cal.calibration.host_only_op_us
        )
        loop = sum(cal.calibration.host_us.get(k.call, cal.eager_launch_us) for k in step.kernels)
        cols = ""
        for run in runs:
            scale = ref / run["probe_us"]
            t = sum(run["calls"].get(k.call, cal.eager_launch_us) * scale for k in step.kernels)
            cols += f" {(t + extra) / 1e3:8.2f}"
        print(
            f"{model:<5} {impl:<11} {len(step.kernels):>7} {(loop + extra) / 1e3:8.2f}{cols} "
            f"{q:8.2f}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("run", "drain"), default="run")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--show", type=Path, nargs="+", help="print what these results say")
    a = ap.parse_args()
    if a.show:
        show(a.show)
        return 0
    if a.out is None:
        ap.error("--out is needed to measure")
    result = measure(a.mode)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"{a.mode}: {len(result['calls'])} calls, probe {result['probe_us']:.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
