"""The terminal report of a system of FPGA cards: totals, then per card and per link."""

from __future__ import annotations

from rich.table import Table

from cosim.system_result import SystemResult

__all__ = ["system_tables"]


def system_tables(result: SystemResult) -> list[Table]:
    """Return the totals table, the cards table and the links table."""
    s = result.summary
    sequences = s["batch"] * s["sequences_in_flight"]
    head = Table(
        title=f"{s['system']}: {len(result.cards)} cards, mapping {s['mapping']} · model "
        f"{s['model']} (simulated estimate)",
        title_justify="left",
        show_header=False,
    )
    head.add_column("figure")
    head.add_column("value", justify="right")
    rows = [
        (
            "tokens/s" + (f" (all {sequences} sequences)" if sequences > 1 else ""),
            f"{s['tokens_per_s']:,.2f}",
        ),
        ("ms/token" + (" (each sequence)" if sequences > 1 else ""), f"{s['ms_per_token']:,.4f}"),
        ("time to first token", f"{s['time_to_first_token_ms']:,.4f} ms"),
        ("average power (cards and links)", f"{s['avg_power_w']:,.2f} W"),
        ("energy/token", f"{s['energy_per_token_j'] * 1e3:.4g} mJ"),
        ("bound (system floor)", f"{s['bound_tokens_per_s']:,.2f} tok/s ({s['binding_bound']})"),
        ("fits", "yes" if s["fits"] else "NO"),
    ]
    for kind, r in s["resources"].items():
        rows.append(
            (
                f"  {kind} (all cards)",
                f"{r['used']:,.0f} / {r['available']:,.0f} ({r['utilisation']:.1%})",
            )
        )
    for fig, val in rows:
        head.add_row(fig, val)

    cards = Table(title="cards", title_justify="left")
    for col in ("card", "design", "share", "W", "floor µs/step", "LUT or ALM", "fits", "on chip"):
        cards.add_column(col, justify="left" if col in ("design", "share", "on chip") else "right")
    for c in result.cards:
        logic = c.resources.get("lut") or c.resources.get("alm") or {}
        onchip = "weights" if c.onchip.weights_resident else "weights stream"
        cards.add_row(
            str(c.index),
            f"{c.design} ({c.device})",
            c.share,
            f"{c.avg_power_w:,.2f}",
            f"{c.bound_ns_per_step / 1e3:,.3f}",
            f"{logic.get('utilisation', 0.0):.1%}" if logic else "-",
            "yes" if c.fits else "NO",
            onchip,
        )
    links = Table(title="links (decode)", title_justify="left")
    for col in ("link", "type", "bytes/token", "busy", "W"):
        links.add_column(col, justify="left" if col in ("link", "type") else "right")
    for link in result.links:
        links.add_row(
            link.name,
            link.link,
            f"{link.bytes_per_token:,.0f}",
            f"{link.busy:.2%}",
            f"{link.avg_power_w:,.3f}",
        )
    return [head, cards, links]
