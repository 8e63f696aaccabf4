"""Keep app-format files within what the seed app's TensorFlow Lite 2.12 runs.

TF 2.19's converter gives an op the lowest version that covers how it is used, so
a graph stays loadable by an older runtime as long as it uses nothing newer. Two
things in a KerasHub graph do:

* ``RANGE`` on int64 (version 2, TF Lite 2.14): ragged tensors keep int64 row
  splits, and TensorFlow's ragged code calls ``range`` on them. TF Lite 2.12
  refuses the file ("Didn't find op for builtin opcode 'RANGE' version '2'").
  ``int32_ranges`` makes those ranges in int32 while the graph is traced; the
  values are string lengths and token counts, far below 2**31.
* Flex ops carry their TensorFlow ``NodeDef`` with every attribute, including
  ones added after 2.12 at their default value (``grad_a`` / ``grad_b`` on
  ``MatMul``), which 2.12 reports as errors. ``strip_flex_default_attrs`` drops
  attributes that hold their default, as TensorFlow's own ``strip_default_attrs``
  does for SavedModels read by older binaries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FLEX_PREFIX = b"Flex"


@contextmanager
def int32_ranges() -> Iterator[None]:
    """While active, TensorFlow's internal int64 ``range`` computes in int32."""
    import tensorflow as tf
    from tensorflow.python.ops import math_ops

    original = math_ops.range

    def range_in_int32(
        start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range"
    ) -> Any:
        given = [v for v in (start, limit, delta) if v is not None]
        int64 = (
            tf.as_dtype(dtype) == tf.int64
            if dtype is not None
            else any(tf.is_tensor(v) and v.dtype == tf.int64 for v in given)
        )
        if not int64:
            return original(start, limit, delta, dtype, name)

        def int32(value: Any) -> Any:
            return None if value is None else tf.cast(value, tf.int32)

        ranged = original(int32(start), int32(limit), int32(delta), tf.int32, name)
        return tf.cast(ranged, tf.int64)

    math_ops.range = range_in_int32
    try:
        yield
    finally:
        math_ops.range = original


def strip_flex_default_attrs(model: Any) -> int:
    """Drop default-valued attributes from every Flex op's NodeDef in a ``ModelT``.

    A Flex op's custom options are a flexbuffer vector ``[op name, NodeDef bytes]``.
    Returns the number of attributes dropped.
    """
    import numpy as np
    from flatbuffers import flexbuffers
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.python.framework import op_def_registry

    dropped = 0
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex].customCode
            if not code or not bytes(code).startswith(FLEX_PREFIX) or op.customOptions is None:
                continue
            fields = flexbuffers.GetRoot(bytearray(op.customOptions)).AsVector
            name, node_bytes = fields[0].AsString, bytes(fields[1].AsStringBytes)
            node = node_def_pb2.NodeDef.FromString(node_bytes)
            op_def = op_def_registry.get(node.op)
            if op_def is None:
                continue
            defaults = {a.name: a.default_value for a in op_def.attr if a.HasField("default_value")}
            for key in [k for k in node.attr if k in defaults and node.attr[k] == defaults[k]]:
                del node.attr[key]
                dropped += 1
            op.customOptions = np.frombuffer(
                _flex_options(name, node.SerializeToString()), np.uint8
            )
    return dropped


def _flex_options(name: str, node_bytes: bytes) -> bytes:
    """The flexbuffer ``[name, node_bytes]`` as TensorFlow Lite's Flex delegate reads it."""
    from flatbuffers import flexbuffers

    builder = flexbuffers.Builder()
    with builder.Vector():
        builder.String(name)
        # NodeDef bytes are not UTF-8 text; Builder.String would re-encode them.
        builder._WriteBlob(node_bytes, append_zero=True, type_=flexbuffers.Type.STRING)
    return bytes(builder.Finish())
