"""One-call GPU check of the ``fused`` implementation: correct, how fast, how many kernels.

For 370M, 1.3B and 2.7B (random weights, seed 0, prompt 128):

- **per-kernel table** (first, always): each Triton kernel once on random inputs of the
  370M and 2.7B shapes (decode at batch 1 and 16, the batch-16 prompt of 128 tokens)
  against the reference path's computation of the same op (:data:`REFERENCE_OPS`) on the
  same GPU: max abs/rel error of the float outputs, int8 activations moved. PASS: the
  GEMV exact (integer sums, the same float64 division: rel <= 1e-6), the others within
  1e-5 of the output's max, at most 1 in 1000 int8 values moved and none by more than
  one (float32 row sums in another order than torch's). ``--per-kernel``: only this
  table and the lock-step tables;
- **lock-step table** per model and batch (1, 16): every op of the real model over the
  prompt and two decode steps (strided id columns, as the harness passes them), Triton
  and reference on the same inputs, the reference's outputs fed on, same PASS rule;
- **end to end**: Triton against the reference path, teacher-forced, and ``fused``
  against ``packed``. The random-weight model amplifies float32 ulps (on the CPU, an
  ulp-level change of ``exp`` moved the 370M logits by 3e-2 of their max after the
  128-token prompt), so exact agreement is not expected: pass needs the cosine of the
  logits >= 0.99 against the reference, and ``fused`` no further from ``packed`` (bf16
  norms and gates) than the reference path is (cosine within 0.005); greedy tokens
  agreement and max |diff| are printed;
- **speed**: ms/token of decode at batch 1 and 16, each step one CUDA graph replay
  (median of 128 steps after the prompt), against the targets 1.1 / 1.6 / 2.7 ms at
  batch 1;
- **per-kernel times** (first; ``--kernel-times``: only these): every distinct launch
  of a decode step at batch 1 and 16 timed alone (200 launches in a CUDA graph): grid,
  warps, tiles, us a launch, GB/s of the bytes it must move;
- **kernels per decode step** (torch.profiler, CUDA activity, one eager step);
- **% of the HBM bandwidth bound**: bytes a step must read (2-bit codes of every matrix
  and the head, scales and norms, one embedding row per sequence, the state read and
  written) over the measured HBM read bandwidth (a 4 GiB ``sum``) and over the
  datasheet's (H200 4.8 TB/s, H100 SXM 3.35 TB/s).

Run on the GPU machine: ``python benchmarks/gpu_fused_check.py`` (about 2-3 minutes on
an H100). Exit status 0 when every check passes, 1 when one fails, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = {"370m": 1.1, "1.3b": 1.6, "2.7b": 2.7}
DATASHEET_TBPS = {"H200": 4.8, "H100": 3.35}
PROMPT = 128
STEPS = 128
CHECK_STEPS = 6


# --- per-kernel and lock-step checks -------------------------------------------------

#: The arguments each op writes (positions), the rest are inputs.
OUTPUTS = {
    "norm_quant": (0, 3, 4),
    "ternary_gemv": (4,),
    "mlgru_cell": (1, 6, 7),
    "glu_quant": (2, 3),
}


@dataclass
class OpError:
    """The worst disagreement of one kernel with its reference over some calls."""

    calls: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    int8_flips: int = 0
    int8_total: int = 0
    int8_max: int = 0

    def add(self, tri: Any, ref: Any) -> None:
        """Fold in one output tensor pair."""
        if tri.dtype == ref.dtype and not tri.dtype.is_floating_point:
            diff = (tri.int() - ref.int()).abs()
            self.int8_flips += int((diff > 0).sum())
            self.int8_total += diff.numel()
            self.int8_max = max(self.int8_max, int(diff.max()) if diff.numel() else 0)
            return
        diff = (tri.double() - ref.double()).abs()
        if not bool(torch_finite(tri)):
            self.max_abs = self.max_rel = float("inf")
            return
        scale = float(ref.double().abs().max()) or 1.0
        self.max_abs = max(self.max_abs, float(diff.max()))
        self.max_rel = max(self.max_rel, float(diff.max()) / scale)

    def ok(self, float_tol: float) -> bool:
        """Float outputs within ``float_tol`` of their max; int8 off by at most one, rarely.

        The norms' row sums are reduced in another order than torch's (a few float32
        ulps), which moves an int8 activation sitting on a rounding boundary by one:
        at most 1 in 1000 may move, none by more than one.
        """
        flips_ok = self.int8_max <= 1 and self.int8_flips <= max(2, self.int8_total // 1000)
        return self.max_rel <= float_tol and flips_ok

    def line(self, label: str, float_tol: float) -> str:
        """One row of the table."""
        flips = f"{self.int8_flips}/{self.int8_total} int8 moved (max {self.int8_max})"
        verdict = "PASS" if self.ok(float_tol) else "FAIL"
        return (
            f"    {label:<34} abs {self.max_abs:.2e} rel {self.max_rel:.2e} "
            f"(tol {float_tol:.0e}); {flips} -> {verdict}"
        )


def torch_finite(t: Any) -> bool:
    """Whether every value is finite."""
    import torch

    return bool(torch.isfinite(t).all())


#: Float tolerance of each op (relative to the output's max): the GEMV is exact (integer
#: sums, the same float64 division); the others differ by float32 row-sum order.
FLOAT_TOL = {"norm_quant": 1e-5, "ternary_gemv": 1e-6, "mlgru_cell": 1e-5, "glu_quant": 1e-5}


def run_both(
    name: str, tri: Callable[..., None], ref: Callable[..., None], args: list[Any], err: OpError
) -> None:
    """Run ``ref`` on copies of ``args`` and ``tri`` on ``args``; fold the outputs into ``err``.

    Afterwards the outputs hold the reference's values, so that a chain of ops keeps
    following the reference path (a lock-step comparison).
    """
    import torch

    copies = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    ref(*copies)
    tri(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    err.calls += 1
    for i in OUTPUTS[name]:
        if isinstance(args[i], torch.Tensor) and (
            name != "norm_quant" or i != 0 or args[7] is not None
        ):
            err.add(args[i], copies[i])
            args[i].copy_(copies[i])


class LockstepOps:
    """Ops that run the Triton kernel and the reference on the same inputs at every call."""

    def __init__(self) -> None:
        from gpubench import _fused_triton as ft
        from gpubench.fused import REFERENCE_OPS, FusedOps

        self.errors: dict[str, OpError] = {}
        pairs: dict[str, tuple[Callable[..., None], Callable[..., None]]] = {
            "norm_quant": (ft.norm_quant, REFERENCE_OPS.norm_quant),
            "ternary_gemv": (ft.ternary_gemv, REFERENCE_OPS.ternary_gemv),
            "mlgru_cell": (ft.mlgru_cell, REFERENCE_OPS.mlgru_cell),
            "glu_quant": (ft.glu_quant, REFERENCE_OPS.glu_quant),
        }

        def wrap(name: str) -> Callable[..., None]:
            tri, ref = pairs[name]

            def call(*args: Any) -> None:
                a = list(args) + [None] * (9 - len(args)) if name == "norm_quant" else list(args)
                key = name + _shape_key(name, a)
                run_both(name, tri, ref, a, self.errors.setdefault(key, OpError()))

            return call

        self.ops = FusedOps("lockstep", *(wrap(n) for n in pairs))


def _shape_key(name: str, a: list[Any]) -> str:
    """A label of an op call's shape: rows and, for the GEMV, ``N x K`` and residual."""
    if name == "ternary_gemv":
        n, k4 = a[2].shape
        return f" M={a[0].shape[1]} {n}x{4 * k4}{' +res' if a[6] else ''}"
    if name == "norm_quant":
        return f" M={a[0].shape[0]} S={a[2].shape[0]}{' emb' if a[7] is not None else ''}"
    return f" M={a[6 if name == 'mlgru_cell' else 2].shape[0]}"


