"""The device operations one decode step actually runs, by the profiler, for the baseline file.

Compiled and Triton-fused code cannot be traced on the meta device
(:mod:`gpubench.capture`): what it launches is decided when it is compiled. So the
harness profiles one eager step of it on the GPU (``torch.profiler`` with the operators'
shapes recorded), exports the trace in Chrome's format and reads it here
(:func:`kernels_from_trace`): each kernel, copy and set with its name, grid and block
and device time, linked through its ``External id`` to the host operator that launched
it, whose recorded operand shapes and types give the bytes it reads, how many of them
are weight matrices of the model (an operand shaped like one), the bytes a matrix
product or attention writes and its FLOPs. Where an operator launches several kernels
(a split-K product, attention), its bytes go to the longest of them. Identical launches
(one per layer) become one :class:`~gpubench.schema.CapturedKernel` with a count.
The GPU model replays the list (:mod:`gpubench.replay`).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from gpubench.schema import CapturedKernel, KernelKind
from gpubench.timing import sync

__all__ = ["kernels_from_trace", "param_signatures", "profile_step"]

#: Element sizes of the type names the profiler records for tensor operands.
_ELEMENT_BYTES = {
    "c10::BFloat16": 2,
    "c10::Half": 2,
    "float": 4,
    "double": 8,
    "long int": 8,
    "int": 4,
    "short int": 2,
    "signed char": 1,
    "unsigned char": 1,
    "bool": 1,
    "c10::Float8_e4m3fn": 1,
    "c10::Float8_e5m2": 1,
}
_KINDS: dict[str, KernelKind] = {"kernel": "kernel", "gpu_memcpy": "memcpy", "gpu_memset": "memset"}
_MATMUL = ("::mm", "::addmm", "::bmm", "::matmul", "::linear", "::baddbmm")

#: A weight matrix's signature: its dimensions sorted (a transposed view matches) and
#: its element size.
Signature = tuple[tuple[int, ...], int]


def param_signatures(tensors: Iterable[torch.Tensor]) -> frozenset[Signature]:
    """Signatures of a model's matrices (2 or more dimensions) for :func:`kernels_from_trace`."""
    return frozenset(
        (tuple(sorted(int(n) for n in t.shape)), t.element_size()) for t in tensors if t.dim() >= 2
    )


def _operands(args: dict[str, Any]) -> list[tuple[list[int], int]]:
    """``(dims, element bytes)`` of each tensor operand an operator event recorded."""
    dims = args.get("Input Dims") or []
    types = args.get("Input type") or []
    out = []
    for d, t in zip(dims, types, strict=False):
        size = _ELEMENT_BYTES.get(str(t))
        if size is None or not isinstance(d, list) or not d:
            continue
        if not all(isinstance(n, int) for n in d):
            continue  # a tensor list
        out.append(([int(n) for n in d], size))
    return out


def _describe(op: str, args: dict[str, Any], params: frozenset[Signature]) -> dict[str, Any]:
    """Bytes and FLOPs of a host operator from its recorded operands."""
    ops = _operands(args)
    reads: list[int] = []
    param = 0
    elements = 0
    for d, size in ops:
        n = math.prod(d) * size
        if len(d) >= 2 and (tuple(sorted(d)), size) in params:
            param += n
        else:
            reads.append(n)
            elements += math.prod(d)
    writes: list[int] = []
    flops = elements
    tensor_core = False
    low = op.lower()
    if any(low.endswith(m) for m in _MATMUL) and len(ops) >= 2:
        a, b = (ops[1], ops[2]) if low.endswith("::addmm") and len(ops) >= 3 else (ops[0], ops[1])
        m = math.prod(a[0][:-1])
        k = a[0][-1]
        n = b[0][0] if low.endswith("::linear") else b[0][-1]
        flops, tensor_core = 2 * m * n * k, True
        writes = [m * n * a[1]]
    elif "attention" in low and len(ops) >= 3 and len(ops[0][0]) == 4 and len(ops[1][0]) == 4:
        (bq, hq, tq, dq), tk = ops[0][0], ops[1][0][2]
        flops, tensor_core = 4 * bq * hq * tq * tk * dq, True
        writes = [math.prod(ops[0][0]) * ops[0][1]]
    return {
        "reads": reads,
        "writes": writes,
        "param_bytes": param,
        "flops": flops,
        "tensor_core": tensor_core,
        "bytes_known": bool(ops),
    }


