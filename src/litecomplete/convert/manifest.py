"""The JSON manifest stored in a .tflite file's metadata table.

Runtimes and ``inspect`` read it to learn what a file holds without running it.
The app contract's Android runtime ignores unknown metadata, so the file stays
a drop-in ``autocomplete.tflite``.
"""

from __future__ import annotations

import json
from typing import Any

from litecomplete.contract import MANIFEST_METADATA_NAME


def add_manifest(model_bytes: bytes, manifest: dict[str, Any]) -> bytes:
    """Return ``model_bytes`` with ``manifest`` added as a metadata entry."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(manifest, sort_keys=True).encode("utf-8"), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = MANIFEST_METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
