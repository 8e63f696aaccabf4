"""Architecture-neutral decoder weights, taken out of a KerasHub causal LM or a GGUF file.

The fast format is written from plain arrays rather than Keras layers, so one
graph builder serves every decoder-only family. Each family maps its layers
onto ``DecoderSpec`` and ``LayerWeights`` here; the shape checks name every
tensor they reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from litecomplete.errors import UnsupportedArchitectureError

# A KerasHub Llama config does not record the context the model was trained for, and
# RoPE has no position table to bound it; SmolLM2 and Llama 2-3 models train on 4-8K.
LLAMA_MAX_POSITIONS = 8192


@dataclass(frozen=True)
class DecoderSpec:
    """Shapes and choices of a decoder-only transformer."""

    architecture: str  # "gpt2", "llama"
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_dim: int
    intermediate_dim: int
    vocabulary_size: int
    max_positions: int
    norm_epsilon: float
    norm: str = "layer"  # "layer" (LayerNorm, GPT-2) or "rms" (RMSNorm, Llama)
    activation: str = "gelu_tanh"  # "gelu_tanh" MLP (GPT-2) or "silu_glu" (Llama's SwiGLU)
    positions: str = "learned"  # "learned" embeddings (GPT-2) or "rope" (rotary, Llama)
    rope_theta: float = 10000.0


@dataclass(frozen=True)
class LayerWeights:
    """One block, pre-norm. Kernels are [in, out] float32."""

    attn_norm_scale: np.ndarray  # (hidden,)
    attn_norm_bias: np.ndarray | None  # (hidden,)
    qkv_kernel: np.ndarray  # (hidden, (heads + 2 * kv_heads) * head_dim)
    qkv_bias: np.ndarray | None  # ((heads + 2 * kv_heads) * head_dim,)
    out_kernel: np.ndarray  # (heads * head_dim, hidden)
    out_bias: np.ndarray | None  # (hidden,)
    mlp_norm_scale: np.ndarray
    mlp_norm_bias: np.ndarray | None
    up_kernel: np.ndarray  # (hidden, intermediate)
    up_bias: np.ndarray | None
    down_kernel: np.ndarray  # (intermediate, hidden)
    down_bias: np.ndarray | None
    gate_kernel: np.ndarray | None = None  # (hidden, intermediate), gated MLPs only


@dataclass(frozen=True)
class DecoderWeights:
    spec: DecoderSpec
    token_embedding: np.ndarray  # (vocab, hidden); also the output projection (tied)
    position_embedding: np.ndarray | None  # (max_positions, hidden)
    layers: list[LayerWeights]
    final_norm_scale: np.ndarray
    final_norm_bias: np.ndarray | None
    output_kernel: np.ndarray | None = None  # (vocab, hidden) when not tied to the embedding


def architecture_of(causal_lm: Any) -> str:
    """``gpt2`` or ``llama``: the family of a KerasHub causal LM's backbone."""
    name = type(causal_lm.backbone).__name__
    families = {"GPT2Backbone": "gpt2", "Llama3Backbone": "llama", "LlamaBackbone": "llama"}
    if name not in families:
        raise UnsupportedArchitectureError(
            f"{name} is not supported; supported backbones: {', '.join(families)}"
        )
    return families[name]


