"""The paper calibration and the predictions the README quotes, from one run.

1. Calibration: the paper's D5005 core (``examples/d5005_paper_core.yaml``) on one
   d = 512 block against the paper's 43 ms at 60 MHz.
2. Predictions: that core on 370M, 1.3B and 2.7B; the U280 HBM design on 2.7B against
   TerEffic's published 727 tok/s at 46 W (arXiv 2502.16473); each design's distance from
   its memory-bandwidth bound.
3. TerEffic's two designs as described here (``examples/tereffic_onchip_370m.yaml``, a
   system of three cards; ``examples/tereffic_hbm_2p7b.yaml``, one card) against their
   published figures: 16,300 tok/s at 455 tok/s/W (370M) and 727 tok/s at 46 W (2.7B).
4. A batch sweep: the U280 design on 2.7B decoding 1, 2, 4, ..., 64 sequences together
   (one trace, :meth:`~arch_models.workload.Workload.batched`): aggregate tokens/s, each
   sequence's ms/token, J/token, its bound and what binds, and where the sequences'
   state and activations stop fitting on chip.

Run: ``.venv/bin/python benchmarks/predictions.py`` (about three minutes: it runs the
functional model to make each trace); ``--batch-sweep`` runs the sweep only,
``--tereffic`` the TerEffic comparison only, ``--fixed-costs`` the fixed-cost variants only
(the U280 design on 370M and 2.7B and the on-chip TerEffic system, with the controller
issuing ahead and cores meeting only at reductions, then also with the quantiser fused
into the norm before it, and with other weight-buffer sizes).
"""

from __future__ import annotations

import sys
from pathlib import Path

from arch_models.spec import load_arch
from arch_models.spec.system import load_system
from cosim.engine import simulate
from cosim.system import simulate_system
from cosim.trace_workload import design_elementwise_bytes, workload_from_trace
from workloads.trace import generate_trace

ROOT = Path(__file__).resolve().parents[1]
PAPER_MS = 43.0  # Zhu et al., arXiv 2406.02528: one block, d = 512, 60 MHz (PAPER.md)
TEREFFIC = (727.0, 46.0)  # TerEffic, arXiv 2502.16473: 2.7B on one FPGA + HBM (PAPER.md)
# TerEffic v2, arXiv 2502.16473 (abstract; PAPER.md): 370M fully on chip over several
# FPGAs, batch 1: 16,300 tok/s at 455 tok/s/W
TEREFFIC_ONCHIP = (16_300.0, 16_300.0 / 455.0)


def run(design: str, model: str) -> dict[str, object]:
    arch = load_arch(ROOT / "examples" / design)
    trace = generate_trace(model, prompt_tokens=1, gen_tokens=2, seed=0)
    return simulate(arch, workload_from_trace(trace, design_elementwise_bytes(arch))).summary


def batch_sweep(design: str = "u280_hbm.yaml", model: str = "2.7b") -> None:
    """Print the design decoding 1, 2, 4, ..., 64 sequences together."""
    arch = load_arch(ROOT / "examples" / design)
    trace = generate_trace(model, prompt_tokens=1, gen_tokens=2, seed=0)
    one = workload_from_trace(trace, design_elementwise_bytes(arch))
    print(f"Batch sweep: {design} on {model} (one weight pass a step serves every sequence)")
    print(
        f"  {'batch':>5} {'tok/s (all)':>12} {'ms/token each':>14} {'mJ/token':>9} "
        f"{'bound tok/s':>12} {'binds':<8} {'state':<9} {'activations':<11} off-chip B/step"
    )
    for batch in (1, 2, 4, 8, 16, 32, 64):
        s = simulate(arch, one.batched(batch)).summary
        on = s["onchip"]
        print(
            f"  {batch:5d} {s['tokens_per_s']:12,.1f} {s['ms_per_token']:14.3f} "
            f"{1e3 * s['energy_per_token_j']:9.3f} {s['bound_tokens_per_s']:12,.1f} "
            f"{s['binding_bound']:<8} {'on chip' if on['state_on_chip'] else 'spills':<9} "
            f"{'on chip' if on['activations_on_chip'] else 'spill':<11} "
            f"{s['offchip_bytes_per_token']:,.0f}"
        )


def tereffic() -> None:
    """Print TerEffic's two designs as described here against their published figures."""
    print("TerEffic (arXiv 2502.16473) as described in examples/ (assumptions in the files)")
    print(
        f"  {'design':<28} {'model':<6} {'tok/s':>10} {'published':>10} {'err':>7} "
        f"{'W':>7} {'published':>10} {'err':>7} {'bound tok/s':>12}  binds"
    )
    trace = generate_trace("370m", prompt_tokens=1, gen_tokens=2, seed=0)
    system = load_system(ROOT / "examples" / "tereffic_onchip_370m.yaml")
    r = simulate_system(
        system, workload_from_trace(trace, design_elementwise_bytes(system.cards[0]))
    )
    rows = [
        ("tereffic_onchip_370m.yaml", "370m", r.summary, TEREFFIC_ONCHIP),
        ("tereffic_hbm_2p7b.yaml", "2.7b", run("tereffic_hbm_2p7b.yaml", "2.7b"), TEREFFIC),
    ]
    for design, model, s, (tps, w) in rows:
        got_tps, got_w = float(s["tokens_per_s"]), float(s["avg_power_w"])  # type: ignore[arg-type]
        print(
            f"  {design:<28} {model:<6} {got_tps:10,.1f} {tps:10,.1f} {got_tps / tps - 1:+7.1%} "
            f"{got_w:7.2f} {w:10.2f} {got_w / w - 1:+7.1%} "
            f"{float(s['bound_tokens_per_s']):12,.1f}  {s['binding_bound']}"  # type: ignore[arg-type]
        )
    for card in r.cards:
        print(
            f"    card {card.index}: {card.share}, {card.avg_power_w:.2f} W "
            f"(static {card.power_breakdown_w.get('static', 0.0):.1f} W), floor "
            f"{card.bound_ns_per_step / 1e3:.2f} us a step"
        )
    for link in r.links:
        print(
            f"    link {link.name} ({link.link}): {link.bytes_per_token:,.0f} B/token, "
            f"{link.avg_power_w:.2f} W"
        )


