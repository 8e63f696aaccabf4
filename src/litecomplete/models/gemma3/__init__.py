"""Gemma 3 (KerasHub ``Gemma3Backbone``, text only): RMSNorm before and after attention
and the MLP, q/k norms, GeGLU, multi-query attention, five sliding-window layers to one
global, embeddings scaled by √width, a 262k-token SentencePiece vocabulary.

Imported from llama.cpp's ``gemma3`` GGUF (``gguf_weights``, ``gguf_import``, with the
file's own tokenizer rebuilt by ``tokenizer``) and exported back to it
(``gguf_export``). Importing this package does not import Keras.
"""

from __future__ import annotations

from litecomplete.models.gemma3.gguf_export import write_gemma3_gguf as write_gguf
from litecomplete.models.gemma3.gguf_import import gemma3_causal_lm_from_gguf as gguf_causal_lm
from litecomplete.models.gemma3.gguf_weights import gemma3_decoder_weights as gguf_weights
from litecomplete.models.gemma3.keras import gemma3_keras_decoder_weights as keras_weights
from litecomplete.models.gemma3.keras import gemma3_spec_of_backbone as keras_spec
from litecomplete.models.gemma3.shapes import gemma3_spec
from litecomplete.models.gemma3.tokenizer import gemma3_tokenizer_from_gguf as gguf_tokenizer
from litecomplete.models.spec import DecoderSpec

# What ``models.architecture.Architecture.of`` reads, beside the functions above.
NAME = "gemma3"
BACKBONES = ("Gemma3Backbone",)
LORA_MLP_LAYERS = ("ffw_gating", "ffw_gating_2", "ffw_linear")


def fake_spec() -> DecoderSpec:
    """A tiny Gemma 3 with the real vocabulary's size cut to 512: 7 layers (so one is
    global and the window is exercised past it), width 64, 2 query heads of width 48
    sharing one KV head, a window of 8 positions."""
    sizes = dict(num_layers=7, num_heads=2, num_kv_heads=1, head_dim=48, hidden_dim=64)
    return gemma3_spec(
        **sizes, intermediate_dim=128, vocabulary_size=512, norm_epsilon=1e-6, sliding_window=8
    )
