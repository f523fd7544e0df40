"""The trace schema applied: :func:`check_trace` checks a trace as :func:`read_trace` reads it.

Fields and columns are checked against their declarations first (type, nulls, range,
choices), then the rules that tie them together, each on the values that passed (a
problem is reported once, where it is). Problems are collected, never raised one by one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from workloads.config import ModelConfig
from workloads.errors import ModelConfigError, TraceError
from workloads.numerics import ElementFormat, FunctionApprox, Numerics
from workloads.packing import BLOCK_COLS
from workloads.trace_schema import (
    MANIFEST_FIELDS,
    MATRICES_SCHEMA,
    MATVEC_KINDS,
    MAX_LISTED,
    OPERANDS,
    OPS_SCHEMA,
    SCHEMA_VERSION,
    TRACE_KIND,
    Column,
    Field,
)
from workloads.weights import matrix_layout

__all__ = ["check_trace"]


# ----------------------------------------------------------------------------- problems


def _show(value: Any) -> str:
    """A value as a message shows it: one line, at most 60 characters."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value) if isinstance(value, str) else "null" if value is None else str(value)
    if isinstance(value, bool):
        text = text.lower()
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 60 else text[:57] + "..."


#: A column's values by row: an array, or a function of the row.
_Values = Callable[[int], Any] | npt.NDArray[Any]


