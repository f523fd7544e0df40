"""GPU model fidelity: predicted vs measured decode ms/token and W for every H200 case.

The model (``examples/h200.yaml`` + :mod:`arch_models.gpu_model`) is calibrated only from
microbenchmarks: the baseline's ``micro`` sections (HBM/L2 bandwidth, launch costs,
GEMV shapes, NVML power windows) and the per-call microbenchmark
``baselines/h200_opcost.json`` (``python3 -m gpubench.opcost`` on the GPU: each
operator call's device and eager host time, the host's cost of views, module calls and
the Triton launcher, and NVML windows of kernel classes). The decode measurements are
only compared against.

Eager decode is host-bound, and the GPU machine's host (a shared VM) switches for
seconds at a time between a quiet state and one ~1.6x slower. The harness therefore
times, besides the plain median of all steps, a tagged pass with a pure-Python
host-speed probe between steps (:mod:`gpubench.hostspeed`); an eager case is
compared with the median of its *quiet* steps (``decode_quiet_ms_per_token``), and the
model prices host work at the baseline's quiet host speed. The error against the plain
median is printed beside. Graph cases are compared with the plain median (not
host-bound).

Then the repeat runs in ``baselines/h200_eager_repeats/``: ``rep6`` (a second lease,
eager only, 64 tokens) has quiet figures too: its quiet ms/token against the baseline's
(reproducibility) and the model's error on it, priced at rep6's own quiet host speed;
``rep0``-``rep5`` (older harness, plain medians only) show how far the plain median moves.

``--baseline FILE`` compares another baseline's cases instead (``baselines/h100.json``:
the H100's own microbenchmarks calibrate ``examples/h100.yaml``; no per-call
microbenchmark or repeat runs there). Implementations the meta device cannot trace
(``fused``, the compiled ones) are replayed from the kernel list the profiler captured.

Run: ``.venv/bin/python benchmarks/gpu_fidelity.py [--baseline FILE] [--record]``
(``--record`` writes the errors of the default H200 baseline into the fidelity ladder,
:mod:`arch_models.fidelity`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean, median
from typing import Any

from arch_models.spec import load_arch
from cosim.gpu_calibration import load_opcost, quiet_reference_of
from cosim.gpu_engine import simulate_gpu
from gpubench.capture import harness_step
from gpubench.schema import Baseline, Case, default_baseline_path, read_baseline

ROOT = Path(__file__).resolve().parents[1]
REPEATS = ROOT / "baselines" / "h200_eager_repeats"


def _watts(c: Case) -> float | None:
    return c.energy_avg_power_w or c.avg_power_w


def _measured(c: Case) -> tuple[float, str]:
    """The figure a case is compared with, and which one it is."""
    if c.launch == "eager" and c.decode_quiet_ms_per_token:
        return c.decode_quiet_ms_per_token, "quiet"
    assert c.decode_ms_per_token is not None
    return c.decode_ms_per_token, "median"


def _summary(label: str, rows: list[tuple[float, ...]]) -> None:
    ms = [abs(r[0]) for r in rows]
    watts = [abs(r[1]) for r in rows]
    plain = [abs(r[2]) for r in rows]
    print(
        f"{label:>5}: mean |err| ms/token {mean(ms):.1%} (worst {max(ms):.1%}), "
        f"W {mean(watts):.1%} (worst {max(watts):.1%}); vs plain median "
        f"{mean(plain):.1%} (worst {max(plain):.1%}); {len(rows)} cases"
    )


def _options() -> tuple[Path, bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, default=None, help="baseline file")
    parser.add_argument("--record", action="store_true", help="write into the ladder")
    args = parser.parse_args()
    if args.record and args.baseline is not None:
        parser.error("--record records the default H200 baseline only")
    return args.baseline or default_baseline_path(), args.baseline is None


def main() -> None:
    path, default = _options()
    baseline = read_baseline(path)
    opcost = load_opcost(path)
    gpu_name = baseline.runs[0].environment.gpu_name if baseline.runs else None
    card = "h100" if gpu_name and "H100" in gpu_name else "h200"
    arch = load_arch(ROOT / "examples" / f"{card}.yaml")
    print(f"{path.name}: {gpu_name}, described by examples/{card}.yaml")
    reference = quiet_reference_of(baseline)
    if reference is not None:
        print(f"baseline quiet host reference: {reference:.1f} us (probe)")
    print(
        f"{'model':<5} {'impl':<20} {'launch':<6} {'batch':>5} {'meas ms':>8} {'of':<6} "
        f"{'pred ms':>8} {'err':>7} {'median':>8} {'err':>7} {'quiet':>5} "
        f"{'meas W':>7} {'pred W':>7} {'err':>7}"
    )
    rows: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for c in sorted(baseline.cases, key=lambda c: (c.model, c.impl, c.launch, c.batch)):
        if c.status != "ok" or c.decode_ms_per_token is None:
            continue
        ms, of = _measured(c)
        s = simulate_gpu(
            arch, harness_step(c.model, c.impl, c.batch, baseline), c.launch, baseline, opcost
        )
        watts = _watts(c)
        e_ms = (s.ms_per_token - ms) / ms
        e_plain = (s.ms_per_token - c.decode_ms_per_token) / c.decode_ms_per_token
        e_w = (s.avg_power_w - watts) / watts if watts else float("nan")
        rows[c.launch].append((e_ms, e_w, e_plain))
        quiet = f"{c.quiet_steps}/{len(c.tagged_ms)}" if c.tagged_ms else "-"
        print(
            f"{c.model:<5} {c.impl:<20} {c.launch:<6} {c.batch:>5} {ms:8.3f} {of:<6} "
            f"{s.ms_per_token:8.3f} {e_ms:+7.1%} {c.decode_ms_per_token:8.3f} "
            f"{e_plain:+7.1%} {quiet:>5} {watts or float('nan'):7.1f} "
            f"{s.avg_power_w:7.1f} {e_w:+7.1%}"
        )
    for launch in ("graph", "eager"):
        if rows[launch]:
            _summary(launch, rows[launch])
    _summary("all", rows["graph"] + rows["eager"])
    prompt_errors = _prompt_pass(arch, baseline, opcost)
    if not default:
        return
    _repeats(arch, baseline, opcost)
    if "--record" in sys.argv[1:]:
        _record(baseline, rows["graph"] + rows["eager"])
        _record_ttft(baseline, prompt_errors)


def _prompt_pass(
    arch: Any, baseline: Baseline, opcost: dict[str, Any] | None
) -> dict[str, list[float]]:
    """Print the predicted time to first token (the prompt pass) against the measured one.

    For the implementations the meta device traces (their prompt pass's kernels are
    known): the GPU model replays them with the decode step's calibration; the measured
    figure is each case's ``prefill_ms`` (its prompt, 128 tokens).
    """
    from cosim.gpu_engine import predict_gpu_prefill_ms
    from gpubench.capture import capture_harness_prefill
    from gpubench.models import META_TRACEABLE

    print()
    print("time to first token (prompt pass): predicted vs measured prefill_ms")
    errors: dict[str, list[float]] = defaultdict(list)
    for c in sorted(baseline.cases, key=lambda c: (c.model, c.impl, c.launch, c.batch)):
        if c.status != "ok" or c.impl not in META_TRACEABLE or not c.prefill_ms:
            continue
        prompt = capture_harness_prefill(c.model, c.impl, c.batch, c.prompt_tokens)
        ms = predict_gpu_prefill_ms(arch, prompt, c.launch, baseline, opcost)
        err = ms / c.prefill_ms - 1
        errors[c.launch].append(err)
        print(
            f"{c.model:<5} {c.impl:<20} {c.launch:<6} {c.batch:>5} {c.prompt_tokens:>4} tokens "
            f"meas {c.prefill_ms:8.2f} ms  pred {ms:8.2f} ms  {err:+7.1%}"
        )
    for launch, errs in sorted(errors.items()):
        print(
            f"{launch}: mean |err| {mean(abs(e) for e in errs):.1%} "
            f"(worst {max(abs(e) for e in errs):.1%}), {len(errs)} cases"
        )
    return errors


def _record_ttft(baseline: Baseline, errors: dict[str, list[float]]) -> None:
    """Write the prompt pass's errors into the fidelity ladder (``--record``)."""
    import datetime

    from arch_models.fidelity import record_rung
    from cosim import __version__

    every = [abs(e) for errs in errors.values() for e in errs]
    if not every:
        return
    record_rung(
        "gpu_ttft",
        {
            "cases": len(every),
            "mean_abs_error": mean(every),
            "worst_abs_error": max(every),
            **{
                f"{launch}_mean_abs_error": mean(abs(e) for e in errs)
                for launch, errs in errors.items()
            },
            "baseline": str(default_baseline_path().relative_to(ROOT)),
            "device": baseline.runs[0].environment.gpu_name if baseline.runs else None,
            "command": "benchmarks/gpu_fidelity.py",
            "date": datetime.date.today().isoformat(),
            "versions": {"package": __version__},
        },
    )


