"""Captured kernel lists: read from a profiler trace, stored in the file, replayed.

The trace is synthetic (the CPU profiler records no device kernels): a hand-written
Chrome-format trace with a cuBLAS product of a weight matrix (split-K: two kernels), an
attention over a KV cache, an inductor Triton kernel repeated per layer, and a copy with
no operator. The replay is checked against the GPU model's pricing of the same kernels
(exact: the same formula on the same bytes).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from arch_models.gpu_kernels import Kernel, KernelStep
from arch_models.spec import load_arch
from cosim.gpu_engine import simulate_gpu
from gpubench.replay import captured_call, captured_case, captured_step
from gpubench.schema import (
    CapturedKernel,
    baseline_from_dict,
    baseline_to_dict,
    read_baseline,
    write_baseline,
)
from tests.gpubench import sample

ROOT = Path(__file__).resolve().parents[2]


def _op(name: str, ext: int, dims: list[Any], types: list[str]) -> dict[str, Any]:
    args = {"External id": ext, "Input Dims": dims, "Input type": types}
    return {"ph": "X", "cat": "cpu_op", "name": name, "ts": ext, "dur": 5, "args": args}


def _dev(cat: str, name: str, ts: float, dur: float, ext: int | None, grid: list[int]) -> Any:
    args: dict[str, Any] = {"grid": grid, "block": [128, 1, 1]}
    if ext is not None:
        args["External id"] = ext
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "args": args}


BF = "c10::BFloat16"
TRACE = {
    "traceEvents": [
        _op("aten::mm", 1, [[1, 1024], [1024, 3072]], [BF, BF]),
        _dev("kernel", "gemv_splitk", 100, 8.0, 1, [96, 4, 1]),
        _dev("kernel", "splitk_reduce", 109, 1.0, 1, [24, 1, 1]),
        _op(
            "aten::_efficient_attention_forward",
            2,
            [[1, 16, 1, 64], [1, 16, 384, 64], [1, 16, 384, 64], [1, 1, 1, 384]],
            [BF, BF, BF, BF],
        ),
        _dev("kernel", "fmha", 120, 3.0, 2, [1, 16, 1]),
        *[
            e
            for layer in range(2)
            for e in (
                _op(
                    "triton_poi_fused_add_rms_norm_0",
                    10 + layer,
                    [[1, 1024], [1024], [1, 1024]],
                    [BF, BF, BF],
                ),
                _dev(
                    "kernel",
                    "triton_poi_fused_add_rms_norm_0",
                    130 + layer * 10,
                    2.0,
                    10 + layer,
                    [1, 1, 1],
                ),
            )
        ],
        _dev("gpu_memcpy", "Memcpy DtoD (Device -> Device)", 160, 1.0, None, []),
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 1, "dur": 1},
    ]
}


def _captured() -> tuple[int, list[CapturedKernel]]:
    torch = pytest.importorskip("torch")
    from gpubench.kernel_list import kernels_from_trace, param_signatures

    weight = torch.empty(3072, 1024, dtype=torch.bfloat16, device="meta")
    return kernels_from_trace(TRACE, param_signatures([weight]))


def test_kernels_from_a_trace() -> None:
    n, kernels = _captured()
    assert n == 6
    by = {k.name: k for k in kernels}
    assert list(by) == [
        "gemv_splitk",
        "splitk_reduce",
        "fmha",
        "triton_poi_fused_add_rms_norm_0",
        "Memcpy DtoD (Device -> Device)",
    ]
    mm = by["gemv_splitk"]  # the longer kernel of the product carries its bytes
    assert mm.param_bytes == 3072 * 1024 * 2 and mm.reads == [1024 * 2]
    assert mm.writes == [3072 * 2] and mm.flops == 2 * 3072 * 1024 and mm.tensor_core
    assert mm.grid == [96, 4, 1] and mm.op == "aten::mm" and mm.bytes_known
    red = by["splitk_reduce"]
    assert red.reads == [] and red.param_bytes == 0 and red.bytes_known
    att = by["fmha"]
    assert att.flops == 4 * 16 * 384 * 64 and att.tensor_core and att.writes == [16 * 64 * 2]
    assert att.reads == [16 * 64 * 2, 16 * 384 * 64 * 2, 16 * 384 * 64 * 2, 384 * 2]
    fused = by["triton_poi_fused_add_rms_norm_0"]
    assert fused.count == 2 and fused.duration_us == 2.0 and fused.reads == [2048, 2048, 2048]
    copy = by["Memcpy DtoD (Device -> Device)"]
    assert copy.kind == "memcpy" and not copy.bytes_known and copy.op == ""


def _with_captured(kernels: list[CapturedKernel]) -> Any:
    b = sample.baseline()
    cases = [
        dataclasses.replace(
            c,
            impl="transformer_compiled",
            captured_kernels=kernels,
            compile_s=41.5,
            step_bytes=10**9,
            hbm_bound_ms=0.25,
            hbm_bound_pct=80.0,
        )
        if c.status == "ok"
        else c
        for c in b.cases
    ]
    return dataclasses.replace(b, cases=cases)


def test_schema_round_trip_with_the_new_fields(tmp_path: Path) -> None:
    _, kernels = _captured()
    b = _with_captured(kernels)
    assert read_baseline(write_baseline(tmp_path / "b.json", b)) == b
    data = baseline_to_dict(b)
    data["cases"][0]["captured_kernels"][0]["kind"] = "warp"
    data["cases"][0]["captured_kernels"][0]["count"] = -1
    with pytest.raises(Exception, match="2 problems") as err:
        baseline_from_dict(data)
    assert "captured_kernels[0].kind" in str(err.value.problems)  # type: ignore[attr-defined]


def test_older_files_still_read() -> None:
    data = baseline_to_dict(sample.baseline())
    for c in data["cases"]:
        for name in ("compile_s", "step_bytes", "hbm_bound_ms", "hbm_bound_pct"):
            c.pop(name)
        c.pop("captured_kernels")
    b = baseline_from_dict(data)
    ok = next(c for c in b.cases if c.status == "ok")
    assert ok.captured_kernels == [] and ok.hbm_bound_pct is None
    assert read_baseline(ROOT / "baselines" / "h200.json").cases  # the measured file


def _kernel(
    name: str,
    reads: tuple[int, ...],
    writes: tuple[int, ...],
    param: int,
    flops: int,
    tc: bool,
    blocks: int,
) -> Kernel:
    call = captured_call("370m", 1, name, blocks)
    return Kernel(name, reads, writes, param, flops, tc, call, blocks)


def test_replay_of_a_captured_list() -> None:
    kernels = [
        CapturedKernel(
            "gemv",
            "kernel",
            24,
            [132, 1, 1],
            [128, 1, 1],
            9.0,
            "aten::mm",
            [2048],
            [6144],
            3072 * 1024 * 2,
            2 * 3072 * 1024,
            True,
            True,
        ),
        CapturedKernel(
            "triton_fused",
            "kernel",
            48,
            [4, 1, 1],
            [256, 1, 1],
            2.0,
            "triton",
            [2048, 2048],
            [],
            2048,
            1024,
            False,
            True,
        ),
        CapturedKernel("Memcpy", "memcpy", 1, [], [], 1.0, "", [], [], 0, 0, False, False),
    ]
    baseline = _with_captured(kernels)
    case = captured_case(baseline, "370m", "transformer_compiled", 1)
    assert case is not None and captured_case(baseline, "370m", "fused", 1) is None
    step = captured_step(case)
    assert len(step.kernels) == 24 + 48 + 1 and step.impl == "transformer_compiled"
    assert step.kernels[0] == _kernel(
        "gemv", (2048,), (6144,), 3072 * 1024 * 2, 2 * 3072 * 1024, True, 132
    )
    assert step.param_bytes_total == case.weight_bytes
    arch = load_arch(ROOT / "examples" / "h200.yaml")
    real = read_baseline(ROOT / "baselines" / "h200.json")  # its microbenchmarks price it
    expected = KernelStep(step.impl, step.model, step.batch, step.kernels, step.param_bytes_total)
    for launch in ("graph", "eager"):
        got = simulate_gpu(arch, step, launch, real)
        same = simulate_gpu(arch, expected, launch, real)
        assert got.ms_per_token == same.ms_per_token > 0
        assert got.gpu is not None and got.gpu.kernels_per_step == 73
    graph = simulate_gpu(arch, step, "graph", real)
    weights = 24 * 3072 * 1024 * 2
    assert graph.gpu is not None and graph.gpu.hbm_bytes_per_step >= weights
    # a floor per kernel plus the weights at the measured bandwidth, at least
    assert graph.ms_per_token > weights / 5e12 * 1e3


def test_an_embedding_lookup_reads_one_row_per_token() -> None:
    """The profiler records the whole table as a lookup's operand; a gather reads a row a token."""
    from gpubench.replay import gathered_param_bytes
    from gpubench.shapes import get_shape

    shape = get_shape("1.3b")
    table = shape.vocab * shape.d * 2
    row = shape.d * 2
    fused = "triton_red_fused_abs_add_amax_embedding_mean_0"
    assert gathered_param_bytes(fused, fused, table, 1, shape.vocab) == row
    assert gathered_param_bytes("k", "aten::embedding", table, 16, shape.vocab) == 16 * row
    # any other kernel reads its weight operands whole (an output head of the same shape)
    assert gathered_param_bytes("nvjet_gemv", "aten::mm", table, 16, shape.vocab) == table
    lookup = CapturedKernel(
        fused, "kernel", 1, [1, 1, 1], [512, 1, 1], 3.0, fused, [8, 4096], [], table, 0, False, True
    )
    base = _with_captured([lookup])
    case = dataclasses.replace(
        next(c for c in base.cases if c.captured_kernels), model="1.3b", batch=16
    )
    (kernel,) = captured_step(case).kernels
    assert kernel.param_bytes == 16 * row
