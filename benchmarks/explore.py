"""Explorer benchmark: study throughput on 1.3B, and NSGA-II's hypervolume vs exhaustive.

1. Trials per minute of a 1.3B study over the U280 space (examples/u280_hbm_space.yaml),
   with 1 worker and with 2 workers, each study in a fresh SQLite file. The trace is made
   once (its time is printed, not counted). Target (issue): a 200-trial 1.3B study in at
   most 10 minutes with 2 workers. The mean simulation time per trial and the machine's
   load average are printed too: designs differ in cost (more cores simulate slower, and
   NSGA-II's later generations hold more of them), and other work on the machine slows
   every worker.
2. On small spaces every design is simulated (the exhaustive front), then NSGA-II studies
   of as many trials as the space has designs run from several seeds; the hypervolume of
   each study's front after 25%, 50% and 100% of its trials is given as a fraction of the
   exhaustive front's (a study starts at its space's two corners, then NSGA-II's
   space-filling first generation). Target: at least 95% within 25% of the trials. The
   spaces:
   examples/u280_small_space.yaml (216 designs; power and throughput trade off, a front
   of a few designs) on the tiny model, examples/d5005_space.yaml (240 designs; static
   power dominates, so power follows throughput and most designs are on the front) on one
   block of the paper's model, and examples/tereffic_onchip_space.yaml (240 systems of
   cards; three objectives: tokens/s, J/token, time to first token) on the tiny model.

3. The analytical tier (cosim.analytical; for systems of cards
   cosim.analytical_system): its designs per second over the whole U280 space on 1.3B
   (573,440 designs), and its error against SimPy per example space, the system space on
   370M included (designs drawn with a seed, each simulated): mean and worst |relative
   error| of tokens/s, W, J/token and time to first token.
4. The two-tier search (``--sampler two-tier``, explorer.two_tier): a study of the whole
   U280 space on 1.3B with 2 workers (wall time, target <= 10 min; its SimPy-verified
   front), and on a sub-space small enough to simulate exhaustively (256 designs) the
   two-tier front against the exhaustive SimPy front, with at most 32, 64, 128 and 256
   (all its candidates) SimPy trials: hypervolume and front designs found. The
   hypervolume table of step 2 has a two-tier row per small space too, the system space's
   included (its budget: 25% of the space's designs).

Hypervolume: both objectives normalised to [0, 1] over the exhaustive set of feasible
designs and turned into minimisation (1 - tokens/s, watts), reference point (1.1, 1.1),
the usual 10% beyond the worst so the extreme designs count: the area the front dominates.

Run: ``.venv/bin/python benchmarks/explore.py [--trials-1 40] [--trials-2 200]
[--hv-seeds 3] [--hv-model tiny] [--hv-d5005-model paper-block-d512] [--tier-designs 30]
[--two-tier-trials 1500] [--skip-speed] [--skip-hv] [--skip-tier] [--skip-two-tier]``
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from arch_models.spec.evolve import evolve
from explorer import load_space, run_study
from explorer.objective import Evaluator
from explorer.space import Space
from explorer.study import StudySettings, ensure_trace

ROOT = Path(__file__).resolve().parents[1]
U280 = ROOT / "examples" / "u280_hbm.yaml"
U280_SPACE = ROOT / "examples" / "u280_hbm_space.yaml"
D5005 = ROOT / "examples" / "d5005_paper_core.yaml"
D5005_SPACE = ROOT / "examples" / "d5005_space.yaml"
U280_SMALL_SPACE = ROOT / "examples" / "u280_small_space.yaml"
#: Hypervolume reference point, in normalised minimisation units.
REF = 1.1


def hypervolume(points: list[tuple[float, float]], tps: tuple[float, float],
                watts: tuple[float, float]) -> float:  # fmt: skip
    """Area dominated by ``(tokens/s, W)`` points (normalised; see the module docstring)."""
    t_lo, t_hi = tps
    w_lo, w_hi = watts
    # Minimisation form: a = 1 - normalised tokens/s, b = normalised watts; reference 1.1.
    norm = sorted(
        (1.0 - (t - t_lo) / ((t_hi - t_lo) or 1.0), (w - w_lo) / ((w_hi - w_lo) or 1.0))
        for t, w in points
    )
    area, best_b, prev_a = 0.0, REF, None
    for a, b in norm:  # by a ascending; each point adds the band where it is the lowest b
        if b < best_b:
            if prev_a is not None:
                area += (a - prev_a) * (REF - best_b)
            best_b, prev_a = b, a
    if prev_a is not None:
        area += (REF - prev_a) * (REF - best_b)
    return area


def _front_points(trials: list[object]) -> list[tuple[float, float]]:
    out = []
    for t in trials:
        attrs = t.user_attrs  # type: ignore[attr-defined]
        if attrs.get("status") == "feasible":
            out.append((attrs["summary"]["tokens_per_s"], attrs["summary"]["avg_power_w"]))
    return out


def speed(trials_1: int, trials_2: int, work: Path) -> None:
    settings = StudySettings(
        arch_path=str(U280), space_path=str(U280_SPACE), model="1.3b", storage_url="",
        study_name="", cache_dir=str(work / "cache"),
    )  # fmt: skip
    t0 = time.perf_counter()
    ensure_trace(settings)
    print(
        f"1.3B trace (1 prompt + 2 generated tokens) made once in {time.perf_counter() - t0:.1f} s"
    )
    rows = []
    for workers, n in ((1, trials_1), (2, trials_2)):
        load0 = os.getloadavg()[0]
        out = run_study(
            U280, U280_SPACE, "1.3b", n, storage=work / f"speed{workers}.db", workers=workers,
            cache_dir=work / "cache", progress=False,
        )  # fmt: skip
        c = out.counts
        rate = c.done / (out.elapsed_s / 60)
        trials = out.study.get_trials(deepcopy=False)
        sims = [
            t.user_attrs["summary"]["sim"]["wall_s"] for t in trials if t.user_attrs.get("summary")
        ]
        failures = Counter(
            t.user_attrs["reason"][:120] for t in trials if t.user_attrs.get("status") == "failed"
        )
        rows.append((rate, statistics.mean(sims)))
        print(
            f"1.3B, {workers} worker(s): {c.done} trials in {out.elapsed_s:.1f} s "
            f"(+{out.setup_s:.1f} s set-up) = {rate:.1f} trials/min; mean simulation "
            f"{statistics.mean(sims):.2f} s/trial; [{c.feasible} feasible, {c.infeasible} "
            f"infeasible, {c.failed} failed]; load average {load0:.1f} -> "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        for reason, count in failures.most_common():
            print(f"    failed x{count}: {reason}")
    (rate1, sim1), (rate2, sim2) = rows
    print(
        f"=> a 200-trial 1.3B study with 2 workers: {200 / rate2:.1f} min (target <= 10 min); "
        f"2 workers / 1 worker = {rate2 / rate1:.2f}x in trials/min, "
        f"{(rate2 * sim2) / (rate1 * sim1):.2f}x in simulated seconds/min"
    )


def _exhaustive(
    arch_path: Path, space_path: Path, model: str, work: Path
) -> tuple[Space, int, list[tuple[float, ...]], float]:
    """Simulate every distinct design of a space (conditions respected, one card or a
    system); return the space, its designs, the feasible ones' objectives and seconds."""
    from explorer.inputs import load_base

    base = load_base(arch_path)
    space = load_space(space_path, base)
    settings = StudySettings(
        arch_path=str(arch_path), space_path=str(space_path), model=model, storage_url="",
        study_name="", cache_dir=str(work / "cache"),
    )  # fmt: skip
    evaluator = Evaluator(base, space, ensure_trace(settings))
    t0 = time.perf_counter()
    n = 0
    points = []
    for design in space.designs():
        n += 1
        ev = evaluator.evaluate({space.paths[k]: v for k, v in design.items()})
        if ev.status == "feasible" and ev.values is not None:
            points.append(tuple(ev.values))
    return space, n, points, time.perf_counter() - t0


