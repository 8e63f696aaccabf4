"""A KerasHub ``GPT2CausalLM``'s weights as ``DecoderWeights`` (no Keras import needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.models.spec import (
    DecoderSpec,
    DecoderWeights,
    LayerWeights,
    checked_array,
    keras_layers,
)

# GPT-2's LayerNorm epsilon; KerasHub's GPT2Backbone does not store it.
GPT2_NORM_EPSILON = 1e-5


def gpt2_spec(backbone: Any) -> DecoderSpec:
    """The shapes of a ``GPT2Backbone``."""
    return DecoderSpec(
        architecture="gpt2",
        num_layers=backbone.num_layers,
        num_heads=backbone.num_heads,
        num_kv_heads=backbone.num_heads,
        head_dim=backbone.hidden_dim // backbone.num_heads,
        hidden_dim=backbone.hidden_dim,
        intermediate_dim=backbone.intermediate_dim,
        vocabulary_size=backbone.vocabulary_size,
        max_positions=backbone.max_sequence_length,
        norm_epsilon=GPT2_NORM_EPSILON,
    )


def _gpt2_layer(block: Any, spec: DecoderSpec, name: str) -> LayerWeights:
    d, h, dh, f = spec.hidden_dim, spec.num_heads, spec.head_dim, spec.intermediate_dim
    attn = block._self_attention_layer
    projections = (
        ("query", attn._query_dense),
        ("key", attn._key_dense),
        ("value", attn._value_dense),
    )
    # Keras MHA kernels are (hidden, heads, head_dim); flatten heads into columns.
    q, k, v = (
        checked_array(dense.kernel, (d, h, dh), f"{name}.{part}.kernel").reshape(d, h * dh)
        for part, dense in projections
    )
    qb, kb, vb = (
        checked_array(dense.bias, (h, dh), f"{name}.{part}.bias").reshape(h * dh)
        for part, dense in projections
    )
    attn_norm, mlp_norm = block._self_attention_layer_norm, block._feedforward_layer_norm
    up, down = block._feedforward_intermediate_dense, block._feedforward_output_dense
    return LayerWeights(
        attn_norm_scale=checked_array(attn_norm.gamma, (d,), f"{name}.attn_norm.gamma"),
        attn_norm_bias=checked_array(attn_norm.beta, (d,), f"{name}.attn_norm.beta"),
        qkv_kernel=np.concatenate([q, k, v], axis=1),  # (d, 3 * d)
        qkv_bias=np.concatenate([qb, kb, vb]),
        out_kernel=checked_array(
            attn._output_dense.kernel, (h, dh, d), f"{name}.attention_output.kernel"
        ).reshape(h * dh, d),
        out_bias=checked_array(attn._output_dense.bias, (d,), f"{name}.attention_output.bias"),
        mlp_norm_scale=checked_array(mlp_norm.gamma, (d,), f"{name}.mlp_norm.gamma"),
        mlp_norm_bias=checked_array(mlp_norm.beta, (d,), f"{name}.mlp_norm.beta"),
        up_kernel=checked_array(up.kernel, (d, f), f"{name}.up.kernel"),
        up_bias=checked_array(up.bias, (f,), f"{name}.up.bias"),
        down_kernel=checked_array(down.kernel, (f, d), f"{name}.down.kernel"),
        down_bias=checked_array(down.bias, (d,), f"{name}.down.bias"),
    )


def gpt2_decoder_weights(causal_lm: Any) -> DecoderWeights:
    """Map a KerasHub ``GPT2CausalLM`` onto ``DecoderWeights``."""
    backbone = causal_lm.backbone
    spec = gpt2_spec(backbone)
    d, vocab, max_pos = spec.hidden_dim, spec.vocabulary_size, spec.max_positions
    final_norm = backbone.get_layer("layer_norm")
    return DecoderWeights(
        spec=spec,
        token_embedding=checked_array(
            backbone.get_layer("token_embedding").embeddings, (vocab, d), "token_embedding"
        ),
        position_embedding=checked_array(
            backbone.get_layer("position_embedding").position_embeddings,
            (max_pos, d),
            "position_embedding",
        ),
        layers=keras_layers(backbone, spec, "transformer_layer_", _gpt2_layer),
        final_norm_scale=checked_array(final_norm.gamma, (d,), "layer_norm.gamma"),
        final_norm_bias=checked_array(final_norm.beta, (d,), "layer_norm.beta"),
    )
