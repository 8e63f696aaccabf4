"""Quantization of a converted float model with ai-edge-quantizer (the fast format's
``int8``, ``int8w`` and ``int4``).

The TFLite converter has no int4, no weight-only int8 and no per-op choice;
ai-edge-quantizer rewrites a float ``.tflite`` instead. Its recipes quantize
FULLY_CONNECTED weights (every projection and the output layer); the embedding gather
stays float32 because the quantizer handles EMBEDDING_LOOKUP, not the GATHER the
converter emits.

``int8`` puts int8 weights on every matmul of a graph split by outlier channel
(``quantize.outliers``) but the outlier channels' small matmuls (``*_side``), which
stay float. ``int4`` puts int4 blocks of 32 on the projections of a graph whose matmuls are split
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

# The modes this module applies (the TFLite converter applies the others).
QUANTIZER_MODES = (QuantMode.INT8, QuantMode.INT8W, QuantMode.INT4)


def quantize_weights(float_model: bytes, mode: QuantMode) -> bytes:
    """The float ``.tflite`` bytes ``float_model`` quantized by ``mode``."""
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer, recipe

    if mode not in QUANTIZER_MODES:
        raise ValueError(f"{mode.value} is not applied by ai-edge-quantizer")
    engine = quantizer.Quantizer(bytearray(float_model))
    fc = qtyping.TFLOperationName.FULLY_CONNECTED
    if mode is QuantMode.INT8W:
        # Per-channel int8, dequantized to float before each op: float compute.
        engine.load_quantization_recipe(recipe.weight_only_wi8_afp32())
    elif mode is QuantMode.INT8:
        # Per-channel int8; activations stay float in the graph and are quantized per
        # row by the integer kernels. Later entries win where names match several.
        engine.add_dynamic_config(".*", fc, num_bits=8)
        engine.update_quantization_recipe(
            f".*{SIDE_SUFFIX}.*", fc, algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE
        )
    else:
        # Int4 in blocks of 32 (float16 scale per block), activations as in int8. The
        # output layer is picked as "not a projection": where it gives a verify
        # signature's output, its tensor takes the signature's name, not its own.
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
    log.info("%s: %d -> %d bytes", mode.value, len(float_model), len(data))
    return data
