"""Microbenchmarks that calibrate the GPU model: bandwidths, launch costs, GEMV times.

All timed on the device's clock (:mod:`gpubench.timing`), medians of repeats:

- ``hbm_read``: sum of a tensor far larger than L2 (bytes read / time);
  ``hbm_copy``: a device-to-device copy of it (bytes read + written / time);
- ``l2_read``: sums of small buffers that stay in L2, many per CUDA graph so that
  launch gaps do not count;
- launch costs: a tiny torch op and an empty Triton kernel launched back to back from
  Python (host time per launch: what eager decoding pays per kernel), and the time per
  node of a replayed graph of tiny ops;
- ``gemm_tflops``: one large bf16 matrix product (the compute ceiling for prefill);
- GEMV: each model's matrix shapes (``d×d``, ``2I×d``, ``d×I``, ``V×d``) times batch
  1 and 16, dense bf16 (``F.linear``) and packed 2-bit, replayed in a graph over enough
  copies of the weights that none is served from L2 (the METHOD's rotation);
- the board power during a sustained HBM read, and the bytes read meanwhile.

On the CPU (tests) everything that needs a GPU is null with its reason; the rest runs
with host timers and small sizes, so the code paths are exercised.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import torch
import torch.nn.functional as nnf

from gpubench.kernels import packed_linear, triton_available
from gpubench.power import PowerMonitor
from gpubench.report import format_size as _size
from gpubench.schema import Bandwidth, Gemv, Micro, PowerReading
from gpubench.shapes import ModelShape
from gpubench.timing import median, sync, time_each

__all__ = ["MicroSizes", "graph_or_loop", "launch_probe_us", "power_window", "run_micro"]

Log = Callable[[str], None]
MiB = 1 << 20
T = TypeVar("T")


class MicroSizes:
    """Buffer sizes and repeat counts (full, quick, or CPU).

    Args:
        device: Where the benchmarks run.
        quick: Smaller sizes for a smoke run.
    """

    def __init__(self, device: torch.device, quick: bool) -> None:
        if device.type != "cuda":  # the harness's own tests: exercise the code, quickly
            self.hbm_bytes, self.rotate_bytes = 1 * MiB, MiB // 4
            self.l2_bytes: tuple[int, ...] = (MiB // 4,)
            self.gemm_n, self.launches, self.graph_nodes = 64, 100, 0
            self.reps, self.graph_inner = 3, 5
            return
        self.hbm_bytes = (2048 if not quick else 512) * MiB
        self.l2_bytes = (8 * MiB, 16 * MiB, 32 * MiB, 48 * MiB)
        self.rotate_bytes = (256 if not quick else 128) * MiB
        self.gemm_n = 8192
        self.launches = 2000 if not quick else 500
        self.graph_nodes = 500
        self.reps = 10 if not quick else 5
        self.graph_inner = 50


def graph_or_loop(fn: Callable[[], Any], inner: int, device: torch.device) -> Callable[[], None]:
    """A callable running ``fn`` ``inner`` times: one graph replay on CUDA, a loop elsewhere."""
    if device.type != "cuda":

        def loop() -> None:
            for _ in range(inner):
                fn()

        return loop
    stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(inner):
            fn()
    return graph.replay


def _bandwidth(
    name: str, fn: Callable[[], Any], nbytes: int, reps: int, device: torch.device
) -> Bandwidth:
    fn()
    ms = median(time_each(fn, reps, device))
    return Bandwidth(name=name, bytes=nbytes, ms=ms, gb_per_s=nbytes / ms / 1e6, reps=reps)


def _per_call_ms(fn: Callable[[], Any], calls: int, reps: int, device: torch.device) -> float:
    def many() -> None:
        for _ in range(calls):
            fn()

    many()
    return median(time_each(many, reps, device)) / calls


def launch_probe_us(device: torch.device, calls: int = 500, reps: int = 5) -> float:
    """Host time per eager launch of a tiny in-place add (µs): the host-speed probe.

    The same loop as the microbenchmarks' ``launch_eager_us``; the harness repeats it
    beside every case and the op-cost file beside its eager timings, as a record of the
    host's state. On the shared VM it was measured on it did not follow the eager
    decode's slowdowns (README, GPU model section), so the GPU model does not use it.
    """
    tiny = torch.zeros(1, device=device)
    return _per_call_ms(lambda: tiny.add_(1), calls, reps, device) * 1e3


def _gemv(
    shape: ModelShape,
    matrix: str,
    batch: int,
    kind: str,
    sizes: MicroSizes,
    device: torch.device,
    dtype: torch.dtype,
) -> Gemv:
    rows, cols = shape.matrices()[matrix]
    nbytes = rows * cols * 2 if kind == "bf16" else rows * cols // 4
    copies = max(2, math.ceil(sizes.rotate_bytes / nbytes))
    x = torch.randn(batch, cols, dtype=dtype, device=device)
    if kind == "bf16":
        ws = [torch.randn(rows, cols, dtype=dtype, device=device) for _ in range(copies)]

        def one_pass() -> None:
            for w in ws:
                nnf.linear(x, w)

    else:
        ws = [
            torch.randint(0, 256, (rows, cols // 4), dtype=torch.uint8, device=device)
            for _ in range(copies)
        ]

        def one_pass() -> None:
            for w in ws:
                packed_linear(x, w, 0.01)

    run = graph_or_loop(one_pass, 1, device)
    run()
    us = median(time_each(run, sizes.reps, device)) * 1e3 / copies
    return Gemv(
        model=shape.name,
        matrix=matrix,
        rows=rows,
        cols=cols,
        batch=batch,
        kind=kind,  # type: ignore[arg-type]
        us=us,
        weight_bytes=nbytes,
        gb_per_s=nbytes / us / 1e3,
    )


def _hbm(sizes: MicroSizes, device: torch.device) -> list[Bandwidth]:
    src = torch.randn(sizes.hbm_bytes // 2, dtype=torch.bfloat16, device=device)
    dst = torch.empty_like(src)
    n = sizes.hbm_bytes
    return [
        _bandwidth("hbm_read", lambda: src.sum(), n, sizes.reps, device),
        _bandwidth("hbm_copy", lambda: dst.copy_(src), 2 * n, sizes.reps, device),
    ]


def _l2(nbytes: int, sizes: MicroSizes, device: torch.device) -> Bandwidth:
    small = torch.randn(nbytes // 2, dtype=torch.bfloat16, device=device)
    inner = sizes.graph_inner
    run = graph_or_loop(lambda: small.sum(), inner, device)
    run()
    ms = median(time_each(run, sizes.reps, device)) / inner
    return Bandwidth("l2_read", nbytes, ms, nbytes / ms / 1e6, sizes.reps)


def _launches(
    sizes: MicroSizes, device: torch.device, reasons: dict[str, str], attempt: Any
) -> tuple[float | None, float | None, float | None]:
    tiny = torch.zeros(1, device=device)
    eager = attempt(
        "launch eager", lambda: launch_probe_us(device, sizes.launches, sizes.reps), None
    )
    if eager is None:
        reasons["launch_eager_us"] = "failed (see errors)"
    triton_us = None
    if device.type == "cuda" and triton_available():
        from gpubench import _triton

        triton_us = attempt(
            "launch triton",
            lambda: (
                _per_call_ms(lambda: _triton.empty_kernel(tiny), sizes.launches, sizes.reps, device)
                * 1e3
            ),
            None,
        )
        if triton_us is None:
            reasons["launch_triton_us"] = "failed (see errors)"
    else:
        reasons["launch_triton_us"] = "needs a CUDA device with Triton"
    graph_us = None
    if device.type == "cuda":

        def graph_node() -> float:
            run = graph_or_loop(lambda: tiny.add_(1), sizes.graph_nodes, device)
            run()
            return median(time_each(run, sizes.reps, device)) * 1e3 / sizes.graph_nodes

        graph_us = attempt("launch graph", graph_node, None)
        if graph_us is None:
            reasons["launch_graph_node_us"] = "failed (see errors)"
    else:
        reasons["launch_graph_node_us"] = "CUDA graphs need a CUDA device"
    return eager, triton_us, graph_us


def _gemm(n: int, reps: int, device: torch.device, dtype: torch.dtype) -> float:
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    ms = median(time_each(lambda: a @ b, reps, device))
    return 2 * n**3 / ms / 1e9


def power_window(
    run: Callable[[], Any], device: torch.device, monitor: PowerMonitor, seconds: float
) -> tuple[PowerReading, int]:
    """Run ``run`` (warmed up once) back to back for ``seconds`` under an NVML window.

    Returns:
        The window's reading and how many times ``run`` ran in it.
    """
    run()
    sync(device)
    count = 0
    with monitor.window() as w:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            run()
            sync(device)
            count += 1
    assert w.reading is not None  # the window sets it as it closes
    return w.reading, count


def _hbm_power(
    sizes: MicroSizes, device: torch.device, monitor: PowerMonitor, window_s: float
) -> tuple[PowerReading | None, int | None]:
    src = torch.randn(sizes.hbm_bytes // 2, dtype=torch.bfloat16, device=device)
    inner = 10
    run = graph_or_loop(lambda: src.sum(), inner, device)
    reading, count = power_window(run, device, monitor, window_s)
    return reading, count * inner * sizes.hbm_bytes


def _launch_power(
    sizes: MicroSizes, device: torch.device, monitor: PowerMonitor, window_s: float
) -> PowerReading | None:
    tiny = torch.zeros(1, device=device)
    run = graph_or_loop(lambda: tiny.add_(1), sizes.graph_nodes, device)
    return power_window(run, device, monitor, window_s)[0]


def _gemm_power(
    n: int, device: torch.device, monitor: PowerMonitor, window_s: float, dtype: torch.dtype
) -> tuple[PowerReading | None, int | None]:
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)

    def ten() -> None:
        for _ in range(10):
            a @ b

    reading, count = power_window(ten, device, monitor, window_s)
    return reading, count * 10 * 2 * n**3


def run_micro(
    shapes: Sequence[ModelShape],
    device: torch.device,
    monitor: PowerMonitor,
    quick: bool = False,
    power_window_s: float = 2.0,
    batches: Sequence[int] = (1, 16),
    log: Log = print,
    dtype: torch.dtype = torch.bfloat16,
) -> Micro:
    """Run every microbenchmark on ``device``.

    Args:
        shapes: Models whose matrix shapes the GEMV benchmarks cover.
        device: Where to run.
        monitor: NVML access (power during the sustained HBM read).
        quick: Smaller sizes.
        power_window_s: Least duration of the HBM power window.
        batches: GEMV batch sizes.
        log: Progress lines.
        dtype: Activation dtype of the GEMVs.

    Returns:
        The results (GPU-only parts null with reasons on the CPU; a part that fails is
        listed in ``errors`` and the others still run).
    """
    sizes = MicroSizes(device, quick)
    reasons: dict[str, str] = {}
    errors: list[str] = []

    def attempt(label: str, fn: Callable[[], T], default: T) -> T:
        """Run one part; a failure is recorded and the other parts still run."""
        try:
            return fn()
        except Exception as exc:
            errors.append(f"{label}: {type(exc).__name__}: {exc}"[:300])
            log(f"micro: {errors[-1]}")
            if device.type == "cuda":
                torch.cuda.empty_cache()
            return default

    none: list[Bandwidth] = []
    bw = attempt("hbm", partial(_hbm, sizes, device), none)
    for nbytes in sizes.l2_bytes:
        l2 = attempt(f"l2 {_size(nbytes)}", partial(_l2, nbytes, sizes, device), None)
        bw = bw + ([l2] if l2 is not None else [])
    log("micro: " + ", ".join(f"{b.name} {_size(b.bytes)} {b.gb_per_s:,.0f} GB/s" for b in bw))

    launch_eager, launch_triton, launch_graph = _launches(sizes, device, reasons, attempt)
    log(f"micro: launch eager {launch_eager or 0:.2f} us, graph node {launch_graph or 0:.2f} us")

    gemm_tflops = attempt("gemm", lambda: _gemm(sizes.gemm_n, sizes.reps, device, dtype), None)
    if gemm_tflops is None:
        reasons["gemm_tflops"] = errors[-1]
    log(f"micro: gemm {sizes.gemm_n}^3 {gemm_tflops or 0:.0f} TFLOP/s")

    gemv: list[Gemv] = []
    for shape in shapes:
        for matrix in shape.matrices():
            for batch in batches:
                for kind in ("bf16", "packed"):
                    one = partial(_gemv, shape, matrix, batch, kind, sizes, device, dtype)
                    got = attempt(f"gemv {shape.name} {matrix} b{batch} {kind}", one, None)
                    if got is not None:
                        gemv.append(got)
        log(
            f"micro: gemv {shape.name} "
            + ", ".join(f"{g.matrix}/{g.batch}/{g.kind} {g.us:.1f} us" for g in gemv[-8:])
        )

    hbm_power: PowerReading | None = None
    hbm_power_bytes: int | None = None
    if monitor.available:
        nothing: tuple[PowerReading | None, int | None] = (None, None)
        hbm_power, hbm_power_bytes = attempt(
            "hbm power", partial(_hbm_power, sizes, device, monitor, power_window_s), nothing
        )
        if hbm_power is None:
            reasons["hbm_power"] = reasons["hbm_power_bytes"] = errors[-1]
    else:
        reasons["hbm_power"] = monitor.reason or "NVML not available"
        reasons["hbm_power_bytes"] = reasons["hbm_power"]
    launch_power: PowerReading | None = None
    gemm_power: PowerReading | None = None
    gemm_power_flops: int | None = None
    if monitor.available and device.type == "cuda":
        launch_power = attempt(
            "launch power",
            partial(_launch_power, sizes, device, monitor, power_window_s),
            None,
        )
        if launch_power is None:
            reasons["launch_power"] = errors[-1]
        pair: tuple[PowerReading | None, int | None] = (None, None)
        gemm_power, gemm_power_flops = attempt(
            "gemm power",
            partial(_gemm_power, sizes.gemm_n, device, monitor, power_window_s, dtype),
            pair,
        )
        if gemm_power is None:
            reasons["gemm_power"] = reasons["gemm_power_flops"] = errors[-1]
    else:
        why = (
            monitor.reason or "NVML not available"
            if not monitor.available
            else ("needs a CUDA device")
        )
        reasons["launch_power"] = reasons["gemm_power"] = reasons["gemm_power_flops"] = why
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return Micro(
        launch_power=launch_power,
        gemm_power=gemm_power,
        gemm_power_flops=gemm_power_flops,
        status="ok",
        reason=None,
        bandwidth=bw,
        launch_eager_us=launch_eager,
        launch_triton_us=launch_triton,
        launch_graph_node_us=launch_graph,
        gemm_tflops=gemm_tflops,
        gemv=gemv,
        hbm_power=hbm_power,
        hbm_power_bytes=hbm_power_bytes,
        errors=errors,
        null_reasons=reasons,
    )
