"""The harness end to end on the CPU: a tiny model, NVML absent, the file it writes."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from gpubench.__main__ import main  # noqa: E402
from gpubench.errors import BaselineError  # noqa: E402
from gpubench.measure import (  # noqa: E402
    MeasureOptions,
    count_gpu_ops,
    estimate_seconds,
    measure,
)
from gpubench.schema import IMPLS, read_baseline  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.torch

POWER = ("avg_power_w", "energy_per_token_j", "energy_avg_power_w", "idle_power_w")


def test_every_case_recorded(measured: Path) -> None:
    b = read_baseline(measured)
    assert [c.key for c in b.cases] == [
        ("tiny", impl, launch, batch)
        for impl in IMPLS
        for batch in (1, 2)
        for launch in ("eager", "graph")
    ]
    run = b.runs[0]
    assert run.complete and run.environment.device == "cpu"
    assert run.environment.command.startswith("python -m gpubench measure --out ")
    assert run.settings.prompt_tokens == 6 and run.settings.gen_tokens == 6


def test_eager_cases_measured(measured: Path) -> None:
    b = read_baseline(measured)
    for c in b.cases:
        if c.launch == "graph":
            assert c.status == "skipped" and c.reason == "CUDA graphs need a CUDA device"
            continue
        assert c.status == "ok", c.reason
        assert c.prefill_ms and c.decode_ms_per_token and c.tokens_per_s and c.weight_bytes
        assert c.decode_ms_p10 <= c.decode_ms_per_token <= c.decode_ms_p90  # type: ignore[operator]
        assert c.tokens_per_s == pytest.approx(c.batch * 1e3 / c.decode_ms_per_token)
        assert c.power_tokens == c.gen_tokens * c.batch
        assert c.host_probe_us and c.host_probe_after_us  # the host's speed, both sides
        assert 0 < c.decode_host_cpu_ms_per_token <= 1.5 * c.decode_wall_ms_per_token  # type: ignore[operator]
        assert len(c.check_tokens) == 3  # the prefill's choice and two warm-up steps
        # the tagged pass: every step alone, a host-speed probe before the first and after each
        assert len(c.tagged_ms) == 6 and len(c.tagged_probe_us) == 7
        assert c.host_speed_us and c.host_quiet_ref_us and c.quiet_steps is not None
        # six tagged steps are fewer than a quiet median needs: null, with the reason
        assert c.decode_quiet_ms_per_token is None
        assert "tagged steps" in c.null_reasons["decode_quiet_ms_per_token"]


def test_power_null_with_reason(measured: Path) -> None:
    b = read_baseline(measured)
    for c in (c for c in b.cases if c.status == "ok"):
        for key in (*POWER, "sm_clock_mhz", "mem_clock_mhz", "peak_memory_gib", "kernels_per_step"):
            assert getattr(c, key) is None
            assert c.null_reasons[key], key
        assert "NVML" in c.null_reasons["avg_power_w"]
    idle = b.runs[0].idle
    assert idle.avg_power_w is None and "NVML" in idle.null_reasons["avg_power_w"]


def test_same_tokens_reference_dense(measured: Path) -> None:
    """Quantising once holds the very values re-quantising gives: same greedy tokens."""
    b = read_baseline(measured)
    for batch in (1, 2):
        ref = b.case("tiny", "reference", "eager", batch)
        dense = b.case("tiny", "dense", "eager", batch)
        assert ref and dense and ref.check_tokens == dense.check_tokens
    assert not [n for n in b.notes if n.startswith("check:")]


def test_micro_on_cpu(measured: Path) -> None:
    m = read_baseline(measured).runs[0].micro
    assert m is not None and m.status == "ok" and m.errors == []
    assert [x.name for x in m.bandwidth] == ["hbm_read", "hbm_copy", "l2_read"]
    assert m.launch_eager_us and m.launch_eager_us > 0
    assert m.launch_graph_node_us is None and "CUDA" in m.null_reasons["launch_graph_node_us"]
    assert m.hbm_power is None and "NVML" in m.null_reasons["hbm_power"]
    assert {(g.matrix, g.batch, g.kind) for g in m.gemv} == {
        (mat, b, k)
        for mat in ("attn", "gate_up", "down", "head")
        for b in (1, 2)
        for k in ("bf16", "packed")
    }


def test_micro_part_failure_is_contained(monkeypatch: pytest.MonkeyPatch, one_thread: None) -> None:
    from gpubench import micro
    from gpubench.power import PowerMonitor
    from gpubench.shapes import get_shape

    def broken(*args: object) -> float:
        raise RuntimeError("no tensor cores today")

    monkeypatch.setattr(micro, "_gemm", broken)
    m = micro.run_micro(
        [get_shape("tiny")], torch.device("cpu"), PowerMonitor(enabled=False), log=lambda _: None
    )
    assert m.gemm_tflops is None and m.errors == ["gemm: RuntimeError: no tensor cores today"]
    assert m.null_reasons["gemm_tflops"] == m.errors[0]
    assert len(m.gemv) == 16 and m.bandwidth


def test_show_and_merge_entry_point(
    measured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(measured)]) == 0
    out = capsys.readouterr().out
    assert "run 0: cpu" in out and "transformer" in out and "GEMV" in out
    merged = tmp_path / "m.json"
    assert main(["merge", str(measured), str(measured), "--out", str(merged)]) == 0
    b = read_baseline(merged)
    assert len(b.runs) == 2 and len(b.cases) == 4 * len(IMPLS)


def test_budget_skips_and_file_is_partial(tmp_path: Path, one_thread: None) -> None:
    out = tmp_path / "p.json"
    opts = MeasureOptions(
        out=out,
        models=("tiny",),
        impls=("dense", "transformer"),
        batches=(1,),
        launches=("eager",),
        prompt_tokens=4,
        gen_tokens=4,
        warmup_steps=1,
        prefill_reps=1,
        power_window_s=0.0,
        idle_s=0.0,
        micro=False,
        counts=False,
        time_budget_s=0.0,
        command="test",
    )
    lines: list[str] = []
    b = measure(opts, lines.append)
    assert [c.status for c in b.cases] == ["skipped", "skipped"]
    assert b.cases[0].reason == "time budget exhausted"
    written = read_baseline(out)
    assert not written.runs[0].complete and written.runs[0].micro is None
    assert any("estimated" in line for line in lines)


def test_kernel_counter_counts_something(one_thread: None) -> None:
    x = torch.randn(8)
    assert count_gpu_ops(lambda: (x + 1).mul(2), torch.device("cpu")) >= 2


def test_options_refused_all_at_once(tmp_path: Path) -> None:
    opts = MeasureOptions(
        out=tmp_path / "x.json", models=("7b",), impls=("fast",), batches=(0,), launches=("lazy",)
    )
    with pytest.raises(BaselineError) as info:
        opts.check()
    assert len(info.value.problems) == 4


def test_dry_run_and_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "--out", "unused.json", "--dry-run"]) == 0
    assert f"{12 * len(IMPLS)} cases; estimated" in capsys.readouterr().out
    full = MeasureOptions(out=Path("x"), impls=("reference", "dense", "packed", "transformer"))
    first = dataclasses.replace(full, models=("370m", "1.3b"))
    second = dataclasses.replace(full, models=("2.7b",))
    assert 120 < estimate_seconds(first) < 540 and 60 < estimate_seconds(second) < 540
    # the engineer's Transformer++ and the compiled variants: one model per device call
    new = ("transformer_fast", "dense_compiled", "transformer_compiled")
    for model in ("370m", "1.3b", "2.7b"):
        one = dataclasses.replace(full, models=(model,), impls=new)
        assert 240 < estimate_seconds(one) < 540


def test_bad_option_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "--out", str(tmp_path / "x.json"), "--models", "7b"]) == 2
    assert "'7b' is not in the supported list" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_harness_imports_only_what_the_gpu_machine_has() -> None:
    """The GPU machine has torch, triton, numpy, pandas, pyarrow, pyyaml, rich and pynvml.

    Not pydantic, simpy, optuna, dash, plotly or kaleido: so nothing of the layers above
    the harness, nor of ``arch_models`` beyond its kernel records.
    """
    code = (
        "import sys, gpubench.__main__, gpubench.measure, gpubench.micro, gpubench.opcost\n"
        "bad = ('pydantic', 'simpy', 'optuna', 'dash', 'plotly', 'kaleido', 'cosim',\n"
        "       'explorer', 'dashboards', 'cosim_cli')\n"
        "allowed = ('arch_models', 'arch_models.gpu_kernels')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad\n"
        "             or (m.startswith('arch_models') and m not in allowed)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_opcost_host_section_on_the_cpu() -> None:
    """The host microbenchmarks run anywhere; NVML windows say why they are absent."""
    from gpubench.opcost import host_costs, power_windows
    from gpubench.opcost import main as opcost_main

    cpu = torch.device("cpu")
    h = host_costs(cpu, models=("tiny",), calls=20)
    for key in (
        "probe_us",
        "loop_us",
        "view_us",
        "transpose_us",
        "module_us",
        "method_us",
        "aten_us",
    ):
        assert h[key] > 0, key
    assert h["triton"] and all(r["call"].startswith("triton.packed_matmul|") for r in h["triton"])
    # the method-vs-aten pair and the round-robin of operators, with the probe beside
    assert math.isfinite(h["method_minus_aten_us"])
    assert h["speed_probes"]["method_minus_aten_us"] > 0
    assert [r["k"] for r in h["mix"]["rows"]] == [1, 2, 4, 8, 16, 32]
    assert all(r["rel"] > -1 and r["us"] > 0 for r in h["mix"]["rows"])
    assert "null_reason" in power_windows(cpu)
    with pytest.raises(SystemExit):
        opcost_main(["--out", "x.json", "--sections", "calls,bogus"])


def test_host_glue_on_the_cpu() -> None:
    """The Python between operators: a step against its replay, pair by pair."""
    from gpubench.hostglue import GLUE_IMPLS, measure_glue

    g = measure_glue(reps=3, calls=50)
    assert [r["impl"] for r in g["rows"]] == list(GLUE_IMPLS)
    for r in g["rows"]:
        assert r["kernels"] > 0 and r["step_us"] > 0 and r["replay_us"] > 0
        assert r["loops_us"] > 0 and r["probe_us"] > 0
        assert math.isfinite(r["glue_per_probe"])
    assert set(g["per_kernel"]) == set(GLUE_IMPLS)


def test_mix_of_the_implementations_own_calls_on_the_cpu() -> None:
    """One host-bound call per operator, real shapes, shuffled; device-bound ones left out."""
    from gpubench.opcost import dispatch_mix, distinct_calls, mix_of_calls

    calls = distinct_calls(("tiny",))
    rows = [{"op": n, "key": k, "eager_us": 5.0, "graph_us": 1.0} for n, k in calls]
    rows[0] = {**rows[0], "graph_us": 50.0}  # device-bound: a round-robin would queue it
    rows.append({"op": "aten.bogus.default", "key": "{}", "error": "failed"})
    ops, names = mix_of_calls(rows, torch.device("cpu"), most=6)
    assert len(ops) == len(names) == 6 and len(set(names)) == 6
    assert names == mix_of_calls(rows, torch.device("cpu"), most=6)[1]  # the seed's order
    with torch.inference_mode():
        for fn in ops:
            fn()
        mix = dispatch_mix(torch.device("cpu"), calls=64, reps=2, ops=ops)
    assert [r["k"] for r in mix["rows"]] == [1, 2, 4]  # sizes up to the calls there are
