"""Weight quantization of a converted float model with ai-edge-quantizer (``int8w``, ``int4``).

The TFLite converter has no int4 and no weight-only int8; ai-edge-quantizer rewrites
a float ``.tflite`` instead. Its recipes quantize FULLY_CONNECTED weights (every
projection and the output layer); the embedding gather stays float32 because the
quantizer handles EMBEDDING_LOOKUP, not the GATHER the converter emits.

``int4`` puts int4 blocks of 32 on the projections of a graph whose matmuls are split
by outlier channel (``quantize.outliers``): the outlier channels' small matmuls
(``*_side``) and the output layer (``lm_head``) take int8 per output channel, as
llama.cpp's Q4 types keep the output layer at higher precision.
"""

from __future__ import annotations

import logging

from litecomplete.errors import ConversionError
from litecomplete.quantize.modes import QuantMode
from litecomplete.quantize.outliers import PROJECTION_SUFFIX, SIDE_SUFFIX

log = logging.getLogger(__name__)

INT4_BLOCK_SIZE = 32


def quantize_weights(float_model: bytes, mode: QuantMode) -> bytes:
    """The float ``.tflite`` bytes ``float_model`` with weights quantized by ``mode``."""
    from ai_edge_quantizer import qtyping, quantizer, recipe

    if not mode.weight_only:
        raise ValueError(f"{mode.value} is not a weight quantization mode")
    engine = quantizer.Quantizer(bytearray(float_model))
    if mode is QuantMode.INT8W:
        # Per-channel int8, dequantized to float before each op: float compute.
        engine.load_quantization_recipe(recipe.weight_only_wi8_afp32())
    else:
        # Int4 in blocks of 32 (float16 scale per block); activations stay float in
        # the graph and are quantized on the fly for the integer kernels. Later
        # entries win where names match several. The output layer is picked as "not a
        # projection": where it gives a verify signature's output, its tensor takes
        # the signature's name, not its own.
        fc = qtyping.TFLOperationName.FULLY_CONNECTED
        engine.add_dynamic_config(".*", fc, num_bits=8)
        engine.add_dynamic_config(
            f".*{PROJECTION_SUFFIX}.*", fc, num_bits=4,
            granularity=qtyping.QuantGranularity.BLOCKWISE_32,
        )  # fmt: skip
        engine.add_dynamic_config(f".*{SIDE_SUFFIX}.*", fc, num_bits=8)
    try:
        result = engine.quantize(enable_progress_bar=False, enable_progress_report=False)
    except Exception as e:
        raise ConversionError(f"ai-edge-quantizer failed ({mode.value}): {e}") from e
    data = bytes(result.quantized_model)
    log.info("%s weights: %d -> %d bytes", mode.value, len(float_model), len(data))
    return data
