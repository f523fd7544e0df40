"""Baselines as rows of text: one formatting shared by plain and rich output.

:func:`case_table` and :func:`micro_tables` give headers and string rows (``-`` for a
null); :func:`format_text` lays them out in plain columns (the GPU machine has no rich).
The ``cosim baseline show`` command renders the same rows with rich. Standard library
only.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpubench.schema import Baseline, Case

__all__ = [
    "case_table",
    "format_size",
    "format_text",
    "format_value",
    "micro_tables",
    "run_lines",
]

Table = tuple[str, list[str], list[list[str]]]


def format_size(n: int) -> str:
    """Bytes as MiB or KiB."""
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 2**10:g} KiB"


def format_value(value: float | int | None, spec: str) -> str:
    """A figure in ``spec``, or ``-`` where it is missing."""
    return "-" if value is None else format(value, spec)


_size, _f = format_size, format_value  # short names for the tables below


def case_table(b: Baseline) -> Table:
    """One row per case: what was measured and the headline numbers."""
    headers = [
        "model",
        "impl",
        "launch",
        "batch",
        "prefill ms",
        "ms/token",
        "p10-p90",
        "quiet ms (steps)",
        "tokens/s",
        "GiB",
        "W",
        "idle W",
        "J/token",
        "SM MHz",
        "kernels",
        "probe us",
        "status",
    ]
    rows = []
    for c in b.cases:
        rows.append(
            [
                c.model,
                c.impl,
                c.launch,
                str(c.batch),
                _f(c.prefill_ms, ".2f"),
                _f(c.decode_ms_per_token, ".3f"),
                _spread(c),
                _quiet(c),
                _f(c.tokens_per_s, ",.1f"),
                _f(c.peak_memory_gib, ".2f"),
                _f(c.avg_power_w, ".0f"),
                _f(c.idle_power_w, ".0f"),
                _f(c.energy_per_token_j, ".4f"),
                _f(c.sm_clock_mhz, ".0f"),
                _f(c.kernels_per_step, "d"),
                _f(c.host_probe_us, ".2f"),
                c.status if c.status == "ok" else f"{c.status}: {c.reason}",
            ]
        )
    return "cases", headers, rows


def _quiet(c: Case) -> str:
    """Quiet-host ms/token with its quiet steps (eager cases' tagged pass), else ``-``."""
    if not c.tagged_ms:
        return "-"
    return f"{_f(c.decode_quiet_ms_per_token, '.3f')} ({c.quiet_steps}/{len(c.tagged_ms)})"


def _spread(c: Case) -> str:
    if c.decode_ms_p10 is None or c.decode_ms_p90 is None:
        return "-"
    return f"{c.decode_ms_p10:.3f}-{c.decode_ms_p90:.3f}"


def micro_tables(b: Baseline) -> list[Table]:
    """Each run's microbenchmarks: bandwidths and launches, then GEMVs."""
    out: list[Table] = []
    for i, run in enumerate(b.runs):
        m = run.micro
        if m is None:
            continue
        if m.status != "ok":
            out.append((f"run {i} microbenchmarks", ["status"], [[f"{m.status}: {m.reason}"]]))
            continue
        rows = [[x.name, _size(x.bytes), f"{x.ms:.4f}", f"{x.gb_per_s:,.0f}"] for x in m.bandwidth]
        rows.append(["launch, eager torch op", "-", _f(m.launch_eager_us, ".2f") + " us", "-"])
        rows.append(["launch, eager Triton", "-", _f(m.launch_triton_us, ".2f") + " us", "-"])
        rows.append(["launch, graph node", "-", _f(m.launch_graph_node_us, ".2f") + " us", "-"])
        rows.append(["bf16 GEMM TFLOP/s", "-", "-", _f(m.gemm_tflops, ",.0f")])
        if m.hbm_power is not None:
            p = m.hbm_power
            rows.append(
                [
                    "HBM read power W",
                    "-",
                    f"{p.duration_s:.1f} s",
                    _f(p.avg_power_w, ".0f"),
                ]
            )
        rows += [[f"failed: {e}", "-", "-", "-"] for e in m.errors]
        out.append((f"run {i} microbenchmarks", ["what", "size", "ms", "GB/s"], rows))
        g_rows = [
            [
                g.model,
                g.matrix,
                f"{g.rows}x{g.cols}",
                str(g.batch),
                g.kind,
                f"{g.us:.2f}",
                f"{g.gb_per_s:,.0f}",
            ]
            for g in m.gemv
        ]
        if g_rows:
            out.append(
                (
                    f"run {i} GEMV (weights not in L2)",
                    ["model", "matrix", "shape", "batch", "kind", "us", "GB/s"],
                    g_rows,
                )
            )
    return out


def run_lines(b: Baseline) -> list[str]:
    """One line per run: where, with what, when, and the command."""
    lines = []
    for i, run in enumerate(b.runs):
        e, s = run.environment, run.settings
        state = "complete" if run.complete else "incomplete"
        lines.append(
            f"run {i}: {e.gpu_name or e.device} (driver {e.driver_version or '-'}, CUDA "
            f"{e.cuda_version or '-'}, torch {e.torch_version}, triton {e.triton_version or '-'})"
            f" {e.date_utc}, {run.elapsed_s:.0f} s, {state}"
            f"{', QUICK (smoke run, not a baseline)' if s.quick else ''}; prompt "
            f"{s.prompt_tokens}, generated {s.gen_tokens}; idle "
            f"{_f(run.idle.avg_power_w, '.1f')} W"
        )
        lines.append(f"  command: {e.command}")
    return lines


def _layout(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if k >= 3 else c.ljust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [title, line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows), ""]


def format_text(b: Baseline) -> str:
    """The whole baseline as plain text (runs, cases, microbenchmarks, notes)."""
    out = [*run_lines(b), ""]
    out += _layout(*case_table(b))
    for table in micro_tables(b):
        out += _layout(*table)
    if b.notes:
        out += ["notes:", *(f"  {n}" for n in b.notes)]
    return "\n".join(out).rstrip() + "\n"
