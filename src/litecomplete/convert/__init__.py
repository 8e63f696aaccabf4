"""Conversion of KerasHub causal LMs to TFLite files (TensorFlow is imported lazily)."""

from litecomplete.convert.config import AppExportConfig, Sampler

__all__ = ["AppExportConfig", "Sampler"]
