"""A minimal reader and writer of the safetensors format, in NumPy (no dependency).

The format: an 8-byte little-endian header length ``N``; ``N`` bytes of JSON mapping each
tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the data
that follows; an optional ``"__metadata__"`` entry of strings); then the tensors' bytes,
little-endian, C order. Reading maps the file into memory, so a 5 GB checkpoint is
quantised tensor by tensor without being loaded whole. bf16 tensors come back as their
``uint16`` bit patterns (NumPy has no bf16); :attr:`Tensor.dtype` says which.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safeio import atomic_file

__all__ = ["DTYPES", "SafetensorsError", "Tensor", "read_safetensors", "write_safetensors"]

#: safetensors dtype → NumPy storage type (BF16 is stored as its bit pattern).
DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
_MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A file that is not valid safetensors."""


@dataclass(frozen=True)
class Tensor:
    """One tensor of a safetensors file.

    Attributes:
        dtype: The safetensors dtype (``BF16``, ``F32``...).
        data: The values (memory-mapped, read-only); bf16 as ``uint16`` bit patterns.
    """

    dtype: str
    data: npt.NDArray[Any]

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape."""
        return tuple(self.data.shape)


def read_safetensors(path: str | Path) -> dict[str, Tensor]:
    """Map a safetensors file and return its tensors by name.

    Args:
        path: The file.

    Returns:
        Every tensor, memory-mapped read-only.

    Raises:
        SafetensorsError: If the header or the offsets are invalid.
        OSError: If the file cannot be read.
    """
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path.name}: too short for a safetensors file")
        (length,) = struct.unpack("<Q", head)
        if length > min(_MAX_HEADER, size - 8):
            raise SafetensorsError(f"{path.name}: header length {length} exceeds the file")
        try:
            header = json.loads(f.read(length).decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # ValueError: JSON, UTF-8, int size
            raise SafetensorsError(f"{path.name}: header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path.name}: header is not a JSON object")
    start = 8 + length
    data_size = size - start
    mapped = np.memmap(path, dtype=np.uint8, mode="r") if data_size else None
    tensors: dict[str, Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor(path.name, name, info, mapped, start, data_size)
    return tensors


def _tensor(
    file: str,
    name: str,
    info: Any,
    mapped: npt.NDArray[np.uint8] | None,
    start: int,
    data_size: int,
) -> Tensor:
    where = f"{file}: tensor {name!r}"
    if not isinstance(info, dict):
        raise SafetensorsError(f"{where}: entry is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise SafetensorsError(f"{where}: unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise SafetensorsError(f"{where}: bad shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise SafetensorsError(f"{where}: bad data_offsets {offsets!r}")
    np_dtype = np.dtype(DTYPES[dtype])
    count = math.prod(shape)
    if offsets[1] - offsets[0] != count * np_dtype.itemsize:
        raise SafetensorsError(
            f"{where}: {offsets[1] - offsets[0]} bytes for shape {shape} of {dtype}"
        )
    try:  # NumPy refuses more than 64 dimensions, or sizes beyond its index range
        if count == 0 or mapped is None:
            return Tensor(dtype, np.zeros(shape, dtype=np_dtype))
        raw = mapped[start + offsets[0] : start + offsets[1]]
        return Tensor(dtype, raw.view(np_dtype).reshape(shape))
    except ValueError as exc:
        raise SafetensorsError(f"{where}: bad shape {shape!r} ({exc})") from None


def write_safetensors(
    path: str | Path,
    tensors: Mapping[str, tuple[str, npt.NDArray[Any]]],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write tensors to a safetensors file (atomically: temp name, then rename).

    Args:
        path: The file to write.
        tensors: Name → (safetensors dtype, array already in that dtype's storage type;
            bf16 as ``uint16`` bit patterns).
        metadata: Optional string metadata.

    Raises:
        ValueError: If an array's type does not match its dtype.
        OSError: If the file cannot be written.
    """
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    arrays: list[npt.NDArray[Any]] = []
    for name, (dtype, array) in tensors.items():
        storage = np.dtype(DTYPES[dtype])
        if array.dtype.newbyteorder("<") != storage.newbyteorder("<"):
            raise ValueError(f"{name}: {array.dtype} data for dtype {dtype}")
        arr = np.ascontiguousarray(array, dtype=storage)
        header[name] = {
            "dtype": dtype,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
        arrays.append(arr)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with atomic_file(Path(path)) as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for arr in arrays:
            f.write(arr.tobytes())
