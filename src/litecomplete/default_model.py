"""The model used when no ``--model`` is given.

Until a pretrained model is embedded, the built-in ``tiny`` GPT-2 (random
weights, real tokenizer) stands in: it is converted once to the app format
(dynamic int8) and cached in the data directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from litecomplete.paths import data_dir

if TYPE_CHECKING:
    from litecomplete.convert.output import StageCallback

DEFAULT_MODEL_SPEC = "tiny"
DEFAULT_MODEL_FILE = "default-app-dynamic.tflite"


def default_model_path() -> Path:
    return data_dir() / DEFAULT_MODEL_FILE


def ensure_default_model(on_stage: StageCallback | None = None) -> Path:
    """The default model's path, converting it first if it is not cached yet."""
    path = default_model_path()
    if path.is_file():
        return path
    from litecomplete.convert import ExportConfig
    from litecomplete.convert.app_export import convert_app_model
    from litecomplete.models import load_causal_lm
    from litecomplete.quantize import QuantMode

    path.parent.mkdir(parents=True, exist_ok=True)
    if on_stage:
        on_stage(f"build {DEFAULT_MODEL_SPEC}")
    causal_lm = load_causal_lm(DEFAULT_MODEL_SPEC)
    convert_app_model(causal_lm, ExportConfig(quant=QuantMode.DYNAMIC), path, on_stage)
    return path
