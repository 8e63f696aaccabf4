"""A float64 NumPy forward pass of ``DecoderWeights``: the exact value float32 code approximates.

Two float32 implementations of one model each carry rounding error; comparing them
measures the sum. Against this reference each is measured on its own.
"""

from __future__ import annotations

import numpy as np

from litecomplete.convert.decoder_weights import DecoderWeights


def reference_logits(weights: DecoderWeights, ids: list[int]) -> np.ndarray:
    """float64[len(ids), vocab]: logits at every position, computed in float64."""
    spec = weights.spec
    t, heads, kv_heads, dh = len(ids), spec.num_heads, spec.num_kv_heads, spec.head_dim

    def f64(a: np.ndarray | None) -> np.ndarray | float:
        return 0.0 if a is None else a.astype(np.float64)

    def norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if spec.norm == "rms":
            return x / np.sqrt((x * x).mean(-1, keepdims=True) + spec.norm_epsilon) * f64(scale)
        x = x - x.mean(-1, keepdims=True)
        x = x / np.sqrt((x * x).mean(-1, keepdims=True) + spec.norm_epsilon)
        return x * f64(scale) + f64(bias)

    half = dh // 2
    angles = np.arange(t)[:, None] / spec.rope_theta ** (np.arange(half) * 2 / dh)
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]

    def rope(x: np.ndarray) -> np.ndarray:
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    x = f64(weights.token_embedding)[ids]
    if weights.position_embedding is not None:
        x = x + f64(weights.position_embedding)[:t]
    causal = np.where(np.arange(t)[None, :] <= np.arange(t)[:, None], 0.0, -np.inf)
    for layer in weights.layers:
        a = norm(x, layer.attn_norm_scale, layer.attn_norm_bias)
        qkv = a @ f64(layer.qkv_kernel) + f64(layer.qkv_bias)
        q, k, v = np.split(qkv, [heads * dh, (heads + kv_heads) * dh], -1)
        q, k, v = q.reshape(t, heads, dh), k.reshape(t, kv_heads, dh), v.reshape(t, kv_heads, dh)
        if spec.positions == "rope":
            q, k = rope(q), rope(k)
        k, v = np.repeat(k, heads // kv_heads, 1), np.repeat(v, heads // kv_heads, 1)
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(dh) + causal
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        out = np.einsum("hts,shd->thd", probs, v).reshape(t, heads * dh)
        x = x + out @ f64(layer.out_kernel) + f64(layer.out_bias)
        m = norm(x, layer.mlp_norm_scale, layer.mlp_norm_bias)
        up = m @ f64(layer.up_kernel) + f64(layer.up_bias)
        if spec.activation == "silu_glu":
            gate = m @ f64(layer.gate_kernel)
            hidden = gate / (1 + np.exp(-gate)) * up
        else:
            hidden = 0.5 * up * (1 + np.tanh(np.sqrt(2 / np.pi) * (up + 0.044715 * up**3)))
        x = x + hidden @ f64(layer.down_kernel) + f64(layer.down_bias)
    x = norm(x, weights.final_norm_scale, weights.final_norm_bias)
    table = weights.output_kernel if weights.output_kernel is not None else weights.token_embedding
    return np.asarray(x @ f64(table).T)
