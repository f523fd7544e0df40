"""Traces: schema round trip, invariants against the model, version checks, atomicity."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import record_calls
from workloads.config import ModelConfig, get_config, glu_width
from workloads.errors import TraceError
from workloads.numerics import ElementFormat, Numerics
from workloads.packing import unpack
from workloads.quant import quantise_activations
from workloads.recorder import OP_KINDS
from workloads.synthetic import synthetic_weights
from workloads.trace import (
    MATRIX_COLUMNS,
    OPS_COLUMNS,
    Trace,
    check_output,
    clear_matrices_cache,
    generate_trace,
    read_trace,
    write_trace,
)

D256 = ModelConfig("d256", 2, 256, glu_width(256), 1024)


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trace, Path]:
    out = tmp_path_factory.mktemp("traces") / "tiny"
    return generate_trace("tiny", 3, 4, seed=5, out=out, command=["test"]), out


def test_files_and_arrow_schema(tiny_trace: tuple[Trace, Path]) -> None:
    _, out = tiny_trace
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "matrices.parquet",
        "ops.parquet",
    ]
    for name, columns in (("ops.parquet", OPS_COLUMNS), ("matrices.parquet", MATRIX_COLUMNS)):
        schema = pq.read_schema(out / name)
        assert [(f.name, f.type) for f in schema] == list(columns.items())
        assert schema.metadata[b"schema_version"] == b"1"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["kind"] == "mmfree-trace"
    for key in ("package_version", "created_utc", "seed", "model", "numerics", "command"):
        assert key in manifest
    assert manifest["model"]["name"] == "tiny" and manifest["model"]["block_only"] is False
    assert manifest["model"]["mlgru_form"] == "code"
    assert manifest["model"]["bitlinear_eps"] == 1e-6
    assert manifest["seed"] == 5 and manifest["command"] == ["test"]
    assert (manifest["prompt_tokens"], manifest["gen_tokens"]) == (3, 4)
    assert len(manifest["tokens"]) == 7
    assert manifest["numerics"]["act_bits"] == 8


def test_round_trip(tiny_trace: tuple[Trace, Path], tmp_path: Path) -> None:
    trace, out = tiny_trace
    back = read_trace(out)
    assert back.manifest == trace.manifest
    pd.testing.assert_frame_equal(back.ops, trace.ops)
    pd.testing.assert_frame_equal(
        back.matrices.drop(columns="nnz_blocks"), trace.matrices.drop(columns="nnz_blocks")
    )
    assert back.config == get_config("tiny")
    again = read_trace(write_trace(back, tmp_path / "copy"))
    pd.testing.assert_frame_equal(again.ops, back.ops)
    for a, b in zip(again.matrices["nnz_blocks"], back.matrices["nnz_blocks"], strict=True):
        assert np.array_equal(a, b)
    assert str(back.ops["phase"].dtype) == "category"


def _invariants(trace: Trace, cfg: ModelConfig) -> None:
    ops, mats, summary = trace.ops, trace.matrices, trace.summary
    steps, k = summary["steps"], summary["ops_per_step"]
    p, g = trace.manifest["prompt_tokens"], trace.manifest["gen_tokens"]
    assert steps == p + g and len(ops) == steps * k == summary["trace_rows"]
    assert ops["step"].tolist() == np.repeat(np.arange(steps), k).tolist()
    assert ops["seq"].tolist() == np.tile(np.arange(k), steps).tolist()
    assert (ops["phase"] == "prefill").sum() == p * k and (ops["phase"] == "decode").sum() == g * k
    assert set(ops["op"]) <= set(OP_KINDS)
    # every step does the same work, and reads every ternary weight once
    first = ops[ops["step"] == 0].reset_index(drop=True)
    static = ["layer", "op", "name", "matrix", "rows", "cols", "elements", "bytes_in", "bytes_out"]
    for _, group in ops.groupby("step"):
        pd.testing.assert_frame_equal(group[static].reset_index(drop=True), first[static])
    mv = first[first["op"].isin(["ternary_matvec", "head"])]
    assert mv["elements"].sum() == cfg.ternary_weights_per_token
    assert summary["ternary_weights_per_token"] == cfg.ternary_weights_per_token
    d, inter = cfg.d, cfg.intermediate
    head = 0 if cfg.block_only else cfg.vocab * d
    assert cfg.ternary_weights_per_token == cfg.layers * (4 * d * d + 3 * d * inter) + head
    assert sorted(mv["matrix"]) == mats["matrix"].tolist() == list(range(len(mats)))
    assert (mv["elements"] == mv["rows"] * mv["cols"]).all()
    # matrices: stored once, structure consistent
    for row in mats.itertuples():
        blocks = math.ceil(row.cols / row.block_cols)
        assert len(row.nnz_blocks) == row.rows * blocks
        assert int(np.sum(row.nnz_blocks, dtype=np.int64)) == row.nonzeros
        assert row.zero_fraction == pytest.approx(1 - row.nonzeros / (row.rows * row.cols))
        assert row.bytes_2bit == math.ceil(row.rows * row.cols / 4)
        assert row.bytes_5trit == math.ceil(row.rows * row.cols / 5)
    gate = mats[mats["name"] == "mlp.gate_proj"]
    assert len(gate) == cfg.layers and (gate["rows"] == 2 * inter).all()
    assert summary["weight_bytes_per_token"] == {
        "2bit": int(mats["bytes_2bit"].sum()),
        "5trit": int(mats["bytes_5trit"].sum()),
    }
    # accumulators: only matvecs have them, within what int8 × cols can reach
    mvs = ops["op"].isin(["ternary_matvec", "head"])
    assert (ops.loc[~mvs, ["acc_min", "acc_max"]] == 0).all().all()
    assert (ops.loc[mvs, "acc_min"] <= ops.loc[mvs, "acc_max"]).all()
    assert (ops.loc[mvs, "acc_max"].abs() <= 128 * ops.loc[mvs, "cols"]).all()
    assert (ops.loc[mvs, "acc_min"].abs() <= 128 * ops.loc[mvs, "cols"]).all()
    assert (ops["act_absmax"] >= 0).all() and np.isfinite(ops["act_absmax"]).all()


def test_invariants_tiny(tiny_trace: tuple[Trace, Path]) -> None:
    _invariants(tiny_trace[0], get_config("tiny"))


def test_invariants_d256() -> None:
    w = synthetic_weights(D256, 0)
    _invariants(generate_trace(D256, 2, 3, weights=w), D256)


def test_invariants_paper_block() -> None:
    cfg = get_config("paper-block-d512")
    trace = generate_trace(cfg, 1, 2)
    _invariants(trace, cfg)
    ops = trace.ops
    assert not ops["op"].isin(["embedding", "head"]).any()
    assert (ops["layer"] == 0).all() and "norm" not in set(ops["name"])
    assert trace.manifest["tokens"] == [] and trace.manifest["model"]["block_only"] is True
    assert trace.summary["ternary_weights_per_token"] == 4 * 512**2 + 3 * 512 * 1536


def test_recorded_values_match_an_independent_computation() -> None:
    """Step 0's embedding absmax and layer-0 i_proj accumulator range, recomputed."""
    w = synthetic_weights(get_config("tiny"), 0)
    trace = generate_trace("tiny", [7, 8], 0, weights=w)
    ops = trace.ops[trace.ops["step"] == 0].set_index("name")
    assert w.embedding is not None
    x = w.embedding[7].astype(np.float64)[None, :]
    assert ops.loc["embedding", "act_absmax"] == np.float32(np.abs(x).max())

    def rms(v: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
        return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + eps) * weight

    layer = w.layers[0]
    xn = rms(rms(x, layer.attn_norm, 1e-6), layer.i_proj.norm, 1e-6)
    q = quantise_activations(xn, Numerics.exact()).q.astype(np.int64)
    acc = q @ unpack(layer.i_proj.packed, layer.i_proj.cols).astype(np.int64).T
    row = trace.ops[(trace.ops["step"] == 0) & (trace.ops["layer"] == 0)].set_index("name")
    assert (row.loc["attn.i_proj", "acc_min"], row.loc["attn.i_proj", "acc_max"]) == (
        acc.min(),
        acc.max(),
    )
    assert row.loc["attn.i_proj", "act_absmax"] == pytest.approx(np.abs(xn).max(), rel=1e-6)


