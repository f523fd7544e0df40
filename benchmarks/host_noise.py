"""Where the eager decode's run-to-run spread comes from: per-step host timings and probes.

Eager decode on the H200 machine is host-bound (the Python thread is busy for the whole
step), and its ms/token moved by up to 2x between runs and between cases of one run.
This script runs eager decode steps one at a time and, after each step, two short
host-speed probes (a fixed pure-Python loop and a few tiny CUDA launches), so that the
per-step time can be set against the host's speed at that moment. It repeats that under
a few process settings (garbage collector off, pinned to one core, an NVML sampling
thread as the harness runs) to see which, if any, changes the spread.

Run on the GPU machine:  ``python3 benchmarks/host_noise.py --out $OUT/host_noise.json``
(about two minutes). On a CPU it runs the tiny model for a smoke test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpubench.hostspeed import probe_us
from gpubench.models import build_decoder, build_model
from gpubench.shapes import get_shape
from gpubench.timing import percentile


def _steal() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs from /proc/stat."""
    try:
        parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    vals = [int(p) for p in parts]
    return (vals[7] if len(vals) > 7 else 0), sum(vals)


def _mhz() -> list[float]:
    try:
        return [
            float(line.split(":")[1])
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("cpu MHz")
        ]
    except OSError:
        return []


def _loadavg() -> str | None:
    p = Path("/proc/loadavg")
    return p.read_text().strip() if p.exists() else None


def _torch_probe(tiny: torch.Tensor) -> float:
    t0 = time.perf_counter()
    for _ in range(20):
        tiny.add_(1)
    return (time.perf_counter() - t0) * 1e6 / 20


def _corr(a: list[float], b: list[float]) -> float | None:
    try:
        return float(statistics.correlation(a, b))
    except statistics.StatisticsError:
        return None


class _Sampler:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.stop = threading.Event()
        self.n = 0
        try:
            import pynvml

            pynvml.nvmlInit()
            self.h = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.nv: Any = pynvml
        except Exception:
            self.nv = None
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            if self.nv is not None:
                self.nv.nvmlDeviceGetPowerUsage(self.h)
                self.nv.nvmlDeviceGetClockInfo(self.h, 0)
            self.n += 1


def variant(
    runner: Any, steps: int, device: torch.device, name: str, sampler_s: float | None
) -> dict[str, Any]:
    tiny = torch.zeros(1, device=device)
    runner.rewind_()
    sampler = _Sampler(sampler_s) if sampler_s else None
    if sampler:
        sampler.t.start()
    steal0, tot0 = _steal()
    ru0 = resource.getrusage(resource.RUSAGE_THREAD)
    host, cpu, pyp, tp = [], [], [], []
    mhz: list[float] = []
    for k in range(steps):
        if k % 50 == 0:
            m = _mhz()
            if m:
                mhz.append(statistics.mean(m))
        t0, c0 = time.perf_counter(), time.thread_time()
        runner.step_()
        host.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.thread_time() - c0) * 1e3)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        pyp.append(probe_us())
        tp.append(_torch_probe(tiny))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    ru1 = resource.getrusage(resource.RUSAGE_THREAD)
    steal1, tot1 = _steal()
    if sampler:
        sampler.stop.set()
        sampler.t.join()
    return {
        "variant": name,
        "steps": steps,
        "host_ms_median": statistics.median(host),
        "host_ms_p10": percentile(host, 10),
        "host_ms_p90": percentile(host, 90),
        "cpu_ms_median": statistics.median(cpu),
        "py_probe_us_median": statistics.median(pyp),
        "py_probe_us_p10": percentile(pyp, 10),
        "py_probe_us_p90": percentile(pyp, 90),
        "torch_probe_us_median": statistics.median(tp),
        "corr_host_py": _corr(host, pyp),
        "corr_host_torch": _corr(host, tp),
        "steal_frac": (steal1 - steal0) / max(1, tot1 - tot0),
        "nvcsw": ru1.ru_nvcsw - ru0.ru_nvcsw,
        "nivcsw": ru1.ru_nivcsw - ru0.ru_nivcsw,
        "mhz": mhz,
        "host_ms": [round(h, 3) for h in host],
        "py_probe_us": [round(p, 1) for p in pyp],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--cases", default="370m:dense,370m:transformer")
    a = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps = a.steps if device.type == "cuda" else 5
    info: dict[str, Any] = {
        "affinity": sorted(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "loadavg": _loadavg(),
        "torch_threads": torch.get_num_threads(),
        "mhz": _mhz()[:4],
        "model_name": next(
            (
                line.split(":")[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            None,
        ),
        "results": [],
    }
    print({k: v for k, v in info.items() if k != "results"}, flush=True)
    for case in a.cases.split(","):
        mname, impl = case.split(":")
        shape = get_shape(mname if device.type == "cuda" else "tiny")
        model = build_model(shape, impl, device, torch.bfloat16, 0)
        dec = build_decoder(model, 1, 128 if device.type == "cuda" else 8, steps + 10)
        dec.prefill_()
        for _ in range(10):
            dec.step_()
        plans: list[tuple[str, Any]] = [
            ("default", None),
            ("nvml_thread_50ms", 0.05),
            ("gc_off", None),
            ("pinned", None),
            ("default_again", None),
        ]
        aff = os.sched_getaffinity(0)
        for name, samp in plans:
            if name == "gc_off":
                gc.disable()
            if name == "pinned":
                os.sched_setaffinity(0, {sorted(aff)[len(aff) // 2]})
            res = variant(dec, steps, device, name, samp)
            gc.enable()
            os.sched_setaffinity(0, aff)
            res["case"] = case
            info["results"].append(res)
            print(
                f"{case:18} {name:18} host {res['host_ms_median']:7.2f} ms "
                f"(p10 {res['host_ms_p10']:6.2f} p90 {res['host_ms_p90']:6.2f}) "
                f"cpu {res['cpu_ms_median']:6.2f}  py {res['py_probe_us_median']:6.1f} us "
                f"(p10 {res['py_probe_us_p10']:6.1f} p90 {res['py_probe_us_p90']:6.1f}) "
                f"torch {res['torch_probe_us_median']:5.2f} us  "
                f"corr py {res['corr_host_py']} torch {res['corr_host_torch']} "
                f"steal {res['steal_frac']:.3f} ivcsw {res['nivcsw']} mhz {res['mhz'][:3]}",
                flush=True,
            )
        del dec, model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    info["loadavg_end"] = _loadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