class _Problems:
    """Collects problems: the first :data:`MAX_LISTED` as lines, all of them counted."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.count = 0

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append(f"{where}: {message}")

    def rows(
        self,
        file: str,
        column: str,
        bad: npt.NDArray[np.bool_],
        got: _Values,
        message: str,
        want: _Values | None = None,
    ) -> None:
        """Report every row where ``bad`` holds: ``file row i column c: message (got v)``.

        ``message`` may name ``{want}`` (the value ``want`` gives for the row) and
        ``{row}``.
        """
        rows = np.flatnonzero(bad)
        for i in (int(r) for r in rows[: max(0, MAX_LISTED - len(self.listed))]):
            wanted = _show(_at(want, i)) if want is not None else ""
            text = message.replace("{want}", wanted).replace("{row}", str(i))
            self.listed.append(f"{file} row {i} column {column}: {text} (got {_show(_at(got, i))})")
        self.count += len(rows)


def _at(values: _Values, i: int) -> Any:
    return values(i) if callable(values) else values[i]


# ---------------------------------------------------------------------------- manifest


def _range_text(lo: float | None, hi: float | None, open_range: bool) -> str:
    if lo is not None and hi is not None:
        if lo == hi:
            return f"= {_show(lo)}"
        left, right = ("(", ")") if open_range else ("[", "]")
        return f"in {left}{_show(lo)}, {_show(hi)}{right}"
    if lo is not None:
        return f"> {_show(lo)}" if open_range else f">= {_show(lo)}"
    return f"< {_show(hi)}" if open_range else f"<= {_show(hi)}"


def _out_of_range(v: float, lo: float | None, hi: float | None, open_range: bool) -> bool:
    if open_range:
        return not ((lo is None or v > lo) and (hi is None or v < hi))
    return not ((lo is None or v >= lo) and (hi is None or v <= hi))


_TYPE_TEXT = {
    "int": "an integer",
    "number": "a number",
    "str": "a string",
    "bool": "true or false",
    "object": "an object",
    "int_list": "a list of integers",
    "str_list": "a list of strings",
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _field_problem(field: Field, value: Any) -> str | None:
    """What is wrong with one manifest value, or None."""
    if value is None:
        return None if field.nullable else f"must be {_TYPE_TEXT[field.kind]} (got null)"
    kind = field.kind
    typed = {
        "int": _is_int(value),
        "number": _is_int(value) or isinstance(value, float),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "object": isinstance(value, dict),
        "int_list": isinstance(value, list) and all(_is_int(v) for v in value),
        "str_list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    if not typed:
        return f"must be {_TYPE_TEXT[kind]} (got {_show(value)})"
    if field.choices is not None and value not in field.choices:
        choices = ", ".join(_show(c) for c in field.choices)
        return f"must be one of {choices} (got {_show(value)})"
    if field.pattern is not None and not re.fullmatch(field.pattern, value):
        return f"must match {field.pattern} (got {_show(value)})"
    if kind in ("int", "number", "int_list") and (field.minimum, field.maximum) != (None, None):
        items = value if kind == "int_list" else [value]
        for j, v in enumerate(items):
            if field.nan_ok and isinstance(v, float) and not math.isfinite(v):
                continue
            if _out_of_range(v, field.minimum, field.maximum, field.open_range):
                at = f"item {j} " if kind == "int_list" else ""
                rng = _range_text(field.minimum, field.maximum, field.open_range)
                return f"{at}must be {rng} (got {_show(v)})"
    return None


def _check_fields(manifest: dict[str, Any], where: str, p: _Problems) -> dict[str, Any]:
    """Check every declared field; return the valid values by dotted path."""
    valid: dict[str, Any] = {}
    objects: dict[str, dict[str, Any]] = {"": manifest}
    for path, field in MANIFEST_FIELDS.items():
        parent, _, key = path.rpartition(".")
        obj = objects.get(parent)
        if obj is None:  # the parent is missing or invalid: already reported
            continue
        if key not in obj:
            if not field.optional:
                p.add(f"{where} {path}", "required field missing")
            continue
        problem = _field_problem(field, obj[key])
        if problem is not None:
            p.add(f"{where} {path}", problem)
            continue
        valid[path] = obj[key]
        if field.kind == "object":
            objects[path] = obj[key]
    for parent, obj in objects.items():
        for key in obj:
            path = f"{parent}.{key}" if parent else key
            if path not in MANIFEST_FIELDS:
                p.add(f"{where} {path}", f"not a field of trace schema version {SCHEMA_VERSION}")
    return valid


def _all(valid: dict[str, Any], prefix: str) -> bool:
    """Whether the object at ``prefix`` and every required field under it are valid."""
    return all(
        path in valid
        for path, f in MANIFEST_FIELDS.items()
        if (path == prefix or path.startswith(prefix + ".")) and not f.optional
    )


def _config(valid: dict[str, Any], where: str, p: _Problems) -> ModelConfig | None:
    if not _all(valid, "model"):
        return None
    data = dict(valid["model"])
    derived = data.pop("ternary_weights_per_token")
    try:
        config = ModelConfig.from_dict(data)
    except ModelConfigError as exc:
        for problem in exc.problems or (str(exc),):
            p.add(f"{where} model", problem)
        return None
    if derived != config.ternary_weights_per_token:
        p.add(
            f"{where} model.ternary_weights_per_token",
            f"must be L(4d² + 3dI) + Vd = {config.ternary_weights_per_token} (got {derived})",
        )
    return config


def _numerics(valid: dict[str, Any], prefix: str, where: str, p: _Problems) -> Numerics | None:
    if not _all(valid, prefix):
        return None
    data = valid[prefix]
    parsed: dict[str, Any] = {}
    for key, parse in (
        ("elementwise", ElementFormat.parse),
        ("sigmoid", FunctionApprox.parse),
        ("silu", FunctionApprox.parse),
    ):
        try:
            parsed[key] = parse(data[key])
        except ValueError as exc:
            p.add(f"{where} {prefix}.{key}", str(exc))
    if len(parsed) < 3:
        return None
    try:
        numerics = Numerics(
            act_bits=data["act_bits"],
            acc_bits=data["acc_bits"],
            acc_overflow=data["acc_overflow"],
            round_half=data["round_half"],
            **parsed,
        )
    except ValueError as exc:
        p.add(f"{where} {prefix}", str(exc))
        return None
    if data["elementwise_bytes"] != numerics.elementwise.bytes:
        p.add(
            f"{where} {prefix}.elementwise_bytes",
            f"must be the bytes of {numerics.elementwise} = {numerics.elementwise.bytes} "
            f"(got {data['elementwise_bytes']})",
        )
        return None
    return numerics


def _equal(where: str, got: Any, expected: Any, why: str, p: _Problems) -> None:
    if got is not None and expected is not None and got != expected:
        p.add(where, f"must be {why} = {_show(expected)} (got {_show(got)})")


@dataclass(frozen=True)
class _Manifest:
    """What the tables are checked against (each None where the manifest is invalid)."""

    where: str
    config: ModelConfig | None
    numerics: Numerics | None
    prompt: int | None
    steps: int | None
    valid: dict[str, Any]


def _check_manifest(manifest: dict[str, Any], where: str, p: _Problems) -> _Manifest:
    valid = _check_fields(manifest, where, p)
    config = _config(valid, where, p)
    numerics = _numerics(valid, "numerics", where, p)
    for prefix in ("summary.numerics_cost.numerics", "summary.numerics_cost.reference"):
        _numerics(valid, prefix, where, p)
    prompt, gen = valid.get("prompt_tokens"), valid.get("gen_tokens")
    steps = prompt + gen if prompt is not None and gen is not None else None
    if steps == 0:
        p.add(f"{where} gen_tokens", "a trace needs at least one step (prompt or generated)")
        steps = None
    get = valid.get
    _equal(f"{where} summary.model", get("summary.model"), get("model.name"), "model.name", p)
    for key in ("prompt_tokens", "gen_tokens"):
        _equal(f"{where} summary.{key}", get(f"summary.{key}"), get(key), key, p)
    _equal(f"{where} summary.steps", get("summary.steps"), steps, "prompt_tokens + gen_tokens", p)
    if config is not None:
        tokens = get("tokens")
        if tokens is not None:
            wanted = 0 if config.block_only else steps
            why = "0 (a block-only model has no tokens)" if config.block_only else "the steps"
            if wanted is not None and len(tokens) != wanted:
                p.add(f"{where} tokens", f"must hold {why} = {wanted} tokens (got {len(tokens)})")
            for j, t in enumerate(tokens):
                if t >= config.vocab:
                    p.add(f"{where} tokens", f"item {j} must be < vocab {config.vocab} (got {t})")
                    break
        _equal(
            f"{where} summary.ternary_weights_per_token",
            get("summary.ternary_weights_per_token"),
            config.ternary_weights_per_token,
            "the model's",
            p,
        )
        if numerics is not None:
            row = 0 if config.block_only else config.d * numerics.elementwise.bytes
            _equal(
                f"{where} summary.embedding_row_bytes",
                get("summary.embedding_row_bytes"),
                row,
                "d · elementwise bytes (0 if block-only)",
                p,
            )
    return _Manifest(where, config, numerics, prompt, steps, valid)


# ------------------------------------------------------------------------------- tables


class _Table:
    """One table's columns as NumPy arrays; only those that passed the column checks.

    String columns are held as codes into :attr:`labels` (one dictionary per column).
    """

    def __init__(self, table: pa.Table, file: str, schema: dict[str, Column], p: _Problems):
        self.file = file
        self.rows = table.num_rows
        self.values: dict[str, npt.NDArray[Any]] = {}
        self.labels: dict[str, list[str]] = {}
        self.lists: pa.ListArray | None = None
        for name in table.column_names:
            if name not in schema:
                p.add(f"{file} column {name}", f"not a column of trace schema {SCHEMA_VERSION}")
        for name, col in schema.items():
            if name not in table.column_names:
                p.add(f"{file} column {name}", "missing")
                continue
            data = table.column(name)
            if not data.type.equals(col.type):
                p.add(f"{file} column {name}", f"must be {col.type} (got {data.type})")
            elif data.null_count:
                nulls = np.asarray(data.is_null().to_numpy(zero_copy_only=False), dtype=bool)
                p.rows(file, name, nulls, np.full(len(nulls), None), "must not be null")
            else:
                self._load(name, col, data, p)

    def _load(self, name: str, col: Column, data: pa.ChunkedArray, p: _Problems) -> None:
        """Keep a column if its values are in range (every bad row reported)."""
        if pa.types.is_list(col.type):
            lists = data.combine_chunks()
            if lists.flatten().null_count:
                p.add(f"{self.file} column {name}", "list items must not be null")
                return
            self.lists = lists
            self.values[name] = np.asarray(lists.value_lengths().to_numpy(zero_copy_only=False))
            return
        if pa.types.is_string(col.type) or pa.types.is_dictionary(col.type):
            encoded = data.cast(pa.string()).combine_chunks().dictionary_encode()
            codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
            labels: list[str] = encoded.dictionary.to_pylist()
            if col.choices is not None:
                known = np.array([v in col.choices for v in labels], dtype=bool)
                if not known.all():
                    p.rows(
                        self.file,
                        name,
                        ~known[codes],
                        np.array(labels, dtype=object)[codes],
                        f"must be one of {', '.join(col.choices)}",
                    )
                    return
            self.values[name], self.labels[name] = codes, labels
            return
        values = np.asarray(data.to_numpy())
        with np.errstate(invalid="ignore"):
            bad = np.zeros(len(values), dtype=bool)
            if col.minimum is not None:
                bad |= values < col.minimum
            if col.maximum is not None:
                bad |= values > col.maximum
            if not col.nan_ok and values.dtype.kind == "f":
                bad |= np.isnan(values)
        if bad.any():
            rng = _range_text(col.minimum, col.maximum, False)
            p.rows(self.file, name, bad, values, f"must be {rng}")
            return
        self.values[name] = values

    def has(self, *names: str) -> bool:
        return all(n in self.values for n in names)

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.values[name]

    def ints(self, name: str) -> npt.NDArray[np.int64]:
        return self.values[name].astype(np.int64)

    def is_label(self, name: str, wanted: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        """Rows whose string ``name`` is one of ``wanted``."""
        hits = [j for j, v in enumerate(self.labels[name]) if v in wanted]
        return np.isin(self.values[name], hits)

    def texts(self, name: str) -> npt.NDArray[Any]:
        """A string column as an object array."""
        labels = np.array(self.labels[name], dtype=object)
        out: npt.NDArray[Any] = labels[self.values[name]]
        return out

    def shown(self, name: str) -> Callable[[int], Any]:
        """The value of row ``i`` as a message shows it."""
        if name in self.labels:
            labels, codes = self.labels[name], self.values[name]
            return lambda i: labels[codes[i]]
        values = self.values[name]
        return lambda i: values[i]


def _check_metadata(table: pa.Table, file: str, part: str, p: _Problems) -> None:
    meta = table.schema.metadata or {}
    kind = meta.get(b"kind", b"").decode(errors="replace")
    if kind != f"{TRACE_KIND}-{part}":
        p.add(file, f"metadata kind must be {TRACE_KIND}-{part} (got {_show(kind)})")


#: Packed weight bytes: ceil(rows·cols / weights per byte), as :mod:`workloads.packing`.
_BYTES_RULES = {"bytes_2bit": 4, "bytes_5trit": 5}


def _check_matrices(m: _Table, man: _Manifest, p: _Problems) -> None:
    """Ids, the model's layout, nonzero structure and bytes; the summary's totals."""
    f = m.file
    if m.has("matrix"):
        ids = m.ints("matrix")
        p.rows(f, "matrix", ids != np.arange(m.rows), ids, "must be {row}")
    cfg = man.config
    if cfg is not None:
        layout = matrix_layout(cfg)  # at most 6 · 32767 + 1: layers is bounded
        if m.rows != len(layout):
            p.add(f, f"must hold the model's {len(layout)} matrices (got {m.rows} rows)")
        elif m.has("layer", "name", "rows", "cols"):
            for j, col in enumerate(("layer", "name", "rows", "cols")):
                want = np.array([entry[j] for entry in layout], dtype=object)
                have = m.texts(col) if col == "name" else m[col].astype(object)
                p.rows(
                    f,
                    col,
                    have != want,
                    m.shown(col),
                    "must be {want} (the model's matrix {row})",
                    want,
                )
    if not m.has("rows", "cols"):
        return
    rows, cols = m.ints("rows"), m.ints("cols")
    weights = rows * cols
    for col, per_byte in _BYTES_RULES.items():
        if m.has(col):
            packed = -(-weights // per_byte)
            p.rows(
                f,
                col,
                m[col] != packed,
                m.shown(col),
                f"must be ceil(rows·cols/{per_byte}) = {{want}}",
                packed,
            )
    if not m.has("nonzeros"):
        return
    nnz = m.ints("nonzeros")
    p.rows(
        f,
        "nonzeros",
        nnz > weights,
        m.shown("nonzeros"),
        "must be <= rows·cols = {want}",
        weights,
    )
    if m.has("zero_fraction"):
        zf = 1.0 - nnz / np.maximum(weights, 1)
        off = ~np.isclose(m["zero_fraction"], zf, rtol=1e-9, atol=1e-12)
        p.rows(
            f,
            "zero_fraction",
            off,
            m.shown("zero_fraction"),
            "must be 1 - nonzeros / (rows·cols) = {want}",
            zf,
        )
    if m.has("nnz_blocks") and m.lists is not None:
        _check_blocks(m, m.lists, rows, cols, nnz, p)
    _check_totals(m, weights, nnz, man, p)


def _check_blocks(
    m: _Table,
    lists: pa.ListArray,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    nnz: npt.NDArray[np.int64],
    p: _Problems,
) -> None:
    """``nnz_blocks``: rows × ceil(cols/block) counts, each within its block, summing up."""
    lengths = m.ints("nnz_blocks")
    flat = np.asarray(lists.flatten().to_numpy(zero_copy_only=False))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    block = BLOCK_COLS
    nblk = -(-cols // block)
    f = m.file
    p.rows(
        f,
        "nnz_blocks",
        lengths != rows * nblk,
        lengths,
        f"must hold rows × ceil(cols/{block}) = {{want}} counts",
        rows * nblk,
    )
    for i in np.flatnonzero(lengths == rows * nblk):
        counts = flat[starts[i] : starts[i + 1]].reshape(int(rows[i]), int(nblk[i]))
        last = int(cols[i] - (nblk[i] - 1) * block)
        worst = max(int(counts[:, :-1].max(initial=0)) - block, int(counts[:, -1].max()) - last)
        if worst > 0:
            p.add(
                f"{f} row {i} column nnz_blocks",
                f"a block's count must be <= its width ({block}; {last} for the last block "
                f"of a row)",
            )
        total = int(counts.sum(dtype=np.int64))
        if total != nnz[i]:
            p.add(
                f"{f} row {i} column nonzeros",
                f"must be the sum of nnz_blocks = {total} (got {nnz[i]})",
            )


def _check_totals(
    m: _Table,
    weights: npt.NDArray[np.int64],
    nnz: npt.NDArray[np.int64],
    man: _Manifest,
    p: _Problems,
) -> None:
    """The summary's totals are the matrices'."""
    get, where = man.valid.get, man.where
    total = int(weights.sum(dtype=np.int64))
    nonzeros = int(nnz.sum(dtype=np.int64))
    key = "summary.ternary_weights_per_token"
    _equal(f"{where} {key}", get(key), total, "Σ rows·cols of the matrices", p)
    for part, col in (("2bit", "bytes_2bit"), ("5trit", "bytes_5trit")):
        if m.has(col):
            key = f"summary.weight_bytes_per_token.{part}"
            _equal(f"{where} {key}", get(key), int(m.ints(col).sum()), f"Σ {col}", p)
    key = "summary.nonzeros_per_token"
    _equal(f"{where} {key}", get(key), nonzeros, "Σ nonzeros", p)
    zf = get("summary.zero_fraction")
    if zf is not None and total and not math.isclose(zf, 1 - nonzeros / total, rel_tol=1e-9):
        p.add(
            f"{where} summary.zero_fraction",
            f"must be 1 - Σ nonzeros / Σ rows·cols = {1 - nonzeros / total!r} (got {zf!r})",
        )


def _check_ops(o: _Table, m: _Table, man: _Manifest, p: _Problems) -> None:
    """Steps contiguous and alike, matvecs on their matrices, bytes, accumulators."""
    f, get, where = o.file, man.valid.get, man.where
    _equal(f"{where} summary.trace_rows", get("summary.trace_rows"), o.rows, "the ops rows", p)
    if o.rows == 0:
        p.add(f, "must hold at least one row")
        return
    steps = man.steps
    if steps is not None and o.rows % steps:
        p.add(f, f"{o.rows} rows are not the same number of ops for each of {steps} steps")
        steps = None
    per_step = o.rows // steps if steps else None
    key = "summary.ops_per_step"
    _equal(f"{where} {key}", get(key), per_step, "ops rows / steps", p)
    if steps and per_step:
        _check_steps(o, steps, per_step, man.prompt, p)
    cfg = man.config
    if cfg is not None and o.has("layer"):
        over = o["layer"] >= cfg.layers
        p.rows(f, "layer", over, o.shown("layer"), f"must be < layers {cfg.layers}")
    if not o.has("op"):
        return
    matvec = o.is_label("op", MATVEC_KINDS)
    if o.has("matrix", "rows", "cols", "elements", "layer", "name"):
        _check_matvecs(o, m, matvec, p)
    if man.numerics is None:
        return
    if o.has("elements", "rows", "cols"):
        _check_bytes(o, matvec, man.numerics, cfg, p)
    if o.has("acc_min", "acc_max", "cols"):
        lo, hi = o.ints("acc_min"), o.ints("acc_max")
        bound = 2 ** (man.numerics.act_bits - 1) * o.ints("cols")
        for col, arr in (("acc_min", lo), ("acc_max", hi)):
            p.rows(f, col, ~matvec & (arr != 0), o.shown(col), "must be 0 for a non-matvec op")
            wild = matvec & ((arr < -bound) | (arr > bound))
            p.rows(
                f,
                col,
                wild,
                o.shown(col),
                "must be within ±2^(act_bits-1)·cols = ±{want}",
                bound,
            )
        p.rows(
            f,
            "acc_max",
            matvec & (lo > hi),
            o.shown("acc_max"),
            "must be >= acc_min {want}",
            lo,
        )


def _first_step(shown: Callable[[int], Any], k: int) -> Callable[[int], Any]:
    """The value of a row's op at step 0 (rows are step-major, ``k`` ops a step)."""
    return lambda i: shown(i % k)


