"""Conversion of KerasHub causal LMs to TFLite files (TensorFlow is imported lazily)."""

from litecomplete.convert.config import ExportConfig, Sampler

__all__ = ["ExportConfig", "Sampler"]
