"""Reading a ``.tflite`` flatbuffer into editable objects and writing it back.

Shared by the metadata writer and the weight quantizer's clean-up.
"""

from __future__ import annotations

import hashlib
from typing import Any


def read_model_object(model_bytes: bytes) -> Any:
    """A ``schema.ModelT`` of ``model_bytes`` with every buffer's data inline.

    Buffers may lie after the flatbuffer, addressed by file offset (ai-edge-quantizer
    writes them so); re-serializing would drop them, so they are taken inline.
    """
    import numpy as np
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    for buffer in model.buffers:
        if (buffer.offset or 0) > 1:
            start, size = int(buffer.offset), int(buffer.size)
            buffer.data = np.frombuffer(model_bytes, np.uint8, size, start)
            buffer.offset = buffer.size = 0
    return model


def write_model_object(model: Any) -> bytes:
    from tensorflow.lite.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def share_identical_buffers(model: Any) -> int:
    """Point every tensor whose data equals an earlier buffer's at that buffer.

    ai-edge-quantizer quantizes a weight once per signature that uses it, so a
    model with prefill buckets and decode would hold each weight several times.
    Returns the bytes freed.
    """
    first: dict[bytes, int] = {}
    moved: dict[int, int] = {}
    freed = 0
    for index, buffer in enumerate(model.buffers):
        data = buffer.data
        if data is None or len(data) < 64:  # tiny constants are not worth hashing
            continue
        key = hashlib.sha256(memoryview(data).cast("B")).digest()
        if key in first:
            moved[index] = first[key]
            freed += len(data)
            buffer.data = None
        else:
            first[key] = index
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            if tensor.buffer in moved:
                tensor.buffer = moved[tensor.buffer]
    return freed
