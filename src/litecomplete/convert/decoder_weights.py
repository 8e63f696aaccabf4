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
