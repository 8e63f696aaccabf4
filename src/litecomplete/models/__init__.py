"""Authoring: KerasHub causal LMs from built-in configs, preset directories or preset names.

Importing this package does not import TensorFlow or Keras; the functions that
build models do, when they are called.
"""

from litecomplete.models.gpt2.builtin import BUILTIN_CONFIGS, BuiltinConfig
from litecomplete.models.loader import DEFAULT_SEQUENCE_LENGTH, load_causal_lm

__all__ = ["BUILTIN_CONFIGS", "BuiltinConfig", "DEFAULT_SEQUENCE_LENGTH", "load_causal_lm"]