def _dims3(value: Any) -> list[int]:
    if isinstance(value, list) and all(isinstance(n, int) for n in value):
        return [int(n) for n in value]
    return []


def kernels_from_trace(
    trace: dict[str, Any], params: frozenset[Signature]
) -> tuple[int, list[CapturedKernel]]:
    """Read a profiled step's device operations from its Chrome-format trace.

    Args:
        trace: The exported trace (``{"traceEvents": [...]}``).
        params: The model's matrix signatures (:func:`param_signatures`).

    Returns:
        The number of device operations, and the distinct ones with their counts in the
        order they first ran.
    """
    events = [e for e in trace.get("traceEvents", []) if isinstance(e, dict)]
    ops: dict[int, tuple[str, dict[str, Any]]] = {}
    for e in events:
        if e.get("cat") in ("cpu_op", "user_annotation") and e.get("ph") == "X":
            args = e.get("args") or {}
            ext = args.get("External id")
            if isinstance(ext, int) and (ext not in ops or "Input Dims" in args):
                ops[ext] = (str(e.get("name", "")), args)
    device = sorted(
        (e for e in events if e.get("cat") in _KINDS and e.get("ph") == "X"),
        key=lambda e: float(e.get("ts", 0.0)),
    )
    longest: dict[int, int] = {}
    for i, e in enumerate(device):
        ext = (e.get("args") or {}).get("External id")
        if isinstance(ext, int) and ext in ops:
            j = longest.get(ext)
            if j is None or float(e.get("dur", 0.0)) > float(device[j].get("dur", 0.0)):
                longest[ext] = i
    owner = {i: ext for ext, i in longest.items()}
    empty = {"reads": [], "writes": [], "param_bytes": 0, "flops": 0, "tensor_core": False}
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for i, e in enumerate(device):
        args = e.get("args") or {}
        ext = args.get("External id")
        op_name = ops[ext][0] if isinstance(ext, int) and ext in ops else ""
        if i in owner:
            work = _describe(op_name, ops[owner[i]][1], params)
        else:  # a second kernel of one operator, or one with no operator recorded
            known = bool(op_name) and isinstance(ext, int) and ext in longest
            work = {**empty, "bytes_known": known}
        key = (
            str(e.get("name", "")),
            _KINDS[str(e["cat"])],
            tuple(_dims3(args.get("grid"))),
            tuple(_dims3(args.get("block"))),
            op_name,
            tuple(work["reads"]),
            tuple(work["writes"]),
            work["param_bytes"],
            work["flops"],
            work["tensor_core"],
            work["bytes_known"],
        )
        groups.setdefault(key, []).append(float(e.get("dur", 0.0)))
    kernels = [
        CapturedKernel(
            name=k[0],
            kind=k[1],
            count=len(durs),
            grid=list(k[2]),
            block=list(k[3]),
            duration_us=sum(durs) / len(durs),
            op=k[4],
            reads=list(k[5]),
            writes=list(k[6]),
            param_bytes=k[7],
            flops=k[8],
            tensor_core=k[9],
            bytes_known=k[10],
        )
        for k, durs in groups.items()
    ]
    return len(device), kernels


def profile_step(
    fn: Callable[[], Any], device: torch.device, params: Sequence[torch.Tensor]
) -> tuple[int, list[CapturedKernel]]:
    """Profile one call of ``fn`` (a decode step) and read its device operations.

    Args:
        fn: One decode step (eager, or a compiled step's generated code).
        device: A CUDA device (on a CPU no device operation is recorded).
        params: The model's parameters and buffers (to tell weight reads from others).

    Returns:
        See :func:`kernels_from_trace`.
    """
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    sync(device)
    with profile(activities=activities, record_shapes=True) as prof:
        fn()
        sync(device)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "step.json"
        prof.export_chrome_trace(str(path))
        trace = json.loads(path.read_text(encoding="utf-8"))
    return kernels_from_trace(trace, param_signatures(params))
