"""What every Llama is, whatever its sizes are read from: RMSNorm, SwiGLU, rotary positions."""

from __future__ import annotations

from litecomplete.models.spec import Activation, DecoderSpec, Norm, Positions

# A KerasHub Llama config does not record the context the model was trained for, and
# RoPE has no position table to bound it; SmolLM2 and Llama 2-3 models train on 4-8K.
LLAMA_MAX_POSITIONS = 8192


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
        "llama",
        num_layers,
        num_heads,
        num_kv_heads,
        hidden_dim // num_heads,  # head_dim
        hidden_dim,
        intermediate_dim,
        vocabulary_size,
        max_positions,
        norm_epsilon,
        Norm.RMS,
        Activation.SILU_GLU,
        Positions.ROPE,
        rope_theta,
    )
