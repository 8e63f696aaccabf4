"""Quantization modes, named once and mapped to converter settings in one place.

===========  ==============================================================
``none``     float32 weights and activations.
``dynamic``  int8 weights, float activations quantized on the fly (the
             seed's ``Optimize.DEFAULT``): ~4x smaller, no data needed.
``float16``  float16 weights, computed in float32 on CPU: ~2x smaller.
``int8``     integer. App format: the converter's full integer, int8 weights and
             int8 activations with ranges calibrated on real text; ops with no
             integer kernel (string, hash-table, control-flow and Flex ops) stay
             float. Fast format: int8 weights (per output channel) on activations
             quantized per row at run time, except each matmul's outlier input
             channels (found on real text), which a small float matmul computes
             (``quantize.outliers``).
``int8w``    int8 weights (per output channel), dequantized to float32 before
             every matmul: ~4x smaller weights, float computation.
``int4``     int4 weights in blocks of 32, each with its own float16 scale;
             float activations, quantized on the fly for integer matmuls.
``auto``     each matmul int4, int8 (as in ``int8``) or float, chosen on real
             text to be as small as a quality budget (``--max-kld``) allows
             (``quantize.plan``).
===========  ==============================================================

``int8``, ``int8w``, ``int4`` and ``auto`` are applied by ai-edge-quantizer to the
converted float model; they are for the fast format (the app format's string ops are
beyond it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from litecomplete.choices import Choice
from litecomplete.errors import ConfigError


class QuantMode(Choice):
    __choice__ = "quantization mode"
    NONE = "none"
    DYNAMIC = "dynamic"
    FLOAT16 = "float16"
    INT8 = "int8"
    INT8W = "int8w"
    INT4 = "int4"
    AUTO = "auto"

    @property
    def weight_only(self) -> bool:
        """Applied after conversion by ai-edge-quantizer (fast format only)."""
        return self in (QuantMode.INT8W, QuantMode.INT4, QuantMode.AUTO)


class Precision(Choice):
    """How ``auto`` computes one matmul (``quantize.plan``)."""

    __choice__ = "matmul precision"
    INT4 = "int4"  # as in the int4 mode: blocks of 32, outlier channels through int8
    INT8 = "int8"  # as in the int8 mode: per output channel, outlier channels in float
    FLOAT = "float"  # float32 weights and compute


# The small modes, whose fast files look a learned position table up in int8 rows
# (``convert.fast_graph``, ``quantize.simulate``): int8 rows of GPT-2's cost the int8
# mode's fidelity (GPT-2 124M shapes simulated: top-1 95.0 -> 94.8 %, KLD +8 %) for
# 0.56 MiB at 256 slots; SmolLM2 has no such table.
INT8_POSITION_MODES = frozenset({QuantMode.INT4, QuantMode.AUTO})

# The seed's three modes and float: what the TFLite converter itself applies.
APP_QUANT_MODES = (QuantMode.NONE, QuantMode.DYNAMIC, QuantMode.FLOAT16, QuantMode.INT8)


RepresentativeDataset = Callable[[], Iterator[Any]]


def apply_quant_mode(
    converter: Any, mode: QuantMode, representative_dataset: RepresentativeDataset | None
) -> None:
    """Set a ``tf.lite.TFLiteConverter`` up for ``mode``.

    Full integer (``int8``) needs ``representative_dataset``; the other modes ignore it.
    """
    import tensorflow as tf

    if mode is QuantMode.NONE or mode.weight_only:  # weight-only modes convert as float
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode is QuantMode.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    elif mode is QuantMode.INT8:
        if representative_dataset is None:
            raise ConfigError("int8 quantization needs a representative dataset")
        converter.representative_dataset = representative_dataset
