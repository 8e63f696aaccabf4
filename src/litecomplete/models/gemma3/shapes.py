"""What every Gemma 3 is, whatever its sizes are read from.

RMSNorm (stored as 1 + w: KerasHub scales by 1 + scale, llama.cpp stores the sum),
GeGLU, rotary positions, a norm over each head of q and k, a norm after attention and
after the MLP too, token embeddings times √width, and five local layers (a sliding
window, RoPE base 10,000) to one global (the file's RoPE base). KerasHub and llama.cpp
hard-code the pattern and the local base alike; neither is in a GGUF header.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from litecomplete.models.spec import Activation, DecoderSpec, Norm, Positions

# Gemma 3's context; KerasHub's config does not record it.
GEMMA3_MAX_POSITIONS = 32768
GEMMA3_LOCAL_ROPE_THETA = 10000.0
GEMMA3_GLOBAL_ROPE_THETA = 1000000.0
GEMMA3_GLOBAL_EVERY = 6

GEMMA3_CHOICES: dict[str, Any] = {
    "norm": Norm.RMS,
    "activation": Activation.GELU_TANH_GLU,
    "positions": Positions.ROPE,
    "qk_norm": True,
    "post_norms": True,
    "global_every": GEMMA3_GLOBAL_EVERY,
    "local_rope_theta": GEMMA3_LOCAL_ROPE_THETA,
}

# ``gemma3_spec``'s arguments by the KerasHub ``Gemma3Backbone``'s names for them.
KERAS_BACKBONE_NAMES = {
    "num_layers": "num_layers",
    "num_heads": "num_query_heads",
    "num_kv_heads": "num_key_value_heads",
    "head_dim": "head_dim",
    "hidden_dim": "hidden_dim",
    "intermediate_dim": "intermediate_dim",
    "vocabulary_size": "vocabulary_size",
    "norm_epsilon": "layer_norm_epsilon",
    "sliding_window": "sliding_window_size",
}

# The backbone's other settings, as every Gemma 3 text model has them.
KERAS_FIXED = {
    "query_head_dim_normalize": True,
    "use_query_key_norm": True,
    "use_post_ffw_norm": True,
    "use_post_attention_norm": True,
    "use_sliding_window_attention": True,
    "attention_logit_soft_cap": None,
    "final_logit_soft_cap": None,
    "local_rope_scaling_factor": 1.0,
    "global_rope_scaling_factor": 1.0,
    "use_bidirectional_attention": False,
}


def gemma3_spec(
    *,
    sliding_window: int,
    rope_theta: float = GEMMA3_GLOBAL_ROPE_THETA,
    max_positions: int = GEMMA3_MAX_POSITIONS,
    **sizes: Any,
) -> DecoderSpec:
    """A Gemma 3's ``DecoderSpec`` from its sizes (a backbone's, a fake's), named as
    ``DecoderSpec`` names them: ``num_layers``, ``num_heads``, ``num_kv_heads``,
    ``head_dim``, ``hidden_dim``, ``intermediate_dim``, ``vocabulary_size``,
    ``norm_epsilon``."""
    sizes["norm_epsilon"] = float(sizes["norm_epsilon"])
    spec = DecoderSpec(architecture="gemma3", max_positions=max_positions, **sizes)
    return as_gemma3(spec, sliding_window, rope_theta)


def as_gemma3(sizes: DecoderSpec, sliding_window: int, rope_theta: float) -> DecoderSpec:
    """``sizes`` (a GGUF header's, ``gguf.header.header_spec``) with what makes a Gemma 3:
    its choices, the embedding scale its width gives, its window and global RoPE base."""
    return dataclasses.replace(
        sizes,
        architecture="gemma3",
        rope_theta=float(rope_theta),
        embedding_scale=math.sqrt(sizes.hidden_dim),
        sliding_window=sliding_window,
        **GEMMA3_CHOICES,
    )
