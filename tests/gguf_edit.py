"""Copies of a GGUF file with one header value changed in place: a header that lies."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def with_header_value(src: Path, dst: Path, key: str, value: float) -> Path:
    """``src`` copied to ``dst`` with the scalar header value ``key`` set to ``value``
    (written in the value's own type, so nothing else in the file moves)."""
    import gguf

    field = gguf.GGUFReader(src).fields[key]
    assert len(field.parts) == 4, f"{key} is not a scalar"  # key length, key, type, value
    offset = field.offset + sum(part.nbytes for part in field.parts[:3])
    data = bytearray(src.read_bytes())
    raw = np.array([value], field.parts[3].dtype).tobytes()
    data[offset : offset + len(raw)] = raw
    dst.write_bytes(bytes(data))
    return dst
