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
llama.cpp's Q4 types keep the output layer at higher precision; its blocks come out
as GPTQ rounded them (``quantize.gptq``: the graph holds the rounded kernels, which the
quantizer's ``max / 7`` reproduces). ``auto`` sets each
matmul as its plan says (``quantize.plan``), by the layer in its name.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from litecomplete.errors import ConversionError
from litecomplete.quantize.modes import Precision, QuantMode
from litecomplete.quantize.outliers import (
    OUTPUT_LAYER,
    PROJECTION_SUFFIX,
    SIDE_SUFFIX,
    UNIT_KERNELS,
    layer_prefix,
)

if TYPE_CHECKING:
    from litecomplete.quantize.plan import QuantPlan

log = logging.getLogger(__name__)

# The modes this module applies (the TFLite converter applies the others).
QUANTIZER_MODES = (QuantMode.INT8, QuantMode.INT8W, QuantMode.INT4, QuantMode.AUTO)
# The matmuls each projection of ``eval.numpy_forward`` feeds: "qkv", "gate"...
PROJECTION_MATMULS = {
    projection: tuple(k.removesuffix("_kernel") for k in kernels)
    for projection, kernels in UNIT_KERNELS.items()
}


def quantize_weights(float_model: bytes, mode: QuantMode, plan: QuantPlan | None = None) -> bytes:
    """The float ``.tflite`` bytes ``float_model`` quantized by ``mode`` (``auto``: as
    ``plan`` says)."""
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer, recipe

    if mode not in QUANTIZER_MODES:
        raise ValueError(f"{mode.value} is not applied by ai-edge-quantizer")
    engine = quantizer.Quantizer(bytearray(float_model))
    fc = qtyping.TFLOperationName.FULLY_CONNECTED
    if mode is QuantMode.AUTO:
        if plan is None:
            raise ValueError("auto quantization needs a plan")
        _plan_recipe(engine, plan)
    elif mode is QuantMode.INT8W:
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


def _names(units: list[tuple[int, str]], side: bool = False) -> str:
    """A regex matching the matmuls of ``units`` (their side matmuls: ``side``) in every
    signature (the converter numbers a name's later copies: ``layer_0_qkv_proj1``).
    The quantizer matches an op's output names, each ended by ";" (an op the converter
    fused from several has several: "mul_2;layer_0_qkv_proj;")."""
    names = [
        f"{layer_prefix(i)}{m}" for i, projection in units for m in PROJECTION_MATMULS[projection]
    ]
    suffix = PROJECTION_SUFFIX + (SIDE_SUFFIX if side else "")
    return f"(^|;)({'|'.join(names)}){suffix}(_?\\d+)?;"


def _plan_recipe(engine: Any, plan: QuantPlan) -> None:
    """Each matmul as ``plan`` says: int4 blocks with int8 sides, int8 with float
    sides, or float; the output layer int8 (float side) or float."""
    from ai_edge_quantizer import algorithm_manager, qtyping

    fc = qtyping.TFLOperationName.FULLY_CONNECTED
    keep_float = algorithm_manager.AlgorithmName.NO_QUANTIZE
    layers = {p: [u for u in plan.units(p) if u[1] in PROJECTION_MATMULS] for p in Precision}
    int4, int8, floats = (layers[p] for p in (Precision.INT4, Precision.INT8, Precision.FLOAT))
    # Later entries win where several match; what none matches stays float.
    output = next(u for u in plan.precisions if u[1] not in PROJECTION_MATMULS)
    if plan.precisions[output] is Precision.INT8:
        # Every matmul, the output layer included: where it gives a verify signature's
        # output, its tensor takes a name of the signature's, not its own.
        engine.add_dynamic_config(".*", fc, num_bits=8)
        side = f"(^|;){OUTPUT_LAYER}{SIDE_SUFFIX}(_?\\d+)?;"
        engine.update_quantization_recipe(side, fc, algorithm_key=keep_float)
    if floats:
        engine.update_quantization_recipe(_names(floats), fc, algorithm_key=keep_float)
    if int8:
        engine.update_quantization_recipe(_names(int8, side=True), fc, algorithm_key=keep_float)
        engine.add_dynamic_config(_names(int8), fc, num_bits=8)
    if int4:
        engine.add_dynamic_config(_names(int4, side=True), fc, num_bits=8)
        engine.add_dynamic_config(
            _names(int4), fc, num_bits=4, granularity=qtyping.QuantGranularity.BLOCKWISE_32
        )