def hv(
    arch_path: Path, space_path: Path, model: str, seeds: int, work: Path,
    population: int | None = None,
) -> None:  # fmt: skip
    _space, n, found, seconds = _exhaustive(arch_path, space_path, model, work)
    points = [(p[0], p[1]) for p in found]  # tokens/s and W
    tps = (min(p[0] for p in points), max(p[0] for p in points))
    watts = (min(p[1] for p in points), max(p[1] for p in points))
    full = hypervolume(points, tps, watts)
    front = len(_front(points))
    print(
        f"{space_path.name} on {model}: {n} designs ({len(points)} feasible, {front} on the "
        f"front) simulated exhaustively in {seconds:.1f} s"
    )
    fractions: dict[float, list[float]] = {0.25: [], 0.5: [], 1.0: []}
    for seed in range(seeds):
        t1 = time.perf_counter()
        out = run_study(
            arch_path, space_path, model, n, seed=seed, cache_dir=work / "cache",
            storage=work / f"hv-{space_path.stem}-{seed}-{population}.db", progress=False,
            population_size=population,
        )  # fmt: skip
        trials = sorted(out.study.get_trials(deepcopy=False), key=lambda t: t.number)
        got = []
        for frac in fractions:
            k = round(frac * n)
            share = hypervolume(_front_points(trials[:k]), tps, watts) / full
            fractions[frac].append(share)
            got.append(f"{frac:.0%} ({k} trials): {share:.1%}")
        print(f"  NSGA-II seed {seed} ({time.perf_counter() - t1:.0f} s): " + ", ".join(got))
    summary = ", ".join(
        f"{frac:.0%}: mean {statistics.mean(v):.1%} (min {min(v):.1%})"
        for frac, v in fractions.items()
    )
    print(f"=> {space_path.name}: hypervolume reached / exhaustive over {seeds} seeds: "
          f"{summary}; target >= 95% at 25%")  # fmt: skip
    budget = round(0.25 * n)
    t1 = time.perf_counter()
    out = run_study(
        arch_path, space_path, model, budget, storage=work / f"hv-{space_path.stem}-2t.db",
        sampler="two-tier", cache_dir=work / "cache", progress=False,
    )  # fmt: skip
    share = hypervolume(_front_points(out.study.get_trials(deepcopy=False)), tps, watts) / full
    print(f"=> {space_path.name}: two-tier search, {budget} SimPy trials (25%): hypervolume "
          f"{share:.1%} of exhaustive ({time.perf_counter() - t1:.0f} s)")  # fmt: skip


