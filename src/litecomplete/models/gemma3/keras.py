"""A KerasHub ``Gemma3CausalLM``'s weights as ``DecoderWeights``, and back.

KerasHub's norms scale by 1 + scale; ``DecoderWeights`` holds the sum (as llama.cpp's
files do), so the mapping adds 1 one way and takes it off the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.errors import UnsupportedArchitectureError
from litecomplete.models.gemma3.shapes import KERAS_BACKBONE_NAMES, KERAS_FIXED, gemma3_spec
from litecomplete.models.spec import (
    DecoderSpec,
    DecoderWeights,
    LayerWeights,
    checked_array,
    keras_layers,
    present,
)


def gemma3_spec_of_backbone(backbone: Any) -> DecoderSpec:
    """The shapes of a text-only KerasHub ``Gemma3Backbone``; other settings are refused."""
    if backbone.vision_encoder is not None:
        raise UnsupportedArchitectureError(
            "the Gemma 3 backbone has a vision encoder; litecomplete converts text-only ones"
        )
    for name, value in KERAS_FIXED.items():
        if getattr(backbone, name) != value:
            raise UnsupportedArchitectureError(
                f"the Gemma 3 backbone has {name}={getattr(backbone, name)!r}; "
                f"litecomplete converts {value!r}"
            )
    return gemma3_spec(
        **{field: getattr(backbone, keras) for field, keras in KERAS_BACKBONE_NAMES.items()}
    )


def _norm(layer: Any, width: int, name: str) -> np.ndarray:
    return 1.0 + checked_array(layer.scale, (width,), name)


def _gemma3_layer(block: Any, spec: DecoderSpec, name: str) -> LayerWeights:
    d, h, kv = spec.hidden_dim, spec.num_heads, spec.num_kv_heads
    dh, f = spec.head_dim, spec.intermediate_dim
    attn = block.attention
    # Keras kernels are (heads, hidden, head_dim); columns head by head.
    q = checked_array(attn.query_dense.kernel, (h, d, dh), f"{name}.query")
    k = checked_array(attn.key_dense.kernel, (kv, d, dh), f"{name}.key")
    v = checked_array(attn.value_dense.kernel, (kv, d, dh), f"{name}.value")
    qkv = np.concatenate([w.transpose(1, 0, 2).reshape(d, -1) for w in (q, k, v)], axis=1)
    return LayerWeights(
        attn_norm_scale=_norm(block.pre_attention_norm, d, f"{name}.pre_attention_norm"),
        qkv_kernel=qkv,  # (d, (h + 2 kv) * dh)
        out_kernel=checked_array(
            attn.output_dense.kernel, (h, dh, d), f"{name}.attention_output"
        ).reshape(h * dh, d),
        mlp_norm_scale=_norm(block.pre_ffw_norm, d, f"{name}.pre_ffw_norm"),
        up_kernel=checked_array(block.gating_ffw_2.kernel, (d, f), f"{name}.ffw_gating_2"),
        down_kernel=checked_array(block.ffw_linear.kernel, (f, d), f"{name}.ffw_linear"),
        gate_kernel=checked_array(block.gating_ffw.kernel, (d, f), f"{name}.ffw_gating"),
        q_norm_scale=_norm(attn.query_norm, dh, f"{name}.query_norm"),
        k_norm_scale=_norm(attn.key_norm, dh, f"{name}.key_norm"),
        post_attn_norm_scale=_norm(block.post_attention_norm, d, f"{name}.post_attention_norm"),
        post_mlp_norm_scale=_norm(block.post_ffw_norm, d, f"{name}.post_ffw_norm"),
    )


def gemma3_keras_decoder_weights(causal_lm: Any) -> DecoderWeights:
    """Map a KerasHub ``Gemma3CausalLM`` onto ``DecoderWeights`` (the table is tied)."""
    backbone = causal_lm.backbone
    spec = gemma3_spec_of_backbone(backbone)
    d, vocab = spec.hidden_dim, spec.vocabulary_size
    embedding = backbone.get_layer("token_embedding").embeddings
    return DecoderWeights(
        spec=spec,
        token_embedding=checked_array(embedding, (vocab, d), "token_embedding"),
        layers=keras_layers(backbone, spec, "decoder_block_", _gemma3_layer),
        final_norm_scale=_norm(backbone.get_layer("final_normalization"), d, "final_norm"),
    )


def assign_gemma3_weights(backbone: Any, weights: DecoderWeights) -> None:
    """Write ``weights`` into a ``Gemma3Backbone`` of the same shapes (the inverse map)."""
    spec = weights.spec
    h, kv, dh, d = spec.num_heads, spec.num_kv_heads, spec.head_dim, spec.hidden_dim

    def assign(variable: Any, value: np.ndarray, name: str) -> None:
        if tuple(variable.shape) != value.shape:
            raise ValueError(f"{name}: shape {value.shape}, the model expects {variable.shape}")
        variable.assign(value)

    def assign_norm(layer: Any, value: np.ndarray | None, name: str) -> None:
        assign(layer.scale, present(value, name) - 1.0, name)

    assign(backbone.get_layer("token_embedding").embeddings, weights.token_embedding, "embedding")
    for i, layer in enumerate(weights.layers):
        block = backbone.get_layer(f"decoder_block_{i}")
        attn, name = block.attention, f"layer {i}"
        q, k, v = np.split(layer.qkv_kernel, [h * dh, (h + kv) * dh], axis=1)
        assign(attn.query_dense.kernel, q.reshape(d, h, dh).transpose(1, 0, 2), f"{name} q")
        assign(attn.key_dense.kernel, k.reshape(d, kv, dh).transpose(1, 0, 2), f"{name} k")
        assign(attn.value_dense.kernel, v.reshape(d, kv, dh).transpose(1, 0, 2), f"{name} v")
        assign(attn.output_dense.kernel, layer.out_kernel.reshape(h, dh, d), f"{name} o")
        assign_norm(attn.query_norm, layer.q_norm_scale, f"{name} q norm")
        assign_norm(attn.key_norm, layer.k_norm_scale, f"{name} k norm")
        assign_norm(block.pre_attention_norm, layer.attn_norm_scale, f"{name} attn norm")
        assign_norm(block.post_attention_norm, layer.post_attn_norm_scale, f"{name} post attn")
        assign_norm(block.pre_ffw_norm, layer.mlp_norm_scale, f"{name} mlp norm")
        assign_norm(block.post_ffw_norm, layer.post_mlp_norm_scale, f"{name} post mlp")
        assign(block.gating_ffw.kernel, present(layer.gate_kernel, "gate_kernel"), f"{name} gate")
        assign(block.gating_ffw_2.kernel, layer.up_kernel, f"{name} up")
        assign(block.ffw_linear.kernel, layer.down_kernel, f"{name} down")
    assign_norm(backbone.get_layer("final_normalization"), weights.final_norm_scale, "final norm")
