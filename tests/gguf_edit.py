"""Copies of a GGUF file with one header value changed in place: a header that lies."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def with_header_value(src: Path, dst: Path, key: str, value: float) -> Path:
    """``src`` copied to ``dst`` with the scalar header value ``key`` set to ``value``
    (written in the value's own type, so nothing else in the file moves)."""
    import struct

    from litecomplete.models.gguf.parse import SCALAR_FORMATS, Cursor

    data = bytearray(src.read_bytes())
    cursor = Cursor(np.frombuffer(bytes(data), np.uint8))
    cursor.at = 16  # magic, version, tensor count
    for _ in range(cursor.scalar("<Q")):
        name, kind = cursor.string(), cursor.scalar("<I")
        if name == key:
            assert kind in SCALAR_FORMATS, f"{key} is not a scalar"
            struct.pack_into(SCALAR_FORMATS[kind], data, cursor.at, value)
            dst.write_bytes(bytes(data))
            return dst
        cursor.value(kind)
    raise AssertionError(f"{src} has no header value {key}")