def _array(variable: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    value = np.asarray(variable, dtype=np.float32)
    if value.shape != shape:
        raise ValueError(f"{name}: shape {value.shape}, expected {shape}")
    return value


def gpt2_decoder_weights(causal_lm: Any) -> DecoderWeights:
    """Map a KerasHub ``GPT2CausalLM`` onto ``DecoderWeights``."""
    backbone = causal_lm.backbone
    if type(backbone).__name__ != "GPT2Backbone":
        raise UnsupportedArchitectureError(
            f"the fast format supports GPT2Backbone, got {type(backbone).__name__}"
        )
    d, h = backbone.hidden_dim, backbone.num_heads
    dh, f = d // h, backbone.intermediate_dim
    vocab, max_pos = backbone.vocabulary_size, backbone.max_sequence_length
    spec = DecoderSpec(
        architecture="gpt2",
        num_layers=backbone.num_layers,
        num_heads=h,
        num_kv_heads=h,
        head_dim=dh,
        hidden_dim=d,
        intermediate_dim=f,
        vocabulary_size=vocab,
        max_positions=max_pos,
        norm_epsilon=1e-5,
    )
    layers = []
    for i in range(backbone.num_layers):
        block = backbone.get_layer(f"transformer_layer_{i}")
        attn = block._self_attention_layer
        name = f"transformer_layer_{i}"
        # Keras MHA kernels are (hidden, heads, head_dim); flatten heads into columns.
        q, k, v = (
            _array(dense.kernel, (d, h, dh), f"{name}.{part}.kernel").reshape(d, h * dh)
            for part, dense in (
                ("query", attn._query_dense),
                ("key", attn._key_dense),
                ("value", attn._value_dense),
            )
        )
        qb, kb, vb = (
            _array(dense.bias, (h, dh), f"{name}.{part}.bias").reshape(h * dh)
            for part, dense in (
                ("query", attn._query_dense),
                ("key", attn._key_dense),
                ("value", attn._value_dense),
            )
        )
        attn_norm = block._self_attention_layer_norm
        mlp_norm = block._feedforward_layer_norm
        up = block._feedforward_intermediate_dense
        down = block._feedforward_output_dense
        layers.append(
            LayerWeights(
                attn_norm_scale=_array(attn_norm.gamma, (d,), f"{name}.attn_norm.gamma"),
                attn_norm_bias=_array(attn_norm.beta, (d,), f"{name}.attn_norm.beta"),
                qkv_kernel=np.concatenate([q, k, v], axis=1),  # (d, 3 * d)
                qkv_bias=np.concatenate([qb, kb, vb]),
                out_kernel=_array(
                    attn._output_dense.kernel, (h, dh, d), f"{name}.attention_output.kernel"
                ).reshape(h * dh, d),
                out_bias=_array(attn._output_dense.bias, (d,), f"{name}.attention_output.bias"),
                mlp_norm_scale=_array(mlp_norm.gamma, (d,), f"{name}.mlp_norm.gamma"),
                mlp_norm_bias=_array(mlp_norm.beta, (d,), f"{name}.mlp_norm.beta"),
                up_kernel=_array(up.kernel, (d, f), f"{name}.up.kernel"),
                up_bias=_array(up.bias, (f,), f"{name}.up.bias"),
                down_kernel=_array(down.kernel, (f, d), f"{name}.down.kernel"),
                down_bias=_array(down.bias, (d,), f"{name}.down.bias"),
            )
        )
    final_norm = backbone.get_layer("layer_norm")
    return DecoderWeights(
        spec=spec,
        token_embedding=_array(
            backbone.get_layer("token_embedding").embeddings, (vocab, d), "token_embedding"
        ),
        position_embedding=_array(
            backbone.get_layer("position_embedding").position_embeddings,
            (max_pos, d),
            "position_embedding",
        ),
        layers=layers,
        final_norm_scale=_array(final_norm.gamma, (d,), "layer_norm.gamma"),
        final_norm_bias=_array(final_norm.beta, (d,), "layer_norm.beta"),
    )


def llama_keras_decoder_weights(causal_lm: Any) -> DecoderWeights:
    """Map a KerasHub ``Llama3CausalLM`` / ``LlamaCausalLM`` onto ``DecoderWeights``."""
    backbone = causal_lm.backbone
    if type(backbone).__name__ not in ("Llama3Backbone", "LlamaBackbone"):
        raise UnsupportedArchitectureError(
            f"expected a Llama backbone, got {type(backbone).__name__}"
        )
    if backbone.rope_position_scaling_factor != 1.0 or backbone.rope_frequency_adjustment_factor:
        raise UnsupportedArchitectureError("the fast format does not support RoPE scaling yet")
    d, h, kv = backbone.hidden_dim, backbone.num_query_heads, backbone.num_key_value_heads
    dh, f, vocab = d // h, backbone.intermediate_dim, backbone.vocabulary_size
    spec = DecoderSpec(
        architecture="llama",
        num_layers=backbone.num_layers,
        num_heads=h,
        num_kv_heads=kv,
        head_dim=dh,
        hidden_dim=d,
        intermediate_dim=f,
        vocabulary_size=vocab,
        max_positions=LLAMA_MAX_POSITIONS,
        norm_epsilon=float(backbone.layer_norm_epsilon),
        norm="rms",
        activation="silu_glu",
        positions="rope",
        rope_theta=float(backbone.rope_max_wavelength),
    )
    layers = []
    for i in range(backbone.num_layers):
        block = backbone.get_layer(f"transformer_layer_{i}")
        attn = block._self_attention_layer
        name = f"transformer_layer_{i}"
        # Keras kernels are (hidden, heads, head_dim); flatten heads into columns.
        q = _array(attn._query_dense.kernel, (d, h, dh), f"{name}.query").reshape(d, h * dh)
        k = _array(attn._key_dense.kernel, (d, kv, dh), f"{name}.key").reshape(d, kv * dh)
        v = _array(attn._value_dense.kernel, (d, kv, dh), f"{name}.value").reshape(d, kv * dh)
        mlp_up = block._feedforward_intermediate_dense
        mlp_gate, mlp_down = block._feedforward_gate_dense, block._feedforward_output_dense
        layers.append(
            LayerWeights(
                attn_norm_scale=_array(
                    block._self_attention_layernorm.scale, (d,), f"{name}.attn_norm"
                ),
                attn_norm_bias=None,
                qkv_kernel=np.concatenate([q, k, v], axis=1),  # (d, (h + 2 kv) * dh)
                qkv_bias=None,
                out_kernel=_array(
                    attn._output_dense.kernel, (h, dh, d), f"{name}.attention_output"
                ).reshape(h * dh, d),
                out_bias=None,
                mlp_norm_scale=_array(block._feedforward_layernorm.scale, (d,), f"{name}.mlp_norm"),
                mlp_norm_bias=None,
                up_kernel=_array(mlp_up.kernel, (d, f), f"{name}.up"),
                up_bias=None,
                down_kernel=_array(mlp_down.kernel, (f, d), f"{name}.down"),
                down_bias=None,
                gate_kernel=_array(mlp_gate.kernel, (d, f), f"{name}.gate"),
            )
        )
    embedding = backbone.get_layer("token_embedding")
    output = (
        None
        if backbone.tie_word_embeddings
        else _array(embedding.reverse_embeddings, (d, vocab), "reverse_embeddings").T.copy()
    )
    return DecoderWeights(
        spec=spec,
        token_embedding=_array(embedding.embeddings, (vocab, d), "token_embedding"),
        position_embedding=None,
        layers=layers,
        final_norm_scale=_array(
            backbone.get_layer("sequence_output_layernorm").scale, (d,), "final_norm"
        ),
        final_norm_bias=None,
        output_kernel=output,
    )
