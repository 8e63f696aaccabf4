"""Quantization modes, named once and mapped to converter settings in one place.

===========  ==============================================================
``none``     float32 weights and activations.
``dynamic``  int8 weights, float activations quantized on the fly (the
             seed's ``Optimize.DEFAULT``): ~4x smaller, no data needed.
``float16``  float16 weights, computed in float32 on CPU: ~2x smaller.
``int8``     full integer: int8 weights and activations, calibrated on a
             representative dataset of real text. Ops with no integer kernel
             (string, hash-table, control-flow and Flex ops) stay float; the
             converter result lists them.
===========  ==============================================================
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


RepresentativeDataset = Callable[[], Iterator[Any]]


def apply_quant_mode(
    converter: Any, mode: QuantMode, representative_dataset: RepresentativeDataset | None
) -> None:
    """Set a ``tf.lite.TFLiteConverter`` up for ``mode``.

    Full integer (``int8``) needs ``representative_dataset``; the other modes ignore it.
    """
    import tensorflow as tf

    if mode is QuantMode.NONE:
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode is QuantMode.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    elif mode is QuantMode.INT8:
        if representative_dataset is None:
            raise ConfigError("int8 quantization needs a representative dataset")
        converter.representative_dataset = representative_dataset
