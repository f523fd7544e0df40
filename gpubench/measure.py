"""The measurement run: every case, timed and metered, written after each one.

A run goes through these stages, rewriting its JSON file (atomically) after each
case so that a run stopped by a time limit keeps everything it measured:

1. **Environment**: GPU, driver, CUDA/torch/Triton versions, date, the exact command.
2. **Idle**: NVML for a few seconds with nothing running.
3. **Checks**: the Triton kernels against their torch fallbacks on random data (a
   failure marks the ``packed`` cases as errors instead of timing a wrong kernel).
4. **Microbenchmarks** (:mod:`gpubench.micro`) for the run's models.
5. **Cases**: for each model, each implementation is built once (random weights on the
   device); for each batch and launch mode a fresh :class:`~gpubench.models.Decoder`
   is bound, (graph mode: warmed up on a side stream and captured, prefill and step as
   two graphs), warmed up (``warmup_steps`` decode steps, whose tokens are kept as
   ``check_tokens``), its prefill timed ``prefill_reps`` times, then one pass of
   ``gen_tokens`` decode steps timed step by step with CUDA events inside an NVML
   window. If that pass is shorter than ``power_window_s``, further passes (rewound to
   just after the prefill) run inside the same window until it is long enough, so
   NVML's sampling and energy counter see a sustained load; energy per token is the
   counter's difference over every token decoded in the window. Eager cases then run a
   tagged pass (:mod:`gpubench.hostspeed`): up to ``TAGGED_STEPS`` steps, each
   alone, with a pure-Python host-speed probe after each; the run's quiet reference and
   each case's quiet-step median are recomputed whenever the file is written.
   A compiled implementation (:data:`~gpubench.models.COMPILED`) is compiled for each
   decoder before its capture and warm-up (:meth:`~gpubench.models.Decoder.compile_`),
   its time recorded as ``compile_s`` and bounded by ``compile_limit_s`` (an alarm stops
   a longer compile; the case is an error). Each case's ``step_bytes`` (weights once
   plus KV cache or state at the timed pass's mean position) over the run's measured
   HBM read bandwidth gives ``hbm_bound_ms`` and ``hbm_bound_pct``.
6. **Kernel counts**: one eager decode step per model × implementation × batch under
   ``torch.profiler`` (GPU kernels, copies and sets), and the node count of the
   captured step graph; for implementations the meta device cannot trace (compiled,
   Triton-fused; all with ``capture_all``) the list of device operations one step runs
   (:mod:`gpubench.kernel_list`), stored in the cases as ``captured_kernels``; done last
   so that the profiler cannot perturb any timing.

A case that fails is recorded with ``status: error`` and the run goes on; cases left
when ``time_budget_s`` runs out are recorded as ``skipped``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gpubench.errors import BaselineError
from gpubench.hostspeed import probe_us, quiet_reference, quiet_steps
from gpubench.kernel_list import profile_step
from gpubench.kernels import (
    linear_recurrence,
    pack_ternary,
    packed_linear,
    triton_available,
)
from gpubench.micro import launch_probe_us, run_micro
from gpubench.models import (
    COMPILED,
    META_TRACEABLE,
    Decoder,
    Model,
    build_decoder,
    build_model,
    step_bytes,
    weight_bytes,
)
from gpubench.power import PowerMonitor
from gpubench.report import format_value as _fmt
from gpubench.schema import (
    IMPLS,
    LAUNCHES,
    Baseline,
    CapturedKernel,
    Case,
    Environment,
    Micro,
    PowerReading,
    Run,
    Settings,
    write_baseline,
)
from gpubench.shapes import ModelShape, get_shape
from gpubench.timing import (
    median,
    percentile,
    sync,
    time_each,
    time_steps,
    time_tagged_steps,
)

__all__ = ["MeasureOptions", "Runner", "count_gpu_ops", "estimate_seconds", "measure"]

Log = Callable[[str], None]

_BUDGET = "time budget exhausted"
_CASE_RESERVE_S = 15.0  # a case is not started with less than this left of the budget
_DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass(frozen=True)
class MeasureOptions:
    """What to measure and how (the defaults are the full baseline).

    Attributes:
        out: The JSON file to write (rewritten after every case).
        models: Model names (:data:`~gpubench.shapes.MODEL_SHAPES`).
        impls: Implementations.
        batches: Batch sizes.
        launches: ``eager`` and/or ``graph``.
        prompt_tokens: Prompt length.
        gen_tokens: Decode steps timed per case.
        warmup_steps: Decode steps before timing.
        prefill_reps: Timed prefills per case.
        power_window_s: Least duration of each case's power window.
        idle_s: Duration of the idle reading.
        micro: Whether to run the microbenchmarks.
        counts: Whether to count kernels per step at the end.
        seed: Seed of weights and prompts.
        device: ``auto`` (CUDA if present), ``cuda`` or ``cpu``.
        dtype: ``bfloat16`` (the baseline) or ``float32``.
        time_budget_s: Stop starting new work after this many seconds (None: no limit).
        compile_limit_s: Longest ``torch.compile`` of one decoder before it is abandoned.
        capture_all: Capture the kernel list of every implementation, not only of those
            the meta device cannot trace.
        quick: Mark the run as a smoke test (see :meth:`quick_options`).
        command: The command line, recorded in the file.
    """

    out: Path
    models: tuple[str, ...] = ("370m", "1.3b", "2.7b")
    impls: tuple[str, ...] = IMPLS
    batches: tuple[int, ...] = (1, 16)
    launches: tuple[str, ...] = LAUNCHES
    prompt_tokens: int = 128
    gen_tokens: int = 256
    warmup_steps: int = 8
    prefill_reps: int = 3
    power_window_s: float = 2.0
    idle_s: float = 3.0
    micro: bool = True
    counts: bool = True
    seed: int = 0
    device: str = "auto"
    dtype: str = "bfloat16"
    time_budget_s: float | None = None
    compile_limit_s: float = 240.0
    capture_all: bool = False
    quick: bool = False
    command: str = ""

    def quick_options(self) -> MeasureOptions:
        """These options shortened for a smoke run (short prompt and decode, brief windows)."""
        return dataclasses.replace(
            self,
            prompt_tokens=min(self.prompt_tokens, 16),
            gen_tokens=min(self.gen_tokens, 32),
            warmup_steps=min(self.warmup_steps, 4),
            prefill_reps=min(self.prefill_reps, 2),
            power_window_s=min(self.power_window_s, 0.25),
            idle_s=min(self.idle_s, 0.5),
            quick=True,
        )

    def check(self) -> None:
        """Refuse impossible options, listing every problem.

        Raises:
            BaselineError: On unknown names or non-positive sizes.
        """
        problems = []
        for m in self.models:
            try:
                get_shape(m)
            except BaselineError as exc:
                problems.append(str(exc))
        for impl in self.impls:
            if impl not in IMPLS:
                problems.append(
                    f"implementation {impl!r} is not in the supported list: " + ", ".join(IMPLS)
                )
        for launch in self.launches:
            if launch not in LAUNCHES:
                problems.append(
                    f"launch {launch!r} is not in the supported list: " + ", ".join(LAUNCHES)
                )
        if any(b < 1 for b in self.batches):
            problems.append(f"batches must be >= 1 (got {list(self.batches)})")
        if self.prompt_tokens < 1 or self.gen_tokens < 1:
            problems.append("prompt and generated tokens must be >= 1")
        if self.warmup_steps < 1 or self.prefill_reps < 1:
            problems.append("warm-up steps and prefill repeats must be >= 1")
        if self.device not in ("auto", "cuda", "cpu"):
            problems.append(f"device {self.device!r} is not in the supported list: auto, cuda, cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            problems.append("device cuda asked for, but torch sees no CUDA device")
        if self.compile_limit_s <= 0:
            problems.append(f"compile limit must be > 0 s (got {self.compile_limit_s})")
        if self.dtype not in _DTYPES:
            problems.append(
                f"dtype {self.dtype!r} is not in the supported list: " + ", ".join(_DTYPES)
            )
        if problems:
            raise BaselineError("cannot measure with these options", problems)


_EST_OPS = {
    "reference": 200,
    "dense": 147,
    "packed": 147,
    "transformer": 41,
    "transformer_fast": 25,
    "dense_compiled": 8,
    "transformer_compiled": 8,
    "fused": 20,
}
_EST_PASSES = {"reference": 12.0, "packed": 0.35}
_EST_COMPILE_S = 60.0
_EST_RECOMPILE_S = 15.0  # the same graph again: inductor's on-disk cache


def estimate_seconds(opts: MeasureOptions) -> float:
    """A rough wall-time estimate of a full H200 run with ``opts`` (for planning).

    Per decode step: eager steps are host-bound at ~5 us per op (counted on the CPU:
    about 200 ops a layer for ``reference``, 147 for ``dense`` and ``packed``, 41 for the
    Transformer, about 20 Python-level calls for ``fused``'s eight kernels); graph steps
    are bound by weight bytes at ~3.5 TB/s (``reference`` reads and writes its bf16
    weights about twelve times while re-quantising them,
    ``packed`` reads a quarter of them; 0.35 allows for its unpacking; ``fused`` reads a
    quarter and is bound by its ~8 launches a layer at ~3 us each). Each case adds
    the power window's top-up, a capture, warm-up and prefills (and an eager case its
    tagged pass); each model its builds;
    the run its idle reading, start-up and microbenchmarks. The engineer's Transformer++
    launches about 25 ops a layer eagerly; compiled steps about 8 (fused), and each
    compiled decoder costs a compile (~60 s cold, ~15 s from inductor's cache for the
    same graph again).
    """
    total = 20.0 + opts.idle_s + (40.0 if opts.micro else 0.0)
    for name in opts.models:
        s = get_shape(name)
        wbytes = s.matrix_weights * 2
        total += 1.5 * len(opts.impls)
        for impl in opts.impls:
            ops = _EST_OPS.get(impl, 40)
            passes = _EST_PASSES.get(impl, 1.0)
            for batch in opts.batches:
                if impl == "fused":  # a quarter of the bytes; ~8 launches a layer at ~3 us
                    gpu_ms = wbytes * 0.25 / 3.5e9 + 0.003 * s.layers * 8
                else:
                    gpu_ms = wbytes * passes / 3.5e9 + 0.002 * s.layers * ops / 10
                gpu_ms *= 1.0 + 0.02 * batch
                for launch in opts.launches:
                    host_ms = s.layers * ops * 0.005 if launch == "eager" else 0.0
                    step_ms = max(gpu_ms, host_ms)
                    decode_s = opts.gen_tokens * step_ms / 1e3
                    window_s = max(decode_s, opts.power_window_s)
                    overhead = 1.0 + (1.5 if launch == "graph" else 0.0)
                    warm = (opts.warmup_steps + opts.prefill_reps + 2) * step_ms / 1e3
                    if launch == "eager":  # the tagged pass, a probe (~0.25 ms) per step
                        warm += min(TAGGED_STEPS, opts.gen_tokens) * (step_ms + 0.25) / 1e3
                    total += window_s + overhead + warm
                    if impl in COMPILED:  # the first compile of a batch size is cold
                        first = launch == opts.launches[0]
                        total += _EST_COMPILE_S if first else _EST_RECOMPILE_S
                if opts.counts:
                    total += 1.5 + (_EST_RECOMPILE_S if impl in COMPILED else 0.0)
    return total


# --- running one decoder ------------------------------------------------------------


class Runner:
    """Runs a :class:`Decoder` eagerly or by replaying two captured CUDA graphs.

    Args:
        decoder: The bound model.
        launch: ``eager`` or ``graph``.
        device: Its device.
        capture_steps: Eager warm-up steps on a side stream before capturing.
    """

    def __init__(
        self, decoder: Decoder, launch: str, device: torch.device, capture_steps: int = 3
    ) -> None:
        self.decoder, self.launch, self.device = decoder, launch, device
        self.steps = 0
        self._prefill: Callable[[], Any] = decoder.prefill_
        self._step: Callable[[], Any] = decoder.step_
        if launch == "graph":
            if device.type != "cuda":
                raise BaselineError("CUDA graphs need a CUDA device")
            self._capture(capture_steps)

    def _capture(self, steps: int) -> None:
        d = self.decoder
        stream = torch.cuda.Stream(self.device)  # type: ignore[no-untyped-call]
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            d.prefill_()
            for _ in range(min(steps, d.max_steps)):
                d.step_()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        torch.cuda.synchronize(self.device)
        self._g_prefill = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._g_prefill):
            d.prefill_()
        self._g_step = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._g_step):
            d.step_()
        self._prefill = self._g_prefill.replay
        self._step = self._g_step.replay

    def prefill(self) -> None:
        """Run the prompt (and start counting steps)."""
        self.steps = 0
        self._prefill()

    def step(self) -> None:
        """One decode step.

        Raises:
            RuntimeError: Past the decoder's static buffers (a harness bug).
        """
        if self.steps >= self.decoder.max_steps:
            raise RuntimeError(f"more than {self.decoder.max_steps} steps after a prefill")
        self.steps += 1
        self._step()

    def rewind(self) -> None:
        """Back to just after the prefill."""
        self.steps = 0
        self.decoder.rewind_()


def count_gpu_ops(fn: Callable[[], Any], device: torch.device) -> int:
    """Device operations (kernels, copies, sets) one call of ``fn`` issues, by the profiler.

    On a CPU device it counts the CPU-side operator events instead (for tests).
    """
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    sync(device)
    with profile(activities=activities) as prof:
        fn()
        sync(device)
    wanted = "CUDA" if device.type == "cuda" else "CPU"
    return sum(1 for e in prof.events() if getattr(e.device_type, "name", "") == wanted)


def graph_node_count(fn: Callable[[], Any], device: torch.device) -> tuple[int | None, str]:
    """Nodes of a CUDA graph capturing one call of ``fn`` (needs ``cuda.bindings``).

    Returns:
        The count, or None and the reason.
    """
    if device.type != "cuda":
        return None, "CUDA graphs need a CUDA device"
    try:
        from cuda.bindings import runtime as cudart  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        try:
            from cuda import cudart  # type: ignore[import-not-found, no-redef, unused-ignore]
        except ImportError:
            return None, "cuda-python (cuda.bindings) is not installed"
    try:
        graph = torch.cuda.CUDAGraph(keep_graph=True)
    except TypeError:
        return None, f"torch {torch.__version__} cannot keep the captured graph"
    try:
        with torch.cuda.graph(graph):
            fn()
        raw = graph.raw_cuda_graph()
        err, _, count = cudart.cudaGraphGetNodes(cudart.cudaGraph_t(init_value=raw), 0)
        if int(err) != 0:
            return None, f"cudaGraphGetNodes failed ({err})"
        return int(count), ""
    except Exception as exc:  # best effort: the count is optional
        return None, f"graph node count failed: {type(exc).__name__}: {exc}"
    finally:
        del graph
        with contextlib.suppress(Exception):
            torch.cuda.synchronize(device)


# --- the run --------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name, 0) if name == "cuda" else torch.device(name)


def environment(device: torch.device, monitor: PowerMonitor, command: str) -> Environment:
    """Describe the machine and software of this run."""
    reasons: dict[str, str] = {}
    info = monitor.info()
    gpu_name = sm = l2 = mem = None
    count = 0
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu_name = props.name
        sm = int(props.multi_processor_count)
        l2 = getattr(props, "L2_cache_size", None)
        mem = props.total_memory / 2**30
        count = torch.cuda.device_count()
        if l2 is None:
            reasons["l2_cache_bytes"] = "torch does not report the L2 size"
    else:
        for key in ("gpu_name", "sm_count", "l2_cache_bytes", "total_memory_gib"):
            reasons[key] = "CPU run: no GPU"
    try:
        import triton  # type: ignore[import-not-found, import-untyped, unused-ignore]

        triton_version: str | None = str(triton.__version__)
    except ImportError:
        triton_version = None
        reasons["triton_version"] = "Triton is not installed"
    cuda_version = torch.version.cuda
    if cuda_version is None:
        reasons["cuda_version"] = "torch is built without CUDA"
    for key in ("driver_version", "nvml_version", "power_limit_w"):
        if key not in info:
            reasons[key] = monitor.reason or "NVML did not report it"
    if monitor.power_source is None:
        reasons["power_sample_source"] = monitor.reason or "NVML not available"
    return Environment(
        device=device.type,
        gpu_name=gpu_name,
        gpu_count=count,
        driver_version=info.get("driver_version"),
        cuda_version=cuda_version,
        torch_version=str(torch.__version__),
        triton_version=triton_version,
        numpy_version=str(np.__version__),
        python_version=platform.python_version(),
        nvml_version=info.get("nvml_version"),
        platform=platform.platform(),
        sm_count=sm,
        l2_cache_bytes=l2,
        total_memory_gib=mem,
        power_limit_w=info.get("power_limit_w"),
        power_sample_source=monitor.power_source,
        date_utc=_now(),
        command=command or " ".join(sys.argv),
        null_reasons=reasons,
    )


def _kernel_checks(device: torch.device, dtype: torch.dtype) -> tuple[str | None, list[str]]:
    """Compare the packed GEMV and the recurrence with their torch fallbacks.

    Returns:
        An error message if a kernel is wrong (None if right or not in use), and notes.
    """
    if not (device.type == "cuda" and triton_available()):
        return None, ["kernel checks: torch fallbacks in use (no CUDA Triton)"]
    gen = torch.Generator(device=device).manual_seed(1234)
    worst = 0.0
    for rows, cols, m in ((1024, 1024, 1), (5632, 2048, 16), (1000, 2560, 3), (512, 256, 256)):
        w = torch.randint(-1, 2, (rows, cols), device=device, generator=gen)
        p = pack_ternary(w)
        x = torch.randn(m, cols, device=device, dtype=dtype, generator=gen)
        y = packed_linear(x, p, 0.05, backend="triton").double()
        ref = (x.double() @ w.double().T) * 0.05
        worst = max(worst, float((y - ref).norm() / ref.norm()))
    f = torch.rand(3, 37, 300, device=device, dtype=dtype, generator=gen)
    i = torch.randn(3, 37, 300, device=device, dtype=dtype, generator=gen)
    h0 = torch.randn(3, 300, device=device, dtype=dtype, generator=gen)
    a, _ = linear_recurrence(f, i, h0, backend="triton")
    b, _ = linear_recurrence(f, i, h0, backend="torch")
    rec = float((a.double() - b.double()).norm() / b.double().norm())
    note = f"kernel checks: packed GEMV rel. error {worst:.2e}, recurrence {rec:.2e}"
    bad = worst > 2e-2 or rec > 2e-2 or math.isnan(worst) or math.isnan(rec)
    return (note if bad else None), [note]


def _unmeasured() -> PowerReading:
    fields = ("avg_power_w", "energy_j", "sm_clock_mhz", "mem_clock_mhz", "temperature_c")
    return PowerReading(0.0, 0, None, None, None, None, None, dict.fromkeys(fields, "not yet"))


class _Run:
    """The state of one measurement run and its file."""

    def __init__(self, opts: MeasureOptions, log: Log) -> None:
        self.opts, self.log = opts, log
        self.start = time.perf_counter()
        self.device = _resolve_device(opts.device)
        self.dtype = _DTYPES[opts.dtype]
        self.monitor = PowerMonitor(enabled=self.device.type == "cuda")
        self.cases: list[Case] = []
        self.notes: list[str] = []
        settings = Settings(
            prompt_tokens=opts.prompt_tokens,
            gen_tokens=opts.gen_tokens,
            warmup_steps=opts.warmup_steps,
            prefill_reps=opts.prefill_reps,
            power_window_s=opts.power_window_s,
            seed=opts.seed,
            dtype=opts.dtype,
            quick=opts.quick,
        )
        if self.device.type == "cuda":
            torch.cuda.init()  # type: ignore[no-untyped-call]
        self.run = Run(
            environment=environment(self.device, self.monitor, opts.command),
            settings=settings,
            idle=_unmeasured(),
            micro=None,
            started_utc=_now(),
            elapsed_s=0.0,
            complete=False,
        )

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def over_budget(self, reserve_s: float = 0.0) -> bool:
        budget = self.opts.time_budget_s
        return budget is not None and self.elapsed() + reserve_s > budget

    def save(self, complete: bool = False) -> None:
        self.run = dataclasses.replace(self.run, elapsed_s=self.elapsed(), complete=complete)
        self.cases = with_quiet_steps(self.cases)
        write_baseline(self.opts.out, Baseline(runs=[self.run], cases=self.cases, notes=self.notes))

    def add(self, case: Case) -> None:
        self.cases.append(case)
        self.save()

    def release(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _base_case(opts: MeasureOptions, model: str, impl: str, launch: str, batch: int) -> Case:
    return Case(
        run=0,
        model=model,
        impl=impl,  # type: ignore[arg-type]
        launch=launch,  # type: ignore[arg-type]
        batch=batch,
        prompt_tokens=opts.prompt_tokens,
        gen_tokens=opts.gen_tokens,
        status="ok",
    )


#: Launches per host-speed probe beside a case (five timed loops of them): ~25 ms.
PROBE_CALLS = 500

#: Eager steps of the tagged pass (each alone, a host-speed probe after each).
TAGGED_STEPS = 64

_NOT_TAGGED = "graph replay is not host-bound: no tagged pass"
_TAGGED_FIELDS = ("decode_quiet_ms_per_token", "quiet_steps", "host_speed_us", "host_quiet_ref_us")


def with_quiet_steps(cases: Sequence[Case]) -> list[Case]:
    """Fill the eager cases' quiet-step fields against the run's quiet reference.

    The reference is the 5th percentile of every probe of every case's tagged pass in
    ``cases`` (one run's), recomputed as cases are added, so the file alone reproduces
    it; see :mod:`gpubench.hostspeed`.
    """
    probes = [p for c in cases for p in c.tagged_probe_us]
    ref = quiet_reference(probes)
    out = []
    for c in cases:
        if c.status != "ok" or not c.tagged_ms or ref is None:
            out.append(c)
            continue
        q = quiet_steps(c.tagged_ms, c.tagged_probe_us, ref)
        reasons = {k: v for k, v in c.null_reasons.items() if k not in _TAGGED_FIELDS}
        if q.reason is not None:
            reasons["decode_quiet_ms_per_token"] = q.reason
        out.append(
            dataclasses.replace(
                c,
                decode_quiet_ms_per_token=q.median_ms,
                quiet_steps=q.count,
                host_quiet_ref_us=ref,
                null_reasons=reasons,
            )
        )
    return out


def _hbm_read_gb_per_s(micro: Micro | None) -> float | None:
    """The run's measured HBM read bandwidth (median of its ``hbm_read`` rows)."""
    if micro is None:
        return None
    rows = [b.gb_per_s for b in micro.bandwidth if b.name == "hbm_read" and b.gb_per_s > 0]
    return median(rows) if rows else None


def _compile_limit(r: _Run) -> float:
    """Seconds one compile may take: the option, and no more than the budget has left."""
    limit = r.opts.compile_limit_s
    if r.opts.time_budget_s is not None:
        limit = min(limit, max(1.0, r.opts.time_budget_s - r.elapsed() - 10.0))
    return limit


def bounded_compile(decoder: Decoder, limit_s: float, backend: str = "inductor") -> float:
    """:meth:`Decoder.compile_` stopped by an alarm after ``limit_s`` seconds.

    The alarm (``SIGALRM``) needs the main thread of a POSIX process; elsewhere the
    compile runs unbounded.

    Returns:
        The compile's seconds.

    Raises:
        TimeoutError: The compile took longer than ``limit_s``.
    """
    if not (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()):
        return decoder.compile_(backend)

    def on_alarm(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"torch.compile took more than {limit_s:.0f} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        return decoder.compile_(backend)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, old)


def _measure_case(
    r: _Run, model: Model, shape: ModelShape, impl: str, launch: str, batch: int
) -> Case:
    opts, device = r.opts, r.device
    case = _base_case(opts, shape.name, impl, launch, batch)
    reasons: dict[str, str] = {}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps = max(opts.gen_tokens, opts.warmup_steps)
    decoder = build_decoder(model, batch, opts.prompt_tokens, steps)
    gen = torch.Generator().manual_seed(opts.seed * 7919 + batch)
    decoder.prompt.copy_(torch.randint(0, shape.vocab, (batch, opts.prompt_tokens), generator=gen))
    compile_s: float | None = None
    if impl in COMPILED:
        compile_s = bounded_compile(decoder, _compile_limit(r))
    else:
        reasons["compile_s"] = "not a compiled implementation"
    runner = Runner(decoder, launch, device)

    # warm-up (after capture, in the launch mode measured); keep sequence 0's tokens
    runner.prefill()
    seen = [decoder.token[:1].clone()]
    for _ in range(opts.warmup_steps):
        runner.step()
        seen.append(decoder.token[:1].clone())
    check_tokens = [int(t) for t in torch.cat(seen).tolist()]

    prefill_ms = median(time_each(runner.prefill, opts.prefill_reps, device))

    probe_calls = PROBE_CALLS if device.type == "cuda" else 20
    probe_before = launch_probe_us(device, probe_calls)
    runner.prefill()
    sync(device)
    tokens = 0
    with r.monitor.window() as win:
        t0, cpu0 = time.perf_counter(), time.thread_time()
        times = time_steps(runner.step, opts.gen_tokens, device)
        wall_s, cpu_s = time.perf_counter() - t0, time.thread_time() - cpu0
        tokens += opts.gen_tokens * batch
        while time.perf_counter() - t0 < opts.power_window_s:
            runner.rewind()
            for _ in range(opts.gen_tokens):
                runner.step()
            sync(device)
            tokens += opts.gen_tokens * batch
    reading = win.reading
    assert reading is not None
    probe_after = launch_probe_us(device, probe_calls)
    tagged_ms: list[float] = []
    tagged_probes: list[float] = []
    if launch == "eager":
        runner.rewind()
        n = min(TAGGED_STEPS, opts.gen_tokens)
        tagged_ms, tagged_probes = time_tagged_steps(runner.step, n, device, probe_us)
        reasons["decode_quiet_ms_per_token"] = "no run reference yet"
        reasons["quiet_steps"] = reasons["host_quiet_ref_us"] = "no run reference yet"
    else:
        reasons.update(dict.fromkeys(_TAGGED_FIELDS, _NOT_TAGGED))

    ms = median(times)
    energy = reading.energy_j
    nbytes = step_bytes(model, decoder, opts.prompt_tokens + (opts.gen_tokens - 1) / 2)
    bandwidth = _hbm_read_gb_per_s(r.run.micro)
    bound_ms = nbytes / (bandwidth * 1e6) if bandwidth else None
    if bound_ms is None:
        reasons["hbm_bound_ms"] = "no HBM read microbenchmark in this run"
    if bound_ms is None or ms <= 0:
        reasons["hbm_bound_pct"] = reasons.get("hbm_bound_ms", "decode time rounded to zero")
    values: dict[str, Any] = {
        "compile_s": compile_s,
        "step_bytes": nbytes,
        "hbm_bound_ms": bound_ms,
        "hbm_bound_pct": 100.0 * bound_ms / ms if bound_ms is not None and ms > 0 else None,
        "prefill_ms": prefill_ms,
        "decode_ms_per_token": ms,
        "decode_ms_p10": percentile(times, 10),
        "decode_ms_p90": percentile(times, 90),
        "decode_wall_ms_per_token": wall_s * 1e3 / opts.gen_tokens,
        "decode_host_cpu_ms_per_token": cpu_s * 1e3 / opts.gen_tokens,
        "host_probe_us": probe_before,
        "host_probe_after_us": probe_after,
        "host_speed_us": median(tagged_probes) if tagged_probes else None,
        "tagged_ms": [round(t, 4) for t in tagged_ms],
        "tagged_probe_us": [round(p, 2) for p in tagged_probes],
        "tokens_per_s": batch * 1e3 / ms if ms > 0 else None,
        "weight_bytes": weight_bytes(model),
        "avg_power_w": reading.avg_power_w,
        "energy_per_token_j": energy / tokens if energy is not None else None,
        "energy_avg_power_w": energy / reading.duration_s if energy is not None else None,
        "idle_power_w": r.run.idle.avg_power_w,
        "sm_clock_mhz": reading.sm_clock_mhz,
        "mem_clock_mhz": reading.mem_clock_mhz,
        "temperature_c": reading.temperature_c,
        "power_window_s": reading.duration_s,
        "power_samples": reading.samples,
        "power_tokens": tokens,
        "check_tokens": check_tokens,
    }
    if ms <= 0:
        reasons["tokens_per_s"] = "decode time rounded to zero"
    for key, src in (
        ("avg_power_w", "avg_power_w"),
        ("energy_per_token_j", "energy_j"),
        ("energy_avg_power_w", "energy_j"),
        ("sm_clock_mhz", "sm_clock_mhz"),
        ("mem_clock_mhz", "mem_clock_mhz"),
        ("temperature_c", "temperature_c"),
    ):
        if values[key] is None:
            reasons[key] = reading.null_reasons.get(src, "not measured")
    if values["idle_power_w"] is None:
        reasons["idle_power_w"] = r.run.idle.null_reasons.get("avg_power_w", "not measured")
    if device.type == "cuda":
        values["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        reasons["peak_memory_gib"] = "CPU run: no device memory statistics"
    reasons["kernels_per_step"] = "not counted (counting runs after all cases)"
    reasons["graph_nodes_per_step"] = "not counted (counting runs after all cases)"
    del runner, decoder
    return dataclasses.replace(case, null_reasons=reasons, **values)


def _failed(opts: MeasureOptions, key: tuple[str, str, str, int], status: str, why: str) -> Case:
    return dataclasses.replace(_base_case(opts, *key), status=status, reason=why)  # type: ignore[arg-type]


def _count_kernels(r: _Run, log: Log) -> None:
    """Fill ``kernels_per_step`` and ``graph_nodes_per_step`` of the measured cases."""
    opts, device = r.opts, r.device
    by_model: dict[str, set[str]] = {}
    for c in r.cases:
        if c.status == "ok":
            by_model.setdefault(c.model, set()).add(c.impl)
    for name, impls in by_model.items():
        shape = get_shape(name)
        for impl in [i for i in IMPLS if i in impls]:
            if r.over_budget(reserve_s=5.0):
                r.notes.append("kernel counts: stopped by the time budget")
                return
            model = build_model(shape, impl, device, r.dtype, opts.seed)
            params = [*model.parameters(), *model.buffers()]
            for batch in opts.batches:
                decoder = build_decoder(model, batch, opts.prompt_tokens, 3)
                if impl in COMPILED:
                    bounded_compile(decoder, _compile_limit(r))
                decoder.prefill_()
                kernels: int | None = count_gpu_ops(decoder.step_, device)
                kernel_reason = ""
                if device.type != "cuda":
                    kernels, kernel_reason = None, "CPU run: no CUDA kernels to count"
                captured: list[CapturedKernel] = []
                if device.type == "cuda" and (opts.capture_all or impl not in META_TRACEABLE):
                    decoder.rewind_()
                    try:
                        _, captured = profile_step(decoder.step_, device, params)
                    except Exception as exc:  # the list is optional; the counts stand
                        r.notes.append(
                            f"kernel list: {name} {impl} b{batch}: {type(exc).__name__}: {exc}"[
                                :500
                            ]
                        )
                decoder.rewind_()
                nodes, node_reason = graph_node_count(decoder.step_, device)
                for k, c in enumerate(r.cases):
                    if (c.model, c.impl, c.batch) != (name, impl, batch) or c.status != "ok":
                        continue
                    reasons = dict(c.null_reasons)
                    reasons.pop("kernels_per_step", None)
                    reasons.pop("graph_nodes_per_step", None)
                    if kernels is None:
                        reasons["kernels_per_step"] = kernel_reason
                    if nodes is None:
                        reasons["graph_nodes_per_step"] = node_reason
                    r.cases[k] = dataclasses.replace(
                        c,
                        kernels_per_step=kernels,
                        graph_nodes_per_step=nodes,
                        captured_kernels=captured,
                        null_reasons=reasons,
                    )
                log(f"counts: {name} {impl} b{batch}: {kernels} kernels, {nodes} graph nodes")
                del decoder
            r.save()
            del model
            r.release()


def _check_tokens_notes(cases: Sequence[Case]) -> list[str]:
    notes = []
    groups: dict[tuple[str, int], dict[tuple[str, str], list[int]]] = {}
    for c in cases:
        if c.status == "ok" and c.check_tokens:
            groups.setdefault((c.model, c.batch), {})[(c.impl, c.launch)] = c.check_tokens
    for (model, batch), seen in groups.items():
        for impl in IMPLS:
            e, g = seen.get((impl, "eager")), seen.get((impl, "graph"))
            if e and g and e != g:
                notes.append(f"check: {model} b{batch} {impl}: eager and graph tokens differ")
        ref, dense = seen.get(("reference", "eager")), seen.get(("dense", "eager"))
        if ref and dense and ref != dense:
            notes.append(f"check: {model} b{batch}: reference and dense tokens differ")
    return notes


def measure(opts: MeasureOptions, log: Log = print) -> Baseline:
    """Run the measurement described by ``opts``, writing ``opts.out`` as it goes.

    Args:
        opts: What to measure.
        log: Receives one progress line at a time.

    Returns:
        The baseline as finally written.

    Raises:
        BaselineError: For bad options, or a file that cannot be written.
    """
    opts.check()
    r = _Run(opts, log)
    env = r.run.environment
    log(
        f"device {env.gpu_name or env.device}, torch {env.torch_version}, "
        f"triton {env.triton_version}, driver {env.driver_version}; "
        f"estimated {estimate_seconds(opts):.0f} s on an H200"
    )
    r.save()
    if r.monitor.available:
        r.run = dataclasses.replace(r.run, idle=r.monitor.idle(opts.idle_s))
    else:
        r.run = dataclasses.replace(r.run, idle=r.monitor.idle(0.0))
    log(f"idle: {_fmt(r.run.idle.avg_power_w, '.1f')} W")
    try:
        packed_error, notes = _kernel_checks(r.device, r.dtype)
    except Exception as exc:  # e.g. a kernel that does not compile here
        packed_error = f"{type(exc).__name__}: {exc}"[:500]
        notes = [f"kernel checks failed: {packed_error}"]
    r.notes.extend(notes)
    for n in notes:
        log(n)
    r.save()

    shapes = [get_shape(m) for m in opts.models]
    if opts.micro:
        try:
            micro = run_micro(
                shapes, r.device, r.monitor, opts.quick, opts.power_window_s, opts.batches, log
            )
        except Exception as exc:
            micro = Micro(
                status="error",
                reason=f"{type(exc).__name__}: {exc}"[:500],
                bandwidth=[],
                launch_eager_us=None,
                launch_triton_us=None,
                launch_graph_node_us=None,
                gemm_tflops=None,
                gemv=[],
                hbm_power=None,
                hbm_power_bytes=None,
            )
            log(f"micro: failed: {micro.reason}")
        r.run = dataclasses.replace(r.run, micro=micro)
        r.release()
        r.save()

    for shape in shapes:
        for impl in opts.impls:
            keys = [(shape.name, impl, la, b) for b in opts.batches for la in opts.launches]
            if r.over_budget(reserve_s=_CASE_RESERVE_S):
                for key in keys:
                    r.add(_failed(opts, key, "skipped", _BUDGET))
                continue
            if impl == "packed" and packed_error:
                for key in keys:
                    r.add(
                        _failed(opts, key, "error", "packed kernel check failed: " + packed_error)
                    )
                continue
            try:
                t0 = time.perf_counter()
                model = build_model(shape, impl, r.device, r.dtype, opts.seed)
                sync(r.device)
                log(f"{shape.name} {impl}: built in {time.perf_counter() - t0:.1f} s")
            except Exception as exc:
                why = f"build failed: {type(exc).__name__}: {exc}"[:500]
                for key in keys:
                    r.add(_failed(opts, key, "error", why))
                r.release()
                continue
            for key in keys:
                _, _, launch, batch = key
                if r.over_budget(reserve_s=_CASE_RESERVE_S):
                    r.add(_failed(opts, key, "skipped", _BUDGET))
                    continue
                if launch == "graph" and r.device.type != "cuda":
                    r.add(_failed(opts, key, "skipped", "CUDA graphs need a CUDA device"))
                    continue
                try:
                    case = _measure_case(r, model, shape, impl, launch, batch)
                except Exception as exc:
                    case = _failed(opts, key, "error", f"{type(exc).__name__}: {exc}"[:500])
                r.release()
                r.add(case)
                log(_case_line(case))
            del model
            r.release()

    if opts.counts and not r.over_budget():
        try:
            _count_kernels(r, log)
        except Exception as exc:
            r.notes.append(f"kernel counts failed: {type(exc).__name__}: {exc}"[:500])
    r.notes.extend(_check_tokens_notes(r.cases))
    complete = not any(c.reason == _BUDGET for c in r.cases)
    r.save(complete=complete)
    log(f"done in {r.elapsed():.0f} s; wrote {opts.out}")
    return Baseline(runs=[r.run], cases=r.cases, notes=r.notes)


def _case_line(c: Case) -> str:
    head = f"{c.model:>5} {c.impl:<11} {c.launch:<5} b{c.batch:<3}"
    if c.status != "ok":
        return f"{head} {c.status}: {c.reason}"
    return (
        f"{head} prefill {_fmt(c.prefill_ms, '8.2f')} ms  decode "
        f"{_fmt(c.decode_ms_per_token, '8.3f')} ms/tok  {_fmt(c.tokens_per_s, '9.1f')} tok/s  "
        f"{_fmt(c.avg_power_w, '6.1f')} W  {_fmt(c.energy_per_token_j, '.4f')} J/tok  "
        f"{_fmt(c.peak_memory_gib, '.2f')} GiB  probe {_fmt(c.host_probe_us, '.2f')}/"
        f"{_fmt(c.host_probe_after_us, '.2f')} us  "
        f"CPU {_fmt(c.decode_host_cpu_ms_per_token, '.2f')} ms/tok"
    )
