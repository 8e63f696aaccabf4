"""GPT-2 (KerasHub ``GPT2Backbone``): learned positions, LayerNorm, GELU MLP, biases.

Authored from built-in configs (``builtin``: random weights, GPT-2's real tokenizer
from ``vocab``) or KerasHub presets; exported to llama.cpp's ``gpt2`` GGUF. Importing
this package does not import Keras.
"""

from __future__ import annotations

from litecomplete.models.architecture import Architecture
from litecomplete.models.gpt2.builtin import BUILTIN_CONFIGS, BuiltinConfig
from litecomplete.models.gpt2.gguf_export import write_gpt2_gguf
from litecomplete.models.gpt2.keras import GPT2_NORM_EPSILON, gpt2_decoder_weights, gpt2_spec
from litecomplete.models.spec import DecoderSpec


def builtin_spec(config: BuiltinConfig) -> DecoderSpec:
    """The shapes of a built-in config."""
    return DecoderSpec(
        architecture="gpt2",
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        num_kv_heads=config.num_heads,
        head_dim=config.hidden_dim // config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        vocabulary_size=config.vocabulary_size,
        max_positions=config.max_sequence_length,
        norm_epsilon=GPT2_NORM_EPSILON,
    )


def fake_spec() -> DecoderSpec:
    """The ``tiny`` built-in config's shapes."""
    return builtin_spec(BUILTIN_CONFIGS["tiny"])


ARCHITECTURE = Architecture(
    name="gpt2",
    backbones=("GPT2Backbone",),
    keras_spec=gpt2_spec,
    keras_weights=gpt2_decoder_weights,
    fake_spec=fake_spec,
    write_gguf=write_gpt2_gguf,
)
