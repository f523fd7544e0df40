"""The GPU-baseline file: a versioned JSON schema, its dataclasses and a validating reader.

One file holds one or more harness **runs** (each: where and how it ran — GPU, driver,
CUDA, torch, date, exact command, settings, idle power, microbenchmarks) and the
**cases** they measured (one per model × implementation × launch mode × batch), each
pointing at its run by index. Partial files from separate runs (the measurement is
split to fit a device lease) combine with :func:`merge_baselines`.

Layout (``schema_version`` 1)::

    {"schema": "mmfree-cosim/gpu-baseline", "schema_version": 1,
     "runs": [Run, ...], "cases": [Case, ...], "notes": [str, ...]}

- :class:`Run`: ``environment`` (:class:`Environment`), ``settings`` (:class:`Settings`),
  ``idle`` (:class:`PowerReading`), ``micro`` (:class:`Micro` or null), ``started_utc``,
  ``elapsed_s``, ``complete``.
- :class:`Micro`: ``bandwidth`` (:class:`Bandwidth` rows: ``hbm_read``, ``hbm_copy``,
  ``l2_read`` at several sizes), ``launch_eager_us``, ``launch_triton_us``,
  ``launch_graph_node_us``, ``gemm_tflops``, ``gemv`` (:class:`Gemv` rows: each model's
  ``attn``/``gate_up``/``down``/``head`` matrix × batch × ``bf16``/``packed``),
  ``hbm_power`` (:class:`PowerReading` during a sustained HBM read) with
  ``hbm_power_bytes``, ``errors`` (parts that failed).
- :class:`Case`: ``run``, ``model``, ``impl`` (reference | dense | packed | transformer |
  transformer_fast | dense_compiled | transformer_compiled | fused),
  ``launch`` (eager | graph), ``batch``, ``prompt_tokens``, ``gen_tokens``, ``status``
  (ok | error | skipped) and ``reason``, then the measurements: ``prefill_ms``,
  ``decode_ms_per_token`` (median over the generated steps, CUDA events) with
  ``decode_ms_p10``/``decode_ms_p90``, ``decode_wall_ms_per_token`` (host clock over the
  whole decode), ``decode_host_cpu_ms_per_token`` (CPU time of the harness's thread over
  the timed steps, per step: below the wall time when the host thread waited or was
  descheduled), ``host_probe_us`` and ``host_probe_after_us`` (the host-speed probe, µs
  per eager launch of a tiny add, measured just before and just after the decode: a
  record of the host's state, which eager decode depends on); for eager cases a *tagged*
  pass (:mod:`gpubench.hostspeed`) of up to 64 steps, each alone with a pure-Python
  host-speed probe after it: ``tagged_ms`` and ``tagged_probe_us`` (the probe before the
  first step, then one after each), ``host_speed_us`` (their median),
  ``host_quiet_ref_us`` (the run's quiet reference), ``quiet_steps`` and
  ``decode_quiet_ms_per_token`` (the median of the steps the host was quiet around: eager
  ms/token on an undisturbed host), ``tokens_per_s`` (``batch · 1000 /
  decode_ms_per_token``),
  ``peak_memory_gib``, ``weight_bytes``, ``avg_power_w`` (NVML samples during decode),
  ``energy_per_token_j`` (NVML energy counter over the decode window / generated tokens
  of the whole batch), ``energy_avg_power_w`` (that energy over the window's time),
  ``idle_power_w`` (the run's idle reading, taken before its first case),
  ``sm_clock_mhz``, ``mem_clock_mhz``, ``temperature_c`` (medians over the window),
  ``power_window_s``, ``power_samples``, ``power_tokens``, ``kernels_per_step`` (CUDA
  kernels of one eager decode step, by the profiler), ``graph_nodes_per_step``,
  ``check_tokens`` (the first greedy tokens of sequence 0, to compare implementations);
  added in harness 1.2 (absent from older files, which still read): ``compile_s``
  (``torch.compile`` time of a ``*_compiled`` case, outside every timing),
  ``step_bytes`` (bytes one decode step must move: the weights as the implementation
  stores them, once, plus the KV cache or recurrent state at the timed pass's mean
  position), ``hbm_bound_ms`` (``step_bytes`` over the run's measured HBM read
  bandwidth) and ``hbm_bound_pct`` (that bound as a percentage of
  ``decode_ms_per_token``), ``captured_kernels`` (:class:`CapturedKernel` rows: the
  device operations one decode step ran, by the profiler; for implementations that
  cannot be traced on the meta device, the GPU model replays these).

Rules the reader enforces (all problems at once, by dotted path): every field present
and of its type, no unknown keys, numbers finite and ``>= 0``; a null measurement of an
``ok`` case names its reason in the case's ``null_reasons`` (``{"avg_power_w": "NVML not
available: ..."}``), and an ``error``/``skipped`` case has a ``reason``; ``run`` indices
exist. Units are in the field names. This module needs only the standard library, so any
part of the package (and the GPU machine) can read baselines.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from gpubench.errors import BaselineError
from safeio import write_atomic

__all__ = [
    "IMPLS",
    "LAUNCHES",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "SHIPPED_BASELINES",
    "Bandwidth",
    "Baseline",
    "CapturedKernel",
    "Case",
    "Environment",
    "Gemv",
    "Impl",
    "Launch",
    "Micro",
    "PowerReading",
    "Run",
    "Settings",
    "Status",
    "baseline_from_dict",
    "baseline_to_dict",
    "default_baseline_path",
    "merge_baselines",
    "read_baseline",
    "shipped_baseline_paths",
    "write_baseline",
]

SCHEMA_NAME = "mmfree-cosim/gpu-baseline"
SCHEMA_VERSION = 1

Impl = Literal[
    "reference",
    "dense",
    "packed",
    "transformer",
    "transformer_fast",
    "dense_compiled",
    "transformer_compiled",
    "fused",
]
Launch = Literal["eager", "graph"]
Status = Literal["ok", "error", "skipped"]
GemvKind = Literal["bf16", "packed"]
KernelKind = Literal["kernel", "memcpy", "memset"]

#: Implementations in the order they are measured and shown.
IMPLS: tuple[str, ...] = typing.get_args(Impl)
#: Launch modes: each kernel launched from Python, or one CUDA graph replayed per step.
LAUNCHES: tuple[str, ...] = typing.get_args(Launch)

#: Fields that are not measurements (never need a null reason).
_BOOKKEEPING = frozenset({"reason", "null_reasons", "errors"})


@dataclass(frozen=True)
class Environment:
    """Where a run ran: hardware, software versions, date and the exact command.

    Attributes:
        device: ``cuda`` or ``cpu`` (a CPU run only tests the harness).
        gpu_name: As the driver names it (``NVIDIA H200``).
        gpu_count: GPUs visible to the run (it uses the first).
        driver_version: NVIDIA driver version.
        cuda_version: CUDA version torch was built with.
        torch_version: ``torch.__version__``.
        triton_version: ``triton.__version__``.
        numpy_version: ``numpy.__version__``.
        python_version: Python version.
        nvml_version: The NVML library version reported by ``pynvml``.
        platform: ``platform.platform()``.
        sm_count: Streaming multiprocessors.
        l2_cache_bytes: L2 cache size.
        total_memory_gib: Device memory.
        power_limit_w: The enforced board power limit.
        power_sample_source: ``instant`` (NVML's instantaneous power field) or
            ``average`` (``nvmlDeviceGetPowerUsage``, a one-second average on recent GPUs).
        date_utc: When the run started (ISO 8601).
        command: The exact command line that ran the harness.
        null_reasons: Why a null field is null.
    """

    device: str
    gpu_name: str | None
    gpu_count: int
    driver_version: str | None
    cuda_version: str | None
    torch_version: str
    triton_version: str | None
    numpy_version: str
    python_version: str
    nvml_version: str | None
    platform: str
    sm_count: int | None
    l2_cache_bytes: int | None
    total_memory_gib: float | None
    power_limit_w: float | None
    power_sample_source: str | None
    date_utc: str
    command: str
    null_reasons: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """How a run measured (the same for all its cases).

    Attributes:
        prompt_tokens: Prompt length (one prefill).
        gen_tokens: Greedy decode steps timed per case.
        warmup_steps: Decode steps run before timing (after any graph capture).
        prefill_reps: Timed prefills per case (median reported).
        power_window_s: Least duration of each power window (decode repeated until then).
        seed: Seed of the random weights and prompts.
        dtype: Activation and full-precision weight dtype.
        quick: Whether this was a shortened smoke run (not a baseline).
    """

    prompt_tokens: int
    gen_tokens: int
    warmup_steps: int
    prefill_reps: int
    power_window_s: float
    seed: int
    dtype: str
    quick: bool


@dataclass(frozen=True)
class PowerReading:
    """NVML over one window: sampled power and clocks, and the energy counter.

    Attributes:
        duration_s: Length of the window (host clock).
        samples: NVML samples taken (a thread polling every few tens of ms).
        avg_power_w: Mean of the sampled board power.
        energy_j: Difference of the total-energy counter over the window.
        sm_clock_mhz: Median sampled SM clock.
        mem_clock_mhz: Median sampled memory clock.
        temperature_c: Median sampled GPU temperature.
        null_reasons: Why a null field is null (e.g. NVML absent).
    """

    duration_s: float
    samples: int
    avg_power_w: float | None
    energy_j: float | None
    sm_clock_mhz: float | None
    mem_clock_mhz: float | None
    temperature_c: float | None
    null_reasons: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Bandwidth:
    """A bandwidth microbenchmark.

    Attributes:
        name: ``hbm_read`` (sum of a large tensor), ``hbm_copy`` (device copy; bytes
            read plus written) or ``l2_read`` (sum of an L2-resident buffer, repeated in
            a graph).
        bytes: Bytes moved by one repetition.
        ms: Median time of one repetition.
        gb_per_s: ``bytes / ms`` in GB/s (10⁹ bytes).
        reps: Timed repetitions.
    """

    name: str
    bytes: int
    ms: float
    gb_per_s: float
    reps: int


@dataclass(frozen=True)
class Gemv:
    """One weight matrix times ``batch`` activation vectors, weights not in cache.

    Attributes:
        model: The model the shape belongs to.
        matrix: ``attn`` (d×d), ``gate_up`` (2I×d), ``down`` (d×I) or ``head`` (V×d).
        rows: Output features.
        cols: Input features.
        batch: Activation vectors (rows of ``x``).
        kind: ``bf16`` (dense ``F.linear``) or ``packed`` (the 2-bit kernel).
        us: Median time of one product (graph-replayed, rotating over enough copies of
            the weights that none stays in L2).
        weight_bytes: Bytes of the weights read.
        gb_per_s: ``weight_bytes / us`` in GB/s.
    """

    model: str
    matrix: str
    rows: int
    cols: int
    batch: int
    kind: GemvKind
    us: float
    weight_bytes: int
    gb_per_s: float


@dataclass(frozen=True)
class Micro:
    """Microbenchmarks for the GPU model's calibration.

    Attributes:
        status: ``ok``, or ``skipped``/``error`` with ``reason``.
        reason: Why skipped or failed.
        bandwidth: HBM read and copy, L2-resident read.
        launch_eager_us: Host time per launch of a tiny torch op, back to back.
        launch_triton_us: The same for an empty Triton kernel.
        launch_graph_node_us: Time per kernel node of a replayed CUDA graph of tiny ops.
        gemm_tflops: A large square bf16 matrix product (the compute ceiling).
        gemv: Every model's matrix shapes, bf16 and packed, batch 1 and 16.
        hbm_power: NVML during a sustained HBM read (for the memory power model).
        hbm_power_bytes: Bytes read during that window.
        launch_power: NVML while a graph of tiny kernels replays (clocks up, little
            memory traffic: the power model's active floor). Added in harness 1.1.
        gemm_power: NVML during sustained bf16 matrix products. Added in harness 1.1.
        gemm_power_flops: FLOPs done during that window.
        errors: Parts that failed (each with its error); the other parts still ran.
        null_reasons: Why a null field is null.
    """

    status: Status
    reason: str | None
    bandwidth: list[Bandwidth]
    launch_eager_us: float | None
    launch_triton_us: float | None
    launch_graph_node_us: float | None
    gemm_tflops: float | None
    gemv: list[Gemv]
    hbm_power: PowerReading | None
    hbm_power_bytes: int | None
    errors: list[str] = field(default_factory=list)
    null_reasons: dict[str, str] = field(default_factory=dict)
    launch_power: PowerReading | None = None
    gemm_power: PowerReading | None = None
    gemm_power_flops: int | None = None


@dataclass(frozen=True)
class Run:
    """One invocation of the harness.

    Attributes:
        environment: Hardware, versions, date and command.
        settings: How it measured.
        idle: NVML with the GPU idle, before the first case.
        micro: Microbenchmarks (null if not run).
        started_utc: ISO 8601 start time.
        elapsed_s: Wall time so far (the file is rewritten after every case).
        complete: Whether the run got through everything it was asked to do.
    """

    environment: Environment
    settings: Settings
    idle: PowerReading
    micro: Micro | None
    started_utc: str
    elapsed_s: float
    complete: bool


@dataclass(frozen=True)
class CapturedKernel:
    """One distinct device operation of a decode step, as the profiler saw it run.

    Added in harness 1.2 (:mod:`gpubench.kernel_list`). Kernels that repeat with the
    same name, grid and operands (one per layer) are one entry with a ``count``.

    Attributes:
        name: The kernel's name (``triton_poi_fused_...``, a cuBLAS kernel, ``Memcpy
            DtoD``...).
        kind: ``kernel``, ``memcpy`` or ``memset``.
        count: Launches per decode step.
        grid: Thread blocks per dimension (empty where the profiler gives none).
        block: Threads per block per dimension (empty where unknown).
        duration_us: Mean device time of one launch, under the profiler (for reading,
            never for prediction).
        op: The host operator that launched it (``aten::mm``, a Triton kernel's
            launcher), empty where unknown.
        reads: Bytes of each non-parameter operand read, from the operator's recorded
            shapes (a Triton kernel's operands include its outputs).
        writes: Bytes of each operand written, where derivable (a matrix product's
            output); empty otherwise.
        param_bytes: Bytes of model weights among the operands (operands shaped like a
            weight matrix of the model).
        flops: Floating-point operations (a matrix product ``2·M·N·K``, attention
            ``4·B·H·Tq·Tk·d``, else one per element of its operands).
        tensor_core: Whether it is a matrix product or attention.
        bytes_known: Whether the operands' shapes were recorded (otherwise ``reads``,
            ``writes``, ``param_bytes`` and ``flops`` are 0).
    """

    name: str
    kind: KernelKind
    count: int
    grid: list[int]
    block: list[int]
    duration_us: float
    op: str
    reads: list[int]
    writes: list[int]
    param_bytes: int
    flops: int
    tensor_core: bool
    bytes_known: bool


@dataclass(frozen=True)
class Case:
    """One measured configuration: model × implementation × launch mode × batch.

    See the module docstring for every field's meaning; times in ms, power in W, energy
    in J, memory in GiB, clocks in MHz.
    """

    run: int
    model: str
    impl: Impl
    launch: Launch
    batch: int
    prompt_tokens: int
    gen_tokens: int
    status: Status
    reason: str | None = None
    prefill_ms: float | None = None
    decode_ms_per_token: float | None = None
    decode_ms_p10: float | None = None
    decode_ms_p90: float | None = None
    decode_wall_ms_per_token: float | None = None
    decode_host_cpu_ms_per_token: float | None = None
    host_probe_us: float | None = None
    host_probe_after_us: float | None = None
    decode_quiet_ms_per_token: float | None = None
    quiet_steps: int | None = None
    host_speed_us: float | None = None
    host_quiet_ref_us: float | None = None
    tagged_ms: list[float] = field(default_factory=list)
    tagged_probe_us: list[float] = field(default_factory=list)
    tokens_per_s: float | None = None
    peak_memory_gib: float | None = None
    weight_bytes: int | None = None
    avg_power_w: float | None = None
    energy_per_token_j: float | None = None
    energy_avg_power_w: float | None = None
    idle_power_w: float | None = None
    sm_clock_mhz: float | None = None
    mem_clock_mhz: float | None = None
    temperature_c: float | None = None
    power_window_s: float | None = None
    power_samples: int | None = None
    power_tokens: int | None = None
    kernels_per_step: int | None = None
    graph_nodes_per_step: int | None = None
    check_tokens: list[int] = field(default_factory=list)
    null_reasons: dict[str, str] = field(default_factory=dict)
    compile_s: float | None = None
    step_bytes: int | None = None
    hbm_bound_ms: float | None = None
    hbm_bound_pct: float | None = None
    captured_kernels: list[CapturedKernel] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """``(model, impl, launch, batch)``: what the case measured."""
        return (self.model, self.impl, self.launch, self.batch)


@dataclass(frozen=True)
class Baseline:
    """A whole baseline file.

    Attributes:
        runs: The harness runs.
        cases: Their cases, each naming its run by index.
        notes: Free remarks (merges, anomalies seen).
        schema: Always :data:`SCHEMA_NAME`.
        schema_version: Always :data:`SCHEMA_VERSION` when written by this version.
    """

    runs: list[Run]
    cases: list[Case]
    notes: list[str] = field(default_factory=list)
    schema: str = SCHEMA_NAME
    schema_version: int = SCHEMA_VERSION

    def case(self, model: str, impl: str, launch: str, batch: int) -> Case | None:
        """The case measuring this configuration, if any."""
        for c in self.cases:
            if c.key == (model, impl, launch, batch):
                return c
        return None

    def run_of(self, case: Case) -> Run:
        """The run that measured ``case``."""
        return self.runs[case.run]


# --- generic conversion -------------------------------------------------------------

T = TypeVar("T")


def baseline_to_dict(baseline: Baseline) -> dict[str, Any]:
    """Return the JSON-ready form of ``baseline`` (keys in schema order)."""
    data = dataclasses.asdict(baseline)
    ordered = {"schema": data.pop("schema"), "schema_version": data.pop("schema_version")}
    ordered.update(data)
    return ordered


def _type_name(tp: Any) -> str:
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    return "a valid value"


def _convert(tp: Any, value: Any, path: str, problems: list[str]) -> Any:
    """Check ``value`` against type ``tp``, returning the typed value (or None on error)."""
    origin = typing.get_origin(tp)
    got = json.dumps(value)[:60] if _jsonable(value) else repr(value)[:60]
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            problems.append(f"{path}: must not be null")
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path, problems)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            problems.append(f"{path}: must be one of {', '.join(choices)} (got {got})")
        return value
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{path}: must be a list (got {got})")
            return []
        return [_convert(item, v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: must be an object (got {got})")
            return {}
        out = {}
        for k, v in value.items():
            if not isinstance(v, str):
                problems.append(f"{path}.{k}: must be a string (got {json.dumps(v)[:60]})")
            out[str(k)] = v
        return out
    if dataclasses.is_dataclass(tp):
        assert isinstance(tp, type)
        return _from_dict(tp, value, path, problems)
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: must be true or false (got {got})")
        return value
    if tp in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if tp is int:
            ok = ok and isinstance(value, int)
        if not ok:
            problems.append(f"{path}: must be {_type_name(tp)} (got {got})")
            return None
        if not math.isfinite(value) or value < 0:
            problems.append(f"{path}: must be a finite number >= 0 (got {value})")
        return float(value) if tp is float else value
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path}: must be a string (got {got})")
        return value
    raise TypeError(f"unsupported schema type {tp!r}")  # pragma: no cover - schema bug


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


#: Fields added after schema version 1 was first written; files without them still read
#: (the value is null, with the reason that the older harness did not measure it).
_ADDED_LATER = frozenset(
    {
        "launch_power",
        "gemm_power",
        "gemm_power_flops",
        "decode_host_cpu_ms_per_token",
        "host_probe_us",
        "host_probe_after_us",
        "decode_quiet_ms_per_token",
        "quiet_steps",
        "host_speed_us",
        "host_quiet_ref_us",
        "tagged_ms",
        "tagged_probe_us",
        "compile_s",
        "step_bytes",
        "hbm_bound_ms",
        "hbm_bound_pct",
        "captured_kernels",
    }
)


def _from_dict(cls: type[T], data: Any, path: str, problems: list[str]) -> T:
    where = path or "file"
    if not isinstance(data, dict):
        problems.append(f"{where}: must be an object (got {type(data).__name__})")
        return None  # type: ignore[return-value]
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            problems.append(f"{_join(path, key)}: unknown field")
    values: dict[str, Any] = {}
    absent: list[str] = []
    for name in fields:
        if name not in data:
            if name in _ADDED_LATER:
                absent.append(name)  # written by an older harness: not measured
                continue
            problems.append(f"{_join(path, name)}: required field missing")
            continue
        values[name] = _convert(hints[name], data[name], _join(path, name), problems)
    if len(values) + len(absent) != len(fields):
        return None  # type: ignore[return-value]
    if absent and "null_reasons" in values and isinstance(values["null_reasons"], dict):
        values["null_reasons"] = {
            **values["null_reasons"],
            **{
                name: "not measured by the harness version that wrote this run"
                for name in absent
                if fields[name].default is None
            },
        }
    try:
        return cls(**values)
    except TypeError as exc:  # pragma: no cover - defensive
        problems.append(f"{where}: {exc}")
        return None  # type: ignore[return-value]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _null_reason_problems(obj: Any, path: str) -> list[str]:
    """A null measurement needs a reason; every reason names a null field."""
    problems = []
    reasons: dict[str, str] = getattr(obj, "null_reasons", {})
    names = {f.name for f in dataclasses.fields(obj)}
    for name in sorted(names - _BOOKKEEPING - _ADDED_LATER):
        if getattr(obj, name) is None and name not in reasons:
            problems.append(f"{_join(path, name)}: null without a reason in null_reasons")
    for name in sorted(reasons):
        if name not in names:
            problems.append(f"{path}.null_reasons.{name}: not a field")
    return problems


def _semantic_problems(b: Baseline) -> list[str]:
    problems: list[str] = []
    if b.schema != SCHEMA_NAME:
        problems.append(f"schema: must be {SCHEMA_NAME!r} (got {b.schema!r})")
    for i, run in enumerate(b.runs):
        p = f"runs[{i}]"
        problems += _null_reason_problems(run.environment, f"{p}.environment")
        problems += _null_reason_problems(run.idle, f"{p}.idle")
        m = run.micro
        if m is not None:
            if m.status == "ok":
                problems += _null_reason_problems(m, f"{p}.micro")
                for name in ("hbm_power", "launch_power", "gemm_power"):
                    reading = getattr(m, name)
                    if reading is not None:
                        problems += _null_reason_problems(reading, f"{p}.micro.{name}")
            elif not m.reason:
                problems.append(f"{p}.micro.reason: a {m.status} micro needs a reason")
    for i, c in enumerate(b.cases):
        p = f"cases[{i}]"
        if not 0 <= c.run < len(b.runs):
            problems.append(f"{p}.run: no run {c.run} (the file has {len(b.runs)})")
        if c.batch < 1:
            problems.append(f"{p}.batch: must be >= 1 (got {c.batch})")
        if c.status == "ok":
            problems += _null_reason_problems(c, p)
        elif not c.reason:
            problems.append(f"{p}.reason: a {c.status} case needs a reason")
    return problems


def baseline_from_dict(data: Any, source: str = "baseline") -> Baseline:
    """Validate parsed JSON and build a :class:`Baseline`.

    Args:
        data: The parsed file.
        source: Where it came from, for messages.

    Returns:
        The baseline.

    Raises:
        BaselineError: Naming every problem, or the schema version this reader cannot
            read.
    """
    if not isinstance(data, dict):
        raise BaselineError(f"{source}: not a baseline (a JSON object is expected)")
    if data.get("schema") != SCHEMA_NAME:
        raise BaselineError(
            f"{source}: not a GPU baseline (schema is {json.dumps(data.get('schema'))}, "
            f"expected {json.dumps(SCHEMA_NAME)})"
        )
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BaselineError(
            f"{source}: schema_version {json.dumps(version)} is not supported "
            f"(this version of mmfree-cosim reads {SCHEMA_VERSION})"
        )
    problems: list[str] = []
    baseline = _from_dict(Baseline, data, "", problems)
    if not problems:
        problems = _semantic_problems(baseline)
    if problems:
        n = len(problems)
        raise BaselineError(f"{source}: {n} problem{'s' * (n != 1)}", problems)
    return baseline


def read_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file.

    Raises:
        BaselineError: If the file is missing, unreadable, not JSON, of another schema
            version, or invalid (every problem listed).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{path}:{exc.lineno} not valid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    return baseline_from_dict(data, str(path))


def write_baseline(path: str | Path, baseline: Baseline) -> Path:
    """Validate ``baseline`` and write it atomically (a reader never sees half a file).

    Raises:
        BaselineError: If it does not validate or cannot be written.
    """
    path = Path(path)
    data = baseline_to_dict(baseline)
    try:
        text = json.dumps(data, indent=1, allow_nan=False) + "\n"
    except ValueError as exc:
        raise BaselineError(f"{path}: not writable as JSON ({exc})") from None
    baseline_from_dict(json.loads(text), str(path))
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write ({exc})") from None
    return path


def merge_baselines(parts: Sequence[Baseline], sources: Iterable[str] = ()) -> Baseline:
    """Combine partial baselines (e.g. one run per device call) into one.

    Runs are concatenated (all kept: a run whose cases were all replaced still holds its
    environment and microbenchmarks) and the cases re-pointed at them. Where two parts measured the
    same configuration, an ``ok`` case beats an ``error``/``skipped`` one, and otherwise
    the later part wins; each replacement is noted.

    Args:
        parts: The baselines, in order.
        sources: Their names, for the notes.

    Returns:
        The merged baseline.
    """
    names = list(sources) or [f"part {i}" for i in range(len(parts))]
    runs: list[Run] = []
    chosen: dict[tuple[str, str, str, int], Case] = {}
    notes: list[str] = []
    for i, part in enumerate(parts):
        offset = len(runs)
        runs.extend(part.runs)
        notes.extend(part.notes)
        for c in part.cases:
            moved = dataclasses.replace(c, run=c.run + offset)
            old = chosen.get(c.key)
            if old is not None and old.status == "ok" and moved.status != "ok":
                continue
            if old is not None:
                notes.append(
                    f"merge: {'/'.join(map(str, c.key))} from {names[i]} replaces an "
                    f"earlier {old.status} case"
                )
            chosen[c.key] = moved
    cases = list(chosen.values())
    order = {name: k for k, name in enumerate(("370m", "1.3b", "2.7b"))}
    cases.sort(
        key=lambda c: (
            order.get(c.model, len(order)),
            c.model,
            IMPLS.index(c.impl),
            LAUNCHES.index(c.launch),
            c.batch,
        )
    )
    return Baseline(runs=runs, cases=cases, notes=notes)


def default_baseline_path() -> Path:
    """The measured H200 baseline shipped with the package (``gpubench/data/``)."""
    return Path(str(resources.files("gpubench") / "data" / "h200.json"))


#: The measured baselines the package ships (``gpubench/data/``), one file a card.
SHIPPED_BASELINES = ("h200.json", "h100.json")


def shipped_baseline_paths() -> list[Path]:
    """Every measured baseline shipped with the package: the H200's, then the H100's."""
    folder = Path(str(resources.files("gpubench") / "data"))
    return [folder / name for name in SHIPPED_BASELINES if (folder / name).is_file()]
