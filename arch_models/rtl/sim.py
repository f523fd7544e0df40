"""Build the RTL with Verilator and run its test bench on a sequence of matvecs.

:func:`build` verilates ``tmac_tb`` (the test bench around ``tmac_core``) for one set of
parameters into a cache folder keyed by the sources, the parameters and the Verilator
version (``$MMFREE_RTL_CACHE``, else ``~/.cache/mmfree-cosim/rtl``), once. :func:`run`
writes a run's inputs (the weight stream, the fills, the matvec shapes, the activation
beats and, optionally, the expected result beats), runs the bench under a
:class:`MemoryTiming` and returns the cycles of every matvec and the results the RTL
exported. :func:`lint` runs ``verilator --lint-only -Wall`` on ``tmac_core``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from arch_models.rtl.params import RtlParams, RtlUnsupportedError
from arch_models.rtl.stream import from_beats, to_beats, weight_stream

__all__ = [
    "RTL_DIR",
    "SOURCES",
    "MemoryTiming",
    "RtlEvents",
    "RtlRun",
    "RtlToolError",
    "build",
    "cache_root",
    "lint",
    "run",
    "verilator_version",
]

#: The folder of the SystemVerilog sources (shipped with the package).
RTL_DIR = Path(__file__).resolve().parent
#: The synthesizable sources, leaves first.
SOURCES = (
    "tmac_fifo.sv",
    "tmac_ram.sv",
    "tmac_weight_stream.sv",
    "tmac_weight_buffer.sv",
    "tmac_act_store.sv",
    "tmac_result_store.sv",
    "tmac_dec5.sv",
    "tmac_adder_tree.sv",
    "tmac_reducer.sv",
    "tmac_array.sv",
    "tmac_core.sv",
)
BENCH = "tmac_tb.sv"
_BUILD_TIMEOUT_S = 900


class RtlToolError(RuntimeError):
    """Verilator is missing, or a lint, build or run failed (the message has its output)."""


@dataclass(frozen=True)
class MemoryTiming:
    """The test bench's memory.

    Attributes:
        latency_cycles: Cycles from a request to its beat's transfer slot (>= 1).
        beat_interval_cycles: Cycles per beat transfer (one beat every K cycles, >= 1).
        stall_probability: Chance that a transfer slot is lost (random back-pressure).
        seed: Seed of the stalls.
    """

    latency_cycles: int = 1
    beat_interval_cycles: int = 1
    stall_probability: float = 0.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.latency_cycles < 1 or self.beat_interval_cycles < 1:
            raise ValueError("latency_cycles and beat_interval_cycles must be >= 1")
        if not 0.0 <= self.stall_probability < 1.0:
            raise ValueError(f"stall_probability must be in [0, 1) (got {self.stall_probability})")


@dataclass(frozen=True)
class RtlRun:
    """What a run of the test bench gave.

    Attributes:
        cycles: Cycles from the first matvec's start to the last one's last export beat.
        op_end_cycles: The cycle each matvec ended (one past its last export beat).
        results: Each matvec's exported results (``[rows]`` integers).
        mismatches: Export beats that differed from the expected ones (``None``: none
            were given).
    """

    cycles: int
    op_end_cycles: tuple[int, ...]
    results: tuple[npt.NDArray[np.int64], ...]
    mismatches: int | None
    events: RtlEvents


@dataclass(frozen=True)
class RtlEvents:
    """What the RTL did that the energy model charges, counted from the array's signals.

    Attributes:
        adds: Weights that reached an adder (all weights; with zero skipping the
            nonzeros): the energy model's ``ternary_add_pj_per_op`` events.
        steps: Array steps issued (every tree active): ``accumulate_pj_per_op`` events
            per tree.
        bubbles: Hand-off bubble cycles (trees idle).
        wbuf_bytes: Weight-buffer bytes the array read (each tile once).
        mem_beats: Memory beats delivered to the weight stream.
    """

    adds: int
    steps: int
    bubbles: int
    wbuf_bytes: int
    mem_beats: int


def _verilator() -> str:
    exe = shutil.which("verilator")
    if exe is None:
        raise RtlToolError("verilator is not installed (Debian: apt-get install verilator)")
    return exe


def verilator_version() -> str:
    """Return ``verilator --version``'s output.

    Raises:
        RtlToolError: Verilator is not installed.
    """
    out = subprocess.run([_verilator(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def _g_args(params: RtlParams, prefix: str = "") -> list[str]:
    args = []
    for name, value in params.hdl().items():
        text = f'"{value}"' if isinstance(value, str) else str(value)
        args.append(f"-G{prefix}{name}={text}")
    return args


def lint(params: RtlParams, top: str = "tmac_core") -> None:
    """Lint the RTL with ``verilator --lint-only -Wall`` for ``params``.

    Raises:
        RtlToolError: Verilator is missing or reports anything.
    """
    cmd = [
        _verilator(),
        "--lint-only",
        "-Wall",
        "--top-module",
        top,
        *_g_args(params),
        *(str(RTL_DIR / s) for s in SOURCES),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    if out.returncode != 0 or out.stderr.strip():
        raise RtlToolError(f"verilator lint failed for {params}:\n{out.stderr}")


def cache_root() -> Path:
    """Return the folder of cached builds (``$MMFREE_RTL_CACHE``, else the user cache)."""
    env = os.environ.get("MMFREE_RTL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mmfree-cosim" / "rtl"


def build(params: RtlParams, cache: Path | None = None) -> Path:
    """Verilate and compile the test bench for ``params`` (once; later calls reuse it).

    Args:
        params: The RTL's parameters.
        cache: Folder of builds (default ``$MMFREE_RTL_CACHE`` or the user cache).

    Returns:
        The bench's executable.

    Raises:
        RtlToolError: Verilator is missing or the build failed.
    """
    exe = _verilator()
    digest = hashlib.sha256()
    for name in (*SOURCES, BENCH):
        digest.update((RTL_DIR / name).read_bytes())
    digest.update(repr(sorted(params.hdl().items())).encode())
    digest.update(verilator_version().encode())
    root = cache or cache_root()
    target = root / digest.hexdigest()[:24]
    binary = target / "Vtmac_tb"
    if binary.exists():
        return binary
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    cmd = [
        exe,
        "--binary",
        "--timing",
        "-Wall",
        "--timescale",
        "1ns/1ps",
        "-j",
        "1",
        "-O2",
        "--top-module",
        "tmac_tb",
        "-Mdir",
        str(tmp / "obj"),
        *_g_args(params),
        *(str(RTL_DIR / s) for s in (*SOURCES, BENCH)),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=_BUILD_TIMEOUT_S)
    if out.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RtlToolError(f"verilator build failed for {params}:\n{out.stderr[-4000:]}")
    (tmp / "obj" / "Vtmac_tb").rename(tmp / "Vtmac_tb")
    shutil.rmtree(tmp / "obj", ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:  # another process built it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return binary


def _hex(value: int, bits: int) -> str:
    return format(value, f"0{-(-bits // 4)}x")


def run(
    params: RtlParams,
    ops: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    timing: MemoryTiming | None = None,
    *,
    expected: Sequence[npt.ArrayLike] | None = None,
    cache: Path | None = None,
    workdir: Path | None = None,
    timeout_s: float = 600.0,
) -> RtlRun:
    """Run a sequence of matvecs through the RTL.

    Args:
        params: The RTL's parameters.
        ops: Each matvec's ``[rows, cols]`` ternary weights and ``[cols]`` integer
            activations, in order.
        timing: The memory (default: latency 1, a beat a cycle, no stalls).
        expected: Each matvec's expected results; the bench then checks every export
            beat against them.
        cache: Folder of builds (see :func:`build`).
        workdir: Write the run's files here (default: a temporary folder, removed).
        timeout_s: Wall-clock limit of the run.

    Returns:
        The cycles and the results.

    Raises:
        RtlUnsupportedError: A matrix the RTL cannot take.
        RtlToolError: Verilator is missing, or the build or the run failed.
    """
    timing = timing or MemoryTiming()
    if not ops:
        raise ValueError("no matvec to run")
    binary = build(params, cache)
    stream = weight_stream(params, [np.asarray(w) for w, _ in ops])
    keep = workdir is not None
    folder = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="tmac-run-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _write_inputs(folder, params, ops, stream.beats, stream.fills, expected)
        ppm = round(timing.stall_probability * 1_000_000)
        cmd = [
            str(binary),
            f"+dir={folder}",
            f"+latency={timing.latency_cycles}",
            f"+interval={timing.beat_interval_cycles}",
            f"+stall_ppm={ppm}",
            f"+seed={timing.seed}",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout_s)
        done = re.search(r"TMAC_DONE cycles=(\d+) beats=(\d+) mismatches=(\d+)", out.stdout)
        if out.returncode != 0 or done is None:
            raise RtlToolError(
                f"the RTL bench did not finish:\n{out.stdout[-3000:]}{out.stderr[-2000:]}"
            )
        ends = tuple(int(m.group(2)) for m in re.finditer(r"TMAC_OP (\d+) (\d+)", out.stdout))
        ev = re.search(
            r"TMAC_EVENTS adds=(\d+) steps=(\d+) bubbles=(\d+) wbuf_bytes=(\d+) mem_beats=(\d+)",
            out.stdout,
        )
        if ev is None:
            raise RtlToolError(f"the RTL bench printed no event counts:\n{out.stdout[-3000:]}")
        events = RtlEvents(*(int(g) for g in ev.groups()))
        words = [int(line, 16) for line in (folder / "out.hex").read_text().split()]
        results = []
        pos = 0
        for w, _ in ops:
            rows = np.asarray(w).shape[0]
            n = -(-rows * params.accumulator_bits // params.out_path_bits)
            results.append(
                from_beats(
                    words[pos : pos + n], rows, params.accumulator_bits, params.out_path_bits
                )
            )
            pos += n
        return RtlRun(
            cycles=int(done.group(1)),
            op_end_cycles=ends,
            results=tuple(results),
            mismatches=int(done.group(3)) if expected is not None else None,
            events=events,
        )
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _write_inputs(
    folder: Path,
    params: RtlParams,
    ops: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    beats: npt.NDArray[np.uint8],
    fills: Sequence[int],
    expected: Sequence[npt.ArrayLike] | None,
) -> None:
    bits = params.beat_bits
    lines = [_hex(int.from_bytes(b.tobytes(), "little"), bits) for b in beats]
    (folder / "weights.hex").write_text("\n".join(lines) + "\n")
    (folder / "fills.txt").write_text("\n".join(map(str, fills)) + "\n")
    shapes = []
    acts: list[str] = []
    lo, hi = -(1 << (params.activation_bits - 1)), (1 << (params.activation_bits - 1)) - 1
    for k, (w, x) in enumerate(ops):
        rows, cols = np.asarray(w).shape
        xv = np.asarray(x, dtype=np.int64).ravel()
        if xv.size != cols or (xv.size and (xv.min() < lo or xv.max() > hi)):
            raise RtlUnsupportedError(
                f"matvec {k}: {xv.size} activations for {cols} columns, each in {lo}..{hi}"
            )
        shapes.append(f"{rows} {cols}")
        acts += [
            _hex(v, params.act_path_bits)
            for v in to_beats(xv, params.activation_bits, params.act_path_bits)
        ]
    (folder / "ops.txt").write_text("\n".join(shapes) + "\n")
    (folder / "acts.hex").write_text("\n".join(acts) + "\n")
    if expected is not None:
        ex: list[str] = []
        for k, y in enumerate(expected):
            yv = np.asarray(y, dtype=np.int64).ravel()
            if yv.size != np.asarray(ops[k][0]).shape[0]:
                raise ValueError(f"matvec {k}: {yv.size} expected results for its rows")
            ex += [
                _hex(v, params.out_path_bits)
                for v in to_beats(yv, params.accumulator_bits, params.out_path_bits)
            ]
        (folder / "expect.hex").write_text("\n".join(ex) + "\n")
