"""NVML readings through a stand-in NVML, and nulls with reasons without one."""

from __future__ import annotations

import builtins
import time
from types import SimpleNamespace
from typing import Any

import pytest

from gpubench.power import PowerMonitor

FIELDS = ("avg_power_w", "energy_j", "sm_clock_mhz", "mem_clock_mhz", "temperature_c")


class FakeNVML:
    """Just enough of pynvml: 250 W, an energy counter at 250 J/s, fixed clocks."""

    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2

    def __init__(self, instant: bool = True, energy: bool = True) -> None:
        self.instant, self.energy, self.t0 = instant, energy, time.perf_counter()

    def nvmlInit(self) -> None:  # noqa: N802
        pass

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:  # noqa: N802
        return f"gpu{index}"

    def nvmlDeviceGetFieldValues(self, handle: str, ids: list[int]) -> list[Any]:  # noqa: N802
        ret = 0 if self.instant else 3
        return [SimpleNamespace(nvmlReturn=ret, valueType=1, value=SimpleNamespace(uiVal=251_000))]

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:  # noqa: N802
        return 249_000

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:  # noqa: N802
        if not self.energy:
            raise RuntimeError("Not Supported")
        return int(1e9 + (time.perf_counter() - self.t0) * 250_000)

    def nvmlDeviceGetClockInfo(self, handle: str, kind: int) -> int:  # noqa: N802
        return 1980 if kind == self.NVML_CLOCK_SM else 3201

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:  # noqa: N802
        return 41

    def nvmlSystemGetDriverVersion(self) -> bytes:  # noqa: N802
        return b"580.159.04"

    def nvmlSystemGetNVMLVersion(self) -> str:  # noqa: N802
        return "13.580.159.04"

    def nvmlDeviceGetName(self, handle: str) -> str:  # noqa: N802
        return "NVIDIA H200"

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: str) -> int:  # noqa: N802
        return 700_000


def test_window_with_nvml() -> None:
    mon = PowerMonitor(nvml=FakeNVML(), interval_s=0.01)
    assert mon.available and mon.power_source == "instant"
    assert mon.info() == {
        "driver_version": "580.159.04",
        "nvml_version": "13.580.159.04",
        "gpu_name": "NVIDIA H200",
        "power_limit_w": 700.0,
    }
    r = mon.idle(0.2)
    assert r.samples >= 5 and r.avg_power_w == pytest.approx(251.0)
    assert r.energy_j == pytest.approx(250.0 * r.duration_s, rel=0.1)
    assert (r.sm_clock_mhz, r.mem_clock_mhz, r.temperature_c) == (1980.0, 3201.0, 41.0)
    assert r.null_reasons == {}


def test_average_power_and_no_energy_counter() -> None:
    mon = PowerMonitor(nvml=FakeNVML(instant=False, energy=False), interval_s=0.01)
    assert mon.power_source == "average"
    r = mon.idle(0.05)
    assert r.avg_power_w == pytest.approx(249.0)
    assert r.energy_j is None
    assert r.null_reasons == {"energy_j": "the GPU's total-energy counter is not supported"}


def test_without_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pynvml(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pynvml":
            raise ImportError("No module named 'pynvml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pynvml)
    mon = PowerMonitor()
    assert not mon.available and mon.info() == {}
    r = mon.idle(0.0)
    assert r.samples == 0
    assert all(getattr(r, f) is None for f in FIELDS)
    assert set(r.null_reasons) == set(FIELDS)
    assert all("pynvml (nvidia-ml-py) is not installed" in v for v in r.null_reasons.values())


def test_nvml_without_driver() -> None:
    class NoDriver(FakeNVML):
        def nvmlInit(self) -> None:  # noqa: N802
            raise RuntimeError("NVML Shared Library Not Found")

    mon = PowerMonitor(nvml=NoDriver())
    assert mon.reason == "NVML not available: NVML Shared Library Not Found"
    with mon.window() as w:
        pass
    assert w.reading is not None and w.reading.avg_power_w is None


def test_disabled_for_cpu_runs() -> None:
    mon = PowerMonitor(nvml=FakeNVML(), enabled=False)
    assert not mon.available and mon.reason == "no GPU in this run (NVML not used)"
