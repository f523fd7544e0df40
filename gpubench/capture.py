"""What a PyTorch implementation actually launches for one decode step, by tracing it.

The implementation's ``nn.Module`` is built on PyTorch's ``meta`` device (shapes and
dtypes, no memory, no arithmetic) and one decode step runs under a dispatch mode that
records every ATen operator with the sizes of the tensors it reads and writes, which of
them are parameters, and its FLOPs (a lookup reads only the rows it returns; an in-place
scatter such as a KV-cache ``index_copy_`` writes only its source's elements).
Operators that only make views launch nothing and are counted, not recorded (they still
cost an eager host a dispatch), as are ``nn.Module`` calls; every other operator is one
kernel, as in eager PyTorch. This is the GPU model's
workload: "model what the code does", including the reference code's re-quantisation of
every weight on every call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

# PyTorch documents its dispatch-mode extension point only under this module path.
from torch.utils._python_dispatch import TorchDispatchMode

from arch_models.gpu_kernels import Kernel, KernelStep, attention_state

if TYPE_CHECKING:
    from gpubench.schema import Baseline
    from gpubench.shapes import ModelShape

__all__ = [
    "VIEW_OPS",
    "call_key",
    "calls_of",
    "capture_harness_prefill",
    "capture_harness_step",
    "capture_step",
    "harness_step",
]

#: Operators that make views or metadata only: no kernel.
VIEW_OPS = frozenset(
    {
        "view",
        "_unsafe_view",
        "select",
        "slice",
        "chunk",
        "split",
        "split_with_sizes",
        "t",
        "transpose",
        "permute",
        "unsqueeze",
        "squeeze",
        "expand",
        "as_strided",
        "detach",
        "alias",
        "lift_fresh",
        "unbind",
        "narrow",
        "view_as",
        "reshape",
        "_reshape_alias",
        "empty",
        "empty_like",
        "empty_strided",
        "new_empty",
        "unflatten",
        "flatten",
        "_local_scalar_dense",
        "item",
        "is_nonzero",
        "clone_view",
    }
)
_MATMUL = frozenset({"linear", "mm", "addmm", "bmm", "matmul", "baddbmm"})
#: Operators that read only the rows they index from their first tensor argument.
_GATHER = frozenset({"embedding", "index_select", "gather", "index"})
#: In-place operators that write only their source's elements into the first argument
#: (a KV-cache update): they return the whole destination, but touch a slice of it.
_SCATTER = frozenset({"index_copy_", "index_put_", "index_add_", "scatter_", "scatter_add_"})


def _base(func: Any) -> str:
    return str(func.__name__).split(".")[0] if hasattr(func, "__name__") else str(func)


def _flops(op: str, args: tuple[Any, ...], outs: list[torch.Tensor]) -> int:
    if op in _MATMUL and outs:
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        # out [.., M, N] from [.., M, K] x [K, N] (or weight [N, K] for linear)
        k = tensors[0].shape[-1] if tensors else 1
        return 2 * int(outs[0].numel()) * int(k)
    return int(sum(o.numel() for o in outs))


def _tensors(x: Any) -> list[torch.Tensor]:
    """Return the tensors in an operator's (nested) arguments or results, in order."""
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, list | tuple):
        return [t for item in x for t in _tensors(item)]
    if isinstance(x, dict):
        return [t for item in x.values() for t in _tensors(item)]
    return []


