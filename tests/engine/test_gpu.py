"""The GPU model: kernels captured from the code, calibration from microbenchmarks only."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from statistics import median

import pytest

from arch_models.gpu_model import GpuModel, dispatch_penalty, reuse_distances
from arch_models.spec import load_arch
from arch_models.spec.units import GpuSms
from cosim.gpu_calibration import calibrate_from_baseline, load_opcost, quiet_reference_of
from cosim.gpu_engine import calibrated_arch, simulate_gpu
from gpubench.capture import capture_harness_step
from gpubench.schema import default_baseline_path, read_baseline
from tests.conftest import EXAMPLES, ROOT

BASELINE = read_baseline(default_baseline_path())
OPCOST = load_opcost(default_baseline_path()) or {}
ARCH = load_arch(EXAMPLES / "h200.yaml")


def test_capture_matches_profiled_kernel_counts() -> None:
    """What the tracer sees is what the profiler counted on the H200 (within 12%)."""
    cases = [c for c in BASELINE.cases if (c.model, c.launch, c.batch) == ("370m", "eager", 1)]
    assert len(cases) == 4  # one per implementation
    for case in cases:
        step = capture_harness_step("370m", case.impl, 1)
        assert case.kernels_per_step
        assert abs(len(step.kernels) - case.kernels_per_step) / case.kernels_per_step < 0.12


def test_reference_rereads_every_weight() -> None:
    ref = capture_harness_step("370m", "reference", 1)
    dense = capture_harness_step("370m", "dense", 1)
    moved = lambda step: sum(k.read_bytes + k.write_bytes for k in step.kernels)  # noqa: E731
    # Re-quantising every weight on every call reads and writes weight-sized tensors.
    assert moved(ref) >= 3 * moved(dense)
    packed = capture_harness_step("370m", "packed", 1)
    assert sum(k.param_bytes for k in packed.kernels) < sum(k.param_bytes for k in dense.kernels)


def test_calibration_uses_microbenchmarks() -> None:
    cal = calibrate_from_baseline(BASELINE, OPCOST)
    assert 3000 < cal.hbm_gb_per_s < 4800  # the datasheet's 4.8 TB/s is a ceiling
    assert cal.calibration.active_idle_w > min(r.idle.avg_power_w or 0 for r in BASELINE.runs)
    assert cal.calibration.w_per_tb_s > 0 and cal.calibration.kernel_us


@pytest.mark.parametrize("impl", ["dense", "transformer"])
def test_graph_predictions_track_measurement(impl: str) -> None:
    """Regression guard on the shipped calibration: graph decode within 25%."""
    cases = [c for c in BASELINE.cases if (c.model, c.impl, c.launch) == ("370m", impl, "graph")]
    assert len(cases) == 2  # batch 1 and 16
    for case in cases:
        s = simulate_gpu(
            ARCH, capture_harness_step("370m", impl, case.batch), "graph", BASELINE, OPCOST
        )
        assert case.decode_ms_per_token
        err = abs(s.ms_per_token - case.decode_ms_per_token) / case.decode_ms_per_token
        assert err < 0.25, (case.batch, s.ms_per_token, case.decode_ms_per_token)


def test_the_prompt_pass_is_traced_and_predicted_as_the_time_to_first_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 128-token prompt: every weight read once for all positions, more work than a step."""
    from cosim.gpu_engine import predict_gpu_prefill_ms
    from gpubench.capture import capture_harness_prefill

    prompt = capture_harness_prefill("370m", "transformer", 1, 128)
    step = capture_harness_step("370m", "transformer", 1)
    assert prompt.flops > 100 * step.flops
    ttft = predict_gpu_prefill_ms(ARCH, prompt, "graph", BASELINE, OPCOST)
    decode = simulate_gpu(ARCH, step, "graph", BASELINE, OPCOST).ms_per_token
    assert 0 < ttft < 128 * decode  # one pass over the weights, not 128
    with pytest.raises(ValueError, match="at least one token"):
        capture_harness_prefill("370m", "transformer", 1, 0)
    with pytest.raises(ValueError, match="cannot be traced"):
        capture_harness_prefill("370m", "fused", 1, 8)

    import json

    from cosim_cli.main import main

    args = ["simulate", str(EXAMPLES / "h200.yaml"), "--model", "370m", "--json"]
    assert main([*args, "--impl", "transformer", "--prompt-tokens", "128"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["time_to_first_token_ms"] == pytest.approx(ttft) and out["prompt_tokens"] == 128


def test_graph_never_slower_than_eager() -> None:
    for impl in ("reference", "dense", "packed", "transformer"):
        g = simulate_gpu(ARCH, capture_harness_step("370m", impl, 1), "graph", BASELINE, OPCOST)
        e = simulate_gpu(ARCH, capture_harness_step("370m", impl, 1), "eager", BASELINE, OPCOST)
        assert g.ms_per_token <= e.ms_per_token
        assert g.energy_per_token_j > 0


def test_kv_cache_update_writes_one_position() -> None:
    """``index_copy_`` returns the whole cache but writes only the new keys/values."""
    step = capture_harness_step("370m", "transformer", 16)
    updates = [k for k in step.kernels if k.name.startswith("aten.index_copy_")]
    assert updates
    per_position = 16 * 1024 * 2  # batch x d x bf16, one position of one cache
    assert all(sum(k.writes) == per_position for k in updates)


def test_the_kv_cache_is_state_read_from_hbm_like_the_weights() -> None:
    """Attention's key and value operands are decode state: read from HBM once L2 is full.

    At batch 16 the 370M Transformer++'s cache (16 x 384 positions x 1024 x bf16 a
    tensor) is smaller than the per-tensor residency size, but it was written in earlier
    steps with the whole model streamed in between: it is charged to HBM, not to L2.
    """
    from arch_models.gpu_kernels import attention_state

    assert attention_state("aten::_cudnn_attention_forward", (8, 20, 30, 4)) == ((8, 4), (20, 30))
    assert attention_state("aten::mm", (8, 20, 30)) == ((8, 20, 30), ())
    cache = 16 * 384 * 1024 * 2
    for impl in ("transformer", "transformer_fast"):
        step = capture_harness_step("370m", impl, 16)
        sdpa = [k for k in step.kernels if "attention" in k.name]
        assert len(sdpa) == 24 and all(k.state == (cache, cache) for k in sdpa)
        assert step.state_bytes_total == 24 * 2 * cache
        gpu = GpuModel(
            calibrated_arch(ARCH, calibrate_from_baseline(BASELINE, OPCOST)),
            calibrate_from_baseline(BASELINE, OPCOST).calibration,
        )
        r = gpu.run_step(step, "graph")
        stateless = tuple(
            dataclasses.replace(k, reads=(*k.reads, *k.state), state=()) for k in step.kernels
        )
        as_activations = gpu.run_step(dataclasses.replace(step, kernels=stateless), "graph")
        assert r.hbm_bytes - as_activations.hbm_bytes == step.state_bytes_total
        # a toy step small enough for L2 keeps its state there
        tiny = dataclasses.replace(step, kernels=sdpa[:1], param_bytes_total=0)
        assert gpu.run_step(tiny, "graph").hbm_bytes == 0


def test_capture_counts_what_costs_the_host_without_a_kernel() -> None:
    step = capture_harness_step("370m", "dense", 1)
    # 24 blocks x (block, token mixer, channel mixer, norms, BitLinears...) at least
    assert step.module_calls > 24 * 5
    assert 0 < step.host_only_ops < len(step.kernels)
    packed = capture_harness_step("370m", "packed", 1)
    assert packed.host_only_ops > step.host_only_ops  # the Triton wrapper's reshapes


def test_host_costs_from_the_op_cost_file() -> None:
    """Views, module calls and the Triton launcher cost eager decode host time."""
    host = OPCOST["host"]
    cal = calibrate_from_baseline(BASELINE, OPCOST).calibration
    ref = quiet_reference_of(BASELINE)
    assert ref is not None  # the shipped baseline has its quiet host reference
    probes = host["speed_probes"]

    def at_quiet(name: str) -> float:  # measured beside a probe, priced at the reference
        return float(host[name] * ref / probes[name])

    assert cal.module_call_us == pytest.approx(at_quiet("module_us") - at_quiet("loop_us"))
    bound = next(
        r for r in OPCOST["calls"] if "error" not in r and r["eager_us"] > 3 * r["graph_us"]
    )
    reps = zip(bound["eager_reps_us"], bound["probe_reps_us"], strict=True)
    eager = median(e * ref / p for e, p in reps)
    # a tensor method vs torch.ops.aten, timed in alternating loops
    method = at_quiet("method_minus_aten_us")
    assert method < 0  # the op packet's Python __call__ costs more than the bound method
    assert cal.host_us[f"{bound['op']}|{bound['key']}"] == pytest.approx(eager + method)
    triton = [k for k in cal.host_us if k.startswith("triton.packed_matmul")]
    assert len(triton) == len(host["triton"])
    without = {k: v for k, v in OPCOST.items() if k != "host"}
    bare = simulate_gpu(ARCH, capture_harness_step("370m", "packed", 1), "eager", BASELINE, without)
    full = simulate_gpu(ARCH, capture_harness_step("370m", "packed", 1), "eager", BASELINE, OPCOST)
    assert full.ms_per_token != bare.ms_per_token


def test_packed_gemv_power_scales_with_the_sms_it_occupies() -> None:
    """The packed GEMV's extra watts come from its NVML window, weighted by occupancy."""
    from arch_models.gpu_model import GpuModel
    from cosim.gpu_engine import calibrated_arch
    from gpubench.kernels import packed_grid

    cal = calibrate_from_baseline(BASELINE, OPCOST)
    assert cal.calibration.w_packed_busy > 50  # 326 W at 0.15 TB/s vs a ~128 W floor
    step = capture_harness_step("370m", "packed", 1)
    packed = [k for k in step.kernels if k.name == "triton.packed_matmul"]
    assert packed and all(k.blocks == packed_grid(1, k.writes[0] // 2) for k in packed)
    gpu = GpuModel(calibrated_arch(ARCH, cal), cal.calibration)
    r = gpu.run_step(step, "graph")
    assert 0 < r.packed_sm_ns < sum(gpu.kernel_ns(k, False)[0] for k in packed)
    without = dataclasses.replace(cal.calibration, w_packed_busy=0.0)
    extra = gpu.power_w(r) - GpuModel(calibrated_arch(ARCH, cal), without).power_w(r)
    assert extra == pytest.approx(cal.calibration.w_packed_busy * r.packed_sm_ns / r.ns)


def test_host_times_convert_to_the_baselines_quiet_host_speed() -> None:
    """A call timed while the host probe read twice the quiet reference costs half."""
    row = next(r for r in OPCOST["calls"] if "error" not in r and r["eager_us"] > 3 * r["graph_us"])
    call = f"{row['op']}|{row['key']}"
    slow = {**row, "eager_reps_us": [2 * row["eager_us"]] * 5, "probe_reps_us": [400.0] * 5}
    calls = [slow if r is row else r for r in OPCOST["calls"]]
    bare = {"calls": calls}  # no host section: no tensor-method correction to separate out

    def host_us(reference: float | None) -> float:
        cases = [dataclasses.replace(c, host_quiet_ref_us=reference) for c in BASELINE.cases]
        b = dataclasses.replace(BASELINE, cases=cases)
        return calibrate_from_baseline(b, bare).calibration.host_us[call]

    assert host_us(200.0) == pytest.approx(row["eager_us"])
    assert host_us(300.0) == pytest.approx(1.5 * row["eager_us"])
    assert host_us(None) == pytest.approx(row["eager_us"])  # no reference: the plain median


def test_dispatch_penalty_from_reuse_distances() -> None:
    """A call pays the round-robin penalty of its operator's reuse distance."""
    assert reuse_distances(["a", "b", "a", "c", "a", "b"]) == [1, 1, 1, 2, 1, 2]
    assert reuse_distances(["a", "a"]) == [0, 0]  # the step repeats: no first-call distance
    table = ((1, 0.0), (2, 0.02), (4, 0.04), (8, 0.08))
    assert dispatch_penalty((), 5) == 0.0
    assert dispatch_penalty(table, 0) == 0.0
    assert dispatch_penalty(table, 3) == pytest.approx(0.04)  # k = 4
    assert dispatch_penalty(table, 5) == pytest.approx(0.04 + 0.04 * (math.log2(6) - 2))
    assert dispatch_penalty(table, 100) == 0.08  # beyond the largest k measured
    calibrated = calibrate_from_baseline(BASELINE, OPCOST)
    cal = calibrated.calibration
    mix = OPCOST["host"]["mix_calls"]  # the implementations' own calls, preferred
    assert [k for k, _ in cal.dispatch_penalty] == [r["k"] for r in mix["rows"]]
    one = 1 + mix["rows"][0]["rel"]  # relative to the round-robin of one call
    assert cal.dispatch_penalty[-1][1] == pytest.approx((1 + mix["rows"][-1]["rel"]) / one - 1)
    assert all(f >= 0 for _, f in cal.dispatch_penalty) and cal.dispatch_penalty[-1][1] > 0
    arch = calibrated_arch(ARCH, calibrated)
    step = capture_harness_step("370m", "dense", 1)
    plain = GpuModel(arch, dataclasses.replace(cal, dispatch_penalty=())).run_step(step, "eager")
    with_penalty = GpuModel(arch, cal).run_step(step, "eager")
    assert with_penalty.host_ns > plain.host_ns


def test_python_glue_is_charged_per_eager_launch() -> None:
    """The op-cost file's glue, in probe units, priced at the baseline's quiet host."""
    glue = OPCOST["glue"]["per_kernel"]
    ref = quiet_reference_of(BASELINE)
    cal = calibrate_from_baseline(BASELINE, OPCOST).calibration
    assert cal.glue_us["dense"] == pytest.approx(glue["dense"]["per_probe"] * ref)
    assert cal.glue_us["packed"] == cal.glue_us["dense"]  # packed's Python is dense's
    step = capture_harness_step("370m", "transformer", 1)
    calibrated = calibrate_from_baseline(BASELINE, OPCOST)
    arch = calibrated_arch(ARCH, calibrated)
    bare = GpuModel(arch, dataclasses.replace(cal, glue_us={})).run_step(step, "eager")
    full = GpuModel(arch, cal).run_step(step, "eager")
    extra = full.host_ns - bare.host_ns
    assert extra == pytest.approx(len(step.kernels) * cal.glue_us["transformer"] * 1e3, rel=1e-6)


def test_fused_kernels_replay_at_their_own_measured_times(tmp_path: Path) -> None:
    """A captured fused kernel takes the time its launch took alone (the per-kernel table)."""
    import json
    import shutil
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_fused_check import parse_kernel_table

    from gpubench.replay import captured_case, captured_step

    h100 = ROOT / "baselines" / "h100.json"
    rows = parse_kernel_table((ROOT / "baselines" / "h100_fused_kernels.log").read_text())
    assert len(rows) == 54  # 3 models x 2 batches x 9 distinct launches
    shipped = json.loads((ROOT / "baselines" / "h100_fused_kernels.json").read_text())["rows"]
    assert [{k: r[k] for k in rows[0]} for r in shipped] == rows  # the run's printed table
    # each GEMV launch read its weights from HBM (copies over three L2s), as in decode
    gemv = [r for r in shipped if r["kernel"] in ("_gemv_kernel", "_gemm_kernel")]
    assert all(r["copies"] > 1 and r["us"] >= r["us_l2"] for r in gemv)
    copy = tmp_path / "h100.json"
    shutil.copy(h100, copy)
    assert load_opcost(copy) is None  # no per-kernel table beside it: the floor only
    shutil.copy(h100.with_name("h100_fused_kernels.json"), tmp_path)
    opcost = load_opcost(copy)
    assert opcost is not None and opcost["kernel_times"] == shipped
    baseline = read_baseline(copy)
    case = captured_case(baseline, "2.7b", "fused", 1)
    assert case is not None
    step = captured_step(case)
    gpu = GpuModel(ARCH, calibrate_from_baseline(baseline, opcost).calibration)
    glu = next(k for k in step.kernels if k.name == "_glu_kernel")
    ns, hbm, _ = gpu.kernel_ns(glu, params_in_l2=False)
    row = next(
        r for r in shipped if (r["model"], r["batch"], r["kernel"]) == ("2.7b", 1, "_glu_kernel")
    )
    # its time after a different kernel, as in a decode step (no switch cost added again)
    assert ns == pytest.approx(row["us_after_other"] * 1e3) and hbm == row["bytes"]
    # the whole step: every launch at its own time, far above the per-kernel floor
    floor = GpuModel(ARCH, calibrate_from_baseline(baseline, None).calibration)
    assert gpu.run_step(step, "graph").ns > 2 * floor.run_step(step, "graph").ns


def test_a_kernel_with_its_own_power_window_draws_its_measured_watts() -> None:
    """Measured extra watts replace the traffic and FLOP terms for that kernel's share."""
    from arch_models.gpu_kernels import Kernel, KernelStep

    cal = calibrate_from_baseline(BASELINE, OPCOST).calibration
    gemv = Kernel("_gemm_kernel", (4096,), (4096,), 50 * 2**20, 10**9, True, "captured|x", 384)
    other = Kernel("_glu_kernel", (2**27,), (2**20,), 0, 0, False, "captured|y", 16)
    step = KernelStep("fused", "370m", 16, (gemv, other) * 8, 10**9)
    # no switch between kernels: each launch takes exactly its measured time
    timed = dataclasses.replace(
        cal, kernel_us={"captured|x": 30.0, "captured|y": 4.0}, kernel_bytes={}, switch_us=0.0
    )
    gpu = GpuModel(calibrated_arch(ARCH, calibrate_from_baseline(BASELINE, OPCOST)), timed)
    plain = gpu.run_step(step, "graph")
    watts = dataclasses.replace(timed, kernel_watts={"captured|x": 250.0})
    powered = GpuModel(gpu.arch, watts)
    r = powered.run_step(step, "graph")
    assert r.ns == plain.ns and r.hbm_bytes == plain.hbm_bytes  # time and traffic unchanged
    assert r.measured_hbm_bytes == 8 * gemv.param_bytes and r.measured_flops == 8 * gemv.flops
    share = 8 * 30e3 / r.ns
    seconds = r.ns / 1e9
    expected = (
        gpu.power_w(plain)
        + 250.0 * share
        - cal.w_per_tb_s * r.measured_hbm_bytes / seconds / 1e12
        - cal.w_per_tflop_s * r.measured_flops / seconds / 1e12
    )
    assert powered.power_w(r) == pytest.approx(expected)
    assert powered.power_w(r) > gpu.power_w(plain)  # an SM-bound GEMM draws more than its bytes


def test_kernel_context_prices_switches_and_few_blocks(tmp_path: Path) -> None:
    """A node after a different kernel costs the measured switch; few blocks read slowly."""
    import json
    import shutil

    from arch_models.gpu_kernels import Kernel
    from gpubench.schema import read_baseline

    h100 = ROOT / "baselines" / "h100.json"
    shutil.copy(h100, tmp_path / "h100.json")
    context = {
        "kind": "mmfree-cosim/kernel-context",
        "switch": [{"k": 1, "node_us": 1.0}, {"k": 16, "node_us": 1.3}],
        "blocks": [
            {"blocks": 1, "bytes": 8192, "us": 1.2},
            {"blocks": 1, "bytes": 131072, "us": 3.7},
            {"blocks": 64, "bytes": 8192, "us": 1.3},
        ],
    }
    (tmp_path / "h100_kernel_context.json").write_text(json.dumps(context))
    baseline = read_baseline(tmp_path / "h100.json")
    cal = calibrate_from_baseline(baseline, load_opcost(tmp_path / "h100.json")).calibration
    assert cal.switch_us == pytest.approx(0.3)
    assert cal.block_gb_per_s == pytest.approx((131072 - 8192) / 2.5 / 1e3)  # 49 GB/s
    arch = load_arch(EXAMPLES / "h100.yaml")
    gpu = GpuModel(arch, cal)
    plain = GpuModel(arch, dataclasses.replace(cal, switch_us=0.0, block_gb_per_s=0.0))
    one = Kernel("triton_red_fused_norm", (45_000,), (), 0, 0, False, "", blocks=1)
    many = dataclasses.replace(one, blocks=4 * arch.spec.units_of(GpuSms)[0].count)
    ns_one = gpu.kernel_ns(one, False)[0]
    assert ns_one == pytest.approx(
        cal.kernel_floor_us * 1e3 + 300 + 45_000 / cal.block_gb_per_s, rel=1e-9
    )
    assert gpu.kernel_ns(many, False)[0] == pytest.approx(plain.kernel_ns(many, False)[0] + 300)
    gemv = Kernel("nvjet_gemv", (4096,), (4096,), 8 << 20, 1 << 24, True, "", blocks=32)
    assert gpu.kernel_ns(gemv, False)[0] == pytest.approx(plain.kernel_ns(gemv, False)[0] + 300)
