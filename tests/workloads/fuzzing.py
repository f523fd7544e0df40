"""Fuzzing of what the loaders read: every damaged input gives a result or the package's error.

A case copies a real small trace (the tiny model, 2 prompt + 2 generated tokens) or
checkpoint folder, applies one to three random mutations to it (manifest and config
fields, table values, column types, dropped and renamed columns, rows, Parquet metadata,
index files, shard names and links, safetensors headers, truncated and garbled files) and
reads it back as the command line does (:func:`workloads.trace.read_trace`,
:func:`workloads.loading.load_weights`). The read must return, or raise the package's own
error (:class:`~workloads.errors.TraceError` for traces, a
:class:`~workloads.errors.WorkloadError` for checkpoints), within :data:`CASE_SECONDS`;
anything else raises :class:`FuzzError` naming the case and its mutations.

:func:`run_trace_cases` and :func:`run_checkpoint_cases` run many seeded cases (for a
benchmark); the tests draw a few through Hypothesis (:class:`DataChooser`), which shrinks a
failure to its smallest mutation list.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import struct
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tests.arch.fuzzing import time_limit
from workloads.checkpoint import write_checkpoint
from workloads.config import get_config
from workloads.errors import TraceError, WorkloadError
from workloads.loading import load_weights
from workloads.trace import generate_trace, read_trace
from workloads.trace_schema import MANIFEST_FIELDS

__all__ = [
    "CASE_SECONDS",
    "Chooser",
    "DataChooser",
    "FuzzError",
    "RandomChooser",
    "checkpoint_case",
    "run_checkpoint_cases",
    "run_trace_cases",
    "trace_case",
]

T = TypeVar("T")

#: The longest one case may take (a read that hangs or crawls is a failure too).
CASE_SECONDS = 20.0


class FuzzError(AssertionError):
    """A read raised something other than the package's error, or took too long."""


