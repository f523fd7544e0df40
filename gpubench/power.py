"""GPU power, energy and clocks through NVML, or nulls with the reason why not.

A :class:`PowerMonitor` opens NVML (``pynvml``, from the ``nvidia-ml-py`` package) once.
:meth:`PowerMonitor.window` brackets a region of work: a thread samples board power,
SM and memory clocks and temperature every ``interval_s`` while the region runs, and the
device's total-energy counter is read at both ends (the caller synchronises the device
before the window closes). Power is read as NVML's *instantaneous* field where the
driver offers it, else ``nvmlDeviceGetPowerUsage`` (on recent GPUs a one-second
average, which lags: prefer the energy counter's average over a window of seconds).

Without NVML (no ``pynvml``, no driver, a CPU run) every reading is a
:class:`~gpubench.schema.PowerReading` whose measurements are null, each with the
reason in ``null_reasons``. Nothing here changes the GPU's settings: NVML is only read.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gpubench.schema import PowerReading

__all__ = ["PowerMonitor", "Window"]

_FIELDS = ("avg_power_w", "energy_j", "sm_clock_mhz", "mem_clock_mhz", "temperature_c")
_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT (mW)


@dataclass
class Window:
    """What one :meth:`PowerMonitor.window` saw; :attr:`reading` is set when it closes."""

    power_w: list[float] = field(default_factory=list)
    sm_mhz: list[float] = field(default_factory=list)
    mem_mhz: list[float] = field(default_factory=list)
    temp_c: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reading: PowerReading | None = None


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


class PowerMonitor:
    """NVML readings of one GPU (read-only).

    Args:
        index: NVML index of the GPU (the CUDA index when ``CUDA_VISIBLE_DEVICES`` is
            unset).
        interval_s: Sampling period of the window thread.
        nvml: The ``pynvml`` module, or a stand-in (tests); imported when omitted.
        enabled: ``False`` to skip NVML on purpose (a CPU run): the reason says so.
    """

    def __init__(
        self,
        index: int = 0,
        interval_s: float = 0.05,
        nvml: Any = None,
        enabled: bool = True,
    ) -> None:
        self.interval_s = interval_s
        self.reason: str | None = None
        self.power_source: str | None = None
        self._nvml: Any = None
        self._handle: Any = None
        if not enabled:
            self.reason = "no GPU in this run (NVML not used)"
            return
        if nvml is None:
            try:
                import pynvml  # type: ignore[import-not-found, unused-ignore]
            except ImportError:
                self.reason = "NVML not available: pynvml (nvidia-ml-py) is not installed"
                return
            nvml = pynvml
        try:
            nvml.nvmlInit()
            self._handle = nvml.nvmlDeviceGetHandleByIndex(index)
        except Exception as exc:  # NVMLError or a missing library
            self.reason = f"NVML not available: {exc}"
            return
        self._nvml = nvml
        self.power_source = "instant" if self._instant_power() is not None else "average"

    @property
    def available(self) -> bool:
        """Whether NVML answers."""
        return self._nvml is not None

    def _call(self, name: str, *args: Any) -> Any:
        return getattr(self._nvml, name)(self._handle, *args)

    def _instant_power(self) -> float | None:
        try:
            (fv,) = self._call("nvmlDeviceGetFieldValues", [_POWER_INSTANT])
        except Exception:
            return None
        if fv.nvmlReturn != 0:
            return None
        kinds = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")
        kind = kinds[fv.valueType] if 0 <= fv.valueType < len(kinds) else "uiVal"
        value = float(getattr(fv.value, kind))
        return value / 1000.0 if value > 0 else None

    def power_w(self) -> float:
        """Board power now (instantaneous where offered)."""
        if self.power_source == "instant":
            value = self._instant_power()
            if value is not None:
                return value
        return float(self._call("nvmlDeviceGetPowerUsage")) / 1000.0

    def energy_mj(self) -> int | None:
        """The total-energy counter (mJ since the driver loaded), or None if unsupported."""
        try:
            return int(self._call("nvmlDeviceGetTotalEnergyConsumption"))
        except Exception:
            return None

    def info(self) -> dict[str, Any]:
        """Static facts: name, driver and NVML versions, power limit (missing ones left out)."""
        if not self.available:
            return {}
        out: dict[str, Any] = {}
        for key, name, on_device in (
            ("driver_version", "nvmlSystemGetDriverVersion", False),
            ("nvml_version", "nvmlSystemGetNVMLVersion", False),
            ("gpu_name", "nvmlDeviceGetName", True),
            ("power_limit_w", "nvmlDeviceGetEnforcedPowerLimit", True),
        ):
            try:
                value = self._call(name) if on_device else getattr(self._nvml, name)()
            except Exception:
                continue
            if isinstance(value, bytes):
                value = value.decode()
            out[key] = float(value) / 1000.0 if key == "power_limit_w" else value
        return out

    def _sample(self, w: Window) -> None:
        nv = self._nvml
        try:
            w.power_w.append(self.power_w())
            w.sm_mhz.append(float(self._call("nvmlDeviceGetClockInfo", nv.NVML_CLOCK_SM)))
            w.mem_mhz.append(float(self._call("nvmlDeviceGetClockInfo", nv.NVML_CLOCK_MEM)))
            w.temp_c.append(float(self._call("nvmlDeviceGetTemperature", 0)))
        except Exception as exc:
            w.errors.append(str(exc))

    @contextmanager
    def window(self) -> Iterator[Window]:
        """Sample while the ``with`` body runs; ``.reading`` is filled on exit.

        The body must leave the device idle (synchronised) before it ends, so that the
        energy counter's second reading covers all of its work.
        """
        w = Window()
        start = time.perf_counter()
        if not self.available:
            yield w
            w.reading = self._absent(time.perf_counter() - start)
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.interval_s):
                self._sample(w)

        e0 = self.energy_mj()
        self._sample(w)
        thread = threading.Thread(target=loop, name="nvml-sampler", daemon=True)
        thread.start()
        try:
            yield w
        finally:
            stop.set()
            thread.join()
            e1 = self.energy_mj()
            duration = time.perf_counter() - start
            w.reading = self._reading(w, duration, e0, e1)

    def idle(self, seconds: float) -> PowerReading:
        """Sample for ``seconds`` with nothing submitted (the caller leaves the GPU idle)."""
        with self.window() as w:
            time.sleep(seconds)
        assert w.reading is not None
        return w.reading

    def _absent(self, duration: float) -> PowerReading:
        reason = self.reason or "NVML not available"
        return PowerReading(
            duration_s=duration,
            samples=0,
            avg_power_w=None,
            energy_j=None,
            sm_clock_mhz=None,
            mem_clock_mhz=None,
            temperature_c=None,
            null_reasons=dict.fromkeys(_FIELDS, reason),
        )

    def _reading(self, w: Window, duration: float, e0: int | None, e1: int | None) -> PowerReading:
        reasons: dict[str, str] = {}
        energy = None
        if e0 is None or e1 is None:
            reasons["energy_j"] = "the GPU's total-energy counter is not supported"
        elif e1 < e0:
            reasons["energy_j"] = "the total-energy counter went backwards"
        else:
            energy = (e1 - e0) / 1000.0
        values = {
            "avg_power_w": statistics.fmean(w.power_w) if w.power_w else None,
            "sm_clock_mhz": _median(w.sm_mhz),
            "mem_clock_mhz": _median(w.mem_mhz),
            "temperature_c": _median(w.temp_c),
        }
        for key, value in values.items():
            if value is None:
                why = w.errors[0] if w.errors else "no sample in the window"
                reasons[key] = f"NVML gave no reading: {why}"
        return PowerReading(
            duration_s=duration,
            samples=len(w.power_w),
            energy_j=energy,
            null_reasons=reasons,
            **values,
        )
