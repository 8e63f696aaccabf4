"""A GGUF file as a KerasHub causal LM, or as a KerasHub preset directory (``import-gguf``).

The registry picks the family from the file's ``general.architecture``; the family
builds the model (``Architecture.gguf_causal_lm``) and saves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litecomplete.atomic import atomic_directory
from litecomplete.errors import PresetDirectoryError
from litecomplete.models import registry
from litecomplete.models.gguf.reader import read_gguf


def causal_lm_from_gguf(path: str | Path, sequence_length: int = 256) -> Any:
    """Build the KerasHub model of a GGUF file (float32 weights)."""
    model = read_gguf(path)
    build = registry.gguf_architecture(model).gguf_causal_lm
    assert build is not None, "an importable family builds its KerasHub model"
    return build(model, sequence_length)


def import_gguf(path: str | Path, out_dir: str | Path, sequence_length: int = 256) -> Path:
    """Write the GGUF model at ``path`` as a KerasHub preset directory ``out_dir``.

    The directory appears whole or not at all; an existing non-empty one is refused.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PresetDirectoryError(
            f"{out} already exists and is not an empty directory; choose a new --out"
        )
    if not out.parent.is_dir():
        raise PresetDirectoryError(f"the folder {out.parent} for --out does not exist")
    causal_lm = causal_lm_from_gguf(path, sequence_length)
    with atomic_directory(out) as scratch:
        registry.for_backbone(causal_lm.backbone).save_preset(causal_lm, scratch)
    return out
