"""Golden summaries of the example designs on real traces.

The simulation is deterministic: the same trace and description give the same events.
Tolerances are relative 1e-3, room only for benign changes in floating-point summation
order; a model change that moves these figures must update them deliberately (and say
why in its commit). The paper core's golden value is also its calibration check: the
paper measured 43 ms per d = 512 block at 60 MHz (PAPER.md); we require within 10%.
"""

from __future__ import annotations

from functools import cache

import pytest

from arch_models.spec import load_arch
from cosim.engine import SimResult, simulate
from cosim.errors import SimulationError
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from tests.conftest import EXAMPLES
from workloads.trace import generate_trace

PAPER_MS = 43.0


@cache
def _run(example: str, model: str) -> SimResult:
    arch = load_arch(EXAMPLES / example)
    trace = generate_trace(model, prompt_tokens=1, gen_tokens=1, seed=0)
    return simulate(arch, workload_from_trace(trace, design_elementwise_bytes(arch)))


def test_paper_core_calibration_within_10_percent() -> None:
    s = _run("d5005_paper_core.yaml", "paper-block-d512").summary
    assert abs(s["ms_per_token"] - PAPER_MS) / PAPER_MS < 0.10
    assert s["fits"]


GOLDEN = {
    ("d5005_paper_core.yaml", "paper-block-d512"): {
        "ms_per_token": 43.2011,
        "avg_power_w": 13.675,
        "bound_tokens_per_s": 23.4751,
        "offchip_bytes_per_token": 851968,
    },
    ("u280_hbm.yaml", "tiny"): {"ms_per_token": 0.0142952, "avg_power_w": 25.6411},
    ("u280_hbm.yaml", "370m"): {
        "ms_per_token": 0.313282,
        "avg_power_w": 34.0392,
        "bound_tokens_per_s": 5729.17,
        "offchip_bytes_per_token": 68216464,
    },
}


@pytest.mark.parametrize(("example", "model"), sorted(GOLDEN))
def test_golden_summary(example: str, model: str) -> None:
    s = _run(example, model).summary
    for key, value in GOLDEN[(example, model)].items():
        assert s[key] == pytest.approx(value, rel=1e-3), key
    assert s["tokens_per_s"] <= s["bound_tokens_per_s"] * (1 + 1e-9)


def test_gpu_example_is_not_an_fpga() -> None:
    arch = load_arch(EXAMPLES / "h200.yaml")
    trace = generate_trace("tiny", prompt_tokens=1, gen_tokens=1, seed=0)
    with pytest.raises(SimulationError):
        simulate(arch, workload_from_trace(trace))
