"""``cosim devices``: the device catalog as a table (or JSON), with sources on request."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from arch_models.catalog import RESOURCE_KINDS, Device, catalog
from cosim_cli.console import stdout_console

__all__ = ["device_record", "register", "run"]


def register(sub: Any) -> None:
    """Add the ``devices`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "devices",
        help="list the device catalog (FPGAs and GPUs with datasheet figures)",
        description="List the catalog of devices a description can name (device.part): "
        "FPGA resources, memories and power, GPU figures; --sources adds where each "
        "figure comes from.",
    )
    p.add_argument("--kind", choices=("fpga", "gpu"), help="only this kind of device")
    p.add_argument("--sources", action="store_true", help="also list every figure's source")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(run=run)


def device_record(d: Device) -> dict[str, Any]:
    """Return a flat, JSON-friendly view of a catalog entry (values, with sources)."""
    return d.model_dump(mode="json")


def run(args: argparse.Namespace) -> int:
    """Print the catalog."""
    devices = [d for d in catalog().values() if args.kind in (None, d.kind)]
    out = stdout_console()
    if args.json:
        out.print_json(json.dumps([device_record(d) for d in devices]))
        return 0
    fpgas = [d for d in devices if d.kind == "fpga"]
    gpus = [d for d in devices if d.kind == "gpu"]
    if fpgas:
        out.print(_fpga_table(fpgas))
    if gpus:
        out.print(_gpu_table(gpus))
    if args.sources:
        out.print(_sources_table(devices))
    return 0


def _mem(d: Device) -> str:
    return "; ".join(
        f"{m.kind} {m.channels.value}ch {m.capacity_gib.value:g} GiB "
        f"{m.bandwidth_gb_per_s.value:g} GB/s"
        for m in d.memory
    )


def _fmt(fig: Any) -> str:
    return (
        "-" if fig is None else f"{fig.value:,}" if isinstance(fig.value, int) else f"{fig.value:g}"
    )


def _fpga_table(devices: list[Device]) -> Table:
    t = Table(title="FPGAs", title_justify="left")
    for col in ("id", "name", *RESOURCE_KINDS, "memory", "clock MHz", "max W"):
        t.add_column(col, justify="right" if col in (*RESOURCE_KINDS, "max W") else "left")
    for d in devices:
        res = d.resources
        assert res is not None
        t.add_row(
            d.id,
            d.name,
            *(_fmt(getattr(res, k)) for k in RESOURCE_KINDS),
            _mem(d),
            f"{d.clock.min_mhz.value:g}-{d.clock.max_mhz.value:g}",
            _fmt(d.power.max_w),
        )
    return t


def _gpu_table(devices: list[Device]) -> Table:
    t = Table(title="GPUs", title_justify="left")
    cols = (
        "id",
        "name",
        "SMs",
        "L2 MiB",
        "bf16 TFLOP/s",
        "fp32 TFLOP/s",
        "int8 TOP/s",
        "memory",
        "boost MHz",
        "max W",
    )
    for col in cols:
        t.add_column(col, justify="left" if col in ("id", "name", "memory") else "right")
    for d in devices:
        g = d.gpu
        assert g is not None
        t.add_row(
            d.id,
            d.name,
            _fmt(g.sms),
            _fmt(g.l2_mib),
            _fmt(g.bf16_dense_tflops),
            _fmt(g.fp32_tflops),
            _fmt(g.int8_dense_tops),
            _mem(d),
            _fmt(g.boost_clock_mhz),
            _fmt(d.power.max_w),
        )
    return t


def _figures(data: Any, path: str = "") -> list[tuple[str, Any, str]]:
    """Flatten a dumped entry into (path, value, source) for every sourced figure."""
    if isinstance(data, dict) and set(data) == {"value", "source"}:
        return [(path, data["value"], data["source"])]
    out: list[tuple[str, Any, str]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k != "references":
                out.extend(_figures(v, f"{path}.{k}" if path else k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_figures(v, f"{path}[{i}]"))
    return out


def _sources_table(devices: list[Device]) -> Table:
    t = Table(title="sources", title_justify="left")
    for col in ("device", "figure", "value", "source"):
        t.add_column(col, justify="right" if col == "value" else "left", overflow="fold")
    for d in devices:
        for path, value, source in _figures(d.model_dump(mode="json")):
            t.add_row(
                d.id,
                path,
                f"{value:,}" if isinstance(value, int) else f"{value:g}",
                d.citation(source),
            )
    return t
