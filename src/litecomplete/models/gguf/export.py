"""Write a causal LM's weights as GGUF, so llama.cpp can run the very same weights.

Used by ``litecomplete export-gguf`` and by ``bench --vs-llamacpp`` for a
like-for-like comparison. Each family queues its own tensors
(``Architecture.write_gguf``); this opens the file and writes it atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litecomplete.atomic import atomic_output
from litecomplete.errors import UnsupportedArchitectureError
from litecomplete.models import registry
from litecomplete.models.gguf.writer import GgufType
from litecomplete.models.spec import DecoderWeights


def write_gguf(
    weights: DecoderWeights,
    tokenizer: Any,
    out: Path,
    kind: GgufType = GgufType.F32,
    add_bos: bool = False,
) -> None:
    """Write ``weights`` and their KerasHub ``tokenizer`` to ``out`` (atomically).

    ``add_bos``: whether llama.cpp puts the start token before a prompt (where the
    family's GGUF says so).
    """
    import gguf

    name = weights.spec.architecture
    queue = registry.by_name(name).write_gguf
    if queue is None:
        writable = [a.name for a in registry.ARCHITECTURES.values() if a.write_gguf]
        raise UnsupportedArchitectureError(
            f"export-gguf writes {', '.join(writable)} models, got {name!r}"
        )
    with atomic_output(out) as tmp:
        writer = gguf.GGUFWriter(str(tmp), name)
        queue(writer, weights, tokenizer, kind, add_bos)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
