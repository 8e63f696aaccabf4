"""A NumPy forward pass of ``DecoderWeights``, with a hook on every projection's input.

In float64 it is the exact value float32 code approximates (the slow parity tests
measure against it); the hook shows what each projection is fed
(``scripts/activation_outliers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from litecomplete.models.spec import Activation, DecoderWeights, Norm, Positions, present

# record(layer, projection, inputs): projection is "qkv", "out", "gate_up" or "down";
# inputs is float[T, in_features]. The output projection's input is recorded as layer
# num_layers, projection "output".
Recorder = Callable[[int, str, np.ndarray], None]


def forward_logits(
    weights: DecoderWeights,
    ids: list[int],
    dtype: type = np.float64,
    record: Recorder | None = None,
) -> np.ndarray:
    """dtype[len(ids), vocab]: logits at every position of ``ids``."""
    spec = weights.spec
    t, heads, kv_heads, dh = len(ids), spec.num_heads, spec.num_kv_heads, spec.head_dim
    note = record or (lambda *_: None)

    def cast(a: np.ndarray | None) -> Any:
        """``a`` in ``dtype``; a missing bias adds nothing."""
        return 0.0 if a is None else a.astype(dtype)

    def norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if spec.norm is Norm.RMS:
            return x / np.sqrt((x * x).mean(-1, keepdims=True) + spec.norm_epsilon) * cast(scale)
        x = x - x.mean(-1, keepdims=True)
        x = x / np.sqrt((x * x).mean(-1, keepdims=True) + spec.norm_epsilon)
        return x * cast(scale) + cast(bias)

    half = dh // 2

    def rope(x: np.ndarray, theta: float) -> np.ndarray:
        angles = np.arange(t)[:, None] / theta ** (np.arange(half) * 2 / dh)
        cos: Any = np.cos(angles).astype(dtype)[:, None, :]  # (T, 1, half)
        sin: Any = np.sin(angles).astype(dtype)[:, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    def gelu(x: np.ndarray) -> np.ndarray:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    x = cast(weights.token_embedding)[ids]
    if weights.position_embedding is not None:
        x = x + cast(weights.position_embedding)[:t]
    x = x * dtype(spec.embedding_scale)
    distance = np.arange(t)[:, None] - np.arange(t)[None, :]  # row - column
    causal: Any = np.where(distance >= 0, 0.0, -np.inf).astype(dtype)
    window = spec.sliding_window or t + 1
    local: Any = np.where((distance >= 0) & (distance < window), 0.0, -np.inf).astype(dtype)
    for i, layer in enumerate(weights.layers):
        a = norm(x, layer.attn_norm_scale, layer.attn_norm_bias)
        note(i, "qkv", a)
        qkv = a @ cast(layer.qkv_kernel) + cast(layer.qkv_bias)
        q, k, v = np.split(qkv, [heads * dh, (heads + kv_heads) * dh], -1)
        q, k, v = q.reshape(t, heads, dh), k.reshape(t, kv_heads, dh), v.reshape(t, kv_heads, dh)
        if spec.qk_norm:
            q = norm(q, present(layer.q_norm_scale, "q_norm_scale"), None)
            k = norm(k, present(layer.k_norm_scale, "k_norm_scale"), None)
        if spec.positions is Positions.ROPE:
            q, k = rope(q, spec.layer_rope_theta(i)), rope(k, spec.layer_rope_theta(i))
        # query head h reads KV head h // group
        k, v = np.repeat(k, heads // kv_heads, 1), np.repeat(v, heads // kv_heads, 1)
        mask = local if spec.is_local(i) else causal
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(dh).astype(dtype) + mask
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        out = np.einsum("hts,shd->thd", probs, v).reshape(t, heads * dh)  # (T, heads * dh)
        note(i, "out", out)
        out = out @ cast(layer.out_kernel) + cast(layer.out_bias)
        if spec.post_norms:
            out = norm(out, present(layer.post_attn_norm_scale, "post_attn_norm_scale"), None)
        x = x + out
        m = norm(x, layer.mlp_norm_scale, layer.mlp_norm_bias)
        note(i, "gate_up", m)
        up = m @ cast(layer.up_kernel) + cast(layer.up_bias)
        if spec.activation is Activation.SILU_GLU:
            gate = m @ cast(layer.gate_kernel)
            hidden = gate / (1 + np.exp(-gate)) * up
        elif spec.activation is Activation.GELU_TANH_GLU:
            hidden = gelu(m @ cast(layer.gate_kernel)) * up
        else:
            hidden = gelu(up)
        note(i, "down", hidden)
        down = hidden @ cast(layer.down_kernel) + cast(layer.down_bias)
        if spec.post_norms:
            down = norm(down, present(layer.post_mlp_norm_scale, "post_mlp_norm_scale"), None)
        x = x + down
    x = norm(x, weights.final_norm_scale, weights.final_norm_bias)
    note(len(weights.layers), "output", x)
    table = weights.output_kernel if weights.output_kernel is not None else weights.token_embedding
    return np.asarray(x @ cast(table).T)