#: Columns that describe what an op is: the same at every step.
_STATIC = ("layer", "op", "name", "matrix", "rows", "cols", "elements", "bytes_in", "bytes_out")


def _check_steps(o: _Table, steps: int, k: int, prompt: int | None, p: _Problems) -> None:
    """Rows step-major (steps 0.., ops 0..k-1 each), prompt steps first, every step alike."""
    f = o.file
    step = np.repeat(np.arange(steps, dtype=np.int64), k)
    seq = np.tile(np.arange(k, dtype=np.int64), steps)
    if o.has("step"):
        p.rows(
            f,
            "step",
            o.ints("step") != step,
            o.shown("step"),
            f"must be {{want}} (steps contiguous, {k} ops each, in order)",
            step,
        )
    if o.has("seq"):
        p.rows(
            f,
            "seq",
            o.ints("seq") != seq,
            o.shown("seq"),
            "must be {want} (ops numbered in order within a step)",
            seq,
        )
    if o.has("phase") and prompt is not None:
        decode = o.is_label("phase", ("decode",))
        p.rows(
            f,
            "phase",
            decode != (step >= prompt),
            o.shown("phase"),
            f"must be {{want}} ({prompt} prompt steps, then decode)",
            np.where(step >= prompt, "decode", "prefill"),
        )
    for col in _STATIC:
        if o.has(col):
            grid = o[col].reshape(steps, k)
            shown = o.shown(col)
            p.rows(
                f,
                col,
                (grid != grid[0]).reshape(-1),
                shown,
                "must be step 0's {want} (every step does the same ops)",
                _first_step(shown, k),
            )