def fixed_costs() -> None:
    """Print designs with their fixed costs hidden or exposed, against their own floors."""
    import dataclasses

    from arch_models.spec.evolve import evolve

    hide = {"ctrl.issue_ahead": True, "layout.sync": "reductions"}
    fuse = {**hide, "rms.fuse_quantise": True}
    variants = [
        ("as described", {}),
        ("issue_ahead + sync reductions", hide),
        ("... + quantiser in the norm", fuse),
        ("wbuf 128 KiB", {"wbuf.capacity_kib": 128}),
        ("wbuf 512 KiB", {"wbuf.capacity_kib": 512}),
    ]
    print("Fixed costs: the U280 design's variants against their own floors (simulated)")
    arch = load_arch(ROOT / "examples" / "u280_hbm.yaml")
    for model in ("370m", "2.7b"):
        trace = generate_trace(model, prompt_tokens=1, gen_tokens=2, seed=0)
        work = workload_from_trace(trace, design_elementwise_bytes(arch))
        for name, changes in variants:
            s = simulate(evolve(arch, changes), work).summary
            tps, bound = float(s["tokens_per_s"]), float(s["bound_tokens_per_s"])  # type: ignore[arg-type]
            print(f"  {model:<5} {name:<30} {tps:9,.1f} tok/s  {tps / bound:6.1%} of {bound:,.1f}")
    system = load_system(ROOT / "examples" / "tereffic_onchip_370m.yaml")
    trace = generate_trace("370m", prompt_tokens=1, gen_tokens=2, seed=0)
    work = workload_from_trace(trace, design_elementwise_bytes(system.cards[0]))
    for name, changes in variants[:3]:
        cards = tuple(evolve(a, changes) for a in system.cards)
        r = simulate_system(dataclasses.replace(system, cards=cards), work)
        print(
            f"  tereffic_onchip_370m.yaml {name:<30} {r.tokens_per_s:9,.1f} tok/s  "
            f"{r.tokens_per_s / r.bound_tokens_per_s:6.1%} of {r.bound_tokens_per_s:,.1f}"
        )


def main() -> None:
    if "--batch-sweep" in sys.argv[1:]:
        batch_sweep()
        return
    if "--tereffic" in sys.argv[1:]:
        tereffic()
        return
    if "--fixed-costs" in sys.argv[1:]:
        fixed_costs()
        return
    s = run("d5005_paper_core.yaml", "paper-block-d512")
    err = (s["ms_per_token"] - PAPER_MS) / PAPER_MS  # type: ignore[operator]
    print("Calibration: paper core, one d=512 block at 60 MHz")
    print(
        f"  simulated {s['ms_per_token']:.2f} ms vs paper {PAPER_MS} ms: {err:+.1%}; "
        f"bound {1000 / s['bound_tokens_per_s']:.2f} ms ({s['binding_bound']}); "  # type: ignore[operator]
        f"{s['avg_power_w']:.2f} W"
    )
    if "--record" in sys.argv[1:]:
        _record(s, err)
    print()
    print(
        f"{'design':<24} {'model':<6} {'tok/s':>10} {'W':>7} {'J/token':>9} "
        f"{'mem-bound tok/s':>16} {'of bound':>9}  bottleneck"
    )
    rows = [("d5005_paper_core.yaml", m) for m in ("370m", "1.3b", "2.7b")]
    rows += [("u280_hbm.yaml", m) for m in ("370m", "1.3b", "2.7b")]
    for design, model in rows:
        s = run(design, model)
        print(
            f"{design:<24} {model:<6} {s['tokens_per_s']:10.3f} {s['avg_power_w']:7.2f} "
            f"{s['energy_per_token_j']:9.4f} {s['memory_bound_tokens_per_s']:16.3f} "
            f"{s['fraction_of_memory_bound']:9.1%}  {s['bottleneck']}"
        )
        if design == "u280_hbm.yaml" and model == "2.7b":
            tps, w = TEREFFIC
            print(
                f"{'TerEffic (published)':<24} {model:<6} {tps:10.3f} {w:7.2f} "
                f"{w / tps:9.4f}   ratio ours/theirs: {float(s['tokens_per_s']) / tps:.2f}x "  # type: ignore[arg-type]
                f"tok/s, {float(s['avg_power_w']) / w:.2f}x W"  # type: ignore[arg-type]
            )
    print()
    tereffic()
    print()
    batch_sweep()


def _record(summary: dict[str, object], err: float) -> None:
    """Write the paper calibration into the fidelity ladder (``--record``)."""
    import datetime

    from arch_models.fidelity import FIDELITY_FILE, record_rung
    from cosim import __version__

    record_rung(
        "paper",
        {
            "error": err,
            "mean_abs_error": abs(err),
            "cases": 1,
            "simulated_ms": summary["ms_per_token"],
            "paper_ms": PAPER_MS,
            "source": "Zhu et al., arXiv 2406.02528 (one block, d = 512, 60 MHz)",
            "fitted_constant": False,
            "command": "benchmarks/predictions.py",
            "date": datetime.date.today().isoformat(),
            "versions": {"package": __version__},
        },
    )
    print(f"  recorded in {FIDELITY_FILE}")


if __name__ == "__main__":
    main()
