"""Traces: the work of real tokens, as the hardware models replay it (schema version 1).

A trace is the only contract between :mod:`workloads` and the simulator. It is a folder
of three files, written under a temporary name next to the target and renamed into place
only when complete (:func:`safeio.atomic_folder`: a partly written trace never survives,
and a write killed while replacing a trace loses neither):

``manifest.json``
    ``{"schema_version": 1, "kind": "mmfree-trace", "package_version", "created_utc",
    "seed", "model": <ModelConfig.to_dict()>, "numerics": <Numerics.to_dict()>,
    "prompt_tokens": P, "gen_tokens": G, "tokens": [the token processed at each step;
    [] for a block-only model], "command": [argv], "weights": <where they came from>,
    "summary": {...}}``. The summary holds ``ternary_weights_per_token``,
    ``weight_bytes_per_token`` (``{"2bit", "5trit"}``), ``zero_fraction``,
    ``nonzeros_per_token``, ``embedding_row_bytes``, ``trace_rows``, ``ops_per_step``,
    ``steps`` and, when asked for, ``numerics_cost``.

``ops.parquet``
    One row per (step, op) in execution order. Step ``t`` processes ``tokens[t]``: P
    prefill steps, then G decode steps each processing a token the model chose (the
    first one, without a prompt, processes the BOS token 1); prefill is recorded token
    by token (the same op list as a decode step). Columns:
    ``step`` int32; ``phase`` dictionary<string> (``prefill``/``decode``); ``layer``
    int16 (-1: embedding, final norm, head); ``seq`` int32 (order within the step);
    ``op`` string (:data:`~workloads.recorder.OP_KINDS`: embedding, norm, quantise,
    ternary_matvec, sigmoid, silu, mul, add, recurrence, head); ``name`` string
    (``attn_norm``, ``attn.i_proj.norm``, ``attn.i_proj.quant``, ``attn.i_proj``,
    ``attn.f_sigmoid``, ``attn.f_lb_scale``, ``attn.f_lb_shift``, ``attn.f_complement``,
    ``attn.i_silu``, ``attn.i_gate``, ``attn.recurrence``, ``attn.g_norm``,
    ``attn.h_silu`` or ``attn.g_sigmoid``, ``attn.gate_out``, ``attn_residual``,
    ``mlp_norm``, ``mlp.gate_proj``, ``mlp.gate_silu``, ``mlp.glu``, ``mlp.down_proj``,
    ``mlp_residual``, ``embedding``, ``norm``, ``lm_head``...); ``matrix`` int32 (id in
    ``matrices.parquet`` for ternary_matvec/head, else -1); ``rows``, ``cols`` int32
    (matvec output/input features, else 0); ``elements`` int64 (``rows·cols`` for a
    matvec); ``bytes_in``, ``bytes_out`` int64 (activation bytes at the numerics'
    widths: quantised activations ``ceil(act_bits/8)``, everything else the elementwise
    format's bytes; a matvec reads ``cols`` quantised values and writes ``rows``
    elementwise ones, binary ops read two operands, the recurrence reads f, i and h;
    weights are not included, see the matrices); ``acc_min``, ``acc_max`` int64 (exact
    range of the integer accumulators of a matvec at that step, before any width
    limit; 0 otherwise); ``act_absmax`` float32 (absmax of the op's input, before
    quantisation; both operands for binary ops, i and the previous h for the recurrence,
    the looked-up row for the embedding).

``matrices.parquet``
    One row per ternary matrix, stored once: ``matrix`` int32, ``layer`` int16 (-1 for
    the LM head), ``name`` string, ``rows``, ``cols`` int32, ``nonzeros`` int64,
    ``zero_fraction`` float64, ``block_cols`` int32 (64), ``nnz_blocks`` list<uint8>
    (row-major nonzeros per (row, 64-column block), ``rows·ceil(cols/64)`` values),
    ``bytes_2bit`` int64 (``ceil(rows·cols/4)``), ``bytes_5trit`` int64
    (``ceil(rows·cols/5)``). ``mlp.gate_proj`` is the one ``[2I, d]`` matrix (one scale).

Both Parquet files carry ``schema_version`` and ``kind`` in their key-value metadata.
:func:`read_trace` refuses any other version with a clear
:class:`~workloads.errors.TraceError`, and checks everything else against the schema
declared in :mod:`workloads.trace_schema` (types, ranges, and the rules tying the
manifest and the tables together), listing every problem by file, row and column; a
trace that passes is safe for the simulator. A block-only configuration
(``paper-block-d512``) has no embedding, final norm or head ops: a step is one block
forward pass on a synthetic hidden vector.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.parquet as pq

from safeio import atomic_folder, recover_folder
from workloads._trace_checks import check_trace
from workloads.config import ModelConfig
from workloads.cost import numerics_cost
from workloads.errors import TraceError
from workloads.loading import load_weights, resolve_config
from workloads.model import TernaryLM, block_inputs
from workloads.numerics import Numerics
from workloads.packing import BLOCK_COLS
from workloads.recorder import OP_KINDS, OpRecorder
from workloads.trace_schema import MATRIX_COLUMNS, OPS_COLUMNS, SCHEMA_VERSION, TRACE_KIND
from workloads.weights import ModelWeights, parameter_shapes

__all__ = [
    "MATRIX_COLUMNS",
    "OPS_COLUMNS",
    "PHASE_TOKENS",
    "PHASE_WEIGHTS",
    "SCHEMA_VERSION",
    "ProgressCallback",
    "Trace",
    "build_trace",
    "check_output",
    "clear_matrices_cache",
    "generate_trace",
    "prompt_ids",
    "read_trace",
    "write_trace",
]


#: :func:`generate_trace`'s first phase: building the weights (counted in tensors).
PHASE_WEIGHTS = "weights"
#: Its second: running the model (counted in steps, prompt and generated tokens).
PHASE_TOKENS = "tokens"
#: ``on_progress(phase, done, total)``: :data:`PHASE_WEIGHTS` then :data:`PHASE_TOKENS`.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Trace:
    """A trace in memory.

    Attributes:
        manifest: The manifest (model config, numerics, tokens, summary...).
        ops: One row per (step, op), columns as :data:`OPS_COLUMNS`.
        matrices: One row per ternary matrix, columns as :data:`MATRIX_COLUMNS`
            (``nnz_blocks`` holds one ``uint8`` array per matrix).
    """

    manifest: dict[str, Any]
    ops: pd.DataFrame
    matrices: pd.DataFrame

    @property
    def config(self) -> ModelConfig:
        """The model configuration the trace was made with."""
        return ModelConfig.from_dict(self.manifest["model"])

    @property
    def summary(self) -> dict[str, Any]:
        """The summary figures."""
        summary: dict[str, Any] = self.manifest["summary"]
        return summary

    def nnz_blocks(self, matrix: int) -> npt.NDArray[np.uint8]:
        """Nonzeros per (row, 64-column block) of one matrix, ``[rows, ceil(cols/64)]``."""
        row = self.matrices.loc[self.matrices["matrix"] == matrix].iloc[0]
        blocks = -(-int(row["cols"]) // int(row["block_cols"]))
        return np.asarray(row["nnz_blocks"], dtype=np.uint8).reshape(int(row["rows"]), blocks)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mmfree-cosim")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0.0.0+unknown"


def _metadata(table: pa.Table, part: str) -> pa.Table:
    return table.replace_schema_metadata(
        {"schema_version": str(SCHEMA_VERSION), "kind": f"{TRACE_KIND}-{part}"}
    )


def _ops_table(recorder: OpRecorder) -> pa.Table:
    cols = recorder.columns()
    names = pa.array([o.name for o in recorder.static_ops], pa.string())
    kinds = pa.array(list(OP_KINDS), pa.string())
    arrays: dict[str, pa.Array] = {}
    for key, typ in OPS_COLUMNS.items():
        if key == "phase":
            arrays[key] = pa.DictionaryArray.from_arrays(
                pa.array(cols["phase"], pa.int8()), pa.array(["prefill", "decode"])
            )
        elif key == "op":
            arrays[key] = pa.DictionaryArray.from_arrays(
                pa.array(cols["op"].astype(np.int32)), kinds
            ).cast(pa.string())
        elif key == "name":
            arrays[key] = pa.DictionaryArray.from_arrays(pa.array(cols["name"]), names).cast(
                pa.string()
            )
        else:
            arrays[key] = pa.array(cols[key], typ)
    return _metadata(pa.table(arrays), "ops")


def _matrices_table(weights: ModelWeights) -> pa.Table:
    ms = weights.matrices()
    blocks = [m.nnz_blocks.reshape(-1) for m in ms]
    offsets = np.concatenate([[0], np.cumsum([b.size for b in blocks])]).astype(np.int64)
    values = np.concatenate(blocks) if blocks else np.zeros(0, np.uint8)
    nnz = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values, pa.uint8()))
    table = pa.table(
        {
            "matrix": pa.array([m.matrix_id for m in ms], pa.int32()),
            "layer": pa.array([m.layer for m in ms], pa.int16()),
            "name": pa.array([m.name for m in ms], pa.string()),
            "rows": pa.array([m.rows for m in ms], pa.int32()),
            "cols": pa.array([m.cols for m in ms], pa.int32()),
            "nonzeros": pa.array([m.nonzeros for m in ms], pa.int64()),
            "zero_fraction": pa.array([m.zero_fraction for m in ms], pa.float64()),
            "block_cols": pa.array([BLOCK_COLS] * len(ms), pa.int32()),
            "nnz_blocks": nnz.cast(pa.list_(pa.uint8())),
            "bytes_2bit": pa.array([m.bytes_2bit for m in ms], pa.int64()),
            "bytes_5trit": pa.array([m.bytes_5trit for m in ms], pa.int64()),
        }
    )
    return _metadata(table, "matrices")


def prompt_ids(config: ModelConfig, seed: int, count: int) -> list[int]:
    """Deterministic prompt token ids (uniform over the vocabulary) for a seed."""
    seq = np.random.SeedSequence(seed, spawn_key=(0x70726F6D,))  # "prom"
    rng = np.random.Generator(np.random.PCG64(seq))
    return [int(t) for t in rng.integers(0, config.vocab, size=count)]


def build_trace(
    weights: ModelWeights,
    prompt: Sequence[int] | int,
    gen_tokens: int,
    seed: int = 0,
    numerics: Numerics | None = None,
    progress: Callable[[int], None] | None = None,
    command: Sequence[str] | None = None,
    cost_tokens: int = 0,
    folder: Path | None = None,
) -> tuple[Trace, pa.Table, pa.Table]:
    """Run the model, recording every op, and assemble the trace.

    The matrices' table (nonzero structure, stored once) depends on the weights only: it
    is built, and written to ``folder`` if one is given, in a background thread while
    the model runs, and kept for further traces of the same weights
    (:func:`clear_matrices_cache`).

    Args:
        weights: The model's weights.
        prompt: Prompt token ids, or how many to draw from the seed.
        gen_tokens: Decode steps (tokens chosen greedily and processed).
        seed: Seed of drawn prompt tokens and block-only inputs (and recorded).
        numerics: Hardware numerics (default :class:`Numerics()`).
        progress: Called with the number of steps just completed.
        command: The command line recorded in the manifest.
        cost_tokens: If positive, also measure the numerics' cost against exact
            arithmetic over this many generated tokens (summary ``numerics_cost``).
        folder: Write the three files here (a temporary folder: nothing atomic here).

    Returns:
        The trace and its two Arrow tables.
    """
    cfg = weights.config
    numerics = numerics if numerics is not None else Numerics()
    if gen_tokens < 0:
        raise TraceError("gen_tokens must be >= 0")
    if isinstance(prompt, int):
        if prompt < 0:
            raise TraceError("prompt_tokens must be >= 0")
        ids = list(range(prompt)) if cfg.block_only else prompt_ids(cfg, seed, prompt)
    else:
        ids = [int(t) for t in prompt]
    if len(ids) + gen_tokens < 1:
        raise TraceError("a trace needs at least one step (prompt or generated tokens)")
    inputs = block_inputs(cfg, seed, len(ids) + gen_tokens) if cfg.block_only else None
    recorder = OpRecorder()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_matrices_job, weights, folder)
        result = TernaryLM(weights, numerics).run(
            ids, gen_tokens, inputs=inputs, recorder=recorder, progress=progress
        )
        matrices = pending.result()
    ops = _ops_table(recorder)
    ms = weights.matrices()
    summary: dict[str, Any] = {
        "model": cfg.name,
        "prompt_tokens": len(ids),
        "gen_tokens": gen_tokens,
        "steps": recorder.steps,
        "ops_per_step": len(recorder.static_ops),
        "trace_rows": ops.num_rows,
        "ternary_weights_per_token": sum(m.weights for m in ms),
        "weight_bytes_per_token": {
            "2bit": sum(m.bytes_2bit for m in ms),
            "5trit": sum(m.bytes_5trit for m in ms),
        },
        "embedding_row_bytes": 0 if cfg.block_only else cfg.d * numerics.elementwise.bytes,
        "nonzeros_per_token": sum(m.nonzeros for m in ms),
        "zero_fraction": weights.zero_fraction,
    }
    if cost_tokens > 0:
        prefix = ids if not cfg.block_only else list(range(len(ids)))
        cost = numerics_cost(weights, numerics, prefix, cost_tokens, seed=seed)
        summary["numerics_cost"] = cost.to_dict()
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": TRACE_KIND,
        "package_version": _package_version(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": seed,
        "model": cfg.to_dict(),
        "numerics": numerics.to_dict(),
        "weights": weights.source,
        "prompt_tokens": len(ids),
        "gen_tokens": gen_tokens,
        "tokens": result.tokens,
        "command": list(command) if command is not None else list(sys.argv),
        "summary": summary,
    }
    if folder is not None:
        _write_ops_manifest(folder, manifest, ops)
    trace = Trace(manifest=manifest, ops=ops.to_pandas(), matrices=matrices.to_pandas())
    return trace, ops, matrices


#: The matrices table of recent weights, and its file's bytes once written: it depends on
#: the weights only, so further traces of the same weights reuse it.
_MATRICES: weakref.WeakKeyDictionary[ModelWeights, tuple[pa.Table, bytes | None]] = (
    weakref.WeakKeyDictionary()
)
_MATRICES_LOCK = threading.Lock()


def clear_matrices_cache() -> None:
    """Forget the cached matrices tables (the next trace of any weights rebuilds its own)."""
    with _MATRICES_LOCK:
        _MATRICES.clear()


def _matrices_job(weights: ModelWeights, folder: Path | None) -> pa.Table:
    with _MATRICES_LOCK:
        table, data = _MATRICES.get(weights, (None, None))
    if table is None:
        table = _matrices_table(weights)
    path = folder / "matrices.parquet" if folder is not None else None
    if path is not None and data is not None:
        path.write_bytes(data)
    elif path is not None:
        _write_matrices(table, path)
        data = path.read_bytes()
    with _MATRICES_LOCK:
        _MATRICES[weights] = (table, data)
    return table


@contextlib.contextmanager
def _atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder next to ``out``; rename it to ``out`` on success.

    An existing ``out`` is replaced only if it is a trace (or empty); anything else in
    the way is refused. On any exception the temporary folder is removed.
    """
    out = Path(out)
    recover_folder(out)  # a trace write killed mid-swap: finished before deciding
    if out.exists():
        if not out.is_dir():
            raise TraceError(f"cannot write trace to {out}: it exists and is not a folder")
        contents = {p.name for p in out.iterdir()}
        if contents and "manifest.json" not in contents:
            raise TraceError(
                f"cannot write trace to {out}: the folder holds other files; refusing to replace it"
            )
    blocker = next((p for p in out.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise TraceError(f"cannot write trace to {out}: {blocker} is not a folder")
    try:
        with atomic_folder(out) as tmp:
            yield tmp
    except OSError as exc:
        raise TraceError(f"cannot write trace to {out}: {exc.strerror or exc}") from None


def _write_matrices(table: pa.Table, path: Path) -> None:
    # tens of millions of small counts: dictionary-encoded they take ~6 bits each; a
    # general-purpose compressor or min/max statistics on top cost time and gain little
    pq.write_table(table, path, compression="snappy", write_statistics=False)


def _write_ops_manifest(folder: Path, manifest: dict[str, Any], ops: pa.Table) -> None:
    pq.write_table(ops, folder / "ops.parquet", compression="zstd")
    text = json.dumps(manifest, indent=2) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def _write_files(folder: Path, manifest: dict[str, Any], ops: pa.Table, matrices: pa.Table) -> None:
    _write_matrices(matrices, folder / "matrices.parquet")
    _write_ops_manifest(folder, manifest, ops)


def write_trace(trace: Trace, out: str | Path) -> Path:
    """Write a trace folder atomically (temporary name, renamed when complete).

    Args:
        trace: The trace.
        out: The folder to create (an existing trace there is replaced).

    Returns:
        The folder.

    Raises:
        TraceError: If the folder cannot be written, or something else is in the way.
    """
    ops = _metadata(pa.Table.from_pandas(trace.ops, preserve_index=False), "ops")
    ops = ops.cast(pa.schema(OPS_COLUMNS.items(), metadata=ops.schema.metadata))
    matrices = pa.Table.from_pandas(trace.matrices, preserve_index=False)
    matrices = _metadata(matrices.cast(pa.schema(MATRIX_COLUMNS.items())), "matrices")
    with _atomic_folder(Path(out)) as tmp:
        _write_files(tmp, trace.manifest, ops, matrices)
    return Path(out)


def generate_trace(
    model: str | Path | ModelConfig,
    prompt_tokens: Sequence[int] | int,
    gen_tokens: int,
    seed: int = 0,
    *,
    numerics: Numerics | None = None,
    weights: ModelWeights | None = None,
    out: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    command: Sequence[str] | None = None,
    cost_tokens: int = 0,
    on_progress: ProgressCallback | None = None,
    disk_cache: bool = True,
) -> Trace:
    """Run a model on real tokens and return (and optionally write) its trace.

    Args:
        model: Built-in name (``370m``, ``1.3b``, ``2.7b``, ``paper-block-d512``,
            ``tiny``), ``config.json`` path, checkpoint folder or configuration.
        prompt_tokens: Prompt token ids, or how many to draw from the seed.
        gen_tokens: Decode steps.
        seed: Seed of synthetic weights, drawn prompt and block-only inputs.
        numerics: Hardware numerics (default :class:`Numerics()`).
        weights: Use these weights instead of loading ``model`` (its config wins).
        out: Write the trace folder here (atomically); checked before the model runs.
        progress: Called with the number of steps just completed.
        command: The command line to record (default ``sys.argv``).
        cost_tokens: Also measure the numerics' cost over this many tokens.
        on_progress: Called as ``on_progress(phase, done, total)`` while the weights are
            built (:data:`PHASE_WEIGHTS`, per tensor; not for weights given or already
            built) and while the model runs (:data:`PHASE_TOKENS`, from 0, per step).
        disk_cache: Read and keep the synthetic weights in the disk cache
            (:mod:`workloads.weight_cache`); ``False`` builds them from the seed.

    Returns:
        The trace.

    Raises:
        ModelConfigError: For an unknown model or unusable configuration.
        CheckpointError: For a checkpoint that does not match its configuration.
        TraceError: For bad token counts or an unwritable ``out``.
    """
    if out is None:
        weights = (
            weights if weights is not None else _load_weights(model, seed, on_progress, disk_cache)
        )
        steps = _step_reporter(prompt_tokens, gen_tokens, progress, on_progress)
        trace, _, _ = build_trace(
            weights, prompt_tokens, gen_tokens, seed, numerics, steps, command, cost_tokens
        )
        return trace
    with _atomic_folder(Path(out)) as tmp:  # refuses an unwritable folder before any work
        weights = (
            weights if weights is not None else _load_weights(model, seed, on_progress, disk_cache)
        )
        steps = _step_reporter(prompt_tokens, gen_tokens, progress, on_progress)
        trace, _, _ = build_trace(
            weights,
            prompt_tokens,
            gen_tokens,
            seed,
            numerics,
            steps,
            command,
            cost_tokens,
            folder=tmp,
        )
    return trace


def _load_weights(
    model: str | Path | ModelConfig,
    seed: int,
    on_progress: ProgressCallback | None,
    disk_cache: bool = True,
) -> ModelWeights:
    """:func:`load_weights`, reporting each tensor built as :data:`PHASE_WEIGHTS`."""
    if on_progress is None:
        return load_weights(model, seed, disk_cache=disk_cache)
    total = len(parameter_shapes(resolve_config(model)))
    done = 0

    def tensor_built(_name: str) -> None:
        nonlocal done
        done += 1
        on_progress(PHASE_WEIGHTS, min(done, total), total)

    weights = load_weights(model, seed, on_tensor=tensor_built, disk_cache=disk_cache)
    if done:
        on_progress(PHASE_WEIGHTS, total, total)
    return weights


def _step_reporter(
    prompt: Sequence[int] | int,
    gen_tokens: int,
    progress: Callable[[int], None] | None,
    on_progress: ProgressCallback | None,
) -> Callable[[int], None] | None:
    """One ``progress(steps just done)`` for the model that feeds both callbacks.

    Reports :data:`PHASE_TOKENS` with 0 done when made (just before the model runs).
    """
    if on_progress is None:
        return progress
    total = (prompt if isinstance(prompt, int) else len(prompt)) + gen_tokens
    done = 0
    on_progress(PHASE_TOKENS, 0, total)

    def step_done(n: int) -> None:
        nonlocal done
        if progress is not None:
            progress(n)
        done += n
        on_progress(PHASE_TOKENS, done, total)

    return step_done


def check_output(out: str | Path) -> None:
    """Check that a trace can be written to ``out`` (before a long run), writing nothing.

    Raises:
        TraceError: If the folder cannot be created there, or something else is in the way.
    """
    path = Path(out)
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        with _atomic_folder(path):
            raise _DryRunError
    except _DryRunError:
        pass
    finally:
        for p in created:  # parents made only for the check
            with contextlib.suppress(OSError):
                p.rmdir()


class _DryRunError(Exception):
    """Abandons the temporary folder of :func:`check_output`."""


def _read_table(folder: Path, name: str) -> pa.Table:
    """Read one table; a missing, unreadable or other-version file is refused at once."""
    path = folder / name
    if not path.is_file():
        raise TraceError(f"{folder}: not a complete trace ({name} missing)")
    try:
        table = pq.read_table(path)
        table.validate(full=True)  # offsets, UTF-8: what later reads take for granted
        table.schema.names  # noqa: B018 (decodes the column names)
        meta = table.schema.metadata or {}
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: corrupt trace file ({exc})") from None
    version = meta.get(b"schema_version", b"?").decode(errors="replace")
    if version != str(SCHEMA_VERSION):
        raise TraceError(
            f"trace schema version {version} is not supported; this tool reads version "
            f"{SCHEMA_VERSION} ({path})"
        )
    return table


def read_trace(path: str | Path) -> Trace:
    """Read a trace folder and check it against the schema (:mod:`workloads.trace_schema`).

    A trace whose write was killed between its two renames is finished first
    (:func:`safeio.recover_folder`).

    Args:
        path: The folder.

    Returns:
        The trace; one that passed is safe for every later stage.

    Raises:
        TraceError: If the folder or a file is missing or unreadable, the trace has
            another schema version ("trace schema version 2 is not supported; this tool
            reads version 1"), or anything in it breaks the schema (every problem listed,
            by file, row and column).
    """
    folder = Path(path)
    try:
        return _read_checked(folder)
    except OSError as exc:  # a folder or file that cannot even be looked at
        raise TraceError(f"{folder}: cannot read the trace ({exc.strerror or exc})") from None


def _read_checked(folder: Path) -> Trace:
    if not folder.exists():
        recover_folder(folder)
    if not folder.is_dir():
        raise TraceError(f"{folder}: no such trace folder")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise TraceError(f"{folder}: not a trace (manifest.json missing)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: JSON, UTF-8, int size
        raise TraceError(f"{manifest_path}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != TRACE_KIND:
        raise TraceError(f"{manifest_path}: not a trace manifest")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise TraceError(
            f"trace schema version {version} is not supported; this tool reads version "
            f"{SCHEMA_VERSION}"
        )
    ops = _read_table(folder, "ops.parquet")
    matrices = _read_table(folder, "matrices.parquet")
    check_trace(folder, manifest, ops, matrices)
    return Trace(manifest=manifest, ops=ops.to_pandas(), matrices=matrices.to_pandas())