class _Recorder(TorchDispatchMode):  # type: ignore[no-untyped-call]
    def __init__(self, params: set[int]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.params = params
        self.kernels: list[Kernel] = []
        self.host_only = 0

    def add(self, kernel: Kernel) -> None:
        """Record a kernel that does not go through ATen (a Triton kernel)."""
        self.kernels.append(kernel)

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        op = _base(func.overloadpacket) if hasattr(func, "overloadpacket") else _base(func)
        if op in VIEW_OPS:
            self.host_only += 1
            return out
        ins = _tensors((args, kwargs or {}))
        outs = _tensors(out)
        writes = tuple(int(t.numel() * t.element_size()) for t in outs)
        if op in _SCATTER and ins:
            # Reads the index and the source, writes the source's worth of the destination.
            dest, ins = ins[0], ins[1:]
            reads = tuple(int(t.numel() * t.element_size()) for t in ins)
            source = max((t for t in ins if t.dtype == dest.dtype), key=torch.Tensor.numel,
                         default=None)  # fmt: skip
            writes = (int(source.numel() * source.element_size()),) if source is not None else ()
            param = 0
        elif op in _GATHER and ins:
            # A lookup reads the rows it returns, not the whole table.
            table, ins = ins[0], ins[1:]
            param = sum(writes) if id(table) in self.params else 0
            reads = tuple(int(t.numel() * t.element_size()) for t in ins)
            if not param:
                reads = (*reads, sum(writes))
        else:
            param = sum(int(t.numel() * t.element_size()) for t in ins if id(t) in self.params)
            reads = tuple(
                int(t.numel() * t.element_size()) for t in ins if id(t) not in self.params
            )
        key = call_key(args, kwargs or {})
        reads, state = attention_state(op, reads)
        self.kernels.append(
            Kernel(
                str(func),
                reads,
                writes,
                param,
                _flops(op, args, outs),
                tensor_core=op in _MATMUL,
                call=f"{func}|{key}",
                state=state,
            )
        )
        return out


def capture_step(
    module: torch.nn.Module,
    step: Callable[[], Any],
    *,
    impl: str,
    model: str,
    batch: int,
) -> KernelStep:
    """Record the kernels of one call of ``step`` (which runs ``module`` once).

    Args:
        module: The implementation, built on the ``meta`` device.
        step: Runs one decode step of it.
        impl: Implementation name for the record.
        model: Model name for the record.
        batch: Sequences decoded together.
    """
    params = {id(p) for p in module.parameters()} | {id(b) for b in module.buffers()}
    total = sum(int(p.numel() * p.element_size()) for p in module.parameters())
    total += sum(int(b.numel() * b.element_size()) for b in module.buffers())
    recorder = _Recorder(params)
    modules = [0]

    def count(_module: Any, _args: Any) -> None:
        modules[0] += 1

    global _ACTIVE
    _ACTIVE = recorder
    hook = torch.nn.modules.module.register_module_forward_pre_hook(count)
    try:
        with torch.inference_mode(), recorder:
            step()
    finally:
        _ACTIVE = None
        hook.remove()
    return KernelStep(
        impl,
        model,
        batch,
        tuple(recorder.kernels),
        total,
        host_only_ops=recorder.host_only,
        module_calls=modules[0],
    )


def calls_of(step: KernelStep) -> set[tuple[str, str]]:
    """Return the ATen calls (name, JSON key) behind a captured step's ATen kernels."""
    return {
        (name, key)
        for name, key in (k.call.split("|", 1) for k in step.kernels)
        if name.startswith("aten.")
    }


_ACTIVE: _Recorder | None = None


def _describe(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return {"t": list(x.shape), "dtype": str(x.dtype).removeprefix("torch.")}
    if isinstance(x, torch.dtype):
        return {"dtype_arg": str(x).removeprefix("torch.")}
    if isinstance(x, torch.device):
        return {"device_arg": True}
    if isinstance(x, list | tuple):
        return [_describe(v) for v in x]
    if isinstance(x, dict):
        return {"kw": {str(k): _describe(v) for k, v in x.items()}}
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    return {"other": str(x)}


def call_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """Return a JSON description of an operator call (tensor shapes and dtypes, literals)."""
    import json

    return json.dumps({"args": _describe(args), "kwargs": _describe(kwargs)}, sort_keys=True)


def _packed_linear_as_one_kernel(
    x: torch.Tensor, packed: torch.Tensor, scale: float
) -> torch.Tensor:
    """Stand-in for the Triton packed GEMV while tracing: one kernel, its real bytes."""
    from gpubench.kernels import packed_grid

    n, k4 = packed.shape
    rows = int(x.numel() // x.shape[-1])
    out = torch.empty(*x.shape[:-1], n, dtype=x.dtype, device=x.device)
    if _ACTIVE is not None:
        _ACTIVE.add(
            Kernel(
                "triton.packed_matmul",
                call=f"triton.packed_matmul|{n}x{4 * k4}|{rows}",
                reads=(int(x.numel() * x.element_size()),),
                writes=(int(out.numel() * out.element_size()),),
                param_bytes=int(n * k4),
                flops=2 * rows * n * 4 * k4,
                tensor_core=True,
                blocks=packed_grid(rows, n),
            )
        )
    return out


@functools.cache
def capture_harness_step(
    model: str, impl: str, batch: int, shape: ModelShape | None = None
) -> KernelStep:
    """Trace one decode step of a GPU-baseline implementation (``gpubench``).

    This is the one function through which the GPU model (:mod:`cosim.gpu_engine`) gets
    its workload from the harness. The packed implementation's Triton GEMV does not
    dispatch through ATen; the model is built with a stand-in for it that records one
    kernel reading the 2-bit weights and the activations. ``shape`` overrides the
    built-in shape named ``model`` (a variant of it, e.g. with more layers). Results are
    cached per argument set (a step is immutable).

    Raises:
        ValueError: For an unknown implementation, or one whose code cannot be traced
            here (compiled or Triton-fused: see :func:`harness_step`).
        BaselineError: For an unknown model.
    """
    from gpubench import models as harness
    from gpubench.shapes import get_shape

    if impl not in harness.META_TRACEABLE:
        raise ValueError(
            f"implementation {impl!r} cannot be traced on the meta device (its kernels "
            "are decided when it is compiled); its kernels come from a baseline case's "
            "captured list"
        )
    built = harness.build_model(
        shape or get_shape(model), impl, "meta", packed_linear=_packed_linear_as_one_kernel
    )
    decoder = harness.build_decoder(built, batch, prompt_tokens=128, max_steps=256)
    return capture_step(built, decoder.step_, impl=impl, model=model, batch=batch)


@functools.cache
def capture_harness_prefill(model: str, impl: str, batch: int, prompt_tokens: int) -> KernelStep:
    """Trace the prompt pass of a GPU-baseline implementation (its ``prefill_``).

    The kernels that take ``prompt_tokens`` prompt positions of ``batch`` sequences
    through the model and choose the first generated token: the GPU model's time to
    first token. Traced as :func:`capture_harness_step` traces a decode step.

    Raises:
        ValueError: For an implementation the meta device cannot trace, or a prompt of
            fewer than one token.
        BaselineError: For an unknown model.
    """
    from gpubench import models as harness
    from gpubench.shapes import get_shape

    if prompt_tokens < 1:
        raise ValueError(f"a prompt has at least one token (got {prompt_tokens})")
    if impl not in harness.META_TRACEABLE:
        raise ValueError(
            f"implementation {impl!r} cannot be traced on the meta device; its prompt pass "
            "has no kernel list here"
        )
    built = harness.build_model(
        get_shape(model), impl, "meta", packed_linear=_packed_linear_as_one_kernel
    )
    decoder = harness.build_decoder(built, batch, prompt_tokens=prompt_tokens, max_steps=1)
    return capture_step(built, decoder.prefill_, impl=impl, model=model, batch=batch)


def harness_step(
    model: str,
    impl: str,
    batch: int,
    baseline: Baseline | None = None,
    *,
    prefer_captured: bool = False,
) -> KernelStep:
    """The GPU model's workload for one implementation: traced where possible, else captured.

    An implementation the meta device can trace (:data:`gpubench.models.META_TRACEABLE`)
    is traced (:func:`capture_harness_step`: its calls' keys find their measured costs),
    unless ``prefer_captured``. Otherwise, where ``baseline`` has an ``ok`` case of this
    model, implementation and batch that carries the kernels the profiler saw run
    (:mod:`gpubench.kernel_list`), that list is replayed
    (:func:`gpubench.replay.captured_step`).

    Raises:
        ValueError: For an implementation that can only be replayed from a captured list
            the baseline does not have.
        BaselineError: For an unknown model.
    """
    from gpubench.models import META_TRACEABLE
    from gpubench.replay import captured_case, captured_step

    if baseline is not None and (prefer_captured or impl not in META_TRACEABLE):
        case = captured_case(baseline, model, impl, batch)
        if case is not None:
            return captured_step(case)
    return capture_harness_step(model, impl, batch)
