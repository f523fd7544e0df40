"""The RTL's parameters, and how a validated description sets them.

:class:`RtlParams` holds one value per ``tmac_core`` parameter; :meth:`RtlParams.of_arch`
reads them from a description the way the engine reads its timing: the array's fields,
the weight buffer's half, the memory path's beat (one request), FIFO, beat interval and
requests in flight, the activation paths (the activation buffer's ports, else the array's
own width) and the dispatch overhead. Descriptions the RTL cannot build are refused with
the reason (:class:`RtlUnsupportedError`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from arch_models.spec.arch import Arch
from arch_models.spec.units import Buffer, Control, OffChipMemory, TernaryArray

__all__ = ["RtlParams", "RtlUnsupportedError"]


class RtlUnsupportedError(ValueError):
    """A description (or matrix) the RTL twin cannot represent."""


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class RtlParams:
    """One value per parameter of ``tmac_core`` (names as the HDL's, lower case).

    Attributes:
        lanes: Inputs per adder tree.
        rows_parallel: Trees per array.
        count: Arrays per core (the core has ``rows_parallel × count`` trees).
        tree_depth: Registers of each tree (>= log2(lanes), >= 1; 0: ``log2(lanes)``).
        pipeline_stages: Registers between the buffer read and the trees.
        weight_packing: ``2bit`` or ``5trit``.
        accumulator_bits: Width of every tree node and accumulator.
        accumulator_overflow: ``wrap`` or ``saturate``.
        activation_bits: Width of an activation.
        tile_cols: Columns of a weight tile.
        handoff_bubble_cycles: Idle cycles after each row group.
        start_latency_cycles: Cycles between the import and the first step.
        tile_capacity_bytes: Bytes of one weight-buffer half.
        beat_bits: Bits of one memory beat (one request).
        path_fifo_beats: Stream FIFO depth (0: none).
        path_beat_interval_cycles: Fewest cycles between beats taken.
        max_outstanding: Requests in flight (0: unlimited).
        act_path_bits: Import width.
        out_path_bits: Export width.
        op_overhead_cycles: Dispatch cycles before each matvec.
        issue_ahead: 1 when the next matvec's dispatch runs while one runs (the control
            block's ``issue_ahead``: it starts ``op_overhead_cycles`` after the one before
            started, or when that one ends if later), else 0.
        zero_skip: 1 when the array skips zero weights (the HDL's ``ZERO_SKIP``), else 0.
        max_rows: Rows the result store holds.
        max_cols: Columns the activation store holds.
    """

    lanes: int = 4
    rows_parallel: int = 1
    count: int = 1
    tree_depth: int = 0
    pipeline_stages: int = 2
    weight_packing: str = "2bit"
    accumulator_bits: int = 24
    accumulator_overflow: str = "wrap"
    activation_bits: int = 8
    tile_cols: int = 64
    handoff_bubble_cycles: int = 0
    start_latency_cycles: int = 0
    tile_capacity_bytes: int = 512
    beat_bits: int = 8
    path_fifo_beats: int = 0
    path_beat_interval_cycles: int = 1
    max_outstanding: int = 0
    act_path_bits: int = 32
    out_path_bits: int = 24
    op_overhead_cycles: int = 0
    issue_ahead: int = 0
    zero_skip: int = 0
    max_rows: int = 512
    max_cols: int = 512

    def __post_init__(self) -> None:
        if self.tree_depth == 0 and _pow2(self.lanes):
            object.__setattr__(self, "tree_depth", max(1, self.lanes.bit_length() - 1))
        problems = []
        if not _pow2(self.lanes) or not _pow2(self.tile_cols) or self.tile_cols < self.lanes:
            problems.append(
                f"lanes and tile_cols must be powers of two with tile_cols >= lanes "
                f"(got {self.lanes}, {self.tile_cols})"
            )
        if self.tree_depth < max(1, int(math.log2(self.lanes))):
            problems.append(f"tree_depth must be >= log2(lanes) and >= 1 (got {self.tree_depth})")
        if self.weight_packing not in ("2bit", "5trit"):
            problems.append(f"weight_packing must be 2bit or 5trit (got {self.weight_packing!r})")
        if self.accumulator_overflow not in ("wrap", "saturate"):
            problems.append(
                f"accumulator_overflow must be wrap or saturate (got {self.accumulator_overflow!r})"
            )
        if self.beat_bits % 8 or not _pow2(self.beat_bits // 8):
            problems.append(
                f"a beat must be a power-of-two number of bytes (got {self.beat_bits} bits)"
            )
        if self.zero_skip not in (0, 1):
            problems.append(f"zero_skip must be 0 or 1 (got {self.zero_skip})")
        if self.zero_skip and self.accumulator_overflow == "saturate":
            problems.append(
                "zero skipping with a saturating accumulator: skipping zeros sums the terms "
                "in another order than the functional model's column tree, and saturation "
                "depends on the order (a wrapping accumulator does not)"
            )
        if self.accumulator_bits < self.activation_bits:
            problems.append("accumulator_bits must be >= activation_bits")
        if self.max_cols % self.lanes:
            problems.append(f"max_cols must be a multiple of lanes (got {self.max_cols})")
        if self.half_beats >= 1 << 16:
            problems.append(f"a buffer fill of {self.half_beats} beats exceeds 16-bit descriptors")
        if max(self.max_rows, self.max_cols) >= 1 << 16:
            problems.append("max_rows and max_cols must be < 65536")
        if problems:
            raise RtlUnsupportedError("; ".join(problems))

    # ------------------------------------------------------------ derived
    @property
    def trees(self) -> int:
        """Return the rows computed at once (``rows_parallel × count``)."""
        return self.rows_parallel * self.count

    @property
    def weights_per_byte(self) -> int:
        """Return 4 (2-bit codes) or 5 (5-trit)."""
        return 5 if self.weight_packing == "5trit" else 4

    @property
    def beat_bytes(self) -> int:
        """Return the bytes of one memory beat."""
        return self.beat_bits // 8

    @property
    def full_tile_bytes(self) -> int:
        """Return the bytes of a full tile (``trees × tile_cols`` weights)."""
        return -(-self.trees * self.tile_cols // self.weights_per_byte)

    @property
    def tiles_per_fill(self) -> int:
        """Return the tiles one buffer fill holds (at least one)."""
        return max(1, self.tile_capacity_bytes // self.full_tile_bytes)

    @property
    def half_beats(self) -> int:
        """Return the beats of one buffer half as built."""
        return -(-self.tiles_per_fill * self.full_tile_bytes // self.beat_bytes)

    @property
    def fill_cycles(self) -> int:
        """Return the pipeline drain after a matvec's last step."""
        return self.pipeline_stages + self.tree_depth

    def hdl(self) -> dict[str, int | str]:
        """Return the parameters by their HDL names (``LANES``, ``WEIGHT_PACKING``...)."""
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)}

    # ------------------------------------------------------------ from a description
    @classmethod
    def of_arch(cls, arch: Arch, *, max_rows: int = 512, max_cols: int = 512) -> RtlParams:
        """Read the parameters of one core of ``arch``.

        Args:
            arch: A validated FPGA description.
            max_rows: Rows of the largest matvec it must hold.
            max_cols: Columns of the largest matvec.

        Raises:
            RtlUnsupportedError: The description has what the RTL does not build (no array, a
                single-buffered weight buffer, several memory blocks, zero skipping with a
                saturating accumulator).
        """
        spec = arch.spec
        arrays = spec.units_of(TernaryArray)
        mems = spec.units_of(OffChipMemory)
        if len(arrays) != 1 or len(mems) != 1:
            raise RtlUnsupportedError("the RTL builds one ternary_array fed by one off-chip memory")
        a, mem = arrays[0], mems[0]
        buffers = spec.units_of(Buffer)
        wbuf = next((b for b in buffers if b.holds == "weights"), None)
        abuf = next((b for b in buffers if b.holds == "activations"), None)
        if wbuf is not None and not wbuf.double_buffered:
            raise RtlUnsupportedError(f"{wbuf.name}: the RTL's weight buffer is double buffered")
        full_tile = math.ceil(a.rows_parallel * a.count * a.tile_cols * a.bits_per_weight / 8)
        controls = spec.units_of(Control)
        return cls(
            lanes=a.lanes,
            rows_parallel=a.rows_parallel,
            count=a.count,
            tree_depth=a.tree_depth,
            pipeline_stages=a.pipeline_stages,
            weight_packing=a.weight_packing,
            accumulator_bits=a.accumulator_bits,
            accumulator_overflow=a.accumulator_overflow,
            activation_bits=a.activation_bits,
            tile_cols=a.tile_cols,
            handoff_bubble_cycles=a.handoff_bubble_cycles,
            start_latency_cycles=a.start_latency_cycles,
            tile_capacity_bytes=wbuf.tile_capacity_bytes if wbuf else full_tile,
            beat_bits=8 * mem.beat_bytes,
            path_fifo_beats=mem.path_fifo_beats,
            path_beat_interval_cycles=mem.path_beat_interval_cycles or 1,
            max_outstanding=mem.max_outstanding or 0,
            act_path_bits=abuf.width_bits * abuf.ports if abuf else a.lanes * a.activation_bits,
            out_path_bits=abuf.width_bits * abuf.ports if abuf else a.accumulator_bits,
            op_overhead_cycles=controls[0].op_overhead_cycles if controls else 0,
            issue_ahead=int(controls[0].issue_ahead) if controls else 0,
            zero_skip=int(a.zero_skipping),
            max_rows=max_rows,
            max_cols=max_cols,
        )
