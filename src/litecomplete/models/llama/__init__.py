"""Llama (KerasHub ``Llama3Backbone`` / ``LlamaBackbone``; SmolLM2): RoPE, RMSNorm, SwiGLU,
grouped KV heads, no biases.

Imported from llama.cpp's ``llama`` GGUF (``gguf_weights``, ``gguf_import`` with the
file's own tokenizer, ``tokenizer``) and exported back to it (``gguf_export``).
Importing this package does not import Keras.
"""

from __future__ import annotations

from litecomplete.models.architecture import Architecture, lora_layers
from litecomplete.models.gguf.tokenizer import tokenizer_from_gguf
from litecomplete.models.llama.gguf_export import write_llama_gguf
from litecomplete.models.llama.gguf_import import llama_causal_lm_from_gguf, save_llama_preset
from litecomplete.models.llama.gguf_weights import llama_decoder_weights
from litecomplete.models.llama.keras import llama_keras_decoder_weights, llama_spec_of_backbone
from litecomplete.models.llama.shapes import llama_spec
from litecomplete.models.spec import DecoderSpec


def fake_spec() -> DecoderSpec:
    """A tiny Llama with SmolLM2's vocabulary: 2 layers, width 64, 4 heads sharing 2 KV
    heads (so grouped attention is exercised), RoPE base 100,000."""
    return llama_spec(
        num_layers=2,
        num_heads=4,
        num_kv_heads=2,
        hidden_dim=64,
        intermediate_dim=128,
        vocabulary_size=49152,
        norm_epsilon=1e-5,
        rope_theta=100000.0,
    )


ARCHITECTURE = Architecture(
    name="llama",
    backbones=("Llama3Backbone", "LlamaBackbone"),
    keras_spec=llama_spec_of_backbone,
    keras_weights=llama_keras_decoder_weights,
    fake_spec=fake_spec,
    gguf_weights=llama_decoder_weights,
    gguf_tokenizer=tokenizer_from_gguf,
    gguf_causal_lm=llama_causal_lm_from_gguf,
    write_gguf=write_llama_gguf,
    save_preset=save_llama_preset,
    lora_layers=lora_layers(
        ("feedforward_gate_dense", "feedforward_intermediate_dense", "feedforward_output_dense")
    ),
)
