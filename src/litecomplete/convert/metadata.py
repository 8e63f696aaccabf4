"""Entries stored in a .tflite file's metadata table: the JSON manifest and the tokenizer.

Runtimes and ``inspect`` read them to learn what a file holds without running it.
TFLite runtimes ignore metadata they do not know, so an app-format file stays a
drop-in ``autocomplete.tflite``.
"""

from __future__ import annotations

from typing import Any


def add_metadata_entries(model: Any, entries: dict[str, bytes]) -> None:
    """Add each ``name: data`` to ``model`` (a ``schema.ModelT``) as a metadata entry."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema

    metadata = list(model.metadata or [])
    for name, data in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(data, np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model.buffers) - 1
        metadata.append(entry)
    model.metadata = metadata
