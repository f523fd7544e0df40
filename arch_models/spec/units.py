"""Hardware block kinds of the architecture description format, version 1.

One frozen model per YAML ``kind``; units are in the field names (``clock_mhz``,
``capacity_kib``, ``bandwidth_gb_per_s`` with GB = 1e9 bytes, ``latency_ns``). Derived
quantities are properties. :data:`UNIT_KINDS` is the registry keyed by ``kind``.

FPGA blocks describe **one core**; a ``core_layout`` block replicates the core and says how
work is split across cores. Off-chip memory blocks (``ddr4``, ``hbm``) are shared by all
cores. GPU blocks (``gpu_sms``, ``gpu_l2``, ``hbm``, ``kernel_launch``) describe a GPU's
memory hierarchy and issue overheads.

Every block may carry ``sources``: for any of its fields, where the figure comes from
(a key of the description's ``references``, optionally with a locator).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    GetCoreSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from arch_models.validation.base import SpecModel, is_power_of_two

__all__ = [
    "GPU_KINDS",
    "SHARED_KINDS",
    "UNIT_KINDS",
    "Buffer",
    "Control",
    "CoreLayout",
    "GpuL2",
    "GpuSms",
    "KernelLaunch",
    "NormUnit",
    "OffChipMemory",
    "OpLatencies",
    "TernaryArray",
    "Unit",
    "UnitBase",
    "VectorUnit",
    "fpga_kinds",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


def _power_of_two(value: int) -> int:
    if not is_power_of_two(value):
        raise ValueError(f"must be a power of two (got {value})")
    return value


class UnitBase(SpecModel):
    """Fields every block has.

    Attributes:
        name: Identifier, unique in the description; names the unit's scope in results.
        sources: Field name → reference key (plus optional locator) for its figure.
    """

    name: Name
    sources: dict[str, str] = Field(default_factory=dict)
    if TYPE_CHECKING:  # every kind declares its own ``kind`` field (a Literal)
        kind: str
    #: Op kinds of the model's trace (:data:`arch_models.workload.OP_KINDS`) that a block
    #: of this kind can run as a vector operation; the engine gives each op to the most
    #: specialised block of a core that runs it, and validation checks every op has one.
    executes: ClassVar[frozenset[str]] = frozenset()

    @field_validator("sources")
    @classmethod
    def _sources_refer(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        faults: list[str] = []
        not_fields = [k for k in v if k not in cls.model_fields or k in ("sources", "kind")]
        if not_fields:
            faults.append(f"names no field of this block: {', '.join(map(repr, not_fields))}")
        refs = (info.context or {}).get("references")
        if refs is not None:
            keys = {s.split()[0] if s.split() else "" for s in v.values()}
            missing = sorted(keys - set(refs))
            if missing:
                known = ", ".join(sorted(refs)) or "none defined"
                faults.append(f"unknown reference {', '.join(map(repr, missing))}; known: {known}")
        if faults:
            raise ValueError("; ".join(faults))
        return v


class TernaryArray(UnitBase):
    """A ternary matrix-vector array: adder trees over int8 activations.

    Each cycle, ``rows_parallel`` adder trees each sum ``lanes`` activations selected and
    negated by their ternary weights (add, subtract or skip) into an accumulator.

    Attributes:
        lanes: Inputs per adder tree per cycle (columns consumed per cycle).
        rows_parallel: Adder trees working on different output rows at once.
        adder_tree_depth: Pipeline levels of each tree; default ``log2(lanes)``. A tree
            of depth D sums at most 2^D inputs.
        pipeline_stages: Extra stages (weight decode, scale) before results leave.
        zero_skipping: Skip zero weights (timing then follows the nonzero structure).
        weight_packing: ``2bit`` (4 weights a byte) or ``5trit`` (5 weights a byte).
        accumulator_bits: Width of each row's accumulator.
        accumulator_overflow: What an adder-tree node or accumulator does when a sum leaves
            ``accumulator_bits``: ``wrap`` (two's complement) or ``saturate`` (clamp), as
            the functional model's ``Numerics.acc_overflow`` (whose default is ``wrap``).
        activation_bits: Width of the quantised activations.
        tile_cols: Columns of one weight tile (what a weight buffer holds at a time).
        count: Arrays of this kind per core.
        handoff_bubble_cycles: Cycles the array idles after each row group's last step
            while its accumulators hand their sums off (0: the next group starts at once).
            The buffer fill that ends with the group is released after them.
        start_latency_cycles: Fixed cycles between the end of a matvec's activation import
            and its first step (command decode, first buffer read); 0: none.
        parallel_vectors: Activation vectors the array takes at once from each weight tile
            when several sequences are decoded together (a batch): its trees and reducers
            are replicated this many times and share the weight decode. A batch of ``B``
            passes over each tile ``ceil(B / parallel_vectors)`` times (1: the vectors in
            turn).
    """

    kind: Literal["ternary_array"]
    lanes: Annotated[int, Field(ge=1, le=65536)]
    rows_parallel: Annotated[int, Field(ge=1, le=65536)] = 1
    adder_tree_depth: Annotated[int, Field(ge=1, le=32)] | None = None
    pipeline_stages: Annotated[int, Field(ge=0, le=256)] = 2
    zero_skipping: bool = False
    weight_packing: Literal["2bit", "5trit"] = "2bit"
    accumulator_bits: Annotated[int, Field(ge=8, le=64)] = 24
    accumulator_overflow: Literal["wrap", "saturate"] = "wrap"
    activation_bits: Annotated[int, Field(ge=2, le=16)] = 8
    tile_cols: Annotated[int, Field(ge=1, le=1 << 20)] = 64
    count: Annotated[int, Field(ge=1, le=4096)] = 1
    handoff_bubble_cycles: Annotated[int, Field(ge=0, le=1 << 16)] = 0
    start_latency_cycles: Annotated[int, Field(ge=0, le=1 << 20)] = 0
    parallel_vectors: Annotated[int, Field(ge=1, le=256)] = 1

    _lanes_pow2 = field_validator("lanes", "tile_cols")(_power_of_two)

    @model_validator(mode="after")
    def _tree_fits(self) -> TernaryArray:
        if self.adder_tree_depth is not None and (1 << self.adder_tree_depth) < self.lanes:
            raise ValueError(
                f"adder_tree_depth {self.adder_tree_depth} sums at most "
                f"{1 << self.adder_tree_depth} inputs, fewer than lanes ({self.lanes})"
            )
        return self

    @property
    def tree_depth(self) -> int:
        """Return the adder-tree depth in use (given, or ``log2(lanes)``)."""
        return self.adder_tree_depth or max(1, int(math.log2(self.lanes)))

    @property
    def bits_per_weight(self) -> float:
        """Return the stored bits per ternary weight (2 or 8/5)."""
        return 2.0 if self.weight_packing == "2bit" else 8.0 / 5.0

    @property
    def adds_per_cycle(self) -> int:
        """Return ternary add/subtract operations per cycle for all arrays of this block."""
        return self.lanes * self.rows_parallel * self.count

    @property
    def tile_bytes(self) -> int:
        """Return the bytes of one packed weight tile (``rows_parallel × tile_cols``)."""
        return math.ceil(self.rows_parallel * self.tile_cols * self.bits_per_weight / 8)


class OpLatencies(SpecModel):
    """Per-operation cycle counts of a vector unit (latency, or cycles per element)."""

    add: Annotated[int, Field(ge=0, le=10_000)] = 1
    mul: Annotated[int, Field(ge=0, le=10_000)] = 3
    div: Annotated[int, Field(ge=0, le=10_000)] = 16
    sigmoid: Annotated[int, Field(ge=0, le=10_000)] = 4
    silu: Annotated[int, Field(ge=0, le=10_000)] = 6
    quantise: Annotated[int, Field(ge=0, le=10_000)] = 4


class VectorUnit(UnitBase):
    """A row-wise (elementwise) unit: add, multiply, sigmoid, SiLU, quantise.

    Attributes:
        ops_per_cycle: Elements processed per cycle.
        latency_cycles: Pipeline latency per operation.
        interval_cycles: Cycles between elements of one lane per operation: 1 for a fully
            pipelined unit, more for iterative (e.g. shift-and-add) multipliers or a
            shared register-file port.
        sigmoid: ``lut`` (table lookup) or ``pwl`` (piecewise-linear/polynomial fit).
        lut_entries: Table size when ``sigmoid`` is ``lut``.
        pwl_segments: Segments when ``sigmoid`` is ``pwl``.
        pwl_order: Polynomial order per segment when ``sigmoid`` is ``pwl``.
        data_bits: Width of the fixed-point elementwise path.
        frac_bits: Fractional bits of that format.
    """

    kind: Literal["vector_unit"]
    executes = frozenset({"add", "mul", "sigmoid", "silu", "quantise", "recurrence", "norm"})
    ops_per_cycle: Annotated[int, Field(ge=1, le=65536)]
    latency_cycles: OpLatencies = Field(default_factory=OpLatencies)
    interval_cycles: OpLatencies = Field(
        default_factory=lambda: OpLatencies(add=1, mul=1, div=1, sigmoid=1, silu=1, quantise=1)
    )
    sigmoid: Literal["lut", "pwl"] = "lut"
    lut_entries: Annotated[int, Field(ge=2, le=1 << 20)] = 256
    pwl_segments: Annotated[int, Field(ge=1, le=4096)] = 16
    pwl_order: Annotated[int, Field(ge=1, le=4)] = 1
    data_bits: Annotated[int, Field(ge=4, le=32)] = 16
    frac_bits: Annotated[int, Field(ge=0, le=31)] = 8

    _lut_pow2 = field_validator("lut_entries")(_power_of_two)

    @model_validator(mode="after")
    def _format(self) -> VectorUnit:
        if self.frac_bits >= self.data_bits:
            raise ValueError(
                f"frac_bits must be < data_bits ({self.data_bits}) (got {self.frac_bits})"
            )
        return self


class NormUnit(UnitBase):
    """An RMSNorm unit: sum of squares, reciprocal square root, scale.

    Attributes:
        elements_per_cycle: Elements squared-and-accumulated (and scaled) per cycle.
        rsqrt_latency_cycles: Latency of the reciprocal square root.
        accumulate_bits: Width of the sum-of-squares accumulator.
        fuse_quantise: The activation quantiser that follows a norm of the same vector
            runs inside the norm's two passes: its absmax beside the sum of squares, its
            scale and round in the scaling pass (the normalised vector itself is never
            written). Such a quantise op then takes no cycles, dispatch or barrier of its
            own; its arithmetic's energy is the norm unit's, and each lane gains a
            comparator and a multiplier.
    """

    kind: Literal["norm_unit"]
    executes = frozenset({"norm"})
    elements_per_cycle: Annotated[int, Field(ge=1, le=65536)]
    rsqrt_latency_cycles: Annotated[int, Field(ge=0, le=10_000)] = 20
    accumulate_bits: Annotated[int, Field(ge=8, le=64)] = 32
    fuse_quantise: bool = False


class Buffer(UnitBase):
    """An on-chip buffer built from block RAM.

    Attributes:
        memory: The primitive: ``bram`` (AMD 36 Kb), ``uram`` (AMD 288 Kb), ``m20k``
            (Intel 20 Kb), ``lutram``.
        capacity_kib: Usable capacity (one half when double buffered holds half of it).
        ports: 1 or 2 (true dual port).
        width_bits: Width of one port.
        double_buffered: Two halves, one filled while the other is read.
        holds: What it stores: ``weights``, ``activations``, ``state`` or ``general``.
    """

    kind: Literal["buffer"]
    memory: Literal["bram", "uram", "m20k", "lutram"]
    capacity_kib: Annotated[float, Field(gt=0, le=1 << 20)]
    ports: Literal[1, 2] = 2
    width_bits: Annotated[int, Field(ge=1, le=4096)] = 72
    double_buffered: bool = False
    holds: Literal["weights", "activations", "state", "general"] = "general"

    @property
    def capacity_bytes(self) -> int:
        """Return the capacity in bytes."""
        return int(self.capacity_kib * 1024)

    @property
    def tile_capacity_bytes(self) -> int:
        """Return the bytes one tile may occupy (half the buffer when double buffered)."""
        return self.capacity_bytes // 2 if self.double_buffered else self.capacity_bytes


class OffChipMemory(UnitBase):
    """Off-chip DRAM channels (``ddr4``) or HBM pseudo-channels (``hbm``) in use.

    Attributes:
        channels: Channels (DDR banks, HBM pseudo-channels or GPU HBM stacks) in use.
        bandwidth_gb_per_s_per_channel: Peak bandwidth of one channel.
        burst_bytes: Bytes of one burst (the unit of transfer).
        latency_ns: Access latency of a burst that misses the open row.
        efficiency: Sustained fraction of peak bandwidth for long streams.
        path_bits_per_cycle: Width of the datapath from memory into a core per core
            clock cycle (``None``: as wide as the channels deliver).
        max_outstanding: Read requests a core keeps in flight (``None``: enough to hide
            the latency; 1: every request waits for its data before the next is issued).
        request_bytes: Bytes per read request (default: one burst).
        path_latency_cycles: Cycles from a core's read request to its data on the memory
            path when requests are limited by ``max_outstanding`` (default: the access
            latency ``latency_ns`` in core cycles; smaller when a shell-side prefetch FIFO
            serves the core).
        path_fifo_beats: Depth, in beats (one request's bytes, :attr:`beat_bytes`), of the
            stream FIFO between memory and a core's weight buffer: weight requests run
            ahead of free buffer space by up to this many beats (requests in flight plus
            beats waiting count against it). 0: no FIFO, a buffer fill is requested only
            once its half is free.
        path_beat_interval_cycles: Fewest core cycles between two beats the weight path
            takes (requests without a FIFO; beats taken from it with one); ``None``: no
            limit beyond the path's width.
    """

    kind: Literal["ddr4", "hbm"]
    channels: Annotated[int, Field(ge=1, le=1024)]
    bandwidth_gb_per_s_per_channel: Annotated[float, Field(gt=0, le=100_000)]
    burst_bytes: Annotated[int, Field(ge=1, le=1 << 20)] = 64
    latency_ns: Annotated[float, Field(ge=0, le=1e6)] = 100.0
    efficiency: Annotated[float, Field(gt=0, le=1)] = 0.85
    path_bits_per_cycle: Annotated[int, Field(ge=1, le=1 << 16)] | None = None
    max_outstanding: Annotated[int, Field(ge=1, le=1 << 16)] | None = None
    request_bytes: Annotated[int, Field(ge=1, le=1 << 20)] | None = None
    path_latency_cycles: Annotated[int, Field(ge=0, le=1 << 20)] | None = None
    path_fifo_beats: Annotated[int, Field(ge=0, le=1 << 20)] = 0
    path_beat_interval_cycles: Annotated[int, Field(ge=1, le=1 << 16)] | None = None

    _burst_pow2 = field_validator("burst_bytes")(_power_of_two)

    @property
    def beat_bytes(self) -> int:
        """Return the bytes of one request (``request_bytes``, else one burst)."""
        return self.request_bytes or self.burst_bytes

    @property
    def peak_gb_per_s(self) -> float:
        """Return the aggregate peak bandwidth of all channels in use."""
        return self.channels * self.bandwidth_gb_per_s_per_channel

    @property
    def sustained_gb_per_s(self) -> float:
        """Return the aggregate sustained bandwidth (peak × efficiency)."""
        return self.peak_gb_per_s * self.efficiency


class CoreLayout(UnitBase):
    """How many cores there are and how each matrix's work is split among them.

    Attributes:
        cores: Replicas of the per-core blocks.
        split: ``rows`` (every core takes a slice of each matrix's rows, then all
            synchronise) or ``layers`` (each core runs whole layers, a pipeline).
        sync_cycles: Cycles a barrier costs after each split operation.
        batch: Sequences the design decodes together: each step is one token of each,
            against one read of the weights (``cosim simulate --batch`` overrides it).
        sync: Where the cores of a rows split meet: ``ops`` (after every matvec, norm and
            quantisation) or ``reductions`` (after the norms and quantisations only, whose
            sums and maxima span every core's slice: a matvec's outputs stay with the
            core that computed them, and the next matvec reads the quantised vector the
            cores met on).
    """

    kind: Literal["core_layout"]
    cores: Annotated[int, Field(ge=1, le=4096)]
    split: Literal["rows", "layers"] = "rows"
    sync_cycles: Annotated[int, Field(ge=0, le=1_000_000)] = 16
    batch: Annotated[int, Field(ge=1, le=4096)] = 1
    sync: Literal["ops", "reductions"] = "ops"


class Control(UnitBase):
    """Instruction dispatch: the fixed cost of issuing each operation.

    Attributes:
        op_overhead_cycles: Cycles between the end of one op and the start of the next
            (from the start of the op before, with ``issue_ahead``).
        issue_ahead: The controller decodes and issues the next op while one runs (an
            instruction queue): an op starts ``op_overhead_cycles`` after the one before
            started, or when it ends if that is later, instead of that long after it ends.
    """

    kind: Literal["control"]
    op_overhead_cycles: Annotated[int, Field(ge=0, le=1_000_000)] = 8
    issue_ahead: bool = False


class GpuSms(UnitBase):
    """A GPU's streaming multiprocessors.

    Attributes:
        count: SMs.
        bf16_tflops: Dense bf16 tensor throughput.
        fp32_tflops: Non-tensor fp32 throughput.
        smem_kib_per_sm: Shared memory per SM.
    """

    kind: Literal["gpu_sms"]
    count: Annotated[int, Field(ge=1, le=10_000)]
    bf16_tflops: Annotated[float, Field(gt=0, le=1e6)]
    fp32_tflops: Annotated[float, Field(gt=0, le=1e6)]
    smem_kib_per_sm: Annotated[float, Field(gt=0, le=1e6)] = 228


class GpuL2(UnitBase):
    """A GPU's L2 cache.

    Attributes:
        capacity_mib: Capacity.
        bandwidth_gb_per_s: Bandwidth for L2-resident data.
    """

    kind: Literal["gpu_l2"]
    capacity_mib: Annotated[float, Field(gt=0, le=1e6)]
    bandwidth_gb_per_s: Annotated[float, Field(gt=0, le=1e7)]


class KernelLaunch(UnitBase):
    """Kernel issue overheads on a GPU.

    Attributes:
        eager_launch_us: Host-side cost of one kernel launched eagerly.
        graph_launch_us: Per-kernel cost inside a replayed CUDA graph.
        sync_us: Host-device synchronisation at the end of a step.
    """

    kind: Literal["kernel_launch"]
    eager_launch_us: Annotated[float, Field(ge=0, le=1e6)]
    graph_launch_us: Annotated[float, Field(ge=0, le=1e6)]
    sync_us: Annotated[float, Field(ge=0, le=1e6)] = 0.0


#: Registry: YAML ``kind`` → block model. New kinds join through
#: :func:`arch_models.units.register_unit_kind` (the block model and its unit model).
UNIT_KINDS: dict[str, type[UnitBase]] = {
    "ternary_array": TernaryArray,
    "vector_unit": VectorUnit,
    "norm_unit": NormUnit,
    "buffer": Buffer,
    "ddr4": OffChipMemory,
    "hbm": OffChipMemory,
    "core_layout": CoreLayout,
    "control": Control,
    "gpu_sms": GpuSms,
    "gpu_l2": GpuL2,
    "kernel_launch": KernelLaunch,
}

#: Kinds only a GPU device can have.
GPU_KINDS = frozenset({"gpu_sms", "gpu_l2", "kernel_launch"})
#: Kinds either may have.
SHARED_KINDS = frozenset({"hbm"})


def fpga_kinds() -> frozenset[str]:
    """Return the kinds only an FPGA device can have (every registered kind but those above)."""
    return frozenset(UNIT_KINDS) - GPU_KINDS - SHARED_KINDS


class _KindUnion:
    """Pydantic schema of one block: a union of :data:`UNIT_KINDS` tagged by ``kind``.

    Built from the registry each time a model's schema is (re)built, so a kind registered
    later is understood once the description model is rebuilt.
    """

    @classmethod
    def union_members(cls) -> tuple[type[UnitBase], ...]:
        """Return the block models, each once, in registry order."""
        return tuple(dict.fromkeys(UNIT_KINDS.values()))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        choices: dict[Hashable, core_schema.CoreSchema] = {
            kind: handler.generate_schema(model) for kind, model in UNIT_KINDS.items()
        }
        return core_schema.tagged_union_schema(choices, discriminator="kind")


#: One block of a description, of any registered kind.
Unit = Annotated[UnitBase, _KindUnion]
