"""The terminal table of a Pareto front fits the terminal and never cuts a number."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

from cosim_cli.errors import CliInputError
from cosim_cli.front_table import front_table

#: Space names of the U280 space (examples/u280_hbm_space.yaml) → their paths.
SPACE_PATHS = {
    "layout.cores": "units[0].cores",
    "hbm.channels": "units[1].channels",
    "tmac.lanes": "units[2].lanes",
    "tmac.rows_parallel": "units[2].rows_parallel",
    "tmac.weight_packing": "units[2].weight_packing",
    "tmac.zero_skipping": "units[2].zero_skipping",
    "tmac.accumulator_bits": "units[2].accumulator_bits",
    "wbuf.double_buffered": "units[3].double_buffered",
    "wbuf.capacity_kib": "units[3].capacity_kib",
    "clock_mhz": "clock_mhz",
}


def _front(rows: int = 6) -> pd.DataFrame:
    """A front as :func:`explorer.pareto.front_of` returns it, with big numbers."""
    data = []
    for i in range(rows):
        data.append(
            {
                "trial": 1000 + i,
                "state": "COMPLETE",
                "status": "feasible",
                "tokens_per_s": 2_812_345.678 - 1000 * i,
                "avg_power_w": 123.456 + i,
                "energy_per_token_j": 4.3898e-5 + 1e-6 * i,
                "tokens_per_joule": 22_780.5 - i,
                "bottleneck": "ternary array compute (15% busy)",
                "fits": True,
                "reason": "",
                "units[0].cores": 4 * (i + 1),
                "units[1].channels": 8 + 8 * (i % 2),
                "units[2].lanes": 32 << (i % 3),
                "units[2].rows_parallel": 4 << (i % 2),
                "units[2].weight_packing": "5trit" if i % 2 else "2bit",
                "units[2].zero_skipping": bool(i % 2),
                "units[2].accumulator_bits": 20 + 4 * (i % 3),
                "units[3].double_buffered": True,  # the same everywhere
                "units[3].capacity_kib": 256 << (i % 2),
                "clock_mhz": 225.0 + 25 * (i % 4),
            }
        )
    return pd.DataFrame(data)


def _render(width: int, front: pd.DataFrame | None = None, **kw: object) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    frame = _front() if front is None else front
    console.print(front_table(frame, SPACE_PATHS, "s", **kw))  # type: ignore[arg-type]
    return console.export_text()


@pytest.mark.parametrize("width", [100, 200])
def test_default_table_fits_and_keeps_every_number_whole(width: int) -> None:
    text = _render(width)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert "…" not in text
    rows = [line for line in lines if re.match(r"│ +10\d\d │", line)]
    assert len(rows) == 6  # one line per design: nothing wrapped
    for n, row in enumerate(rows):
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[:5] == [
            str(1000 + n),
            f"{2_812_345.678 - 1000 * n:,.0f}",
            f"{123.456 + n:.4g}",
            f"{(4.3898e-5 + 1e-6 * n) * 1e3:.4g}",
            "yes",
        ]
    header = text.split("┡")[0]
    for unit in ("tokens/s", "W", "mJ/token", "fits"):
        assert unit in header
    assert "the same in every design: wbuf.double_buffered yes" in " ".join(text.split())
    assert "bottleneck" not in header  # only with --wide or --columns


def test_at_100_columns_the_parameters_that_do_not_fit_are_named() -> None:
    text = " ".join(_render(100).split())
    assert "not shown for width:" in text and "see --wide or --columns" in text
    assert "tmac.accumulator_bits" in text  # named under the table, shown at 200
    assert "not shown" not in _render(200)


def test_wide_shows_every_column_in_tables_that_fit() -> None:
    for width in (100, 200):
        text = _render(width, wide=True)
        assert max(cell_len(line) for line in text.splitlines()) <= width
        assert "…" not in text
        for name in [*SPACE_PATHS, "tokens/J", "bottleneck"]:  # headers break at . and _
            assert all(part in text for part in re.split(r"(?<=[._])", name)), (width, name)
        assert "2,812,346" in text and "22,780" in text
    assert _render(200, wide=True).count("┏") == 1
    assert _render(100, wide=True).count("┏") >= 2  # split, each part led by the trial


def test_columns_by_header_or_key() -> None:
    text = _render(100, columns="trial,tokens_per_s,bottleneck,tmac.lanes,units[0].cores")
    header = text.split("┡")[0]
    assert "tokens/s" in header and "bottleneck" in header and "tmac.lanes" in header
    assert " W " not in header and "not shown" not in text
    assert "ternary array compute (15% busy)" in text
    with pytest.raises(CliInputError, match="column 'watts' is not in supported list: trial,"):
        _render(100, columns="trial,watts")


def test_empty_and_single_design_fronts() -> None:
    assert "(0 designs)" in _render(100, front=_front(0))
    one = _render(100, front=_front(1))
    assert "(1 design)" in one and "2,812,346" in one


def test_a_studys_latency_objectives_are_default_columns() -> None:
    front = _front()
    front["ms_per_token"] = [0.25 + 0.01 * i for i in range(len(front))]
    front["time_to_first_token_ms"] = [12.5 + i for i in range(len(front))]
    plain = _render(160, front)
    assert "TTFT ms" not in plain and "ms/token" not in plain
    text = _render(160, front, objectives=("tokens_per_s", "time_to_first_token_ms"))
    assert "TTFT ms" in text and "12.5" in text and "ms/token" not in text
    both = _render(200, front, columns="trial,ms/token,TTFT ms")
    assert "0.25" in both and "17.5" in both