class Chooser(Protocol):
    """Where a case's random choices come from."""

    def integer(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``."""
        ...


class RandomChooser:
    """Choices from a seeded :class:`random.Random`."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)

    def choice(self, options: Sequence[T]) -> T:
        return options[self._rng.randrange(len(options))]


class DataChooser:
    """Choices drawn by Hypothesis (``st.data()``), so failures shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data, self._st = data, st

    def integer(self, lo: int, hi: int) -> int:
        value: int = self._data.draw(self._st.integers(lo, hi))
        return value

    def choice(self, options: Sequence[T]) -> T:
        return options[self._data.draw(self._st.integers(0, len(options) - 1))]


# ------------------------------------------------------------------------------ values

#: JSON values that break assumptions: types, signs, sizes, specials, markup.
JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    7,
    64,
    255,
    2**15,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    10**40,
    0.0,
    -0.0,
    0.5,
    1.0,
    1e-9,
    1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "x",
    "tiny",
    "decode",
    "ternary_matvec",
    "fixed8.4",
    "fixed64.2",
    "lut:3",
    "lut:99999999999999999999",
    "pwl:8:9",
    "float16",
    "[/x]",
    "a\nb",
    "\ud800",
    [],
    [1, 2],
    ["a"],
    [None],
    {},
    {"a": 1},
)


def _value(c: Chooser, current: Any) -> Any:
    """A replacement for ``current``: a nearby number, or any awkward JSON value."""
    if isinstance(current, int) and not isinstance(current, bool) and c.integer(0, 1):
        return c.choice((current + 1, current - 1, current * 2, -current, current // 2))
    if isinstance(current, float) and c.integer(0, 1):
        return c.choice((current * 1.5, current + 1e-3, -current, current / 2))
    return c.choice(JSON_VALUES)


def _int_values(dtype: pa.DataType) -> list[int]:
    info = np.iinfo(dtype.to_pandas_dtype())
    edges = [0, 1, -1, 2, 63, 64, 65, 255, 256, 2**15, 2**31, 2**62, -(2**40)]
    return [int(info.min), int(info.max), *(v for v in edges if info.min <= v <= info.max)]


# ---------------------------------------------------------------------------- traces

_TRACE_LOCK = threading.Lock()
_BASE: dict[str, Path] = {}


def _base(kind: str, make: Callable[[Path], None]) -> Path:
    """A real input made once per process (in a temporary folder removed at exit)."""
    with _TRACE_LOCK:
        if kind not in _BASE:
            root = Path(tempfile.mkdtemp(prefix=f"fuzz-{kind}-"))
            import atexit

            atexit.register(shutil.rmtree, root, True)
            make(root / kind)
            _BASE[kind] = root / kind
        return _BASE[kind]


def _make_trace(out: Path) -> None:
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, out=out, command=["fuzz"], cost_tokens=1)


def _clear(path: Path) -> None:
    """Remove a file, link or folder of the case (a link itself, never what it points to)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _put(path: Path, data: bytes) -> None:
    """Write a file of the case, never through a link (a case may link outside itself)."""
    _clear(path)
    path.write_bytes(data)


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _set_path(doc: Any, path: str, value: Any, delete: bool = False) -> None:
    """Set (or delete) a dotted path; where a parent is not an object, set the top key."""
    keys = path.split(".")
    obj = doc
    for key in keys[:-1]:
        if not isinstance(obj, dict) or not isinstance(obj.get(key), dict):
            obj = None
            break
        obj = obj[key]
    if not isinstance(obj, dict):
        if not isinstance(doc, dict):
            return
        obj, keys = doc, keys[:1]
    if delete:
        obj.pop(keys[-1], None)
    else:
        obj[keys[-1]] = value


def _get_path(doc: Any, path: str) -> Any:
    obj = doc
    for key in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


_MANIFEST_PATHS = (*MANIFEST_FIELDS, "extra", "summary.extra", "model.extra", "numerics.x")


def _json_field(file: Path, c: Chooser, paths: Sequence[str]) -> str:
    try:
        doc = _load_json(file)
    except (OSError, ValueError, RecursionError):
        return f"{file.name}: unreadable, left as is"
    path = c.choice(paths)
    if c.integer(0, 4) == 0:
        _set_path(doc, path, None, delete=True)
        what = f"delete {path}"
    else:
        value = _value(c, _get_path(doc, path))
        _set_path(doc, path, value)
        what = f"{path} = {value!r}"
    _put(file, json.dumps(doc).encode("ascii"))
    return f"{file.name}: {what}"


_BAD_JSON_TEXTS: tuple[bytes, ...] = (
    b"",
    b"{",
    b"[]",
    b"null",
    b'"x"',
    b"{}",
    b"\xff\xfe{}",
    b'{"kind": "mmfree-trace", "schema_version": 1}',
    b'{"kind": "mmfree-trace", "schema_version": true}',
    b"[" * 100_000,
    b"1" * 5000,
    b'{"a": NaN}',
)


def _json_replace(file: Path, c: Chooser) -> str:
    data = c.choice(_BAD_JSON_TEXTS)
    _put(file, data)
    return f"{file.name}: replaced by {data[:30]!r}"


def _read_table(path: Path) -> pa.Table | None:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException):
        return None


def _write_table(path: Path, table: pa.Table, meta: dict[bytes, bytes] | None) -> None:
    _clear(path)
    pq.write_table(table.replace_schema_metadata(meta), path)


_OTHER_TYPES: tuple[pa.DataType, ...] = (
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.uint8(),
    pa.uint64(),
    pa.float32(),
    pa.float64(),
    pa.string(),
    pa.large_string(),
    pa.dictionary(pa.int8(), pa.string()),
    pa.list_(pa.uint8()),
    pa.list_(pa.int64()),
    pa.bool_(),
)


def _new_cell(c: Chooser, column: pa.ChunkedArray, current: Any) -> Any:
    t = column.type
    number = current if isinstance(current, int | float) else 0
    if pa.types.is_integer(t):
        if c.integer(0, 1):
            return int(number) + c.choice((-1, 1, 64, -64))
        return c.choice(_int_values(t))
    if pa.types.is_floating(t):
        return c.choice((0.0, -1.0, 1e-3, 1e30, math.nan, math.inf, float(number) * 2))
    if pa.types.is_list(t):
        items = list(current) if current is not None else []
        how = c.integer(0, 4)
        if how == 0 and items:
            items[c.integer(0, len(items) - 1)] = c.choice((0, 1, 63, 64, 65, 255))
        elif how == 1 and items:
            items.pop()
        elif how == 2:
            items.append(c.choice((0, 64, 255)))
        elif how == 3:
            items = []
        else:
            items = items * 2
        return items
    labels = [v for v in column.unique().to_pylist() if v is not None]
    return c.choice(("", "bogus", "head", "ternary_matvec", "quantise", "decode", *labels))


