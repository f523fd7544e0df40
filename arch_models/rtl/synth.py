"""Synthesise ``tmac_core`` with Yosys and count what it maps to.

:func:`synthesize` runs Yosys (Debian's 0.23) ``synth_xilinx -flatten`` on ``tmac_core``
for one :class:`RtlParams` and reads ``stat -json`` into a :class:`SynthCounts`: LUTs,
flip-flops, carry chains, wide-mux cells, distributed RAM and shift registers (counted
in the LUT sites they take), block RAM in 36 Kb equivalents, UltraRAM and DSPs. Results
are cached by sources, parameters, family and Yosys version, like :func:`build`.

Family: UltraScale+ parts (U280, U250, U55C) are synthesised with ``-family xcup``,
UltraScale with ``xcu``, every other AMD part with ``xc7``. Intel parts use ``xcup`` as a
LUT6 proxy: Yosys 0.23's ALM flow (``synth_intel_alm``) knows Cyclone V, Arria V and
Cyclone 10 GX, not Stratix 10, and the resource model counts LUT6-equivalents anyway
(converted to ALMs with the catalog's ``le_per_alm``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arch_models.catalog.models import Device
from arch_models.rtl.params import RtlParams
from arch_models.rtl.sim import RTL_DIR, SOURCES, RtlToolError, cache_root
from safeio import write_atomic

__all__ = ["FAMILIES", "SynthCounts", "synthesize", "yosys_family", "yosys_version"]

#: ``synth_xilinx -family`` values this module uses.
FAMILIES = ("xcup", "xcu", "xc7")

#: LUT sites of each distributed-RAM and shift-register primitive (UG574 Ch. 3, UG474
#: Ch. 2: RAM32M/RAM64M take 4 LUTs of a SLICEM, RAM32M16/RAM64M8 eight, RAMnnnX1D two
#: per 64 bits of depth, SRL16E/SRLC32E one).
_LUTRAM_SITES: Mapping[str, int] = {
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM32M": 4,
    "RAM32M16": 8,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM64M": 4,
    "RAM64M8": 8,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM256X1D": 8,
    "RAM512X1S": 8,
}
_SRL = frozenset({"SRL16E", "SRLC16E", "SRLC32E"})
#: Block RAM in 36 Kb equivalents (a RAMB18 is half a RAMB36).
_BRAM: Mapping[str, float] = {
    "RAMB18E1": 0.5,
    "RAMB36E1": 1.0,
    "RAMB18E2": 0.5,
    "RAMB36E2": 1.0,
}
_FF = frozenset({"FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1"})
_CARRY = frozenset({"CARRY4", "CARRY8"})
_MUXF = frozenset({"MUXF7", "MUXF8", "MUXF9"})
_DSP = frozenset({"DSP48E1", "DSP48E2"})
_URAM = frozenset({"URAM288", "URAM288_BASE"})
_IGNORED = frozenset({"BUFG", "IBUF", "OBUF", "GND", "VCC"})
_SYNTH_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class SynthCounts:
    """What Yosys mapped ``tmac_core`` to, for one parameter set and family.

    Attributes:
        family: The ``synth_xilinx -family`` used.
        lut_by_inputs: LUT1 … LUT6 cells (index 0 is LUT1).
        inverters: ``INV`` cells (each takes a LUT1 in the fabric).
        lutram_luts: LUT sites used as distributed RAM.
        srl_luts: LUT sites used as shift registers.
        ff: Flip-flops (``FD*`` cells).
        carry: Carry-chain cells (``CARRY4`` or ``CARRY8``).
        muxf: Wide-mux cells (``MUXF7``/``MUXF8``/``MUXF9``; no LUT of their own).
        bram_36k: Block RAM in 36 Kb equivalents.
        uram: UltraRAM blocks.
        dsp: DSP slices.
        other: Cells of any other type, by type (empty for this RTL).
        seconds: Wall time of the Yosys run (of the run that filled the cache).
        yosys: Yosys's version line.
    """

    family: str
    lut_by_inputs: tuple[int, int, int, int, int, int]
    inverters: int
    lutram_luts: int
    srl_luts: int
    ff: int
    carry: int
    muxf: int
    bram_36k: float
    uram: int
    dsp: int
    other: tuple[tuple[str, int], ...]
    seconds: float
    yosys: str

    @property
    def logic_luts(self) -> int:
        """Return the LUTs that hold logic (LUT1-6 cells and inverters)."""
        return sum(self.lut_by_inputs) + self.inverters

    @property
    def lut(self) -> int:
        """Return every LUT site used: logic, distributed RAM and shift registers.

        Each cell counts as one site; placement may later pair two LUTs of up to five
        shared inputs in one LUT6 (see :attr:`lut_sites_min`), so this is the upper figure
        and the one the resource model's LUT6-equivalents are compared with.
        """
        return self.logic_luts + self.lutram_luts + self.srl_luts

    @property
    def lut_sites_min(self) -> int:
        """Return the LUT6 sites if every two small LUTs (LUT1-5, inverters) shared one."""
        small = sum(self.lut_by_inputs[:5]) + self.inverters
        return self.lut_by_inputs[5] + -(-small // 2) + self.lutram_luts + self.srl_luts

    @classmethod
    def from_cells(
        cls, cells: Mapping[str, int], family: str, seconds: float, yosys: str
    ) -> SynthCounts:
        """Sort a ``num_cells_by_type`` table into the counts.

        Args:
            cells: Cell type → count (Yosys's ``stat``).
            family: The family synthesised for.
            seconds: Wall time of the run.
            yosys: Yosys's version line.
        """
        luts = [0] * 6
        inv = lutram = srl = ff = carry = muxf = uram = dsp = 0
        bram = 0.0
        other: dict[str, int] = {}
        for name, n in cells.items():
            if len(name) == 4 and name.startswith("LUT") and name[3] in "123456":
                luts[int(name[3]) - 1] += n
            elif name == "INV":
                inv += n
            elif name in _LUTRAM_SITES:
                lutram += _LUTRAM_SITES[name] * n
            elif name in _SRL:
                srl += n
            elif name in _FF:
                ff += n
            elif name in _CARRY:
                carry += n
            elif name in _MUXF:
                muxf += n
            elif name in _BRAM:
                bram += _BRAM[name] * n
            elif name in _URAM:
                uram += n
            elif name in _DSP:
                dsp += n
            elif name not in _IGNORED:
                other[name] = other.get(name, 0) + n
        return cls(
            family=family,
            lut_by_inputs=(luts[0], luts[1], luts[2], luts[3], luts[4], luts[5]),
            inverters=inv,
            lutram_luts=lutram,
            srl_luts=srl,
            ff=ff,
            carry=carry,
            muxf=muxf,
            bram_36k=bram,
            uram=uram,
            dsp=dsp,
            other=tuple(sorted(other.items())),
            seconds=seconds,
            yosys=yosys,
        )


def yosys_family(device: Device) -> str:
    """Return the ``synth_xilinx -family`` for a catalog part (see the module docstring)."""
    family = device.family.lower()
    if "ultrascale-plus" in family or device.vendor.lower() != "amd":
        return "xcup"
    if "ultrascale" in family:
        return "xcu"
    return "xc7"


def _yosys() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise RtlToolError("yosys is not installed (Debian: apt-get install yosys)")
    return exe


def yosys_version() -> str:
    """Return ``yosys -V``'s output.

    Raises:
        RtlToolError: Yosys is not installed.
    """
    out = subprocess.run([_yosys(), "-V"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def _script(params: RtlParams, family: str, stat_file: Path) -> str:
    sets = " ".join(
        f'-set {name} "{value}"' if isinstance(value, str) else f"-set {name} {value}"
        for name, value in params.hdl().items()
    )
    files = " ".join(str(RTL_DIR / s) for s in SOURCES)
    return "\n".join(
        (
            f"read_verilog -sv -DSYNTHESIS {files}",
            f"chparam {sets} tmac_core",
            f"synth_xilinx -family {family} -top tmac_core -flatten -noiopad -noclkbuf",
            f"tee -q -o {stat_file} stat -json",
            "",
        )
    )


def _cells(stat: Any) -> dict[str, int]:
    """Return the whole design's cell counts from ``stat -json``'s output."""
    if isinstance(stat, dict):
        design = stat.get("design")
        if not isinstance(design, dict):
            modules = stat.get("modules")
            if isinstance(modules, dict) and len(modules) == 1:
                design = next(iter(modules.values()))
        if isinstance(design, dict):
            cells = design.get("num_cells_by_type")
            if isinstance(cells, dict) and all(isinstance(v, int) for v in cells.values()):
                return {str(k): int(v) for k, v in cells.items()}
    raise RtlToolError("yosys 'stat -json' gave no 'design.num_cells_by_type' table")


def synthesize(
    params: RtlParams,
    family: str = "xcup",
    *,
    cache: Path | None = None,
    timeout_s: float = _SYNTH_TIMEOUT_S,
) -> SynthCounts:
    """Synthesise ``tmac_core`` for ``params`` with ``synth_xilinx`` (cached).

    Args:
        params: The RTL's parameters.
        family: ``xcup``, ``xcu`` or ``xc7`` (see :func:`yosys_family`).
        cache: Folder of results (default ``$MMFREE_RTL_CACHE`` or the user cache,
            under ``synth/``).
        timeout_s: Wall-clock limit of the Yosys run.

    Returns:
        The counts.

    Raises:
        ValueError: An unknown family.
        RtlToolError: Yosys is missing, failed (the message ends with its log) or ran
            past ``timeout_s``.
    """
    if family not in FAMILIES:
        raise ValueError(f"'family' must be in ({', '.join(FAMILIES)}) (got {family!r})")
    exe = _yosys()
    version = yosys_version()
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((RTL_DIR / name).read_bytes())
    digest.update(repr((sorted(params.hdl().items()), family, version)).encode())
    root = (cache or cache_root()) / "synth"
    target = root / f"{digest.hexdigest()[:24]}.json"
    if target.exists():
        saved = json.loads(target.read_text())
        return SynthCounts.from_cells(saved["cells"], family, saved["seconds"], version)
    with tempfile.TemporaryDirectory(prefix="tmac-synth-") as tmp:
        folder = Path(tmp)
        stat_file = folder / "stat.json"
        (folder / "synth.ys").write_text(_script(params, family, stat_file))
        t0 = time.perf_counter()
        try:
            out = subprocess.run(
                [exe, "-q", "-l", str(folder / "yosys.log"), "-s", str(folder / "synth.ys")],
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            raise RtlToolError(
                f"yosys synth_xilinx ran past {timeout_s:.0f} s for {params}"
            ) from exc
        seconds = time.perf_counter() - t0
        if out.returncode != 0 or not stat_file.exists():
            log = folder / "yosys.log"
            tail = log.read_text()[-3000:] if log.exists() else out.stdout[-3000:]
            raise RtlToolError(
                f"yosys synth_xilinx failed for {params}:\n{tail}{out.stderr[-2000:]}"
            )
        try:
            stat = json.loads(stat_file.read_text())
        except json.JSONDecodeError as exc:
            raise RtlToolError(f"yosys 'stat -json' output is not JSON: {exc}") from exc
        cells = _cells(stat)
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps({"cells": cells, "seconds": seconds, "params": params.hdl()}))
    return SynthCounts.from_cells(cells, family, seconds, version)
