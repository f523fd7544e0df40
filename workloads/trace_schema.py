"""The trace schema (version 1) in one place: every manifest field and every column.

:mod:`workloads.trace` says what a trace means; this module declares what a valid one
holds: :data:`MANIFEST_FIELDS` (each field of ``manifest.json`` by dotted path, with its
JSON type and range) and :data:`OPS_SCHEMA` / :data:`MATRICES_SCHEMA` (each column with its
Arrow type and range), with the byte rules (:data:`OPERANDS`). Every read applies them
(:func:`workloads._trace_checks.check_trace`), with the rules that tie fields and tables
together: steps contiguous and alike, matrices referenced by ops present with the same
shape, nonzeros per block within the block, bytes as the element counts define them, the
manifest's model and summary consistent with the tables. Every problem is reported in one
:class:`~workloads.errors.TraceError` located by file, row (from 0) and column:
``trace/ops.parquet row 17 column elements: must be >= 0 (got -4)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from workloads.packing import BLOCK_COLS
from workloads.recorder import OP_KINDS

__all__ = [
    "MANIFEST_FIELDS",
    "MATRICES_SCHEMA",
    "MATRIX_COLUMNS",
    "MATVEC_KINDS",
    "MAX_LISTED",
    "OPERANDS",
    "OPS_COLUMNS",
    "OPS_SCHEMA",
    "SCHEMA_VERSION",
    "TRACE_KIND",
    "Column",
    "Field",
]

#: The schema version this package writes and reads.
SCHEMA_VERSION = 1
#: The manifest's ``kind``; each table's metadata says ``<kind>-ops`` / ``<kind>-matrices``.
TRACE_KIND = "mmfree-trace"
#: Problems listed in one error (the rest are counted).
MAX_LISTED = 20

_INT32_MAX = 2**31 - 1
#: Op kinds a ternary array runs: they name a matrix.
MATVEC_KINDS: tuple[str, ...] = ("ternary_matvec", "head")
#: Activation operands each other op kind reads: its ``bytes_in`` is operands · elements ·
#: elementwise bytes (the recurrence reads f, i and the previous h). A quantise op reads
#: elements · elementwise bytes and writes elements · activation bytes; a matvec reads
#: cols · activation bytes and writes rows · elementwise bytes; every other op writes
#: elements · elementwise bytes.
OPERANDS: dict[str, int] = {
    "embedding": 1,
    "norm": 1,
    "quantise": 1,
    "sigmoid": 1,
    "silu": 1,
    "mul": 2,
    "add": 2,
    "recurrence": 3,
}


# ---------------------------------------------------------------------------- declarations

FieldKind = Literal["int", "number", "str", "bool", "object", "int_list", "str_list"]


@dataclass(frozen=True)
class Field:
    """One field of ``manifest.json``.

    Attributes:
        kind: JSON type: ``int``, ``number``, ``str``, ``bool``, ``object``, ``int_list``
            or ``str_list``.
        minimum: Smallest value (numbers; each item of an ``int_list``).
        maximum: Largest value.
        open_range: The bounds themselves are excluded.
        choices: The only values allowed.
        pattern: A regular expression a string must match whole.
        optional: The field may be absent.
        nullable: The field may be null.
        nan_ok: A measured number that may be NaN or infinite (a diverged model).
        doc: What it holds.
    """

    kind: FieldKind
    minimum: float | None = None
    maximum: float | None = None
    open_range: bool = False
    choices: tuple[Any, ...] | None = None
    pattern: str | None = None
    optional: bool = False
    nullable: bool = False
    nan_ok: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Column:
    """One column of a trace table.

    Attributes:
        type: Its Arrow type (exactly).
        minimum: Smallest value.
        maximum: Largest value.
        choices: The only values allowed (strings).
        nan_ok: A measured float that may be NaN (a diverged model).
        doc: What it holds.
    """

    type: pa.DataType
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    nan_ok: bool = False
    doc: str = ""


def _numerics_fields(prefix: str) -> dict[str, Field]:
    return {
        prefix: Field("object", doc="hardware numerics (Numerics.to_dict)"),
        f"{prefix}.act_bits": Field("int", 2, 16, doc="activation width"),
        f"{prefix}.acc_bits": Field("int", 2, 62, nullable=True, doc="accumulator width"),
        f"{prefix}.acc_overflow": Field("str", choices=("wrap", "saturate")),
        f"{prefix}.elementwise": Field("str", doc="float32, float64 or fixed<W>.<F>"),
        f"{prefix}.elementwise_bytes": Field("int", 1, 8, doc="bytes of one elementwise value"),
        f"{prefix}.sigmoid": Field("str", doc="exact, lut:N[@R] or pwl:N[:K][@R]"),
        f"{prefix}.silu": Field("str", doc="exact, lut:N[@R] or pwl:N[:K][@R]"),
        f"{prefix}.round_half": Field("str", choices=("away", "even")),
    }


#: Every field of ``manifest.json`` by dotted path (parents before their fields).
MANIFEST_FIELDS: dict[str, Field] = {
    "schema_version": Field("int", SCHEMA_VERSION, SCHEMA_VERSION),
    "kind": Field("str", choices=(TRACE_KIND,)),
    "package_version": Field("str", doc="version of the package that wrote the trace"),
    "created_utc": Field("str", pattern=r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    "seed": Field("int", 0, doc="seed of synthetic weights, drawn prompt, block inputs"),
    "model": Field("object", doc="the model configuration (ModelConfig.to_dict)"),
    "model.name": Field("str"),
    "model.layers": Field("int", 1, 32767, doc="blocks (the layer columns are int16)"),
    "model.d": Field("int", 1, _INT32_MAX, doc="hidden size"),
    "model.intermediate": Field("int", 1, _INT32_MAX // 2, doc="GLU width (2I rows fit int32)"),
    "model.vocab": Field("int", 1, _INT32_MAX),
    "model.block_only": Field("bool"),
    "model.mlgru_form": Field("str", choices=("code", "paper")),
    "model.bitlinear_eps": Field("number", 0, 1, open_range=True),
    "model.rms_norm_eps": Field("number", 0, 1, open_range=True),
    "model.use_lower_bound": Field("bool"),
    "model.context": Field("int", 1, _INT32_MAX),
    "model.ternary_weights_per_token": Field("int", 0, doc="derived: L(4d² + 3dI) + Vd"),
    **_numerics_fields("numerics"),
    "weights": Field("str", doc="where the weights came from"),
    "prompt_tokens": Field("int", 0, _INT32_MAX),
    "gen_tokens": Field("int", 0, _INT32_MAX),
    "tokens": Field("int_list", 0, doc="the token of each step ([] if block-only), < vocab"),
    "command": Field("str_list", doc="the command line that made the trace"),
    "summary": Field("object"),
    "summary.model": Field("str", doc="= model.name"),
    "summary.prompt_tokens": Field("int", 0, _INT32_MAX),
    "summary.gen_tokens": Field("int", 0, _INT32_MAX),
    "summary.steps": Field("int", 1, _INT32_MAX, doc="= prompt_tokens + gen_tokens"),
    "summary.ops_per_step": Field("int", 1, doc="ops.parquet rows per step"),
    "summary.trace_rows": Field("int", 1, doc="ops.parquet rows"),
    "summary.ternary_weights_per_token": Field("int", 0, doc="Σ rows·cols of the matrices"),
    "summary.weight_bytes_per_token": Field("object"),
    "summary.weight_bytes_per_token.2bit": Field("int", 0, doc="Σ bytes_2bit"),
    "summary.weight_bytes_per_token.5trit": Field("int", 0, doc="Σ bytes_5trit"),
    "summary.embedding_row_bytes": Field("int", 0, doc="d · elementwise bytes (0 block-only)"),
    "summary.nonzeros_per_token": Field("int", 0, doc="Σ nonzeros"),
    "summary.zero_fraction": Field("number", 0, 1, doc="1 - nonzeros / ternary weights"),
    "summary.numerics_cost": Field("object", optional=True, doc="NumericsCost.to_dict"),
    "summary.numerics_cost.positions": Field("int", 0),
    "summary.numerics_cost.max_abs_dlogit": Field("number", 0, nan_ok=True),
    "summary.numerics_cost.top1_agreement": Field("number", 0, 1, nullable=True),
    **_numerics_fields("summary.numerics_cost.numerics"),
    **_numerics_fields("summary.numerics_cost.reference"),
}

_PHASE = pa.dictionary(pa.int8(), pa.string())

#: Every column of ``ops.parquet`` (one row per step and op, step-major, in order).
OPS_SCHEMA: dict[str, Column] = {
    "step": Column(pa.int32(), 0, doc="0 .. steps-1, contiguous"),
    "phase": Column(_PHASE, choices=("prefill", "decode"), doc="prompt steps, then decode"),
    "layer": Column(pa.int16(), -1, doc="block index, -1 outside the blocks"),
    "seq": Column(pa.int32(), 0, doc="order within the step, 0 .. ops_per_step-1"),
    "op": Column(pa.string(), choices=OP_KINDS),
    "name": Column(pa.string()),
    "matrix": Column(pa.int32(), -1, doc="matrices.parquet id of a matvec, else -1"),
    "rows": Column(pa.int32(), 0, doc="a matvec's output features, else 0"),
    "cols": Column(pa.int32(), 0, doc="a matvec's input features, else 0"),
    "elements": Column(pa.int64(), 0, doc="rows·cols for a matvec"),
    "bytes_in": Column(pa.int64(), 0, doc="activation bytes read"),
    "bytes_out": Column(pa.int64(), 0, doc="activation bytes written"),
    "acc_min": Column(pa.int64(), doc="a matvec's smallest accumulator, else 0"),
    "acc_max": Column(pa.int64(), doc="a matvec's largest accumulator, else 0"),
    "act_absmax": Column(pa.float32(), 0, nan_ok=True, doc="absmax of the op's input"),
}

#: Every column of ``matrices.parquet`` (one row per ternary matrix, in id order).
MATRICES_SCHEMA: dict[str, Column] = {
    "matrix": Column(pa.int32(), 0, doc="id = row number"),
    "layer": Column(pa.int16(), -1, doc="block index, -1 for the LM head"),
    "name": Column(pa.string()),
    "rows": Column(pa.int32(), 1),
    "cols": Column(pa.int32(), 1),
    "nonzeros": Column(pa.int64(), 0, doc="= Σ nnz_blocks"),
    "zero_fraction": Column(pa.float64(), 0, 1, doc="1 - nonzeros / (rows·cols)"),
    "block_cols": Column(pa.int32(), BLOCK_COLS, BLOCK_COLS, doc="width of a column block"),
    "nnz_blocks": Column(pa.list_(pa.uint8()), doc="rows · ceil(cols/block_cols) counts"),
    "bytes_2bit": Column(pa.int64(), 0, doc="ceil(rows·cols/4)"),
    "bytes_5trit": Column(pa.int64(), 0, doc="ceil(rows·cols/5)"),
}

#: Column name → Arrow type of ``ops.parquet``.
OPS_COLUMNS: dict[str, pa.DataType] = {k: c.type for k, c in OPS_SCHEMA.items()}
#: Column name → Arrow type of ``matrices.parquet``.
MATRIX_COLUMNS: dict[str, pa.DataType] = {k: c.type for k, c in MATRICES_SCHEMA.items()}
