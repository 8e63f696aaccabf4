"""What every Llama is, whatever its sizes are read from: RMSNorm, SwiGLU, rotary positions."""

from __future__ import annotations

from typing import Any

from litecomplete.models.spec import Activation, DecoderSpec, Norm, Positions

# A KerasHub Llama config does not record the context the model was trained for, and
# RoPE has no position table to bound it; SmolLM2 and Llama 2-3 models train on 4-8K.
LLAMA_MAX_POSITIONS = 8192


# What makes a decoder a Llama, whatever its sizes.
LLAMA_CHOICES: dict[str, Any] = {
    "norm": Norm.RMS,
    "activation": Activation.SILU_GLU,
    "positions": Positions.ROPE,
}


# ``llama_spec``'s arguments by the KerasHub Llama backbone's names for them: read one
# way from a backbone (``keras.llama_spec_of_backbone``), written the other to build one
# (``gguf_import.llama_causal_lm``).
KERAS_BACKBONE_NAMES = {
    "num_layers": "num_layers",
    "num_heads": "num_query_heads",
    "num_kv_heads": "num_key_value_heads",
    "hidden_dim": "hidden_dim",
    "intermediate_dim": "intermediate_dim",
    "vocabulary_size": "vocabulary_size",
    "norm_epsilon": "layer_norm_epsilon",
    "rope_theta": "rope_max_wavelength",
}


def llama_spec(
    *,
    num_layers: int,
    num_heads: int,
    num_kv_heads: int,
    hidden_dim: int,
    intermediate_dim: int,
    vocabulary_size: int,
    norm_epsilon: float,
    rope_theta: float,
    max_positions: int = LLAMA_MAX_POSITIONS,
) -> DecoderSpec:
    """A Llama's ``DecoderSpec`` from its sizes (a backbone's, a GGUF header's, a fake's)."""
    return DecoderSpec(
        architecture="llama",
        num_layers=num_layers,
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=hidden_dim // num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
        vocabulary_size=vocabulary_size,
        max_positions=max_positions,
        norm_epsilon=float(norm_epsilon),
        rope_theta=float(rope_theta),
        **LLAMA_CHOICES,
    )
