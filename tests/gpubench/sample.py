"""Hand-made baselines for schema tests (no torch needed)."""

from __future__ import annotations

from gpubench.schema import (
    Bandwidth,
    Baseline,
    Case,
    Environment,
    Gemv,
    Micro,
    PowerReading,
    Run,
    Settings,
)


def environment(command: str = "python3 -m gpubench measure --out h200.json") -> Environment:
    return Environment(
        device="cuda",
        gpu_name="NVIDIA H200",
        gpu_count=1,
        driver_version="580.159.04",
        cuda_version="13.0",
        torch_version="2.11.0+cu130",
        triton_version="3.6.0",
        numpy_version="2.5.2",
        python_version="3.12.3",
        nvml_version="13.580.159.04",
        platform="Linux-6.18.44-x86_64",
        sm_count=132,
        l2_cache_bytes=62914560,
        total_memory_gib=139.8,
        power_limit_w=700.0,
        power_sample_source="instant",
        date_utc="2026-11-29T12:00:00+00:00",
        command=command,
    )


def power(watts: float = 118.5) -> PowerReading:
    return PowerReading(
        duration_s=3.0,
        samples=60,
        avg_power_w=watts,
        energy_j=watts * 3.0,
        sm_clock_mhz=1980.0,
        mem_clock_mhz=3201.0,
        temperature_c=31.0,
    )


def micro() -> Micro:
    return Micro(
        status="ok",
        reason=None,
        bandwidth=[Bandwidth("hbm_read", 4 << 30, 1.1, 3900.0, 10)],
        launch_eager_us=4.5,
        launch_triton_us=None,
        launch_graph_node_us=1.2,
        gemm_tflops=780.0,
        gemv=[Gemv("370m", "attn", 1024, 1024, 1, "bf16", 6.0, 2 << 20, 349.5)],
        hbm_power=power(410.0),
        hbm_power_bytes=8 << 30,
        null_reasons={"launch_triton_us": "needs a CUDA device with Triton"},
    )


def run(command: str = "python3 -m gpubench measure --out h200.json") -> Run:
    return Run(
        environment=environment(command),
        settings=Settings(128, 256, 8, 3, 2.0, 0, "bfloat16", False),
        idle=power(),
        micro=micro(),
        started_utc="2026-11-29T12:00:00+00:00",
        elapsed_s=300.0,
        complete=True,
    )


def case(model: str = "370m", impl: str = "dense", launch: str = "graph", batch: int = 1) -> Case:
    return Case(
        run=0,
        model=model,
        impl=impl,  # type: ignore[arg-type]
        launch=launch,  # type: ignore[arg-type]
        batch=batch,
        prompt_tokens=128,
        gen_tokens=256,
        status="ok",
        prefill_ms=12.5,
        decode_ms_per_token=0.5,
        decode_ms_p10=0.49,
        decode_ms_p90=0.52,
        decode_wall_ms_per_token=0.51,
        tokens_per_s=2000.0 * batch,
        peak_memory_gib=1.2,
        weight_bytes=750_000_000,
        avg_power_w=300.0,
        energy_per_token_j=0.15,
        energy_avg_power_w=301.0,
        idle_power_w=118.5,
        sm_clock_mhz=1980.0,
        mem_clock_mhz=3201.0,
        temperature_c=40.0,
        power_window_s=2.1,
        power_samples=42,
        power_tokens=4096,
        kernels_per_step=3600,
        graph_nodes_per_step=None,
        check_tokens=[5, 17, 17, 3],
        null_reasons={"graph_nodes_per_step": "cuda-python (cuda.bindings) is not installed"},
    )


def baseline() -> Baseline:
    return Baseline(
        runs=[run()],
        cases=[
            case(),
            case(batch=16),
            Case(0, "2.7b", "reference", "eager", 16, 128, 256, "error", reason="OOM"),
        ],
        notes=["kernel checks: packed GEMV rel. error 2.1e-03, recurrence 1.0e-03"],
    )
