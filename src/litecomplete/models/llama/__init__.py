"""Llama (KerasHub ``Llama3Backbone`` / ``LlamaBackbone``; SmolLM2): RoPE, RMSNorm, SwiGLU,
grouped KV heads, no biases.

Imported from llama.cpp's ``llama`` GGUF (``gguf_weights``, ``gguf_import`` with the
file's own tokenizer, ``tokenizer``) and exported back to it (``gguf_export``).
Importing this package does not import Keras.
"""

from __future__ import annotations

from litecomplete.models.gguf.tokenizer import tokenizer_from_gguf as gguf_tokenizer
from litecomplete.models.llama.gguf_export import write_llama_gguf as write_gguf
from litecomplete.models.llama.gguf_import import llama_causal_lm_from_gguf as gguf_causal_lm
from litecomplete.models.llama.gguf_import import save_llama_preset as save_preset
from litecomplete.models.llama.gguf_weights import llama_decoder_weights as gguf_weights
from litecomplete.models.llama.keras import llama_keras_decoder_weights as keras_weights
from litecomplete.models.llama.keras import llama_spec_of_backbone as keras_spec
from litecomplete.models.llama.shapes import llama_spec
from litecomplete.models.spec import DecoderSpec

# What ``models.architecture.Architecture.of`` reads, beside the functions above.
NAME = "llama"
BACKBONES = ("Llama3Backbone", "LlamaBackbone")
LORA_MLP_LAYERS = (
    "feedforward_gate_dense",
    "feedforward_intermediate_dense",
    "feedforward_output_dense",
)


def fake_spec() -> DecoderSpec:
    """A tiny Llama with SmolLM2's vocabulary: 2 layers, width 64, 4 heads sharing 2 KV
    heads (so grouped attention is exercised), RoPE base 100,000."""
    sizes = dict(num_layers=2, num_heads=4, num_kv_heads=2, hidden_dim=64, intermediate_dim=128)
    return llama_spec(**sizes, vocabulary_size=49152, norm_epsilon=1e-5, rope_theta=100000.0)