TEREFFIC = ROOT / "examples" / "tereffic_onchip_370m.yaml"
TEREFFIC_SPACE = ROOT / "examples" / "tereffic_onchip_space.yaml"


def _hv_nd(points: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    """Hypervolume that minimisation ``points`` dominate up to ``ref`` (slices, exact)."""
    pts = sorted(p for p in points if all(a < r for a, r in zip(p, ref, strict=True)))
    if not pts:
        return 0.0
    if len(ref) == 1:
        return ref[0] - pts[0][0]
    vol = 0.0
    for i, p in enumerate(pts):
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref[0]
        if nxt > p[0]:
            vol += (nxt - p[0]) * _hv_nd([q[1:] for q in pts[: i + 1]], ref[1:])
    return vol


def hv_objectives(
    arch_path: Path, space_path: Path, model: str, seeds: int, work: Path,
    population: int | None = None,
) -> None:  # fmt: skip
    """Hypervolume at 25/50/100% of NSGA-II's trials over the exhaustive front, over the
    space's own objectives (any number; each normalised over the feasible designs)."""
    from explorer.objectives import METRICS

    space, n_designs, points, seconds = _exhaustive(arch_path, space_path, model, work)
    names = space.objectives
    lo = [min(p[j] for p in points) for j in range(len(names))]
    hi = [max(p[j] for p in points) for j in range(len(names))]

    def norm(p: tuple[float, ...]) -> tuple[float, ...]:
        out = []
        for j, n in enumerate(names):
            x = (p[j] - lo[j]) / ((hi[j] - lo[j]) or 1.0)
            out.append(1.0 - x if METRICS[n].direction == "maximize" else x)
        return tuple(out)

    ref = (REF,) * len(names)
    full = _hv_nd([norm(p) for p in points], ref)
    print(
        f"{space_path.name} on {model} ({', '.join(names)}): {n_designs} designs "
        f"({len(points)} feasible) simulated exhaustively in {seconds:.0f} s"
    )
    shares: dict[float, list[float]] = {0.25: [], 0.5: [], 1.0: []}
    for seed in range(seeds):
        out = run_study(
            arch_path, space_path, model, n_designs, seed=seed, cache_dir=work / "cache",
            storage=work / f"hv-{space_path.stem}-{seed}-{population}.db", progress=False,
            population_size=population,
        )  # fmt: skip
        trials = sorted(out.study.get_trials(deepcopy=False), key=lambda t: t.number)
        for frac in shares:
            k = round(frac * n_designs)
            got = [
                norm(tuple(t.values))
                for t in trials[:k]
                if t.user_attrs.get("status") == "feasible" and t.values
            ]
            shares[frac].append(_hv_nd(got, ref) / full)
        print(f"  NSGA-II seed {seed}: " + ", ".join(
            f"{f:.0%}: {v[-1]:.1%}" for f, v in shares.items()))  # fmt: skip
    print(f"=> {space_path.name}: hypervolume reached / exhaustive over {seeds} seeds: "
          + ", ".join(f"{f:.0%}: mean {statistics.mean(v):.1%} (min {min(v):.1%})"
                      for f, v in shares.items()) + "; target >= 95% at 25%")  # fmt: skip
    budget = round(0.25 * n_designs)
    t1 = time.perf_counter()
    out = run_study(
        arch_path, space_path, model, budget, storage=work / f"hv-{space_path.stem}-2t.db",
        sampler="two-tier", cache_dir=work / "cache", progress=False,
    )  # fmt: skip
    got = [
        norm(tuple(t.values))
        for t in out.study.get_trials(deepcopy=False)
        if t.user_attrs.get("status") == "feasible" and t.values
    ]
    print(f"=> {space_path.name}: two-tier search, at most {budget} SimPy trials (25%): "
          f"{len(out.study.trials)} run, hypervolume {_hv_nd(got, ref) / full:.1%} of "
          f"exhaustive ({time.perf_counter() - t1:.0f} s)")  # fmt: skip


#: (design, space, model) of the analytical tier's error table.
TIER_SPACES = (
    (U280, U280_SPACE, "1.3b"),
    (U280, U280_SMALL_SPACE, "tiny"),
    (D5005, D5005_SPACE, "paper-block-d512"),
    (TEREFFIC, TEREFFIC_SPACE, "370m"),
)
#: The sub-space of the U280 space simulated exhaustively (256 designs).
SUB_SPACE = """version: 1
design: {design}
name: u280-sub
constraints: {{power_cap_w: 45}}
parameters:
  layout.cores: {{choices: [8, 16, 24, 32]}}
  hbm.channels: {{choices: [16, 32]}}
  tmac.lanes: {{choices: [32, 64]}}
  tmac.rows_parallel: {{choices: [8, 16]}}
  tmac.zero_skipping: {{choices: [false, true]}}
  wbuf.capacity_kib: {{choices: [128, 256]}}
  clock_mhz: {{choices: [200.0, 300.0]}}
"""
FIGURES = ("tokens_per_s", "avg_power_w", "energy_per_token_j", "time_to_first_token_ms")


def tier(designs: int, work: Path) -> None:
    """The analytical tier: designs a second on the whole U280 space, error per space."""
    from arch_models.spec.evolve import evolve_system
    from arch_models.spec.system import System
    from cosim.engine import simulate
    from cosim.system import simulate_system
    from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
    from explorer.inputs import load_base
    from explorer.two_tier import sweep

    for arch_path, space_path, model in TIER_SPACES:
        arch = load_base(arch_path)
        space = load_space(space_path, arch)
        settings = StudySettings(
            arch_path=str(arch_path), space_path=str(space_path), model=model,
            storage_url="", study_name="", cache_dir=str(work / "cache"),
        )  # fmt: skip
        card = arch.cards[0] if isinstance(arch, System) else arch
        work_load = workload_from_trace(ensure_trace(settings), design_elementwise_bytes(card))
        s = sweep(arch, space, work_load)
        print(
            f"analytical tier, {space_path.name} on {model}: {len(s):,} designs in "
            f"{s.seconds:.1f} s = {s.per_second:,.0f} designs/s on one core"
            + (" (target >= 10,000)" if space_path == U280_SPACE else "")
        )
        rng = np.random.default_rng(0)
        picks = rng.choice(np.flatnonzero(s.estimates.valid), size=min(designs, len(s)),
                           replace=False)  # fmt: skip
        errors: dict[str, list[float]] = {f: [] for f in FIGURES}
        t0 = time.perf_counter()
        for i in picks:
            params = {space.paths[k]: v for k, v in s.params(int(i)).items()}
            if isinstance(arch, System):
                sim = simulate_system(evolve_system(arch, params), work_load).summary
            else:
                sim = simulate(evolve(arch, params), work_load).summary
            est = s.estimates.summary(int(i))
            for f in FIGURES:
                errors[f].append(abs(float(est[f]) / float(sim[f]) - 1))
        shown = "; ".join(
            f"{f} mean {statistics.mean(v):.2%} worst {max(v):.2%}" for f, v in errors.items()
        )
        print(f"  error against SimPy over {len(picks)} drawn designs "
              f"({time.perf_counter() - t0:.0f} s of SimPy): {shown}")  # fmt: skip


def two_tier(trials: int, work: Path, whole: bool = True) -> None:
    """A two-tier study of the whole U280 space on 1.3B; a sub-space against exhaustive."""
    if whole:
        _whole_space(trials, work)
    _sub_space(work)


def _whole_space(trials: int, work: Path) -> None:
    t0 = time.perf_counter()
    out = run_study(
        U280, U280_SPACE, "1.3b", trials, storage=work / "two-tier.db", workers=2,
        sampler="two-tier", cache_dir=work / "cache", progress=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    rec = out.study.user_attrs["two_tier"]
    front = _front(_front_points(out.study.get_trials(deepcopy=False)))
    errs = _errors_text(rec["errors"])
    print(
        f"two-tier study, whole {U280_SPACE.name} on 1.3B, 2 workers: {wall / 60:.1f} min "
        f"(target <= 10 min; trace made before): {rec['designs']:,} designs swept in "
        f"{rec['seconds']:.0f} s, {out.counts.done} simulated "
        f"({out.counts.feasible} feasible), {len(front)} on the SimPy-verified front; "
        f"candidates within their family's error of the front: "
        f"{rec['rounds'][-1]['candidates'] if rec['rounds'] else 0:,}; worst errors measured: "
        f"{errs}"
    )


def _sub_space(work: Path) -> None:
    sub = work / "u280_sub_space.yaml"
    sub.write_text(SUB_SPACE.format(design=U280), encoding="utf-8")
    t1 = time.perf_counter()
    full = run_study(
        U280, sub, "1.3b", 256, storage=work / "sub-grid.db", workers=2, sampler="grid",
        cache_dir=work / "cache", progress=False,
    )  # fmt: skip
    grid_s = time.perf_counter() - t1
    points = _front_points(full.study.get_trials(deepcopy=False))
    tps = (min(p[0] for p in points), max(p[0] for p in points))
    watts = (min(p[1] for p in points), max(p[1] for p in points))
    exhaustive = _front(points)
    for budget in (32, 64, 128, 256):  # 256: as many as its candidates
        t2 = time.perf_counter()
        got = run_study(
            U280, sub, "1.3b", budget, storage=work / f"sub-2t-{budget}.db", workers=2,
            sampler="two-tier", cache_dir=work / "cache", progress=False,
        )  # fmt: skip
        mine = _front(_front_points(got.study.get_trials(deepcopy=False)))
        found = len({(round(t, 6), round(w, 6)) for t, w in mine}
                    & {(round(t, 6), round(w, 6)) for t, w in exhaustive})  # fmt: skip
        share = hypervolume(mine, tps, watts) / hypervolume(exhaustive, tps, watts)
        rounds = got.study.user_attrs["two_tier"]["rounds"]
        print(
            f"  sub-space (256 designs; exhaustive SimPy {grid_s:.0f} s, {len(exhaustive)} on "
            f"the front): two-tier with at most {budget} SimPy trials, {got.counts.done} run "
            f"({time.perf_counter() - t2:.0f} s; {rounds[-1]['candidates'] if rounds else 0} "
            f"candidates within their family's error): hypervolume {share:.1%} of "
            f"exhaustive, {found} of its {len(exhaustive)} front designs found"
        )


def _errors_text(errors: dict[str, dict[str, dict[str, float]]]) -> str:
    """The worst tokens/s and W errors over all families, then per family."""

    def worst(figs: dict[str, dict[str, float]], name: str) -> str:
        v = figs.get(name, {}).get("worst")
        return f"{v:.1%}" if isinstance(v, float) and math.isfinite(v) else "-"

    def designs(figs: dict[str, dict[str, float]]) -> int:
        return int(figs.get("tokens_per_s", {}).get("designs", 0))

    parts = [
        f"{fam} ({designs(figs)} designs): tokens/s {worst(figs, 'tokens_per_s')}, "
        f"W {worst(figs, 'avg_power_w')}"
        for fam, figs in sorted(errors.items(), key=lambda kv: kv[0] != "all")
    ]
    return "; ".join(parts)


def _front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out, best_w = [], float("inf")
    for t, w in sorted(points, key=lambda p: (-p[0], p[1])):
        if w < best_w:
            out.append((t, w))
            best_w = w
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-1", type=int, default=40, help="1.3B trials with 1 worker")
    parser.add_argument("--trials-2", type=int, default=200, help="1.3B trials with 2 workers")
    parser.add_argument("--hv-seeds", type=int, default=3, help="NSGA-II seeds on the small space")
    parser.add_argument("--hv-model", default="tiny", help="model of the small U280 space")
    parser.add_argument(
        "--hv-d5005-model", default="paper-block-d512", help="model of the small D5005 space"
    )
    parser.add_argument(
        "--hv-tereffic-model", default="tiny", help="model of the TerEffic system space"
    )
    parser.add_argument("--skip-hv-2d", action="store_true", help="only the system space's")
    parser.add_argument(
        "--population", type=int, help="NSGA-II population of the hypervolume studies"
    )
    parser.add_argument("--tier-designs", type=int, default=30, help="designs per error table")
    parser.add_argument("--two-tier-trials", type=int, default=1500, help="SimPy budget, 1.3B")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-hv", action="store_true")
    parser.add_argument("--skip-tier", action="store_true")
    parser.add_argument("--skip-two-tier", action="store_true")
    parser.add_argument(
        "--two-tier-sub-only", action="store_true", help="the sub-space check, not the whole"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="explore-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_speed:
            speed(args.trials_1, args.trials_2, work)
        if not args.skip_tier:
            tier(args.tier_designs, work)
        if not args.skip_two_tier:
            two_tier(args.two_tier_trials, work, whole=not args.two_tier_sub_only)
        if not args.skip_hv:
            if not args.skip_hv_2d:
                hv(U280, U280_SMALL_SPACE, args.hv_model, args.hv_seeds, work, args.population)
                hv(D5005, D5005_SPACE, args.hv_d5005_model, args.hv_seeds, work, args.population)
            hv_objectives(TEREFFIC, TEREFFIC_SPACE, args.hv_tereffic_model, args.hv_seeds, work)


if __name__ == "__main__":
    main()
