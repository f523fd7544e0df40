"""The kernels a GPU runs for one decode step: the work a GPU model replays.

A :class:`Kernel` is one device launch with the sizes of the tensors it reads and writes,
how many of the bytes read are model parameters, and its floating-point operations.
Where the bytes come from (HBM or L2) is the GPU model's decision: it depends on the
device's L2 capacity, not on the code. ``cosim`` fills these from what an
implementation's code actually dispatches (see :mod:`gpubench.capture`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Kernel", "KernelStep", "attention_state"]


def attention_state(op: str, reads: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Split an operator's non-parameter reads into activations and decode state.

    In a decode step an attention operator (``scaled_dot_product_attention``, the cuDNN,
    flash or memory-efficient forward) takes the query, then the key and value caches:
    its second and third operands are state carried from earlier steps. Every other
    operator's reads are activations.

    Args:
        op: The operator's name.
        reads: Bytes of its non-parameter operands, in argument order.

    Returns:
        ``(activation reads, state reads)``.
    """
    if "attention" not in op.lower() or len(reads) < 3:
        return reads, ()
    return (reads[0], *reads[3:]), reads[1:3]


@dataclass(frozen=True)
class Kernel:
    """One kernel launch.

    Attributes:
        name: The operator (``aten.linear.default``, ``packed_gemv``...).
        reads: Bytes of each non-parameter tensor read (activations, intermediates).
            Activations are made and used within a step, so small ones stay in L2.
        writes: Bytes of each tensor written.
        param_bytes: Bytes of model parameters (weights) read.
        flops: Floating-point operations (a multiply-add counts 2).
        tensor_core: Whether the work is a matrix product (tensor cores).
        call: The call's identity (operator and argument shapes), for looking up its
            measured cost; empty when unknown.
        blocks: Thread blocks it launches, where known (0: unknown).
        state: Bytes of each decode-state tensor read (an attention's key and value
            cache): written by earlier steps and read whole by this one, so, like the
            parameters, in L2 only when the step's parameters and state all fit there.
    """

    name: str
    reads: tuple[int, ...]
    writes: tuple[int, ...]
    param_bytes: int
    flops: int
    tensor_core: bool = False
    call: str = ""
    blocks: int = 0
    state: tuple[int, ...] = ()

    @property
    def read_bytes(self) -> int:
        """Return all bytes read, parameters and state included."""
        return sum(self.reads) + self.param_bytes + sum(self.state)

    @property
    def write_bytes(self) -> int:
        """Return all bytes written."""
        return sum(self.writes)


@dataclass(frozen=True)
class KernelStep:
    """The kernels of one decode step of one implementation.

    Attributes:
        impl: The implementation (``reference``, ``dense``, ``packed``, ``transformer``).
        model: The model name.
        batch: Sequences decoded together.
        kernels: In launch order.
        param_bytes_total: Bytes of all the model's parameters (for L2 residency).
        host_only_ops: Operators that cost the host a dispatch but launch nothing (views,
            reshapes, allocations), per step.
        module_calls: ``nn.Module`` calls per step (each costs the host its ``__call__``).
    """

    impl: str
    model: str
    batch: int
    kernels: tuple[Kernel, ...]
    param_bytes_total: int
    host_only_ops: int = 0
    module_calls: int = 0

    @property
    def flops(self) -> int:
        """Return the floating-point operations per step."""
        return sum(k.flops for k in self.kernels)

    @property
    def state_bytes_total(self) -> int:
        """Return the decode-state bytes the step reads (a KV cache: per layer, once)."""
        return sum(sum(k.state) for k in self.kernels)
