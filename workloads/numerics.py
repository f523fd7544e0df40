"""Hardware numerics as parameters: what a design's arithmetic does differently from exact.

An accelerator does not compute in float64. :class:`Numerics` names each choice a design
makes, so the functional model can run with it and report what it costs against exact
arithmetic (see :mod:`workloads.cost`):

- ``act_bits``: width of the per-token absmax activation quantisation (8 in the paper:
  ``x_q = clamp(round(x · (2^(b-1)-1) / max|x|), -2^(b-1), 2^(b-1)-1)``);
- ``acc_bits`` and ``acc_overflow``: the integer accumulator of the ternary product,
  unbounded (``None``) or ``acc_bits`` wide, wrapping (two's complement) or saturating;
- ``elementwise``: the number format of everything outside the ternary product (norms,
  gates, recurrence state, residual stream): ``float32``, ``float64`` or signed fixed point
  ``fixed<W>.<F>`` (W bits in total, F of them fractional, round to nearest, saturate);
- ``sigmoid`` and ``silu``: exact, by lookup table, or by a piecewise polynomial fit;
- ``round_half``: how activation quantisation rounds exact halves (``away`` from zero,
  as the released fused kernel does, or to ``even`` as ``torch.round``).

``Numerics()`` is the functional default (float32 elementwise, everything else exact);
:meth:`Numerics.exact` is the reference the costs are measured against (float64).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["ElementFormat", "FunctionApprox", "Numerics", "Overflow", "RoundHalf"]

Overflow = Literal["wrap", "saturate"]
RoundHalf = Literal["away", "even"]
FloatArray = npt.NDArray[np.floating[Any]]

_FIXED = re.compile(r"fixed(\d+)\.(\d+)")
_APPROX = re.compile(r"(lut|pwl):(\d+)(?::(\d+))?(?:@([0-9.]+))?")


@dataclass(frozen=True)
class ElementFormat:
    """The number format of the elementwise path.

    Attributes:
        kind: ``"float32"``, ``"float64"`` or ``"fixed"``.
        bits: Total width of a fixed-point value (sign included); for floats their width.
        frac: Fractional bits of a fixed-point value (0 for floats).
    """

    kind: Literal["float32", "float64", "fixed"] = "float32"
    bits: int = 32
    frac: int = 0

    def __post_init__(self) -> None:
        if self.kind == "fixed":
            if not 2 <= self.bits <= 48 or not 0 <= self.frac < self.bits:
                raise ValueError(
                    f"fixed point needs 2 <= bits <= 48 and 0 <= frac < bits "
                    f"(got fixed{self.bits}.{self.frac})"
                )
        elif self.kind in ("float32", "float64"):
            object.__setattr__(self, "bits", 32 if self.kind == "float32" else 64)
            object.__setattr__(self, "frac", 0)
        else:
            raise ValueError(f"unknown element format {self.kind!r}")

    @classmethod
    def parse(cls, text: str) -> ElementFormat:
        """Parse ``float32``, ``float64`` or ``fixed<W>.<F>`` (e.g. ``fixed16.8``).

        Raises:
            ValueError: For any other text.
        """
        text = text.strip().lower()
        if text in ("float32", "float64"):
            return cls(kind=text)  # type: ignore[arg-type]
        m = _FIXED.fullmatch(text)
        if m is None:
            raise ValueError(
                f"element format must be float32, float64 or fixed<W>.<F> (got {text!r})"
            )
        return cls(kind="fixed", bits=int(m.group(1)), frac=int(m.group(2)))

    def __str__(self) -> str:
        return self.kind if self.kind != "fixed" else f"fixed{self.bits}.{self.frac}"

    @property
    def dtype(self) -> type[np.floating[Any]]:
        """The NumPy type values are held in (fixed point is held exactly in float64)."""
        return np.float32 if self.kind == "float32" else np.float64

    @property
    def bytes(self) -> int:
        """Bytes per stored value (what traces count for activation traffic)."""
        return math.ceil(self.bits / 8)

    def apply(self, x: FloatArray) -> FloatArray:
        """Round values to this format (saturating for fixed point).

        Args:
            x: Values of any float type.

        Returns:
            The values in :attr:`dtype`, on this format's grid.
        """
        if self.kind != "fixed":
            return np.asarray(x, dtype=self.dtype)
        scale = float(2**self.frac)
        top = float(2 ** (self.bits - 1))
        q = np.clip(np.rint(np.asarray(x, dtype=np.float64) * scale), -top, top - 1)
        out: FloatArray = q / scale
        return out


@dataclass(frozen=True)
class FunctionApprox:
    """How a nonlinear function (sigmoid, SiLU) is evaluated.

    Attributes:
        method: ``"exact"``, ``"lut"`` (nearest of ``size`` uniformly spaced samples over
            ``[-range, range]``) or ``"pwl"`` (``size`` uniform segments over
            ``[-range, range]``, each a least-squares polynomial of degree ``order``;
            order 1 is the piecewise-linear fit). Beyond the range the sigmoid is 0 or 1.
        size: Table entries or segments.
        order: Polynomial degree per segment (``pwl`` only).
        range: Half-width of the input interval covered.
    """

    method: Literal["exact", "lut", "pwl"] = "exact"
    size: int = 256
    order: int = 1
    range: float = 8.0

    def __post_init__(self) -> None:
        if self.method not in ("exact", "lut", "pwl"):
            raise ValueError(f"unknown approximation {self.method!r}")
        bad = self.size < 2 or not 0 <= self.order <= 5 or not self.range > 0
        if self.method != "exact" and bad:
            raise ValueError(
                f"approximation needs size >= 2, 0 <= order <= 5, range > 0 (got {self})"
            )

    @classmethod
    def parse(cls, text: str) -> FunctionApprox:
        """Parse ``exact``, ``lut:N``, ``pwl:N`` or ``pwl:N:K``, each optionally ``@R``.

        Examples: ``lut:256``, ``pwl:16`` (16 linear segments), ``pwl:8:2@6`` (8 quadratic
        segments over [-6, 6]).

        Raises:
            ValueError: For any other text.
        """
        text = text.strip().lower()
        if text == "exact":
            return cls()
        m = _APPROX.fullmatch(text)
        if m is None:
            raise ValueError(
                f"function approximation must be exact, lut:N[@R] or pwl:N[:K][@R] (got {text!r})"
            )
        method, size, order, rng = m.groups()
        if method == "lut" and order is not None:
            raise ValueError(f"a lookup table has no order (got {text!r})")
        return cls(
            method=method,  # type: ignore[arg-type]
            size=int(size),
            order=int(order) if order else 1,
            range=float(rng) if rng else 8.0,
        )

    def __str__(self) -> str:
        if self.method == "exact":
            return "exact"
        order = f":{self.order}" if self.method == "pwl" and self.order != 1 else ""
        return f"{self.method}:{self.size}{order}@{self.range:g}"


@dataclass(frozen=True)
class Numerics:
    """The arithmetic a hardware design uses, as parameters of the functional model.

    Attributes:
        act_bits: Activation quantisation width (2..16).
        acc_bits: Accumulator width of the ternary product; ``None`` is unbounded.
        acc_overflow: ``"wrap"`` (two's complement, any adder order gives the same result)
            or ``"saturate"`` (every node of a balanced binary adder tree over the columns
            in index order clamps to the range).
        elementwise: Number format of the elementwise path.
        sigmoid: Evaluation of the forget-gate (and paper-form output-gate) sigmoid.
        silu: Evaluation of SiLU, computed as ``x · σ̃(x)`` with this approximation of σ.
        round_half: Rounding of exact halves in activation quantisation.
    """

    act_bits: int = 8
    acc_bits: int | None = None
    acc_overflow: Overflow = "wrap"
    elementwise: ElementFormat = field(default_factory=ElementFormat)
    sigmoid: FunctionApprox = field(default_factory=FunctionApprox)
    silu: FunctionApprox = field(default_factory=FunctionApprox)
    round_half: RoundHalf = "away"

    def __post_init__(self) -> None:
        if not 2 <= self.act_bits <= 16:
            raise ValueError(f"act_bits must be in 2..16 (got {self.act_bits})")
        if self.acc_bits is not None and not 2 <= self.acc_bits <= 62:
            raise ValueError(f"acc_bits must be in 2..62 or None (got {self.acc_bits})")
        if self.acc_overflow not in ("wrap", "saturate"):
            raise ValueError(f"acc_overflow must be wrap or saturate (got {self.acc_overflow!r})")
        if self.round_half not in ("away", "even"):
            raise ValueError(f"round_half must be away or even (got {self.round_half!r})")

    @classmethod
    def exact(cls) -> Numerics:
        """Return the exact reference: float64 elementwise, unbounded accumulators."""
        return cls(elementwise=ElementFormat("float64"))

    @property
    def act_max(self) -> int:
        """Largest quantised activation, ``2^(act_bits-1) - 1`` (127 at 8 bits)."""
        return int(2 ** (self.act_bits - 1) - 1)

    @property
    def act_min(self) -> int:
        """Smallest quantised activation, ``-2^(act_bits-1)`` (-128 at 8 bits)."""
        return -int(2 ** (self.act_bits - 1))

    @property
    def act_bytes(self) -> int:
        """Bytes per quantised activation."""
        return math.ceil(self.act_bits / 8)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly view (as stored in trace manifests)."""
        return {
            "act_bits": self.act_bits,
            "acc_bits": self.acc_bits,
            "acc_overflow": self.acc_overflow,
            "elementwise": str(self.elementwise),
            "elementwise_bytes": self.elementwise.bytes,
            "sigmoid": str(self.sigmoid),
            "silu": str(self.silu),
            "round_half": self.round_half,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Numerics:
        """Rebuild from :meth:`to_dict` output (derived keys ignored).

        Raises:
            ValueError: On invalid values.
        """
        return cls(
            act_bits=int(data.get("act_bits", 8)),
            acc_bits=data.get("acc_bits"),
            acc_overflow=data.get("acc_overflow", "wrap"),
            elementwise=ElementFormat.parse(data.get("elementwise", "float32")),
            sigmoid=FunctionApprox.parse(data.get("sigmoid", "exact")),
            silu=FunctionApprox.parse(data.get("silu", "exact")),
            round_half=data.get("round_half", "away"),
        )
