"""GPT-2 (KerasHub ``GPT2Backbone``): learned positions, LayerNorm, GELU MLP, biases.

Authored from built-in configs (``builtin``: random weights, GPT-2's real tokenizer
from ``vocab``) or KerasHub presets; exported to llama.cpp's ``gpt2`` GGUF. Importing
this package does not import Keras.
"""

from __future__ import annotations

from litecomplete.models.gpt2.builtin import BUILTIN_CONFIGS
from litecomplete.models.gpt2.gguf_export import write_gpt2_gguf as write_gguf
from litecomplete.models.gpt2.keras import gpt2_decoder_weights as keras_weights
from litecomplete.models.gpt2.keras import gpt2_spec as keras_spec
from litecomplete.models.spec import DecoderSpec

# What ``models.architecture.Architecture.of`` reads, beside the functions above.
NAME = "gpt2"
BACKBONES = ("GPT2Backbone",)
LORA_MLP_LAYERS = ("feedforward_intermediate_dense", "feedforward_output_dense")


def fake_spec() -> DecoderSpec:
    """The ``tiny`` built-in config's shapes (a config names its sizes as a backbone does)."""
    return keras_spec(BUILTIN_CONFIGS["tiny"])
