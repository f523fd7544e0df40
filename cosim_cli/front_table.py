"""The terminal table of a Pareto front, fitted to the terminal's width.

By default it shows the essential figures (trial, tokens/s, W, mJ/token, fits) and the
parameters whose value differs between designs of the front, as many as fit; parameters
common to every design, and those left out for width, are named under the table. Units
are in the headers, never in the cells, and numbers are never cut: long parameter names
break at ``.`` and ``_`` over several header lines. ``--wide`` shows every column,
``--columns`` the ones named (see :func:`add_table_options`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from cosim_cli.errors import CliInputError

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = ["FrontTable", "add_table_options", "front_table"]

#: Header widths below this are not broken over lines (``tokens/s``, ``mJ/token``).
_SHORT_HEADER = 8
#: Latency columns (summary key → header), shown by default when the study optimises them.
_LATENCY = {"ms_per_token": "ms/token", "time_to_first_token_ms": "TTFT ms"}


@dataclass(frozen=True)
class _Column:
    """One column: its header, what it may be called in ``--columns``, its cells."""

    header: str
    names: tuple[str, ...]
    cells: tuple[str, ...]
    justify: Literal["left", "right"] = "right"
    #: Text whose cells may wrap between words (numbers never do).
    wraps: bool = False

    @property
    def cell_width(self) -> int:
        """The widest cell, or its longest word if cells wrap."""
        if self.wraps:
            return max((cell_len(w) for c in self.cells for w in c.split()), default=0)
        return max((cell_len(c) for c in self.cells), default=0)

    @property
    def min_width(self) -> int:
        """The narrowest width that cuts no cell and breaks the header only at . or _."""
        pieces = _header_pieces(self.header)
        header = max(max(cell_len(p) for p in pieces), min(cell_len(self.header), _SHORT_HEADER))
        return max(self.cell_width, header, 1)

    @property
    def best_width(self) -> int:
        """The width with the header and every cell on one line."""
        cells = max((cell_len(c) for c in self.cells), default=0)
        return max(cells, cell_len(self.header), 1)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--wide`` and ``--columns`` (how the front's table is shown) to a command."""
    parser.add_argument(
        "--wide",
        action="store_true",
        help="show every column of the front's table (default: those that fit)",
    )
    parser.add_argument(
        "--columns",
        metavar="A,B,...",
        help="show these columns of the front's table (headers, e.g. trial,tokens/s,W,"
        "bottleneck,tmac.lanes)",
    )


def front_table(
    front: pd.DataFrame,
    space_paths: dict[str, str],
    title: str,
    *,
    wide: bool = False,
    columns: str | Sequence[str] | None = None,
    objectives: Sequence[str] = (),
) -> FrontTable:
    """Return a front's table, ready to print (it fits itself to the console's width).

    Args:
        front: The front (:func:`explorer.pareto.front_of`).
        space_paths: The space's parameter names → their paths (the study's attribute).
        title: The study's name.
        wide: Show every column.
        columns: Show these columns (comma-separated or a list), by header or key.
        objectives: The study's objectives: each is among the default columns.

    Raises:
        CliInputError: For a column name the table does not have.
    """
    return FrontTable(front, space_paths, title, wide=wide, columns=columns, objectives=objectives)


class FrontTable:
    """A Pareto front as a rich renderable: a title, the table, notes on what is left out.

    Args:
        front: The front (:func:`explorer.pareto.front_of`).
        space_paths: The space's parameter names → their paths.
        title: The study's name.
        wide: Show every column.
        columns: Show these columns (comma-separated or a list), by header or key.
        objectives: The study's objectives: each is among the default columns.

    Raises:
        CliInputError: For a column name the table does not have.
    """

    def __init__(
        self,
        front: pd.DataFrame,
        space_paths: dict[str, str],
        title: str,
        *,
        wide: bool = False,
        columns: str | Sequence[str] | None = None,
        objectives: Sequence[str] = (),
    ) -> None:
        n = len(front)
        self.title = f"Pareto front of {title} ({n} design{'' if n == 1 else 's'})"
        figures = _figure_columns(front)
        params = _param_columns(front, space_paths)
        every = [*figures.values(), *params]
        self.common: list[tuple[str, str]] = []  # parameters the same in every design
        if columns is not None:
            self.fixed = _pick(every, columns)
            self.optional: list[_Column] = []
        elif wide:
            self.fixed, self.optional = every, []
        else:
            default = ["trial", "tokens/s", "W", "mJ/token"]
            default += [h for k, h in _LATENCY.items() if k in objectives and h in figures]
            self.fixed = [figures[k] for k in (*default, "fits")]
            self.optional = []
            for col in params if n else ():
                if n > 1 and len(set(col.cells)) == 1:
                    self.common.append((col.header, col.cells[0]))
                else:
                    self.optional.append(col)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.title)
        tables, left_out = self.tables(options.max_width)
        yield from tables
        notes = []
        if self.common:
            same = ", ".join(f"{name} {value}" for name, value in self.common)
            notes.append(f"the same in every design: {same}")
        if left_out:
            names = ", ".join(c.header for c in left_out)
            notes.append(f"not shown for width: {names} (see --wide or --columns)")
        for note in notes:
            yield Text(note, style="dim")

    def tables(self, width: int) -> tuple[list[Table], list[_Column]]:
        """Return the table fitted to ``width`` cells, and the columns left out.

        The columns asked for that do not fit side by side are split over several tables
        one under the other, each led by the trial number; the parameters added by
        default are left out when they do not fit beside the essential columns.
        """
        groups = _groups(self.fixed, width)
        left_out: list[_Column] = []
        if len(groups) == 1:
            for col in self.optional:
                if _total([*groups[0], col]) <= width:
                    groups[0].append(col)
                else:
                    left_out.append(col)
        else:
            left_out = list(self.optional)
        return [_table(group, width) for group in groups], left_out