def _check_matvecs(o: _Table, m: _Table, matvec: npt.NDArray[np.bool_], p: _Problems) -> None:
    """A matvec names an existing matrix and has its shape, layer and name; others none."""
    f = o.file
    mid = o.ints("matrix")
    p.rows(f, "matrix", ~matvec & (mid != -1), o.shown("matrix"), "must be -1 for a non-matvec op")
    for col in ("rows", "cols"):
        p.rows(f, col, ~matvec & (o[col] != 0), o.shown(col), "must be 0 for a non-matvec op")
    known = matvec & (mid >= 0) & (mid < m.rows)
    p.rows(
        f,
        "matrix",
        matvec & ~known,
        o.shown("matrix"),
        f"must be a matrix id of matrices.parquet (0..{m.rows - 1})",
    )
    rows, cols = o.ints("rows"), o.ints("cols")
    p.rows(
        f,
        "elements",
        matvec & (o.ints("elements") != rows * cols),
        o.shown("elements"),
        "must be rows × cols = {want}",
        rows * cols,
    )
    if o.has("step"):
        first = known & (o.ints("step") == 0)
        uses = np.bincount(mid[first], minlength=m.rows)
        for j in np.flatnonzero(uses != 1):
            p.add(f"{f} step 0", f"matrix {j} must be used once per step (got {uses[j]} times)")
    if not m.has("rows", "cols", "layer", "name") or not known.any():
        return
    idx = np.where(known, mid, 0)
    for col in ("rows", "cols", "layer"):
        want = m.ints(col)[idx]
        p.rows(
            f,
            col,
            known & (o.ints(col) != want),
            o.shown(col),
            "must be its matrix's {want}",
            want,
        )
    names, want_names = o.texts("name"), m.texts("name")[idx]
    p.rows(
        f,
        "name",
        known & (names != want_names),
        o.shown("name"),
        "must be its matrix's {want}",
        want_names,
    )
    head = o.is_label("op", ("head",))
    p.rows(
        f,
        "op",
        known & (head != (m.ints("layer")[idx] == -1)),
        o.shown("op"),
        "must be head exactly for the LM head's matrix (layer -1)",
    )