def _record(baseline: Baseline, rows: list[tuple[float, ...]]) -> None:
    """Write the model's errors into the fidelity ladder (``--record``)."""
    import datetime

    from arch_models.fidelity import FIDELITY_FILE, record_rung
    from cosim import __version__

    ms = [abs(r[0]) for r in rows]
    watts = [abs(r[1]) for r in rows if r[1] == r[1]]
    record_rung(
        "gpu_model",
        {
            "cases": len(rows),
            "mean_abs_error": mean(ms),
            "worst_abs_error": max(ms),
            "power_mean_abs_error": mean(watts) if watts else None,
            "power_worst_abs_error": max(watts) if watts else None,
            "baseline": str(default_baseline_path().relative_to(ROOT)),
            "device": baseline.runs[0].environment.gpu_name if baseline.runs else None,
            "command": "benchmarks/gpu_fidelity.py",
            "date": datetime.date.today().isoformat(),
            "versions": {"package": __version__},
        },
    )
    print(f"recorded in {FIDELITY_FILE}")


def _at_reference(baseline: Baseline, reference: float) -> Baseline:
    """``baseline`` with its quiet host reference set to ``reference`` (another run's)."""
    cases = [dataclasses.replace(c, host_quiet_ref_us=reference) for c in baseline.cases]
    return dataclasses.replace(baseline, cases=cases)