def _table_value(file: Path, c: Chooser) -> str:
    table = _read_table(file)
    if table is None or table.num_rows == 0 or table.num_columns == 0:
        return f"{file.name}: unreadable or empty, left as is"
    meta = table.schema.metadata
    j = c.integer(0, table.num_columns - 1)
    name, column = table.column_names[j], table.column(j)
    values = column.to_pylist()
    count = c.choice((1, 1, 1, 2, len(values)))  # one cell, two, or the whole column
    rows = [c.integer(0, len(values) - 1) for _ in range(count)] if count < len(values) else []
    rows = rows or list(range(len(values)))
    new = _new_cell(c, column, values[rows[0]])
    for i in rows:
        values[i] = new if c.integer(0, 3) else None
    try:
        array = pa.array(values, type=column.type)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return f"{file.name}: {name} = {new!r} does not fit {column.type}, left as is"
    _write_table(file, table.set_column(j, name, array), meta)
    return f"{file.name}: {name}[{rows[:3]}...] = {new!r}"


def _table_shape(file: Path, c: Chooser) -> str:
    """Columns: retype, drop, rename, add; rows: drop, duplicate, swap, empty; metadata."""
    table = _read_table(file)
    if table is None or table.num_columns == 0:
        return f"{file.name}: unreadable, left as is"
    meta = dict(table.schema.metadata or {})
    j = c.integer(0, table.num_columns - 1)
    name = table.column_names[j]
    how = c.integer(0, 8)
    n = table.num_rows
    if how == 0:
        t = c.choice(_OTHER_TYPES)
        try:
            table = table.set_column(j, name, table.column(j).cast(t, safe=False))
        except (pa.ArrowException, ValueError, TypeError):
            strings = [None if v is None else str(v) for v in table.column(j).to_pylist()]
            table = table.set_column(j, name, pa.array(strings, pa.string()))
            t = pa.string()
        what = f"{name} as {t}"
    elif how == 1:
        table, what = table.remove_column(j), f"drop {name}"
    elif how == 2:
        table = table.rename_columns(
            [*table.column_names[:j], "renamed", *table.column_names[j + 1 :]]
        )
        what = f"rename {name}"
    elif how == 3:
        table, what = table.append_column("extra", pa.array(np.zeros(n, np.int32))), "add extra"
    elif how == 4 and n:
        i = c.integer(0, n - 1)
        table = pa.concat_tables([table.slice(0, i), table.slice(i + 1)])
        what = f"drop row {i}"
    elif how == 5 and n:
        i = c.integer(0, n - 1)
        table, what = pa.concat_tables([table, table.slice(i, 1)]), f"repeat row {i}"
    elif how == 6 and n > 1:
        i, k = c.integer(0, n - 1), c.integer(0, n - 1)
        order = list(range(n))
        order[i], order[k] = order[k], order[i]
        table, what = table.take(order), f"swap rows {i} {k}"
    elif how == 7:
        table, what = table.slice(0, c.choice((0, 1, n // 2))), "cut rows"
    else:
        key = c.choice((b"schema_version", b"kind"))
        value = c.choice((None, b"2", b"1", b"", b"mmfree-trace-ops", b"mmfree-trace-matrices"))
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
        what = f"metadata {key!r} = {value!r}"
    _write_table(file, table, meta or None)
    return f"{file.name}: {what}"


def _file_bytes(file: Path, c: Chooser) -> str:
    """Truncate, garble, empty, delete, or put a folder in the file's place."""
    if not file.is_file():
        return f"{file.name}: not a file, left as is"
    data = bytearray(file.read_bytes())
    how = c.integer(0, 5)
    if how == 0 and data:
        cut = c.integer(0, len(data) - 1)
        _put(file, bytes(data[:cut]))
        return f"{file.name}: truncated at {cut} of {len(data)}"
    if how == 1 and data:
        for _ in range(c.integer(1, 8)):
            i = c.integer(0, len(data) - 1)
            data[i] = c.integer(0, 255)
        _put(file, bytes(data))
        return f"{file.name}: bytes garbled"
    if how == 2:
        _put(file, bytes(c.integer(0, 255) for _ in range(c.integer(0, 64))))
        return f"{file.name}: random bytes"
    if how == 3:
        _put(file, b"")
        return f"{file.name}: emptied"
    _clear(file)
    if how == 4:
        return f"{file.name}: deleted"
    file.mkdir()
    return f"{file.name}: a folder instead"


def _trace_mutation(folder: Path, c: Chooser) -> str:
    file = folder / c.choice(("manifest.json", "ops.parquet", "matrices.parquet"))
    how = c.integer(0, 9)
    if file.name == "manifest.json":
        if how < 7:
            return _json_field(file, c, _MANIFEST_PATHS)
        return _json_replace(file, c) if how < 9 else _file_bytes(file, c)
    if how < 5:
        return _table_value(file, c)
    return _table_shape(file, c) if how < 8 else _file_bytes(file, c)


# ----------------------------------------------------------------------------- checkpoints

_HF_PATHS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "vocab_size",
    "num_heads",
    "expand_ratio",
    "hidden_ratio",
    "intermediate_size",
    "use_short_conv",
    "use_lower_bound",
    "rms_norm_eps",
    "max_position_embeddings",
    "tie_word_embeddings",
    "_name_or_path",
    "bogus",
)


def _make_checkpoint(out: Path) -> None:
    """Two layouts of the tiny model's checkpoint: one file, and two shards with an index."""
    single = write_checkpoint(out / "single", get_config("tiny"), seed=0)
    sharded = out / "sharded"
    sharded.mkdir()
    shutil.copy(single / "config.json", sharded / "config.json")
    header, data = _split_safetensors((single / "model.safetensors").read_bytes())
    names = sorted(k for k in header if k != "__metadata__")
    parts = {
        "model-00001-of-00002.safetensors": names[::2],
        "model-00002-of-00002.safetensors": names[1::2],
    }
    weight_map = {}
    for file, part in parts.items():
        new_header, chunks, offset = {}, [], 0
        for name in part:
            begin, end = header[name]["data_offsets"]
            new_header[name] = {**header[name], "data_offsets": [offset, offset + end - begin]}
            chunks.append(data[begin:end])
            offset += end - begin
            weight_map[name] = file
        (sharded / file).write_bytes(_join_safetensors(new_header, b"".join(chunks)))
    index = {"metadata": {"total_size": len(data)}, "weight_map": weight_map}
    (sharded / "model.safetensors.index.json").write_text(json.dumps(index))


def _split_safetensors(raw: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def _join_safetensors(header: Any, data: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def _weight_file(folder: Path, c: Chooser) -> Path | None:
    files = sorted(folder.glob("*.safetensors"))
    return c.choice(files) if files else None


def _safetensors_header(folder: Path, c: Chooser) -> str:
    file = _weight_file(folder, c)
    if file is None or not file.is_file():
        return "no safetensors file, left as is"
    try:
        header, data = _split_safetensors(file.read_bytes())
    except (struct.error, ValueError):
        return f"{file.name}: unreadable header, left as is"
    if not isinstance(header, dict) or not header:
        return f"{file.name}: odd header, left as is"
    name = c.choice(sorted(header))
    entry = header[name]
    how = c.integer(0, 5)
    if how == 0 and isinstance(entry, dict):
        value = c.choice(("F32", "F16", "BF16", "I8", "U8", "F64", "BOOL", "X", 3, None, ["F32"]))
        entry["dtype"] = value
        what = f"{name}.dtype = {value!r}"
    elif how == 1 and isinstance(entry, dict):
        shape = entry.get("shape")
        grown = [*shape[:-1], shape[-1] + 1] if isinstance(shape, list) and shape else [1]
        value = c.choice(([], [0], [1] * 70, [2**40, 0], [-1], ["a"], [10**30], grown, None))
        entry["shape"] = value
        what = f"{name}.shape = {value!r}"
    elif how == 2 and isinstance(entry, dict):
        value = c.choice(([0, 0], [0, 2**63], [-1, 3], [5, 2], ["a", 1], [True, False], None, [0]))
        entry["data_offsets"] = value
        what = f"{name}.data_offsets = {value!r}"
    elif how == 3:
        del header[name]
        what = f"drop {name}"
    elif how == 4:
        header["__metadata__"] = c.choice((3, [1], {"a": 1}, None))
        what = "__metadata__ changed"
    else:
        header[name] = c.choice((3, None, [], "x"))
        what = f"{name} not an object"
    _put(file, _join_safetensors(header, data))
    return f"{file.name}: {what}"


def _safetensors_bytes(folder: Path, c: Chooser) -> str:
    file = _weight_file(folder, c)
    if file is None or not file.is_file():
        return "no safetensors file, left as is"
    raw = bytearray(file.read_bytes())
    how = c.integer(0, 3)
    if how == 0:
        value = c.choice((0, 7, 8, 2**63, 2**64 - 1, len(raw), 100 * 2**20 + 1))
        raw[:8] = struct.pack("<Q", value)
        what = f"header length {value}"
    elif how == 1 and len(raw) >= 8:
        (length,) = struct.unpack("<Q", raw[:8])
        start = min(len(raw), 8 + length)
        if start < len(raw):  # NaN bf16 patterns in the data
            i = c.integer(start, len(raw) - 2)
            raw[i : i + 2] = c.choice((b"\xc0\x7f", b"\x80\x7f", b"\x80\xff"))
        what = "non-finite values"
    elif how == 2:
        cut = c.integer(0, max(0, len(raw) - 1))
        raw = raw[:cut]
        what = f"truncated at {cut}"
    else:
        for _ in range(c.integer(1, 8) if raw else 0):
            i = c.integer(0, len(raw) - 1)
            raw[i] = c.integer(0, 255)
        what = "bytes garbled"
    _put(file, bytes(raw))
    return f"{file.name}: {what}"


_SHARD_NAMES: tuple[Any, ...] = (
    "model.safetensors",
    "model-00001-of-00002.safetensors",
    "../single/model.safetensors",
    "/etc/hostname",
    "",
    ".",
    "..",
    "a/b.safetensors",
    "missing.safetensors",
    "config.json",
    "model.safetensors.index.json",
    "x\x00y",
    3,
    None,
    ["a"],
)


def _index(folder: Path, c: Chooser) -> str:
    """Write or change ``model.safetensors.index.json``."""
    index = folder / "model.safetensors.index.json"
    how = c.integer(0, 3)
    if how == 0:
        names = [c.choice(_SHARD_NAMES) for _ in range(c.integer(1, 3))]
        weight_map = {f"t{i}": n for i, n in enumerate(names)}
        try:  # keep the real tensors mapped, with the odd names added
            real = _load_json(index)["weight_map"] if index.is_file() else {}
        except (OSError, ValueError, RecursionError, KeyError, TypeError):
            real = {}
        if isinstance(real, dict):
            weight_map = {**real, **weight_map}
        _put(index, json.dumps({"weight_map": weight_map}).encode("ascii"))
        return f"index shards {names!r}"
    if how == 1:
        value = c.choice((None, [], {}, "x", 3, {"a": 3}, [["a", "b"]]))
        _put(index, json.dumps({"weight_map": value}).encode("ascii"))
        return f"index weight_map = {value!r}"
    if how == 2 and index.is_file():
        return _file_bytes(index, c)
    return _json_replace(index, c)


def _links(folder: Path, c: Chooser) -> str:
    """Replace a weight file, the index or config.json by a link (out, in, a loop, nowhere)."""
    target_name = c.choice(("weights", "config.json", "model.safetensors.index.json"))
    file = _weight_file(folder, c) if target_name == "weights" else folder / target_name
    if file is None:
        return "nothing to link, left as is"
    outside = folder.parent / "outside.bin"
    outside.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    kept = folder / "kept.safetensors"
    if file.is_file() and not file.is_symlink() and file != kept:
        shutil.copy(file, kept)
    to = c.choice(
        (str(outside), "/etc/hostname", "kept.safetensors", ".", "nowhere", file.name, "/dev/null")
    )
    _clear(file)
    os.symlink(to, file)
    return f"{file.name} -> {to}"


def _files(folder: Path, c: Chooser) -> str:
    """Swap the weights for a PyTorch file, drop the config, or garble it."""
    how = c.integer(0, 3)
    if how == 0:
        for file in folder.glob("*.safetensors"):
            file.rename(file.with_suffix(".bin"))
        _clear(folder / "model.safetensors.index.json")
        return "weights as .bin only"
    if how == 1:
        _clear(folder / "config.json")
        return "no config.json"
    if how == 2:
        return _json_replace(folder / "config.json", c)
    return _file_bytes(folder / "config.json", c)


def _checkpoint_mutation(folder: Path, c: Chooser) -> str:
    how = c.integer(0, 9)
    if how < 3:
        return _json_field(folder / "config.json", c, _HF_PATHS)
    if how < 5:
        return _safetensors_header(folder, c)
    if how == 5:
        return _safetensors_bytes(folder, c)
    if how == 6:
        return _index(folder, c)
    if how == 7:
        return _links(folder, c)
    return _files(folder, c)


# ------------------------------------------------------------------------------- cases


def _case(
    kind: str,
    c: Chooser,
    make: Callable[[Path], None],
    pick: Callable[[Path, Chooser], Path],
    mutate: Callable[[Path, Chooser], str],
    read: Callable[[Path], object],
    expected: type[Exception],
    label: str,
) -> str:
    base = _base(kind, make)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{kind}-case-") as tmp:
        source = pick(base, c)
        folder = Path(tmp) / source.name
        shutil.copytree(source, folder, symlinks=True)
        mutations = [mutate(folder, c) for _ in range(c.integer(1, 3))]
        started = time.perf_counter()
        try:
            with time_limit(CASE_SECONDS):
                read(folder)
            outcome = "valid"
        except expected as exc:
            outcome = type(exc).__name__
            if not str(exc).strip():
                raise FuzzError(f"{label}: {mutations}: an empty message") from exc
        except Exception as exc:
            raise FuzzError(f"{label}: {mutations} -> {type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter() - started
        if elapsed > CASE_SECONDS:
            raise FuzzError(f"{label}: {mutations}: took {elapsed:.1f} s")
    return outcome


def trace_case(c: Chooser, label: str = "trace case") -> str:
    """Mutate a copy of the tiny trace and read it; return ``valid`` or ``TraceError``.

    Raises:
        FuzzError: The read raised anything else, or took longer than the bound.
    """
    return _case(
        "trace",
        c,
        _make_trace,
        lambda base, _: base,
        _trace_mutation,
        read_trace,
        TraceError,
        label,
    )


def checkpoint_case(c: Chooser, label: str = "checkpoint case") -> str:
    """Mutate a copy of the tiny checkpoint (one file or two shards) and load it.

    Returns:
        ``valid``, or the name of the :class:`~workloads.errors.WorkloadError` raised.

    Raises:
        FuzzError: The load raised anything else, or took longer than the bound.
    """
    return _case(
        "checkpoint",
        c,
        _make_checkpoint,
        lambda base, ch: base / ch.choice(("single", "sharded")),
        _checkpoint_mutation,
        lambda folder: load_weights(str(folder)),
        WorkloadError,
        label,
    )


def run_trace_cases(n: int, seed: int = 0) -> Counter[str]:
    """Run ``n`` seeded trace cases; return how many ended in each outcome.

    Raises:
        FuzzError: At the first case whose read raised anything but a TraceError.
    """
    return Counter(
        trace_case(RandomChooser(seed * 1_000_003 + i), f"seed {seed} case {i}") for i in range(n)
    )


def run_checkpoint_cases(n: int, seed: int = 0) -> Counter[str]:
    """Run ``n`` seeded checkpoint cases; return how many ended in each outcome.

    Raises:
        FuzzError: At the first case whose load raised anything but a WorkloadError.
    """
    return Counter(
        checkpoint_case(RandomChooser(seed * 1_000_003 + i), f"seed {seed} case {i}")
        for i in range(n)
    )