def _check_bytes(
    o: _Table,
    matvec: npt.NDArray[np.bool_],
    numerics: Numerics,
    cfg: ModelConfig | None,
    p: _Problems,
) -> None:
    """Activation bytes as the format defines them from rows, cols and elements."""
    f = o.file
    eb, ab = numerics.elementwise.bytes, numerics.act_bytes
    elements = o.ints("elements")
    if cfg is not None:
        widest = max(cfg.d, 2 * cfg.intermediate, cfg.vocab)
        p.rows(
            f,
            "elements",
            ~matvec & (elements > widest),
            o.shown("elements"),
            f"must be <= the model's widest vector {widest}",
        )
    n = np.minimum(elements, 2**40)  # larger is reported above; no overflow below
    quant = o.is_label("op", ("quantise",))
    per_label = [OPERANDS.get(v, 0) for v in o.labels["op"]]
    operands = np.array(per_label, dtype=np.int64)[o["op"]]
    rows, cols = o.ints("rows"), o.ints("cols")
    want = {
        "bytes_in": np.where(matvec, cols * ab, np.where(quant, n * eb, operands * n * eb)),
        "bytes_out": np.where(matvec, rows * eb, np.where(quant, n * ab, n * eb)),
    }
    for j, kind in enumerate(o.labels["op"]):
        of_kind = o["op"] == j
        for col, text in zip(("bytes_in", "bytes_out"), _bytes_rule(kind, eb, ab), strict=True):
            if o.has(col):
                p.rows(
                    f,
                    col,
                    of_kind & (o.ints(col) != want[col]),
                    o.shown(col),
                    f"must be {text} = {{want}} for {kind}",
                    want[col],
                )


