"""GGUF's layout, parsed: the header's key-value metadata and each tensor's type, shape
and bytes (a view of the file, read on demand).

gguf-py's ``GGUFReader`` builds a numpy view for every part of every value: a Llama
tokenizer's 49,152 tokens and 48,900 merges took 7-14 s to open on a 2-core machine.
Here values are unpacked with ``struct`` as they are read (well under a second), and
the result is what ``GGUFReader``'s ``field.contents()`` gives: Python scalars, strings
and lists. A string that is not UTF-8 makes its key's value None, as there.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

GGUF_MAGIC = b"GGUF"
# GGUF value types (gguf.GGUFValueType): struct formats of the fixed-size ones.
SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
DEFAULT_ALIGNMENT = 32
# Element types gguf-py hands out as typed arrays; every other type as bytes by rows.
_ELEMENT_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I8": np.int8,
                   "I16": np.int16, "I32": np.int32, "I64": np.int64}  # fmt: skip


class _NotText(Exception):
    """A string value that is not UTF-8."""


@dataclass(frozen=True)
class GgufTensor:
    """One tensor as the file stores it: ``shape`` innermost dimension first, ``data``
    typed elements (float types) or uint8 rows of blocks (quantized types)."""

    name: str
    tensor_type: Any  # gguf.GGMLQuantizationType
    shape: np.ndarray
    data: np.ndarray


class Cursor:
    """Reads GGUF's little-endian values from a byte buffer, front to back."""

    def __init__(self, buffer: np.ndarray) -> None:
        self.raw = memoryview(buffer.data)
        self.at = 0

    def scalar(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self.raw, self.at)
        self.at += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        size = self.scalar("<Q")
        end = self.at + size
        if end > len(self.raw):
            raise ValueError(f"a string of {size} bytes runs past the end of the file")
        data = bytes(self.raw[self.at : end])
        self.at = end
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotText from None

    def value(self, kind: int) -> Any:
        if kind in SCALAR_FORMATS:
            return self.scalar(SCALAR_FORMATS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            return self.array()
        raise ValueError(f"unknown GGUF value type {kind}")

    def array(self) -> list[Any]:
        kind, count = self.scalar("<I"), self.scalar("<Q")
        if kind in SCALAR_FORMATS:  # one unpack for the whole array
            fmt = SCALAR_FORMATS[kind]
            size = struct.calcsize(fmt)
            values = struct.unpack_from(f"<{count}{fmt[1]}", self.raw, self.at)
            self.at += size * count
            return list(values)
        items, not_text = [], False
        for _ in range(count):
            try:
                items.append(self.value(kind))
            except _NotText:
                not_text = True
        if not_text:
            raise _NotText
        return items


def parse_gguf(buffer: np.ndarray) -> tuple[dict[str, Any], dict[str, GgufTensor]]:
    """The metadata and the tensors of a GGUF file's bytes (``buffer``: uint8, e.g. a
    ``np.memmap``). Raises ValueError (or struct.error) on a cut or malformed file."""
    import gguf

    cursor = Cursor(buffer)
    magic, version = cursor.scalar("<4s"), cursor.scalar("<I")
    if magic != GGUF_MAGIC or version not in (2, 3):
        raise ValueError(f"GGUF version {version} is not one this reader handles (2 or 3)")
    tensor_count, kv_count = cursor.scalar("<Q"), cursor.scalar("<Q")
    metadata: dict[str, Any] = {}
    for _ in range(kv_count):
        key, kind = cursor.string(), cursor.scalar("<I")
        try:
            metadata[key] = cursor.value(kind)
        except _NotText:
            metadata[key] = None
    infos = []
    for _ in range(tensor_count):
        name = cursor.string()
        dims = [cursor.scalar("<Q") for _ in range(cursor.scalar("<I"))]
        infos.append(
            (name, dims, gguf.GGMLQuantizationType(cursor.scalar("<I")), cursor.scalar("<Q"))
        )
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment < 1 or alignment & (alignment - 1):
        raise ValueError(f"general.alignment is {alignment!r}, not a power of two")
    start = -(-cursor.at // alignment) * alignment
    tensors: dict[str, GgufTensor] = {}
    for name, dims, kind, offset in infos:
        if name in tensors:
            raise ValueError(f"tensor {name!r} is listed twice")
        tensors[name] = _tensor(buffer, name, dims, kind, start + offset)
    return metadata, tensors


def _tensor(buffer: np.ndarray, name: str, dims: list[int], kind: Any, at: int) -> GgufTensor:
    """The tensor's bytes in ``buffer`` from ``at``, viewed as gguf-py views them."""
    import gguf

    block, type_size = gguf.GGML_QUANT_SIZES[kind]
    elements = int(np.prod(dims, dtype=np.int64))
    size = elements * type_size // block
    if at + size > len(buffer):
        raise ValueError(f"tensor {name!r} runs past the end of the file")
    shape = tuple(reversed(dims))
    dtype = _ELEMENT_DTYPES.get(kind.name)
    if dtype is None:
        data = buffer[at : at + size].reshape(gguf.quant_shape_to_byte_shape(shape, kind))
    else:
        data = buffer[at : at + size].view(dtype).reshape(shape)
    return GgufTensor(name, kind, np.asarray(dims, dtype=np.uint64), data)
