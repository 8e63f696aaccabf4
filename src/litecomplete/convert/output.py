"""What every converter shares: checking the output path, and writing the file whole."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litecomplete.atomic import atomic_write_bytes
from litecomplete.convert.flatbuffer_edit import (
    read_model_object,
    share_identical_buffers,
    share_quantization,
    share_requantized_tables,
    write_model_object,
)
from litecomplete.convert.metadata import add_metadata_entries
from litecomplete.convert.tflite_compat import strip_flex_default_attrs
from litecomplete.errors import ConfigError, ConversionError
from litecomplete.inspect.model_info import ModelInfo, parse_model_bytes
from litecomplete.quantize.modes import QuantMode, RepresentativeDataset, apply_quant_mode
from litecomplete.resources import peak_rss_bytes

log = logging.getLogger(__name__)

StageCallback = Callable[[str], None]


@dataclass(frozen=True)
class ConvertResult:
    path: Path
    size_bytes: int
    seconds: float
    peak_rss_bytes: int
    quant: QuantMode
    info: ModelInfo

    @property
    def float_fallback_ops(self) -> dict[str, int]:
        """For ``int8``: ops left computing in float, by op name."""
        if self.quant is not QuantMode.INT8:
            return {}
        return dict(self.info.float_activation_ops)


def check_output_path(out: Path) -> None:
    """Raise ConfigError unless ``out`` can be written: a file in an existing directory."""
    if not out.parent.is_dir():
        raise ConfigError(f"output directory {out.parent} does not exist; create it first")
    if out.is_dir():
        raise ConfigError(
            f"--out {out} is a directory; give a file path such as {out}/model.tflite"
        )


def quantize_and_convert(
    converter: Any, quant: QuantMode, representative: RepresentativeDataset | None
) -> bytes:
    """Apply ``quant`` to a ``TFLiteConverter`` and convert; ConversionError on failure."""
    apply_quant_mode(converter, quant, representative)
    try:
        return bytes(converter.convert())
    except Exception as e:
        raise ConversionError(f"the TFLite converter failed: {e}") from e


def finish_model(
    data: bytes,
    metadata: dict[str, bytes],
    share_weights: bool = False,
    app_runtime: bool = False,
) -> bytes:
    """The converted ``data`` with ``metadata`` added.

    ``share_weights`` first points tensors at one copy of repeated weights
    (``flatbuffer_edit``), in the same pass over the flatbuffer. ``app_runtime``
    drops Flex attributes the seed app's TensorFlow Lite 2.12 does not know
    (``tflite_compat``).
    """
    model = read_model_object(data)
    if share_weights:
        share_identical_buffers(model)
        share_requantized_tables(model)
        share_quantization(model)
    if app_runtime:
        strip_flex_default_attrs(model)
    add_metadata_entries(model, metadata)
    return write_model_object(model)


def write_model(
    data: bytes,
    metadata: dict[str, bytes],
    out: Path,
    quant: QuantMode,
    started: float,
    share_weights: bool = False,
    app_runtime: bool = False,
) -> ConvertResult:
    """``finish_model``, then write the file to ``out`` atomically.

    ``started`` is the ``time.perf_counter()`` reading when the conversion began.
    """
    return write_finished(
        finish_model(data, metadata, share_weights, app_runtime), out, quant, started
    )


def write_finished(data: bytes, out: Path, quant: QuantMode, started: float) -> ConvertResult:
    """Write a finished model file to ``out`` atomically, once it parses."""
    info = parse_model_bytes(data)
    atomic_write_bytes(out, data)
    return converted(out, len(data), quant, started, info)


def converted(
    out: Path, size_bytes: int, quant: QuantMode, started: float, info: ModelInfo
) -> ConvertResult:
    """The result of a conversion that wrote ``out``; logs it."""
    seconds = time.perf_counter() - started
    log.info("wrote %s (%d bytes) in %.1f s", out, size_bytes, seconds)
    return ConvertResult(
        path=out,
        size_bytes=size_bytes,
        seconds=seconds,
        peak_rss_bytes=peak_rss_bytes(),
        quant=quant,
        info=info,
    )
