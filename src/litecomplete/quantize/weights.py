"""Weight quantization of a converted float model with ai-edge-quantizer (``int8w``, ``int4``).

The TFLite converter has no int4 and no weight-only int8; ai-edge-quantizer rewrites
a float ``.tflite`` instead. Its recipes quantize FULLY_CONNECTED weights (every
projection and the output layer); the embedding gather stays float32 because the
quantizer handles EMBEDDING_LOOKUP, not the GATHER the converter emits.
"""

from __future__ import annotations

import logging

from litecomplete.errors import ConversionError
from litecomplete.quantize.modes import QuantMode

log = logging.getLogger(__name__)

INT4_BLOCK_SIZE = 32


def quantize_weights(float_model: bytes, mode: QuantMode) -> bytes:
    """The float ``.tflite`` bytes ``float_model`` with weights quantized by ``mode``."""
    from ai_edge_quantizer import quantizer, recipe

    recipes = {
        # Per-channel int8, dequantized to float before each op: float compute.
        QuantMode.INT8W: recipe.weight_only_wi8_afp32,
        # Int4 in blocks of 32 (float16 scale per block); activations stay float in
        # the graph and are quantized on the fly for the integer kernels.
        QuantMode.INT4: recipe.dynamic_wi4b32_afp32,
    }
    if mode not in recipes:
        raise ValueError(f"{mode.value} is not a weight quantization mode")
    engine = quantizer.Quantizer(bytearray(float_model))
    engine.load_quantization_recipe(recipes[mode]())
    try:
        result = engine.quantize(enable_progress_bar=False, enable_progress_report=False)
    except Exception as e:
        raise ConversionError(f"ai-edge-quantizer failed ({mode.value}): {e}") from e
    data = bytes(result.quantized_model)
    log.info("%s weights: %d -> %d bytes", mode.value, len(float_model), len(data))
    return data