def _groups(columns: Sequence[_Column], width: int) -> list[list[_Column]]:
    """Split columns into runs that fit ``width``, each after the first led by the trial."""
    groups: list[list[_Column]] = [[]]
    for col in columns:
        if groups[-1] and _total([*groups[-1], col]) > width:
            groups.append([columns[0]] if col is not columns[0] else [])
        groups[-1].append(col)
    return groups


def _table(shown: Sequence[_Column], width: int) -> Table:
    """Return a table of these columns, each at least at its narrowest.

    Spare width goes first to text cells (a line saved is saved on every row), then to
    the headers cheapest to put on one line (the most headers unbroken).
    """
    t = Table()
    widths: list[int] | None = [c.min_width for c in shown]
    if _total(shown) > width:
        widths = None  # one column alone wider than the terminal: rich folds its cells
    else:
        assert widths is not None
        spare = width - _total(shown)
        by_cost = sorted(
            range(len(shown)),
            key=lambda i: (not shown[i].wraps, shown[i].best_width - shown[i].min_width),
        )
        for i in by_cost:
            more = min(spare, shown[i].best_width - widths[i])
            widths[i] += more
            spare -= more
    for i, col in enumerate(shown):
        w = widths[i] if widths is not None else None
        t.add_column(
            _wrap_header(col.header, w) if w is not None else col.header,
            justify=col.justify,
            width=w,
            no_wrap=not col.wraps and w is not None,
            overflow="fold",
        )
    for row in zip(*(c.cells for c in shown), strict=True):
        t.add_row(*row)
    return t


def _total(columns: Sequence[_Column]) -> int:
    """Return the width of a table of these columns at their narrowest (with borders)."""
    return sum(c.min_width for c in columns) + 3 * len(columns) + 1


def _figure_columns(front: pd.DataFrame) -> dict[str, _Column]:
    rows = list(front.to_dict("records"))

    def col(header: str, key: str, fmt: Any, text: bool = False) -> _Column:
        cells = tuple(fmt(r[key]) for r in rows)
        return _Column(header, (header, key), cells, "left" if text else "right", wraps=text)

    return {
        "trial": col("trial", "trial", str),
        "tokens/s": col("tokens/s", "tokens_per_s", _number),
        "W": col("W", "avg_power_w", _number),
        "mJ/token": col("mJ/token", "energy_per_token_j", lambda v: _number(v * 1e3)),
        "tokens/J": col("tokens/J", "tokens_per_joule", _number),
        "fits": col("fits", "fits", _cell),
        "bottleneck": col("bottleneck", "bottleneck", str, text=True),
        **{
            header: col(header, key, _number)
            for key, header in _LATENCY.items()
            if key in front.columns
        },
    }


def _param_columns(front: pd.DataFrame, space_paths: dict[str, str]) -> list[_Column]:
    by_path = {v: k for k, v in space_paths.items()}
    searched = set(space_paths.values())
    paths = [
        c for c in front.columns if c in searched or c.startswith(("units[", "clock_mhz", "device"))
    ]
    return [
        _Column(by_path.get(p, p), (by_path.get(p, p), p), tuple(_cell(v) for v in front[p]))
        for p in paths
    ]


def _pick(every: Sequence[_Column], names: str | Sequence[str]) -> list[_Column]:
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    wanted = [n for n in wanted if n]
    known = {n: c for c in every for n in c.names}
    bad = [n for n in wanted if n not in known]
    if bad:
        raise CliInputError(
            f"column {bad[0]!r} is not in supported list: {', '.join(c.header for c in every)}"
        )
    if not wanted:
        raise CliInputError("--columns names no column")
    return [known[n] for n in wanted]


def _header_pieces(header: str) -> list[str]:
    """``tmac.rows_parallel`` → ``["tmac.", "rows_", "parallel"]`` (where it may break)."""
    pieces, start = [], 0
    for i, ch in enumerate(header):
        if ch in "._" and i + 1 < len(header):
            pieces.append(header[start : i + 1])
            start = i + 1
    pieces.append(header[start:])
    return pieces


def _wrap_header(header: str, width: int) -> str:
    """The header over lines of at most ``width`` cells, broken at ``.`` and ``_``."""
    lines: list[str] = []
    for piece in _header_pieces(header):
        if lines and cell_len(lines[-1] + piece) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(lines)


def _number(v: Any) -> str:
    """Four significant figures, thousands separated, no unit (it is in the header)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    x = float(v)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _cell(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, float) and math.isnan(v):
        return "-"  # not sampled: its condition did not hold
    if isinstance(v, bool):
        return "yes" if v else "no"
    if hasattr(v, "item") and not isinstance(v, str):
        return _cell(v.item())  # numpy scalars
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
