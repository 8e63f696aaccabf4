"""Random weights of any ``DecoderSpec``: the tiny fake models tests convert and run."""

from __future__ import annotations

import numpy as np

from litecomplete.models import spec as decoder
from litecomplete.models.spec import DecoderSpec, DecoderWeights, LayerWeights


def random_decoder_weights(spec: DecoderSpec, seed: int = 0) -> DecoderWeights:
    """Seeded weights of ``spec``'s shapes; normal(0, 0.5 / sqrt(fan-in)) kernels (2.0
    for QKV) and unit-variance embeddings give peaked, varied logits."""
    rng = np.random.default_rng(seed)
    d, f = spec.hidden_dim, spec.intermediate_dim
    qkv_width = (spec.num_heads + 2 * spec.num_kv_heads) * spec.head_dim
    biased = spec.norm is decoder.Norm.LAYER  # LayerNorm families carry biases everywhere

    def normal(*shape: int, scale: float = 0.5) -> np.ndarray:
        return (rng.standard_normal(shape) * scale / np.sqrt(shape[0])).astype(np.float32)

    def norm(width: int = d) -> np.ndarray:
        return (1 + 0.1 * rng.standard_normal(width)).astype(np.float32)

    def bias(width: int) -> np.ndarray | None:
        return (0.02 * rng.standard_normal(width)).astype(np.float32) if biased else None

    def layer() -> LayerWeights:
        weights = {
            "attn_norm_scale": norm(),
            "qkv_kernel": normal(d, qkv_width, scale=2.0),
            "out_kernel": normal(spec.num_heads * spec.head_dim, d),
            "mlp_norm_scale": norm(),
            "up_kernel": normal(d, f),
            "down_kernel": normal(f, d),
        }
        gate = normal(d, f) if spec.activation.gated else None
        if spec.qk_norm:
            weights |= {"q_norm_scale": norm(spec.head_dim), "k_norm_scale": norm(spec.head_dim)}
        if spec.post_norms:
            weights |= {"post_attn_norm_scale": norm(), "post_mlp_norm_scale": norm()}
        return LayerWeights(
            **weights,
            attn_norm_bias=bias(d),
            qkv_bias=bias(qkv_width),
            out_bias=bias(d),
            mlp_norm_bias=bias(d),
            up_bias=bias(f),
            down_bias=bias(d),
            gate_kernel=gate,
        )

    layers = [layer() for _ in range(spec.num_layers)]
    # Unit variance as the layers see it: a model that scales its embeddings (Gemma's
    # √width) would otherwise drown the layers' outputs and echo the input token.
    embedding = rng.standard_normal((spec.vocabulary_size, d)) / spec.embedding_scale
    embedding = embedding.astype(np.float32)
    final_scale = norm()
    positions = (
        (0.1 * rng.standard_normal((spec.max_positions, d))).astype(np.float32)
        if spec.positions is decoder.Positions.LEARNED
        else None
    )
    return DecoderWeights(
        spec=spec,
        token_embedding=embedding,
        position_embedding=positions,
        layers=layers,
        final_norm_scale=final_scale,
        final_norm_bias=bias(d),
    )