def _repeats(arch: Any, baseline: Baseline, opcost: dict[str, Any] | None) -> None:
    """The repeat runs: quiet figures reproduced, and how far plain medians move."""
    base = {c.key: c for c in baseline.cases if c.status == "ok"}
    for path in sorted(REPEATS.glob("rep*.json")):
        run = read_baseline(path)
        eager = [c for c in run.cases if c.status == "ok" and c.launch == "eager"]
        if not any(c.decode_quiet_ms_per_token for c in eager):
            continue
        ref = quiet_reference_of(run)
        assert ref is not None
        priced = _at_reference(baseline, ref)
        print(f"\n{path.stem}: quiet host reference {ref:.1f} us; eager cases")
        agree, errs, plain_moves = [], [], []
        for c in eager:
            b = base.get(c.key)
            line = f"  {c.model:<5} {c.impl:<11} b{c.batch:<3} median {c.decode_ms_per_token:7.2f}"
            if b is not None and b.decode_ms_per_token and c.decode_ms_per_token:
                plain_moves.append(abs(c.decode_ms_per_token / b.decode_ms_per_token - 1))
            if not c.decode_quiet_ms_per_token:
                print(f"{line}  quiet -       ({c.null_reasons.get('decode_quiet_ms_per_token')})")
                continue
            q = c.decode_quiet_ms_per_token
            s = simulate_gpu(
                arch, harness_step(c.model, c.impl, c.batch, priced), "eager", priced, opcost
            )
            e = (s.ms_per_token - q) / q
            errs.append(abs(e))
            line += f"  quiet {q:7.2f}  pred {s.ms_per_token:7.2f} {e:+7.1%}"
            if b is not None and b.decode_quiet_ms_per_token:
                d = q / b.decode_quiet_ms_per_token - 1
                agree.append(abs(d))
                line += f"  baseline quiet {b.decode_quiet_ms_per_token:7.2f} {d:+7.1%}"
            print(line)
        print(
            f"  quiet vs the baseline's quiet: mean |diff| {mean(agree):.1%} "
            f"(worst {max(agree):.1%}, {len(agree)} cases); plain medians: mean |diff| "
            f"{mean(plain_moves):.1%} (worst {max(plain_moves):.1%})"
        )
        print(
            f"  model at this run's quiet host speed: mean |err| {mean(errs):.1%} "
            f"(worst {max(errs):.1%}), {len(errs)} cases"
        )
    spread: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
    for path in [default_baseline_path(), *sorted(REPEATS.glob("rep*.json"))]:
        for c in read_baseline(path).cases:
            if c.status == "ok" and c.launch == "eager" and c.decode_ms_per_token:
                spread[c.key].append(c.decode_ms_per_token)
    moves = [(max(v) - min(v)) / median(v) for v in spread.values() if len(v) > 1]
    runs = max(len(v) for v in spread.values())
    print(
        f"\nplain eager medians over up to {runs} runs: spread (max - min) / median "
        f"mean {mean(moves):.0%}, worst {max(moves):.0%}, {len(moves)} cases"
    )


if __name__ == "__main__":
    main()
