"""GPT-2 (KerasHub ``GPT2Backbone``): learned positions, LayerNorm, GELU MLP, biases.

Authored from built-in configs (``builtin``: random weights, GPT-2's real tokenizer
from ``vocab``) or KerasHub presets; exported to llama.cpp's ``gpt2`` GGUF. Importing
this package does not import Keras.
"""

from __future__ import annotations

from litecomplete.models.architecture import Architecture, lora_layers
from litecomplete.models.gpt2.builtin import BUILTIN_CONFIGS
from litecomplete.models.gpt2.gguf_export import write_gpt2_gguf
from litecomplete.models.gpt2.keras import gpt2_decoder_weights, gpt2_spec
from litecomplete.models.spec import DecoderSpec


def fake_spec() -> DecoderSpec:
    """The ``tiny`` built-in config's shapes (a config names its sizes as a backbone does)."""
    return gpt2_spec(BUILTIN_CONFIGS["tiny"])


ARCHITECTURE = Architecture(
    name="gpt2",
    backbones=("GPT2Backbone",),
    keras_spec=gpt2_spec,
    keras_weights=gpt2_decoder_weights,
    fake_spec=fake_spec,
    write_gguf=write_gpt2_gguf,
    lora_layers=lora_layers(("feedforward_intermediate_dense", "feedforward_output_dense")),
)
