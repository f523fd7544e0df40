"""The trace schema checked on read: each rule refuses its own damage, located and listed.

Each case damages one thing of a real trace (the tiny model) and expects one
:class:`TraceError` naming the file, row and column, and no other exception; the
declarations are checked against what the writer writes, both ways.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cosim_cli.main import main
from workloads.config import get_config
from workloads.errors import TraceError
from workloads.synthetic import synthetic_weights
from workloads.trace import generate_trace, read_trace
from workloads.trace_schema import (
    MANIFEST_FIELDS,
    MATRICES_SCHEMA,
    MAX_LISTED,
    OPS_SCHEMA,
)
from workloads.weights import matrix_layout

Mutation = Callable[[Path], None]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schema") / "trace"
    generate_trace("tiny", prompt_tokens=2, gen_tokens=2, out=out, cost_tokens=1)
    return out


def _copy(base: Path, tmp_path: Path, name: str = "trace") -> Path:
    folder = tmp_path / name
    shutil.copytree(base, folder)
    return folder


def _manifest(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        change(manifest)
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return mutate


def _column(file: str, name: str, change: Callable[[np.ndarray], None]) -> Mutation:
    def mutate(folder: Path) -> None:
        table = pq.read_table(folder / file)
        values = table.column(name).to_numpy(zero_copy_only=False).copy()
        change(values)
        column = pa.array(values, table.schema.field(name).type)
        table = table.set_column(table.column_names.index(name), name, column)
        pq.write_table(table, folder / file)

    return mutate


def _table(file: str, change: Callable[[pa.Table], pa.Table]) -> Mutation:
    def mutate(folder: Path) -> None:
        table = pq.read_table(folder / file)
        meta = table.schema.metadata
        pq.write_table(change(table).replace_schema_metadata(meta), folder / file)

    return mutate


def _set(index: int, value: Any) -> Callable[[np.ndarray], None]:
    def change(values: np.ndarray) -> None:
        values[index] = value

    return change


def _nnz(row: int, change: Callable[[list[int]], list[int]]) -> Mutation:
    def edit(table: pa.Table) -> pa.Table:
        lists = table.column("nnz_blocks").to_pylist()
        lists[row] = change(list(lists[row]))
        j = table.column_names.index("nnz_blocks")
        return table.set_column(j, "nnz_blocks", pa.array(lists, pa.list_(pa.uint8())))

    return _table("matrices.parquet", edit)


# (what is damaged, the damage, a line the error must hold: {f} is the folder)
CASES: list[tuple[str, Mutation, str]] = [
    (
        "negative element count",
        _column("ops.parquet", "elements", _set(17, -4)),
        "{f}/ops.parquet row 17 column elements: must be >= 0 (got -4)",
    ),
    (
        "matvec element count not rows x cols",
        _column("ops.parquet", "elements", _set(4, 4095)),
        "{f}/ops.parquet row 4 column elements: must be rows × cols = 4096 (got 4095)",
    ),
    (
        "bytes not as the format defines them",
        _column("ops.parquet", "bytes_in", _set(1, 255)),
        "{f}/ops.parquet row 1 column bytes_in: must be 1 × elements × 4 = 256 for norm (got 255)",
    ),
    (
        "unknown op kind",
        _column("ops.parquet", "op", _set(8, "softmax")),
        "{f}/ops.parquet row 8 column op: must be one of embedding, norm",
    ),
    (
        "unknown phase",
        _table(
            "ops.parquet",
            lambda t: t.set_column(
                1,
                "phase",
                pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(t.num_rows, np.int8)), pa.array(["warmup", "decode"])
                ),
            ),
        ),
        "{f}/ops.parquet row 0 column phase: must be one of prefill, decode (got 'warmup')",
    ),
    (
        "prefill step marked decode",
        _table(
            "ops.parquet",
            lambda t: t.set_column(
                1,
                "phase",
                pa.DictionaryArray.from_arrays(
                    pa.array(np.ones(t.num_rows, np.int8)), pa.array(["prefill", "decode"])
                ),
            ),
        ),
        "{f}/ops.parquet row 0 column phase: must be 'prefill' (2 prompt steps, then decode)",
    ),
    (
        "steps not contiguous",
        _column("ops.parquet", "step", lambda v: v.__setitem__(v == 3, 4)),
        "{f}/ops.parquet row 213 column step: must be 3 (steps contiguous, 71 ops each",
    ),
    (
        "rows out of order",
        _table("ops.parquet", lambda t: t.take([1, 0, *range(2, t.num_rows)])),
        "{f}/ops.parquet row 0 column seq: must be 0 (ops numbered in order within a step)",
    ),
    (
        "a step unlike the first",
        _column("ops.parquet", "layer", _set(71 + 5, 1)),
        "{f}/ops.parquet row 76 column layer: must be step 0's 0 (every step does the same ops)",
    ),
    (
        "matrix id that does not exist",
        _column("ops.parquet", "matrix", lambda v: v.__setitem__(v == 12, 13)),
        "{f}/ops.parquet row 70 column matrix: must be a matrix id of matrices.parquet (0..12)",
    ),
    (
        "matvec shape unlike its matrix",
        _column("matrices.parquet", "rows", _set(0, 65)),
        "{f}/matrices.parquet row 0 column rows: must be 64 (the model's matrix 0) (got 65)",
    ),
    (
        "op pointing at another matrix",
        _column("ops.parquet", "matrix", _set(4, 1)),
        "{f}/ops.parquet step 0: matrix 0 must be used once per step (got 0 times)",
    ),
    (
        "nnz_blocks of the wrong shape",
        _nnz(3, lambda v: v[:-1]),
        "{f}/matrices.parquet row 3 column nnz_blocks: must hold rows × ceil(cols/64) = 64 "
        "counts (got 63)",
    ),
    (
        "a block count above the block",
        _nnz(2, lambda v: [65, *v[1:]]),
        "{f}/matrices.parquet row 2 column nnz_blocks: a block's count must be <= its width",
    ),
    (
        "nonzeros not the sum of the blocks",
        _column("matrices.parquet", "nonzeros", lambda v: v.__setitem__(1, v[1] + 1)),
        "{f}/matrices.parquet row 1 column nonzeros: must be the sum of nnz_blocks",
    ),
    (
        "packed bytes",
        _column("matrices.parquet", "bytes_2bit", _set(5, 1)),
        "{f}/matrices.parquet row 5 column bytes_2bit: must be ceil(rows·cols/4) = 4096 (got 1)",
    ),
    (
        "manifest layers unlike the tables",
        _manifest(lambda m: m["model"].update(layers=3, ternary_weights_per_token=229376)),
        "{f}/matrices.parquet: must hold the model's 19 matrices (got 13 rows)",
    ),
    (
        "manifest d unlike the tables",
        _manifest(lambda m: m["model"].update(d=32, ternary_weights_per_token=53248)),
        "{f}/matrices.parquet row 0 column rows: must be 32 (the model's matrix 0) (got 64)",
    ),
    (
        "summary unlike the tables",
        _manifest(lambda m: m["summary"].update(nonzeros_per_token=1)),
        "{f}/manifest.json summary.nonzeros_per_token: must be Σ nonzeros",
    ),
    (
        "steps unlike the token counts",
        _manifest(lambda m: m.update(gen_tokens=3)),
        "{f}/manifest.json summary.gen_tokens: must be gen_tokens = 3 (got 2)",
    ),
    (
        "a token outside the vocabulary",
        _manifest(lambda m: m["tokens"].__setitem__(1, 512)),
        "{f}/manifest.json tokens: item 1 must be < vocab 512 (got 512)",
    ),
    (
        "a field of the wrong type",
        _manifest(lambda m: m["model"].update(d="64")),
        "{f}/manifest.json model.d: must be an integer (got '64')",
    ),
    (
        "a missing field",
        _manifest(lambda m: m["summary"].pop("steps")),
        "{f}/manifest.json summary.steps: required field missing",
    ),
    (
        "an unknown field",
        _manifest(lambda m: m["numerics"].update(dither=True)),
        "{f}/manifest.json numerics.dither: not a field of trace schema version 1",
    ),
    (
        "numerics that do not parse",
        _manifest(lambda m: m["numerics"].update(elementwise="fixed99.1")),
        "{f}/manifest.json numerics.elementwise: fixed point needs 2 <= bits <= 48",
    ),
    (
        "element bytes unlike the format",
        _manifest(lambda m: m["numerics"].update(elementwise_bytes=2)),
        "{f}/manifest.json numerics.elementwise_bytes: must be the bytes of float32 = 4 (got 2)",
    ),
    (
        "a NaN epsilon",
        _manifest(lambda m: m["model"].update(bitlinear_eps=float("nan"))),
        "{f}/manifest.json model.bitlinear_eps: must be in (0, 1) (got nan)",
    ),
    (
        "a column of another type",
        _table("ops.parquet", lambda t: t.set_column(0, "step", t.column("step").cast(pa.int64()))),
        "{f}/ops.parquet column step: must be int32 (got int64)",
    ),
    (
        "a dropped column",
        _table("matrices.parquet", lambda t: t.drop_columns(["nonzeros"])),
        "{f}/matrices.parquet column nonzeros: missing",
    ),
    (
        "a null value",
        _table(
            "ops.parquet",
            lambda t: t.set_column(
                14,
                "act_absmax",
                pa.array(t.column(14).to_numpy(), mask=np.arange(t.num_rows) == 3),
            ),
        ),
        "{f}/ops.parquet row 3 column act_absmax: must not be null (got null)",
    ),
    (
        "another table's metadata",
        lambda f: pq.write_table(
            pq.read_table(f / "ops.parquet").replace_schema_metadata(
                {"schema_version": "1", "kind": "mmfree-trace-matrices"}
            ),
            f / "ops.parquet",
        ),
        "{f}/ops.parquet: metadata kind must be mmfree-trace-ops (got 'mmfree-trace-matrices')",
    ),
]


@pytest.mark.parametrize(("damage", "mutate", "line"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_refuses_its_damage(
    base: Path, tmp_path: Path, damage: str, mutate: Mutation, line: str
) -> None:
    folder = _copy(base, tmp_path)
    read_trace(folder)  # the copy is valid
    mutate(folder)
    with pytest.raises(TraceError) as exc:
        read_trace(folder)
    text = str(exc.value)
    assert text.startswith(f"{folder}: not a valid trace ("), text
    assert "  " + line.format(f=folder) in text, text


@pytest.mark.parametrize(
    ("file", "damage", "match"),
    [
        ("ops.parquet", lambda b: b[: len(b) // 2], "corrupt trace file"),
        ("matrices.parquet", lambda b: b[:-9], "corrupt trace file"),
        ("ops.parquet", lambda b: b"not parquet at all", "corrupt trace file"),
        ("ops.parquet", lambda b: b"", "corrupt trace file"),
        ("manifest.json", lambda b: b[:-30], "corrupt manifest"),
        ("manifest.json", lambda b: b"[" * 100_000, "corrupt manifest"),
        ("manifest.json", lambda b: b"[]", "not a trace manifest"),
    ],
)
def test_unreadable_files_are_trace_errors(
    base: Path, tmp_path: Path, file: str, damage: Callable[[bytes], bytes], match: str
) -> None:
    folder = _copy(base, tmp_path)
    (folder / file).write_bytes(damage((folder / file).read_bytes()))
    with pytest.raises(TraceError, match=match):
        read_trace(folder)


def test_every_problem_is_counted_and_the_first_listed(base: Path, tmp_path: Path) -> None:
    folder = _copy(base, tmp_path)
    _column("ops.parquet", "elements", lambda v: v.__setitem__(slice(None), -1))(folder)
    with pytest.raises(TraceError) as exc:
        read_trace(folder)
    rows = len(pq.read_table(folder / "ops.parquet"))
    assert str(exc.value).startswith(f"{folder}: not a valid trace ({rows} problems)")
    assert len(exc.value.problems) == MAX_LISTED
    assert exc.value.more == rows - MAX_LISTED
    assert str(exc.value).endswith(f"... and {rows - MAX_LISTED} more problems")


def test_a_damaged_trace_is_refused_by_the_simulator_with_one_message(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], examples_dir: Path
) -> None:
    """Negative element counts once simulated to a higher tokens/s; now exit 2, no traceback."""
    folder = _copy(base, tmp_path)
    arch = str(examples_dir / "u280_hbm.yaml")
    assert main(["simulate", arch, "--trace", str(folder), "--json"]) == 0
    capsys.readouterr()
    _column("ops.parquet", "elements", lambda v: v.__setitem__(v > 4000, -4))(folder)
    assert main(["simulate", arch, "--trace", str(folder), "--json"]) == 2
    err = capsys.readouterr().err
    assert "column elements: must be >= 0 (got -4)" in err
    assert "Traceback" not in err


def test_declarations_match_what_the_writer_writes(base: Path) -> None:
    """Every field the writer writes is declared, and every declared field is written."""
    manifest = json.loads((base / "manifest.json").read_text())
    written: set[str] = set()

    def walk(obj: dict[str, Any], prefix: str) -> None:
        for key, value in obj.items():
            path = f"{prefix}{key}"
            written.add(path)
            if isinstance(value, dict):
                walk(value, path + ".")

    walk(manifest, "")
    assert written == set(MANIFEST_FIELDS)
    for file, schema in (("ops.parquet", OPS_SCHEMA), ("matrices.parquet", MATRICES_SCHEMA)):
        table = pq.read_schema(base / file)
        assert [(f.name, f.type) for f in table] == [(k, c.type) for k, c in schema.items()]


@pytest.mark.parametrize("model", ["tiny", "paper-block-d512"])
def test_matrix_layout_is_the_weights_order(model: str) -> None:
    cfg = get_config(model)
    weights = synthetic_weights(cfg, 0)
    got = [(m.layer, m.name, m.rows, m.cols) for m in weights.matrices()]
    assert matrix_layout(cfg) == got
    assert [m.matrix_id for m in weights.matrices()] == list(range(len(got)))