def test_numerics_widths_set_the_bytes() -> None:
    numerics = Numerics(act_bits=12, elementwise=ElementFormat.parse("fixed8.4"))
    trace = generate_trace("tiny", 1, 0, numerics=numerics)
    ops = trace.ops.set_index(["layer", "name"])
    d = 64
    assert ops.loc[(0, "attn.i_proj.quant"), "bytes_out"] == 2 * d
    assert ops.loc[(0, "attn.i_proj"), "bytes_in"] == 2 * d
    assert ops.loc[(0, "attn.i_proj"), "bytes_out"] == d
    assert ops.loc[(0, "attn.recurrence"), "bytes_in"] == 3 * d
    assert trace.manifest["numerics"]["elementwise"] == "fixed8.4"


def test_cost_in_summary_and_no_prompt() -> None:
    trace = generate_trace("tiny", 0, 3, cost_tokens=2, numerics=Numerics(act_bits=6))
    assert trace.manifest["tokens"][0] == 1 and (trace.ops["phase"] == "decode").all()
    cost = trace.summary["numerics_cost"]
    assert cost["positions"] == 2 and cost["max_abs_dlogit"] > 0  # no prompt: G positions


def test_other_version_is_refused(tiny_trace: tuple[Trace, Path], tmp_path: Path) -> None:
    _, out = tiny_trace
    v2 = tmp_path / "v2"
    write_trace(read_trace(out), v2)
    manifest = json.loads((v2 / "manifest.json").read_text())
    manifest["schema_version"] = 2
    (v2 / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TraceError) as exc:
        read_trace(v2)
    assert str(exc.value) == "trace schema version 2 is not supported; this tool reads version 1"
    # a parquet file of another version is refused too
    manifest["schema_version"] = 1
    (v2 / "manifest.json").write_text(json.dumps(manifest))
    table = pq.read_table(v2 / "ops.parquet")
    pq.write_table(table.replace_schema_metadata({"schema_version": "3"}), v2 / "ops.parquet")
    with pytest.raises(TraceError, match="trace schema version 3 is not supported"):
        read_trace(v2)