def random_kernel_checks(model_name: str, batch: int, rows: int, dev: Any) -> dict[str, OpError]:
    """Each kernel once on random inputs of ``model_name``'s shapes, against its reference."""
    import torch

    from gpubench import _fused_triton as ft
    from gpubench import kernels
    from gpubench.fused import REFERENCE_OPS as R
    from gpubench.shapes import get_shape

    s = get_shape(model_name)
    d, inter, v = s.d, s.intermediate, s.vocab
    g = torch.Generator(device=dev).manual_seed(batch * 7919 + rows)
    eps = 1e-6

    def rn(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return torch.randn(*shape, generator=g, device=dev) * scale

    def q8(*shape: int) -> torch.Tensor:
        return torch.randint(-128, 128, shape, generator=g, device=dev).to(torch.int8)

    def codes(n: int, k: int) -> torch.Tensor:
        return kernels.pack_ternary(torch.randint(-1, 2, (n, k), generator=g, device=dev))

    def sw(n: int) -> torch.Tensor:
        return torch.rand(n, generator=g, device=dev).double() * 0.1 + 0.01

    errs: dict[str, OpError] = {}

    def check(
        label: str, name: str, tri: Callable[..., None], ref: Callable[..., None], args: list[Any]
    ) -> None:
        run_both(name, tri, ref, args, errs.setdefault(label, OpError()))

    m = rows
    emb = rn(v, d).to(torch.bfloat16)
    ids = torch.randint(0, v, (m,), generator=g, device=dev)
    x = rn(m, d, scale=3.0)
    w1, w2 = rn(d).abs() + 0.5, rn(3, d).abs() + 0.5
    nq = "norm_quant"
    check(
        f"{nq} embed S=3 [{m}x{d}]",
        nq,
        ft.norm_quant,
        R.norm_quant,
        [x, w1, w2, q8(3, m, d), rn(3, m), eps, eps, ids, emb],
    )
    check(
        f"{nq} S=1 [{m}x{d}]",
        nq,
        ft.norm_quant,
        R.norm_quant,
        [x, w1, w2[:1], q8(1, m, d), rn(1, m), eps, eps, None, None],
    )
    for label, n, k, segs, res in _gemvs(d, inter, v):
        mm = batch if label == "head" else m
        check(
            f"ternary_gemv {label} [{mm}: {n}x{k}]",
            "ternary_gemv",
            ft.ternary_gemv,
            R.ternary_gemv,
            [
                q8(segs, mm, k),
                torch.rand(segs, mm, generator=g, device=dev) * 2 + 0.1,
                codes(n, k),
                sw(segs),
                rn(mm, n),
                n // segs,
                res,
            ],
        )
    t_len = m // batch
    for code_form in (True, False):
        state = rn(batch, 2, d)[:, 1]  # a strided layer of [B, L, d], as the runner passes it
        check(
            f"mlgru_cell code={code_form} [{batch}x{t_len}, {d}]",
            "mlgru_cell",
            ft.mlgru_cell,
            R.mlgru_cell,
            [
                rn(m, 3 * d, scale=2.0),
                state,
                torch.rand(d, generator=g, device=dev),
                torch.rand(d, generator=g, device=dev) * 0.3,
                w1,
                w2[0],
                q8(m, d),
                rn(m),
                eps,
                eps,
                code_form,
            ],
        )
    check(
        f"glu_quant [{m}x{inter}]",
        "glu_quant",
        ft.glu_quant,
        R.glu_quant,
        [rn(m, 2 * inter, scale=2.0), rn(inter).abs() + 0.5, q8(m, inter), rn(m), eps],
    )
    return errs


def print_table(title: str, errs: dict[str, OpError]) -> bool:
    """Print one table; whether every row passed."""
    print(f"  {title}")
    good = True
    for label, e in errs.items():
        tol = FLOAT_TOL[next(k for k in FLOAT_TOL if label.startswith(k))]
        print(e.line(label, tol))
        good &= e.ok(tol)
    return good


def per_kernel(models: list[str], dev: Any) -> bool:
    """The per-kernel table: random inputs of real shapes, decode and prompt rows."""
    ok = True
    print("\nper-kernel checks (Triton against the reference path, random inputs):")
    for model_name in models:
        for batch, rows in ((1, 1), (16, 16), (16, 16 * PROMPT)):
            kind = "decode" if rows == batch else f"prompt {PROMPT}"
            errs = random_kernel_checks(model_name, batch, rows, dev)
            ok &= print_table(f"{model_name} b{batch} {kind}:", errs)
    return ok


def kernel_times(
    models: list[str], dev: Any, tbps: float, launches: int = 200, window_s: float = 0.5
) -> tuple[list[dict[str, Any]], float | None]:
    """Per-kernel table: each distinct launch of a decode step, timed alone.

    ``launches`` back-to-back launches of one kernel on random inputs of the model's
    shapes, captured in one CUDA graph and replayed (CUDA events; best of 3 replays):
    microseconds a launch, as a decode step's graph sees it, and GB/s of the bytes the
    kernel must move (codes, activations, outputs). A GEMV's launches cycle over enough
    copies of its weight codes to hold three L2s, so that each reads its weights from
    HBM as a decode step does (the same codes launched back to back would be served
    from L2: ``l2 us`` records that time too). ``after other``: a launch's time when
    each follows a different tiny kernel (a graph of pairs, less that kernel alone), as
    in a decode step, where no kernel follows itself. ``W``: the board's power while the
    graph replays back to back (NVML energy counter, ``window_s`` a row), beside the
    ``floor`` of a graph of tiny kernels measured first. ``sum/step``: the launches of
    one decode step summed (per-layer kernels times the layers). Returns the rows
    (:func:`kernel_row` with those figures added), which ``--kernels-out`` writes for
    the GPU model.
    """
    import torch

    from gpubench import _fused_triton as ft
    from gpubench import kernels
    from gpubench.shapes import get_shape

    def p2(n: int) -> int:
        return 1 << (n - 1).bit_length()

    g = torch.Generator(device=dev).manual_seed(0)

    def rn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, device=dev)

    def q8(*shape: int) -> torch.Tensor:
        return torch.randint(-128, 128, shape, generator=g, device=dev).to(torch.int8)

    def codes(n: int, k: int) -> torch.Tensor:
        return kernels.pack_ternary(torch.randint(-1, 2, (n, k), generator=g, device=dev))

    from gpubench.micro import graph_or_loop
    from gpubench.power import PowerMonitor

    l2_bytes = int(torch.cuda.get_device_properties(dev).L2_cache_size)
    monitor = PowerMonitor(enabled=True)
    tiny = torch.zeros(1, device=dev)
    tiny_graph = graph_or_loop(lambda: tiny.add_(1), launches, dev)
    tiny_us = _best_us(tiny_graph, launches, dev)
    floor_w = _watts(tiny_graph, dev, monitor, window_s) if monitor.available else None
    rows: list[dict[str, Any]] = []
    print(
        f"\nper-kernel times (each launch alone, {launches} in a CUDA graph; HBM {tbps:.2f} TB/s;"
        f" L2 {l2_bytes / 2**20:.0f} MiB; tiny kernel {tiny_us:.2f} us,"
        f" floor {floor_w or 0:.1f} W):"
    )
    for model_name in models:
        sh = get_shape(model_name)
        d, inter, v, layers = sh.d, sh.intermediate, sh.vocab, sh.layers
        for m in (1, 16):
            eps = 1e-6
            x = rn(m, d)
            ids = torch.randint(0, v, (m,), generator=g, device=dev)
            emb = rn(v, d).to(torch.bfloat16)
            w1, w2 = rn(d).abs() + 0.5, rn(3, d).abs() + 0.5
            row = f"grid {m}, warps {ft.row_warps(p2(d))}"
            # (label, per step, the calls its launches cycle over, bytes, launch)
            ops: list[tuple[str, int, Any, int, str]] = []
            q3, s3 = q8(3, m, d), rn(3, m)
            ops.append(
                (
                    f"norm_quant embed S=3 [{m}x{d}]",
                    1,
                    partial(ft.norm_quant, x, w1, w2, q3, s3, eps, eps, ids, emb),
                    m * d * (2 + 4 + 3) + 16 * d,
                    row,
                )
            )
            q1, s1 = q8(1, m, d), rn(1, m)
            ops.append(
                (
                    f"norm_quant S=1 [{m}x{d}]",
                    layers + 1,
                    partial(ft.norm_quant, x, w1, w2[:1], q1, s1, eps, eps),
                    m * d * (4 + 1) + 8 * d,
                    row,
                )
            )
            for label, n, k, segs, res in _gemvs(d, inter, v):
                qx, sx = q8(segs, m, k), torch.rand(segs, m, generator=g, device=dev) + 0.5
                ws, out = torch.full((segs,), 0.05, dtype=torch.float64, device=dev), rn(m, n)
                copies = min(1024, max(1, -(-3 * l2_bytes // (n * k // 4))))
                cycle: list[Callable[[], None]] = [
                    partial(ft.ternary_gemv, qx, sx, codes(n, k), ws, out, n // segs, res)
                    for _ in range(copies)
                ]
                kern, progs, tiles, warps = ft.gemv_launch(m, n, k // 4, n // segs)
                tl_ = ",".join(f"{t.split('_')[1]}={val}" for t, val in tiles.items())
                ops.append(
                    (
                        f"ternary_gemv {label} [{m}: {n}x{k}]",
                        1 if label == "head" else layers,
                        cycle,
                        n * k // 4 + segs * m * k + m * n * 4 * (2 if res else 1),
                        f"{kern[1:5]} grid {progs}, warps {warps}, {tl_}",
                    )
                )
            y3, h = rn(m, 3 * d), rn(m, d)
            lbs, lbb = (
                torch.rand(d, generator=g, device=dev),
                torch.rand(d, generator=g, device=dev),
            )
            qm, sm = q8(m, d), rn(m)
            ops.append(
                (
                    f"mlgru_cell [{m}x1, {d}]",
                    layers,
                    partial(ft.mlgru_cell, y3, h, lbs, lbb, w1, w1, qm, sm, eps, eps, True),
                    m * d * (12 + 8 + 1) + 16 * d,
                    row,
                )
            )
            yg, wg, qg, sg = rn(m, 2 * inter), rn(inter).abs() + 0.5, q8(m, inter), rn(m)
            ops.append(
                (
                    f"glu_quant [{m}x{inter}]",
                    layers,
                    partial(ft.glu_quant, yg, wg, qg, sg, eps),
                    m * inter * (8 + 1) + 4 * inter,
                    f"grid {m}, warps {ft.row_warps(p2(inter))}",
                )
            )
            print(f"  {model_name} b{m}:")
            total = 0.0
            for label, per_step, call, nbytes, launch in ops:
                cycle = call if isinstance(call, list) else [call]
                n_cycle = len(cycle)
                inner = max(launches, n_cycle)  # every copy once a replay
                run = graph_or_loop(_cycling(cycle), inner, dev)
                best = _best_us(run, inner, dev)
                same = _best_us(graph_or_loop(cycle[0], launches, dev), launches, dev)
                pairs = _best_us(graph_or_loop(_after(cycle, tiny), inner, dev), inner, dev)
                watts = _watts(run, dev, monitor, window_s) if monitor.available else None
                del run
                total += best * per_step
                line = (
                    f"    {label:<36} {launch:<52} {best:8.2f} us {nbytes / best / 1e3:8.1f} GB/s"
                    f"  x{per_step}  l2 {same:.2f} us, after other {pairs - tiny_us:.2f} us,"
                    f" {watts or 0:.1f} W, {n_cycle} copies"
                )
                print(line)
                rows.append(
                    {
                        **kernel_row(model_name, m, line),
                        "us_l2": round(same, 3),
                        "us_after_other": round(pairs - tiny_us, 3),
                        "watts": None if watts is None else round(watts, 1),
                        "copies": n_cycle,
                    }
                )
            print(f"    sum/step {total / 1e3:.3f} ms (the kernels alone, one after another)")
            torch.cuda.empty_cache()
    return rows, floor_w


def _cycling(calls: list[Callable[[], None]]) -> Callable[[], None]:
    """A callable that makes the next of ``calls`` on each call (round-robin)."""
    state = {"i": 0}

    def next_call() -> None:
        calls[state["i"] % len(calls)]()
        state["i"] += 1

    return next_call


def _after(calls: list[Callable[[], None]], tiny: Any) -> Callable[[], None]:
    """A callable launching a tiny other kernel, then the next of ``calls``."""
    step = _cycling(calls)

    def pair() -> None:
        tiny.add_(1)
        step()

    return pair


def _gemvs(d: int, inter: int, v: int) -> tuple[tuple[str, int, int, int, bool], ...]:
    """A decode step's ternary GEMV launches: (label, rows, columns, segments, +residual)."""
    return (
        ("ifg", 3 * d, d, 3, False),
        ("o_proj +res", d, d, 1, True),
        ("gate/up", 2 * inter, d, 1, False),
        ("down +res", d, inter, 1, True),
        ("head", v, d, 1, False),
    )


def _best_us(run: Callable[[], None], launches: int, dev: Any) -> float:
    """Best of three timed ``run()`` (one graph replay of ``launches``): microseconds a launch."""
    from gpubench.timing import time_each

    run()  # warm
    return min(time_each(run, 3, dev)) * 1e3 / launches


def _watts(run: Callable[[], None], dev: Any, monitor: Any, seconds: float) -> float | None:
    """Average board power while ``run`` replays back to back (the energy counter's)."""
    from gpubench.micro import power_window

    reading, _ = power_window(run, dev, monitor, seconds)
    if reading.energy_j and reading.duration_s:
        return float(reading.energy_j / reading.duration_s)
    return reading.avg_power_w


#: A printed row of the per-kernel time table (see :func:`kernel_times`).
_ROW = re.compile(
    r"^\s{4}(?P<label>\S.*?)\s+(?P<kind>gemv |gemm )?grid (?P<grid>\d+), warps \d+.*?"
    r"\s(?P<us>[\d.]+) us\s+(?P<gbs>[\d.]+) GB/s\s+x(?P<count>\d+)(?:\s.*)?$"
)
#: The Triton function behind each kind of launch (as the profiler names it).
_FUNCTIONS = {
    "norm_quant": "_norm_quant_kernel",
    "mlgru_cell": "_mlgru_kernel",
    "glu_quant": "_glu_kernel",
}


def kernel_row(model: str, batch: int, line: str) -> dict[str, Any]:
    """Return one printed row of the per-kernel table as a record.

    Keys: ``model``, ``batch``, ``label``, ``kernel`` (the Triton function the profiler
    names), ``grid`` (thread blocks), ``us`` (a launch, in a graph), ``bytes`` (what it
    must move), ``per_step`` (launches in a decode step).

    Raises:
        ValueError: The line is not a row of the table.
    """
    hit = _ROW.match(line)
    if hit is None:
        raise ValueError(f"not a per-kernel row: {line!r}")
    label = hit["label"]
    if label.startswith("ternary_gemv"):
        kernel = "_gemm_kernel" if (hit["kind"] or "").strip() == "gemm" else "_gemv_kernel"
    else:
        kernel = _FUNCTIONS[label.split()[0]]
    us = float(hit["us"])
    return {
        "model": model,
        "batch": batch,
        "label": label,
        "kernel": kernel,
        "grid": int(hit["grid"]),
        "us": us,
        "bytes": round(float(hit["gbs"]) * us * 1e3),
        "per_step": int(hit["count"]),
    }


def parse_kernel_table(text: str) -> list[dict[str, Any]]:
    """Return the rows of every per-kernel time table printed in ``text`` (a run's output)."""
    rows: list[dict[str, Any]] = []
    where: tuple[str, int] | None = None
    in_table = False
    for line in text.splitlines():
        if line.startswith("per-kernel times"):
            in_table = True
            continue
        head = re.match(r"^  (\S+) b(\d+):$", line)
        if in_table and head:
            where = (head[1], int(head[2]))
        elif in_table and where and _ROW.match(line):
            rows.append(kernel_row(where[0], where[1], line))
        elif in_table and line and not line.startswith(" "):
            in_table = False
    return rows


def write_kernel_times(
    path: Path,
    rows: list[dict[str, Any]],
    device: str,
    note: str,
    floor_w: float | None = None,
) -> None:
    """Write the per-kernel times for the GPU model (``<baseline stem>_fused_kernels.json``).

    ``floor_w``: the board's power over a graph of tiny kernels in the same session, the
    reference the rows' ``watts`` are read against.
    """
    data = {
        "schema": "mmfree-cosim/fused-kernel-times",
        "device": device,
        "note": note,
        "floor_w": None if floor_w is None else round(floor_w, 1),
        "rows": rows,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _fail(msg: str) -> int:
    print(f"gpu_fused_check: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the checks; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="370m,1.3b,2.7b", help="default 370m,1.3b,2.7b")
    p.add_argument("--skip-reference", action="store_true", help="no reference-path check")
    p.add_argument(
        "--per-kernel",
        action="store_true",
        help="only the per-kernel table (random inputs of 370m and 2.7b) and the lock-step checks",
    )
    p.add_argument(
        "--kernel-times",
        action="store_true",
        help="only the per-kernel time table (each launch of a decode step timed alone)",
    )
    p.add_argument(
        "--kernels-out",
        type=Path,
        metavar="FILE",
        help="write the per-kernel time table as JSON (for the GPU model's replay)",
    )
    p.add_argument(
        "--from-text",
        type=Path,
        metavar="FILE",
        help="no GPU: convert the per-kernel table printed by an earlier run (needs --kernels-out)",
    )
    args = p.parse_args(argv)
    if args.from_text is not None:
        if args.kernels_out is None:
            return _fail("--from-text needs --kernels-out")
        text = args.from_text.read_text(encoding="utf-8")
        device = re.search(r"^device: ([^;]+);", text, re.MULTILINE)
        rows = parse_kernel_table(text)
        if not rows:
            return _fail(f"{args.from_text}: no per-kernel time table in it")
        note = f"converted from the printed table of {args.from_text.name}"
        write_kernel_times(args.kernels_out, rows, device[1] if device else "", note)
        print(f"wrote {args.kernels_out}: {len(rows)} rows")
        return 0
    try:
        import torch
    except ImportError:
        return _fail("PyTorch is not installed")
    if not torch.cuda.is_available():
        return _fail("no CUDA GPU is visible (this check runs on the GPU machine)")
    from gpubench.fused import REFERENCE_OPS, FusedMMfreeLM, FusedRunner
    from gpubench.kernels import triton_available
    from gpubench.measure import Runner, count_gpu_ops
    from gpubench.models import FusedDecoder, build_decoder, build_model
    from gpubench.shapes import get_shape
    from gpubench.timing import median, sync, time_steps

    if not triton_available():
        return _fail("Triton is not installed (the fused kernels need it)")
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(dev)
    sheet = next((v for k, v in DATASHEET_TBPS.items() if k in name), None)
    src = torch.empty(2**30, dtype=torch.float32, device=dev).normal_()
    src.sum()
    reps = time_steps(src.sum, 10, dev)
    measured_tbps = src.numel() * 4 / (median(reps) * 1e-3) / 1e12
    del src
    print(f"device: {name}; HBM read {measured_tbps:.2f} TB/s measured, datasheet {sheet} TB/s")
    t_all = time.perf_counter()
    models = args.models.split(",")
    with torch.inference_mode():
        rows, floor_w = kernel_times(models, dev, measured_tbps)
    if args.kernels_out is not None:
        note = f"measured by benchmarks/gpu_fused_check.py, {time.strftime('%Y-%m-%d')}"
        write_kernel_times(args.kernels_out, rows, name, note, floor_w)
    if args.kernel_times:
        return 0
    with torch.inference_mode():
        ok = per_kernel([m for m in ("370m", "2.7b") if m in models] or models[:1], dev)
    for model_name in models:
        shape = get_shape(model_name)
        t0 = time.perf_counter()
        packed = build_model(shape, "packed", dev, torch.bfloat16, seed=0)
        from workloads.torch_model import TorchMMfreeLM

        assert isinstance(packed, TorchMMfreeLM)
        fused = FusedMMfreeLM.from_packed(packed)
        print(f"\n{model_name}: built in {time.perf_counter() - t0:.1f} s")
        gen = torch.Generator().manual_seed(1)
        prompt = torch.randint(0, shape.vocab, (16, PROMPT), generator=gen).to(dev)

        # lock-step: every op of the real model, Triton and reference on the same inputs
        for batch in (1, 16):
            lock = LockstepOps()
            frun = FusedRunner(fused, batch, PROMPT, lock.ops)
            state = torch.zeros(batch, shape.layers, shape.d, device=dev)
            with torch.inference_mode():
                frun.forward(prompt[:batch], state)
                for k in range(2):
                    frun.forward(prompt[:batch, k : k + 1], state)
            ok &= print_table(f"b{batch} lock-step over the prompt and 2 steps:", lock.errors)
        if args.per_kernel:
            del packed, fused
            torch.cuda.empty_cache()
            continue

        # end to end: Triton against the reference path, teacher-forced. The random-weight
        # model amplifies float32 ulps (an int8 activation moved by one grows through 24
        # layers and 128 tokens: on the CPU, perturbing exp by an ulp moved the 370m
        # logits by 3e-2 of their max), so only the cosine must pass; the lock-step
        # table above is the exact check.
        ref_logits = None
        if not args.skip_reference:
            for batch in (1, 16):
                runs = []
                for ops in (fused.ops(), REFERENCE_OPS):
                    frun = FusedRunner(fused, batch, PROMPT, ops)
                    state = torch.zeros(batch, shape.layers, shape.d, device=dev)
                    with torch.inference_mode():
                        outs = [frun.forward(prompt[:batch], state).clone()]
                        for k in range(CHECK_STEPS):
                            ids = prompt[:batch, k % PROMPT : k % PROMPT + 1]
                            outs.append(frun.forward(ids, state).clone())
                    runs.append(torch.stack(outs))
                tri, ref = runs
                if batch == 16:
                    ref_logits = ref[0]
                rel = float((tri - ref).abs().max() / ref.abs().max())
                agree = float((tri.argmax(-1) == ref.argmax(-1)).float().mean())
                cos = float(
                    torch.nn.functional.cosine_similarity(tri.flatten(1), ref.flatten(1)).min()
                )
                good = cos >= 0.99
                ok &= good
                print(
                    f"  b{batch:<2} triton vs reference: greedy tokens agree {agree:.0%}, max "
                    f"|diff| {rel:.1e} of max|logit|, min cosine {cos:.5f} -> "
                    f"{'ok' if good else 'FAIL'}"
                )
        # against packed (bf16 elementwise): agreement only
        dp, df = build_decoder(packed, 16, PROMPT, 8), build_decoder(fused, 16, PROMPT, 8)
        assert isinstance(df, FusedDecoder)
        toks_p: list[torch.Tensor] = []
        toks_f: list[torch.Tensor] = []
        for dec, toks in ((dp, toks_p), (df, toks_f)):
            dec.prompt.copy_(prompt)
            dec.prefill_()
            toks.append(dec.token.clone())
            for _ in range(CHECK_STEPS):
                dec.step_()
                toks.append(dec.token.clone())
        df.prefill_()
        with torch.inference_mode():
            lp = packed(prompt, packed.initial_state(16), last_only=True)[0].float()
            lf = df.runner.logits.clone()
        cos = float(torch.nn.functional.cosine_similarity(lp.flatten(), lf.flatten(), dim=0))
        agree = float((torch.stack(toks_p) == torch.stack(toks_f)).float().mean())
        del dp
        # packed's bf16 norms and gates move the chaotic model's logits as well: fused must
        # be no further from packed than the float32 reference path is
        floor = 0.99
        if ref_logits is not None:
            ref_cos = float(
                torch.nn.functional.cosine_similarity(lp.flatten(), ref_logits.flatten(), dim=0)
            )
            floor = min(floor, ref_cos - 0.005)
            print(f"  b16 reference vs packed: cosine of prompt logits {ref_cos:.4f} (info)")
        good = cos >= floor
        ok &= good
        print(
            f"  b16 fused vs packed: greedy tokens agree {agree:.0%}, cosine of prompt "
            f"logits {cos:.4f} (pass >= {floor:.4f}) -> {'ok' if good else 'FAIL'}"
        )
        del packed
        torch.cuda.empty_cache()

        # speed and kernel counts
        code_bytes = sum(fused.buf(n).numel() for n in fused.state_dict() if "codes" in n)
        small = sum(
            fused.buf(n).numel() * fused.buf(n).element_size()
            for n in fused.state_dict()
            if "codes" not in n and n != "embeddings"
        )
        for batch in (1, 16):
            dec = build_decoder(fused, batch, PROMPT, STEPS + 8)
            dec.prompt.copy_(prompt[:batch])
            dec.prefill_()
            kernels = count_gpu_ops(dec.step_, dev)
            runner = Runner(dec, "graph", dev)
            runner.prefill()
            for _ in range(4):
                runner.step()
            runner.prefill()
            sync(dev)
            ms = median(time_steps(runner.step, STEPS, dev))
            state_bytes = 2 * batch * shape.layers * shape.d * 4
            emb_bytes = batch * shape.d * fused.buf("embeddings").element_size()
            step_bytes = code_bytes + small + state_bytes + emb_bytes
            bound_ms = step_bytes / (measured_tbps * 1e12) * 1e3
            pct = 100 * bound_ms / ms
            sheet_pct = (
                f", {100 * step_bytes / (sheet * 1e12) * 1e3 / ms:.0f}% of datasheet"
                if sheet
                else ""
            )
            target = ""
            if batch == 1:
                hit = ms <= TARGET_MS[model_name]
                target = f" (target <= {TARGET_MS[model_name]} ms: {'met' if hit else 'MISSED'})"
            print(
                f"  b{batch:<2} graph {ms:.3f} ms/token{target}; {kernels} CUDA kernels/step; "
                f"{step_bytes / 1e6:.1f} MB/step, bound {bound_ms:.3f} ms = {pct:.0f}% of "
                f"measured HBM{sheet_pct}"
            )
            del runner, dec
        del fused
        torch.cuda.empty_cache()
    verdict = "all checks passed" if ok else "SOME CHECKS FAILED"
    print(f"\n{verdict} ({time.perf_counter() - t_all:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
