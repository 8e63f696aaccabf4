"""The fast format's ``int8``: calibrated int8 activations where they cost least, by
ai-edge-quantizer.

The TFLite converter's full integer quantizes every op, the residual stream and the
norms included; SmolLM2's residual stream reaches 22,000 and its perplexity ratio
went to 548 that way. Here every matmul (FULLY_CONNECTED) gets int8 weights, and
only the q/k/v matmuls compute on int8 activations with ranges calibrated on real
text; the other matmuls, whose static ranges destroyed quality (measured in
docs/reports/smollm2), fall back to float activations quantized per row at run time,
and every other op stays float. The fast graph names its matmuls (``qkv_proj``,
``down_proj``, ...) so a recipe can pick them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from litecomplete.errors import ConversionError

log = logging.getLogger(__name__)

# Matmuls whose activations are int8 with calibrated ranges; the others keep float
# activations (quantized per row on the fly, like ``dynamic``).
STATIC_MATMULS = r"qkv_proj.*"


def quantize_static_int8(
    float_model: bytes,
    calibration: Iterable[tuple[str, dict[str, np.ndarray]]],
    static_matmuls: str = STATIC_MATMULS,
) -> bytes:
    """``float_model`` with int8 matmul weights (per channel); the matmuls whose output
    tensor name matches ``static_matmuls`` also get int8 activations with ranges from
    ``calibration`` (``(signature key, inputs)`` pairs)."""
    from ai_edge_quantizer import calibrator, qtyping, quantizer

    fc = qtyping.TFLOperationName.FULLY_CONNECTED
    engine = quantizer.Quantizer(bytearray(float_model))
    engine.add_dynamic_config(".*", fc, num_bits=8)
    engine.add_static_config(static_matmuls, fc, activation_num_bits=8, weight_num_bits=8)
    data: dict[str, list[dict[str, np.ndarray]]] = {}
    for key, inputs in calibration:
        data.setdefault(key, []).append(inputs)
    try:
        # The profiler-based calibrator records ranges as ops run; the default one keeps
        # every intermediate tensor of a signature alive (SmolLM2: 16.1 GB, here 8.8).
        ranges = engine.calibrate(
            data, num_threads=2, mode=calibrator.CalibrationMode.CALIBRATION_PROFILER_BASED
        )
        result = engine.quantize(ranges, enable_progress_bar=False, enable_progress_report=False)
    except Exception as e:
        raise ConversionError(f"ai-edge-quantizer failed (int8): {e}") from e
    quantized = bytes(result.quantized_model)
    log.info("int8: %d -> %d bytes", len(float_model), len(quantized))
    return quantized
