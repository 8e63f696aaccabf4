"""Quantization modes and the calibration text they use."""

from litecomplete.quantize.modes import QuantMode

__all__ = ["QuantMode"]
