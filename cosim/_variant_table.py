"""Variants of a design as columns of changed fields, and their distinct combinations.

The analytical tier (:mod:`cosim.analytical`) evaluates each figure once per distinct
combination of the fields it depends on, not once per variant: :class:`VariantTable`
holds the columns, finds the combinations (:meth:`VariantTable.combos`), validates one
variant per combination (:func:`~arch_models.spec.evolve.evolve`, cached) and spreads
the figures back to every variant (:meth:`VariantTable.per_variant`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from arch_models.spec.arch import Arch
from arch_models.spec.evolve import evolve, parse_path, resolve_path
from arch_models.validation.errors import SpecError
from cosim.errors import UnsupportedChangeError

__all__ = ["VariantTable", "combinations", "modelled_path", "python_value", "value_codes"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Path = tuple[str | int, ...]


class VariantTable:
    """Variants' changed fields as columns, and their distinct combinations."""

    def __init__(
        self, base: Arch, columns: Mapping[str, Any], cache: dict[Any, Any] | None = None
    ) -> None:
        self.base = base
        #: Validated variants and figures by combination, shared by a model's tables.
        self.cache: dict[Any, Any] = {} if cache is None else cache
        self.paths: dict[str, Path] = {}
        self.cols: dict[str, npt.NDArray[Any]] = {}
        sizes = set()
        for name, values in columns.items():
            parts = modelled_path(base, name)
            arr = np.asarray(values)
            if arr.ndim != 1:
                raise UnsupportedChangeError(f"column {name!r} must be one-dimensional")
            self.paths[name] = parts
            self.cols[name] = arr
            sizes.add(arr.size)
        if len(sizes) > 1:
            raise UnsupportedChangeError(f"columns differ in length: {sorted(sizes)}")
        self.n = sizes.pop() if sizes else 1
        self._codes: dict[str, I64] = {}

    def rows(self, idx: npt.NDArray[np.int64]) -> VariantTable:
        """Return the variants at ``idx`` as a table (sharing this one's cache)."""
        return VariantTable(self.base, {k: v[idx] for k, v in self.cols.items()}, self.cache)

    def of_unit(self, index: int) -> list[str]:
        """Return the columns that change unit ``index``."""
        return [k for k, p in self.paths.items() if p[0] == "units" and p[1] == index]

    def of_kinds(self, kinds: frozenset[str]) -> list[str]:
        """Return the columns that change units of ``kinds``."""
        units = self.base.spec.units
        return [
            k for k, p in self.paths.items() if p[0] == "units" and units[int(p[1])].kind in kinds
        ]

    def code(self, name: str) -> I64:
        """Return each variant's index among the column's distinct values."""
        if name not in self._codes:
            self._codes[name] = value_codes(self.cols[name])
        return self._codes[name]

    def combos(self, names: Sequence[str]) -> tuple[I64, list[dict[str, Any]]]:
        """Return each variant's combination index and the combinations (path → value)."""
        return combinations(self.cols, names, self.n, self.code)

    def variant(self, changes: dict[str, Any]) -> Arch | None:
        """Return the validated base with ``changes`` (``None`` if the validator refuses)."""
        key = ("arch", tuple(sorted(changes.items())))
        if key not in self.cache:
            try:
                self.cache[key] = evolve(self.base, changes) if changes else self.base
            except SpecError:
                self.cache[key] = None
        got: Arch | None = self.cache[key]
        return got

    def per_variant(
        self, tag: str, names: Sequence[str], fn: Callable[[Arch], Sequence[float]], width: int
    ) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Evaluate ``fn`` once per distinct combination of ``names``; spread to variants.

        Args:
            tag: Names ``fn`` in the cache (one tag, one function).
            names: The columns ``fn``'s figures depend on.
            fn: A variant's figures.
            width: How many.

        Returns:
            ``(values (N, width), valid (N,))``: where the combination is invalid, the
            base design's values (so that what follows computes), marked invalid.
        """
        inv, reps = self.combos(names)
        out = np.full((len(reps), width), np.nan)
        ok = np.zeros(len(reps), dtype=bool)
        for j, rep in enumerate(reps):
            key = (tag, tuple(sorted(rep.items())))
            if key not in self.cache:
                arch = self.variant(rep)
                self.cache[key] = None if arch is None else list(fn(arch))
            got = self.cache[key]
            ok[j] = got is not None
            if got is None:
                base_key = (tag, ())
                if base_key not in self.cache:
                    self.cache[base_key] = list(fn(self.base))
                got = self.cache[base_key]
            out[j] = got
        return out[inv], ok[inv]


def modelled_path(base: Arch, name: str) -> Path:
    """Return a changed field's resolved path, if the analytical tier models it.

    Raises:
        UnsupportedChangeError: A malformed path, or a field other than ``clock_mhz`` and
            the units' (naming it).
    """
    try:
        parts = resolve_path(base, parse_path(name))
    except ValueError as exc:
        raise UnsupportedChangeError(str(exc)) from None
    if parts != ("clock_mhz",) and not (
        len(parts) >= 3 and parts[0] == "units" and isinstance(parts[1], int)
    ):
        raise UnsupportedChangeError(
            f"the analytical tier models changes to clock_mhz and to units' fields, not {name!r}"
        )
    return parts


def value_codes(values: npt.NDArray[Any]) -> I64:
    """Return each entry's index among the column's distinct values."""
    # factorize, not np.unique: a column may mix None with numbers
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


def combinations(
    cols: Mapping[str, npt.NDArray[Any]],
    names: Sequence[str],
    n: int,
    code: Callable[[str], I64] | None = None,
) -> tuple[I64, list[dict[str, Any]]]:
    """Return each variant's combination of the columns ``names``, and the combinations.

    Args:
        cols: Name → one value per variant.
        names: The columns that make a combination (names not in ``cols`` are skipped).
        n: Variants.
        code: Each column's codes (:func:`value_codes` where not given).

    Returns:
        Each variant's combination index, and per combination name → its plain value.
    """
    names = [k for k in names if k in cols]
    if not names:
        return np.zeros(n, dtype=np.int64), [{}]
    codes_of = code or (lambda k: value_codes(cols[k]))
    key = np.zeros(n, dtype=np.int64)
    for name in names:
        codes = codes_of(name)
        key = key * (int(codes.max()) + 1) + codes
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    reps = [{k: python_value(cols[k][i]) for k in names} for i in first]
    return inv.astype(np.int64).ravel(), reps


def python_value(value: Any) -> Any:
    """Return a column's value as the plain Python value a description holds."""
    return value.item() if isinstance(value, np.generic) else value
