"""Reading a ``.tflite`` flatbuffer into editable objects and writing it back.

Used by the writer (`output.write_model`): metadata entries and shared weights.
"""

from __future__ import annotations

import hashlib
from typing import Any

BUFFER_LOCATION = b"buffer_location"


def read_model_object(model_bytes: bytes) -> Any:
    """A ``schema.ModelT`` of ``model_bytes`` with every buffer's data inline.

    Buffers may lie after the flatbuffer, addressed by file offset (ai-edge-quantizer
    and the fast format's TFLite conversion write them so); re-serializing would drop
    them, so they are taken inline.
    """
    import numpy as np
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    for buffer in model.buffers:
        if (buffer.offset or 0) > 1:
            start, size = int(buffer.offset), int(buffer.size)
            buffer.data = np.frombuffer(model_bytes, np.uint8, size, start)
            buffer.offset = buffer.size = 0
    # The TFLite converter's marker of buffers stored outside: no longer true.
    for entry in [m for m in model.metadata or [] if m.name == BUFFER_LOCATION]:
        model.buffers[entry.buffer].data = None
        model.metadata.remove(entry)
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


# Two int8 tables are one weight quantized twice when they differ this little.
REQUANTIZED_MAX_SHARE = 0.01  # of their bytes, each by one step (a rounding tie)
REQUANTIZED_MIN_BYTES = 1 << 16


def share_requantized_tables(model: Any) -> int:
    """Point tensors at one copy of int8 tables that differ only in rounded ties.

    The lookup's int8 embedding table and the quantizer's int8 copy of the tied output
    matmul have the same scales; quantizers differ in how they round halves (the
    dequantized Q4 weights of a GGUF are full of exact halves), so up to a percent of
    bytes may differ by one step. Either copy serves both. Returns the bytes freed.
    """
    import numpy as np

    by_size: dict[int, list[int]] = {}
    for index, buffer in enumerate(model.buffers):
        if buffer.data is not None and len(buffer.data) >= REQUANTIZED_MIN_BYTES:
            by_size.setdefault(len(buffer.data), []).append(index)
    int8_buffers = {
        tensor.buffer
        for subgraph in model.subgraphs
        for tensor in subgraph.tensors
        if tensor.type == 9  # INT8
    }
    moved: dict[int, int] = {}
    freed = 0
    for indices in by_size.values():
        candidates = [i for i in indices if i in int8_buffers]
        for pos, keep in enumerate(candidates):
            if keep in moved:
                continue
            kept = np.frombuffer(memoryview(model.buffers[keep].data).cast("B"), np.int8)
            for other in candidates[pos + 1 :]:
                if other in moved:
                    continue
                data = np.frombuffer(memoryview(model.buffers[other].data).cast("B"), np.int8)
                diff = kept.astype(np.int16) - data.astype(np.int16)
                differing = np.count_nonzero(diff)
                if np.abs(diff).max() <= 1 and differing <= REQUANTIZED_MAX_SHARE * diff.size:
                    moved[other] = keep
                    freed += len(data)
                    model.buffers[other].data = None
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            if tensor.buffer in moved:
                tensor.buffer = moved[tensor.buffer]
    return freed


class _PackedOnce:
    """A table packed once per builder: every tensor holding it refers to one copy (a
    flatbuffer may point at one table from many places; each points forward to it)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.builder: Any = None
        self.offset = 0

    def Pack(self, builder: Any) -> int:  # noqa: N802 (the flatbuffers object API's name)
        if builder is not self.builder:
            self.builder, self.offset = builder, self.table.Pack(builder)
        return self.offset


# Quantization parameters with fewer channels are not worth sharing.
SHARED_QUANTIZATION_MIN_CHANNELS = 64


def share_quantization(model: Any) -> int:
    """Point tensors with equal per-channel quantization parameters at one copy.

    Each signature's copy of a quantized weight has its own scales and zero points
    (12 bytes per output channel); for SmolLM2 int4 with four signatures that is 2.9 MiB
    each. Returns the bytes the copies took.
    """
    import numpy as np

    shared: dict[bytes, _PackedOnce] = {}
    freed = 0
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            q = tensor.quantization
            if q is None or q.scale is None or len(q.scale) < SHARED_QUANTIZATION_MIN_CHANNELS:
                continue
            scale = np.asarray(q.scale, np.float32).tobytes()
            zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else [], np.int64).tobytes()
            details = None if q.details is None else vars(q.details)
            extra = repr((q.min, q.max, q.quantizedDimension, q.detailsType, details))
            key = hashlib.sha256(scale + b"|" + zero + b"|" + extra.encode()).digest()
            if key in shared:
                freed += len(scale) + len(zero)
            else:
                shared[key] = _PackedOnce(q)
            tensor.quantization = shared[key]
    return freed
