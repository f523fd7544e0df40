"""Analytical bounds: the floor no simulation of a design may beat.

Per decode step, for the design as planned: off-chip bytes over the bandwidth the cores
can draw (each channel group's bytes over its bandwidth, each core's over its memory
path's width and request window), each core's ternary-array
busy time (its chunks' cycles), and each core's vector and norm busy time. The step can
be no shorter than the largest of these (they may at best overlap perfectly); the
largest names the *binding* bound. One allowance: the weight DMA may land the first
decode step's first chunks (up to the buffer's slots, and a stream FIFO's beats beyond
them) before decode starts, so the decode window as a whole may undercut the sum of its
steps' floors by that transfer time (``prefetch_ns``), no more. The memory path's every
limit (width, requests in flight, FIFO credits, beat interval) is in its bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosim.fpga import STATE_BYTES, FpgaSystem

__all__ = ["Bounds", "compute_bounds"]


@dataclass(frozen=True)
class Bounds:
    """Floors on one decode step, in ns.

    Attributes:
        memory_ns: Off-chip traffic over the bandwidth it can draw (slowest channel group
            or core memory path).
        compute_ns: Ternary-array busy time (slowest core).
        vector_ns: Vector and norm unit busy time (slowest core).
        dram_bytes: Off-chip bytes per step (all cores).
        prefetch_ns: Time of the weight fills the DMA may run ahead of a step (buffer
            slots × one fill, plus a stream FIFO's beats), which a step may start with
            already done.
    """

    memory_ns: float
    compute_ns: float
    vector_ns: float
    dram_bytes: int
    prefetch_ns: float = 0.0

    @property
    def step_ns(self) -> float:
        """Return the binding floor."""
        return max(self.memory_ns, self.compute_ns, self.vector_ns)

    @property
    def binding(self) -> str:
        """Name the binding bound."""
        named = {"memory": self.memory_ns, "compute": self.compute_ns, "vector": self.vector_ns}
        return max(named, key=lambda k: named[k])

    def as_dict(self) -> dict[str, float]:
        """Return the floors by name, ns per token."""
        return {"memory": self.memory_ns, "compute": self.compute_ns, "vector": self.vector_ns}


def compute_bounds(system: FpgaSystem) -> Bounds:
    """Compute the floors of one decode step of a connected system.

    Args:
        system: A built and connected :class:`FpgaSystem`.
    """
    wl = system.workload
    step = wl.decode_steps[0]
    n = len(system.cores)
    rows_split = system.arch.spec.layout.split == "rows"
    mem = system.mem
    assert mem is not None
    core_bytes = [0] * n
    core_cycles = [0] * n
    core_vec_ns = [0.0] * n
    d = int(wl.model.get("d", 0))
    for seq, op in enumerate(step.ops):
        if system.absorbed(step, seq):  # inside the norm before it: no time, no traffic
            continue
        cores = range(n) if (rows_split and op.kind != "embedding") else [system.op_core(op)]
        for c in cores:
            core = system.cores[c]
            share = op.elements * (c + 1) // n - op.elements * c // n if rows_split else op.elements
            if op.is_matvec:
                plan = core.plans[op.matrix, step.vectors]
                core_cycles[c] += plan.cycles
                if not system.onchip.weights_resident:
                    core_bytes[c] += plan.nbytes
            elif op.kind == "embedding":
                core_bytes[c] += op.bytes_out
            else:
                ns, _ = system.vector_work(core, op, share)
                core_vec_ns[c] += ns
            div = n if rows_split else 1
            if not system.onchip.activations_on_chip and op.kind != "embedding":
                core_bytes[c] += (op.bytes_in + op.bytes_out) // div
            if not system.onchip.state_on_chip and op.kind == "recurrence":
                core_bytes[c] += 2 * d * STATE_BYTES * wl.batch // div
    # A channel group serves its cores one transfer at a time: the group's bytes over its
    # bandwidth, not each core's over a fair share (a core whose neighbours finish first
    # draws more than its share); and no core faster than its own memory path.
    group_bytes: dict[int, int] = {}
    for c, b in enumerate(core_bytes):
        group_bytes[mem.group_of(c)] = group_bytes.get(mem.group_of(c), 0) + b
    memory_ns = max(
        max(b / mem.group_bytes_per_ns() for b in group_bytes.values()),
        max(b / mem.path_bytes_per_ns() for b in core_bytes),
    )
    ns_per_cycle = system.ctx.ns_per_cycle
    compute_ns = max(core_cycles) * ns_per_cycle
    return Bounds(
        memory_ns=memory_ns,
        compute_ns=compute_ns,
        vector_ns=max(core_vec_ns),
        dram_bytes=sum(core_bytes),
        prefetch_ns=_prefetch_ns(system),
    )


def _prefetch_ns(system: FpgaSystem) -> float:
    """Transfer time of the weight chunks the DMA may land before decode starts.

    Weights do not depend on data, so each core's DMA runs ahead of its array by the
    weight buffer's slots, and by a stream FIFO's beats beyond them, across step
    boundaries: that much of the first decode step's weights may be in before the step
    starts. Decode steps follow one another without a gap, so only the first one's head
    start shortens the decode window: by at most the slowest channel group's (or core
    path's) time for those bytes.
    """
    mem = system.mem
    wl = system.workload
    if mem is None or system.onchip.weights_resident or not wl.decode_steps:
        return 0.0
    rows_split = system.arch.spec.layout.split == "rows"
    first = wl.decode_steps[0]
    fifo_bytes = mem.spec.path_fifo_beats * mem.spec.beat_bytes
    ahead = [0] * len(system.cores)
    for c, core in enumerate(system.cores):
        left = int(core.slots.capacity)
        extra = fifo_bytes
        for op in first.ops:
            if left <= 0 and extra <= 0:
                break
            if not op.is_matvec or not (rows_split or system.op_core(op) == c):
                continue
            for chunk in core.plans[op.matrix, first.vectors].chunks:
                if left > 0:
                    ahead[c] += chunk.nbytes
                    left -= 1
                elif extra > 0:
                    ahead[c] += min(extra, chunk.nbytes)
                    extra -= chunk.nbytes
                else:
                    break
    group_bytes: dict[int, int] = {}
    for c, b in enumerate(ahead):
        group_bytes[mem.group_of(c)] = group_bytes.get(mem.group_of(c), 0) + b
    return max(
        max(b / mem.group_bytes_per_ns() for b in group_bytes.values()),
        max(b / mem.path_bytes_per_ns() for b in ahead),
    )
