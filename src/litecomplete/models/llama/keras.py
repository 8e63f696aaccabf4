"""A KerasHub ``Llama3CausalLM`` / ``LlamaCausalLM``'s weights as ``DecoderWeights``."""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.errors import UnsupportedArchitectureError
from litecomplete.models.llama.shapes import KERAS_BACKBONE_NAMES as NAMES
from litecomplete.models.llama.shapes import llama_spec
from litecomplete.models.spec import (
    DecoderSpec,
    DecoderWeights,
    LayerWeights,
    checked_array,
    keras_layers,
)


def llama_spec_of_backbone(backbone: Any) -> DecoderSpec:
    """The shapes of a KerasHub Llama backbone; RoPE scaling is refused."""
    if backbone.rope_position_scaling_factor != 1.0 or backbone.rope_frequency_adjustment_factor:
        raise UnsupportedArchitectureError("the fast format does not support RoPE scaling yet")
    return llama_spec(**{field: getattr(backbone, keras) for field, keras in NAMES.items()})


def _llama_layer(block: Any, spec: DecoderSpec, name: str) -> LayerWeights:
    d, h, kv = spec.hidden_dim, spec.num_heads, spec.num_kv_heads
    dh, f = spec.head_dim, spec.intermediate_dim
    attn = block._self_attention_layer
    # Keras kernels are (hidden, heads, head_dim); flatten heads into columns.
    q = checked_array(attn._query_dense.kernel, (d, h, dh), f"{name}.query").reshape(d, h * dh)
    k = checked_array(attn._key_dense.kernel, (d, kv, dh), f"{name}.key").reshape(d, kv * dh)
    v = checked_array(attn._value_dense.kernel, (d, kv, dh), f"{name}.value").reshape(d, kv * dh)
    up, gate = block._feedforward_intermediate_dense, block._feedforward_gate_dense
    down = block._feedforward_output_dense
    return LayerWeights(
        attn_norm_scale=checked_array(
            block._self_attention_layernorm.scale, (d,), f"{name}.attn_norm"
        ),
        qkv_kernel=np.concatenate([q, k, v], axis=1),  # (d, (h + 2 kv) * dh)
        out_kernel=checked_array(
            attn._output_dense.kernel, (h, dh, d), f"{name}.attention_output"
        ).reshape(h * dh, d),
        mlp_norm_scale=checked_array(block._feedforward_layernorm.scale, (d,), f"{name}.mlp_norm"),
        up_kernel=checked_array(up.kernel, (d, f), f"{name}.up"),
        down_kernel=checked_array(down.kernel, (f, d), f"{name}.down"),
        gate_kernel=checked_array(gate.kernel, (d, f), f"{name}.gate"),
    )


def llama_keras_decoder_weights(causal_lm: Any) -> DecoderWeights:
    """Map a KerasHub ``Llama3CausalLM`` / ``LlamaCausalLM`` onto ``DecoderWeights``."""
    backbone = causal_lm.backbone
    spec = llama_spec_of_backbone(backbone)
    d, vocab = spec.hidden_dim, spec.vocabulary_size
    embedding = backbone.get_layer("token_embedding")
    output = (
        None
        if backbone.tie_word_embeddings
        else checked_array(embedding.reverse_embeddings, (d, vocab), "reverse_embeddings").T.copy()
    )
    return DecoderWeights(
        spec=spec,
        token_embedding=checked_array(embedding.embeddings, (vocab, d), "token_embedding"),
        layers=keras_layers(backbone, spec, "transformer_layer_", _llama_layer),
        final_norm_scale=checked_array(
            backbone.get_layer("sequence_output_layernorm").scale, (d,), "final_norm"
        ),
        output_kernel=output,
    )