def test_missing_and_corrupt_files(tiny_trace: tuple[Trace, Path], tmp_path: Path) -> None:
    _, out = tiny_trace
    with pytest.raises(TraceError, match="no such trace folder"):
        read_trace(tmp_path / "nothing")
    broken = tmp_path / "broken"
    write_trace(read_trace(out), broken)
    (broken / "matrices.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(TraceError, match="corrupt trace file"):
        read_trace(broken)
    (broken / "matrices.parquet").unlink()
    with pytest.raises(TraceError, match=r"matrices\.parquet missing"):
        read_trace(broken)
    (broken / "manifest.json").write_text("{")
    with pytest.raises(TraceError, match="corrupt manifest"):
        read_trace(broken)
    typed = tmp_path / "typed"
    write_trace(read_trace(out), typed)
    table = pq.read_table(typed / "ops.parquet")
    table = table.set_column(0, "step", table.column("step").cast(pa.int64()))
    pq.write_table(table, typed / "ops.parquet")
    with pytest.raises(TraceError, match=r"ops\.parquet column step: must be int32 \(got int64\)"):
        read_trace(typed)


def test_a_failed_run_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "partial"
    calls = []

    def boom(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_trace("tiny", 2, 5, out=out, progress=boom)
    assert list(tmp_path.iterdir()) == []


def test_replacing_and_refusing(tiny_trace: tuple[Trace, Path], tmp_path: Path) -> None:
    out = tmp_path / "t"
    generate_trace("tiny", 1, 1, out=out)
    generate_trace("tiny", 2, 1, out=out)  # a trace is replaced
    assert read_trace(out).manifest["prompt_tokens"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(TraceError, match="refusing to replace"):
        generate_trace("tiny", 1, 1, out=other)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TraceError, match="is not a folder"):
        check_output(blocker / "sub" / "t")
    check_output(tmp_path / "new" / "deeper" / "t")
    assert not (tmp_path / "new").exists()


def test_bad_counts() -> None:
    with pytest.raises(TraceError, match="at least one step"):
        generate_trace("tiny", 0, 0)
    with pytest.raises(TraceError, match=">= 0"):
        generate_trace("tiny", -1, 2)


def test_matrices_file_is_reused_for_the_same_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workloads.trace as trace_module

    built = record_calls(monkeypatch, trace_module, "_matrices_table")
    w = synthetic_weights(get_config("tiny"), 9)
    clear_matrices_cache()
    a = generate_trace("tiny", 1, 1, weights=w, out=tmp_path / "a")
    b = generate_trace("tiny", 2, 0, weights=w, out=tmp_path / "b")
    assert len(built) == 1  # the second trace of the same weights reused the first's
    clear_matrices_cache()
    c = generate_trace("tiny", 1, 0, weights=w, out=tmp_path / "c")
    assert len(built) == 2
    files = [(tmp_path / n / "matrices.parquet").read_bytes() for n in "abc"]
    assert files[0] == files[1] == files[2]
    for t in (b, c):
        pd.testing.assert_frame_equal(
            t.matrices.drop(columns="nnz_blocks"), a.matrices.drop(columns="nnz_blocks")
        )
    assert read_trace(tmp_path / "b").summary["zero_fraction"] == w.zero_fraction