def _bytes_rule(kind: str, eb: int, ab: int) -> tuple[str, str]:
    """How the format defines an op's bytes in and out, in words."""
    if kind in MATVEC_KINDS:
        return f"cols × {ab}", f"rows × {eb}"
    if kind == "quantise":
        return f"elements × {eb}", f"elements × {ab}"
    return f"{OPERANDS[kind]} × elements × {eb}", f"elements × {eb}"


def check_trace(folder: Path, manifest: dict[str, Any], ops: pa.Table, matrices: pa.Table) -> None:
    """Check a trace against :mod:`workloads.trace_schema`: every field, column and rule.

    Args:
        folder: The trace folder (for messages).
        manifest: The parsed ``manifest.json`` (an object whose kind and schema version
            are known to be right).
        ops: ``ops.parquet`` as read.
        matrices: ``matrices.parquet`` as read.

    Raises:
        TraceError: Listing every problem found (the first :data:`MAX_LISTED`, and how
            many more), each located by file, row and column.
    """
    p = _Problems()
    man = _check_manifest(manifest, str(Path(folder) / "manifest.json"), p)
    files = {part: str(Path(folder) / f"{part}.parquet") for part in ("ops", "matrices")}
    _check_metadata(ops, files["ops"], "ops", p)
    _check_metadata(matrices, files["matrices"], "matrices", p)
    m = _Table(matrices, files["matrices"], MATRICES_SCHEMA, p)
    o = _Table(ops, files["ops"], OPS_SCHEMA, p)
    _check_matrices(m, man, p)
    _check_ops(o, m, man, p)
    if p.count:
        noun = "problem" if p.count == 1 else "problems"
        raise TraceError(
            f"{folder}: not a valid trace ({p.count} {noun})",
            p.listed,
            more=p.count - len(p.listed),
        )
