"""A NumPy forward pass of ``DecoderWeights``, with a hook on every projection's input.

In float64 it is the exact value float32 code approximates (the slow parity tests
measure against it); the hook shows what each projection is fed
(``scripts/activation_outliers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from litecomplete.models.spec import Activation, DecoderWeights, Norm, Positions

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
    angles = np.arange(t)[:, None] / spec.rope_theta ** (np.arange(half) * 2 / dh)
    cos: Any = np.cos(angles).astype(dtype)[:, None, :]  # (T, 1, half)
    sin: Any = np.sin(angles).astype(dtype)[:, None, :]

    def rope(x: np.ndarray) -> np.ndarray:
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    x = cast(weights.token_embedding)[ids]
    if weights.position_embedding is not None:
        x = x + cast(weights.position_embedding)[:t]
    causal: Any = np.where(np.arange(t)[None, :] <= np.arange(t)[:, None], 0.0, -np.inf).astype(
        dtype
    )
    for i, layer in enumerate(weights.layers):
        a = norm(x, layer.attn_norm_scale, layer.attn_norm_bias)
        note(i, "qkv", a)
        qkv = a @ cast(layer.qkv_kernel) + cast(layer.qkv_bias)
        q, k, v = np.split(qkv, [heads * dh, (heads + kv_heads) * dh], -1)
        q, k, v = q.reshape(t, heads, dh), k.reshape(t, kv_heads, dh), v.reshape(t, kv_heads, dh)
        if spec.positions is Positions.ROPE:
            q, k = rope(q), rope(k)
        # query head h reads KV head h // group
        k, v = np.repeat(k, heads // kv_heads, 1), np.repeat(v, heads // kv_heads, 1)
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(dh).astype(dtype) + causal
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        out = np.einsum("hts,shd->thd", probs, v).reshape(t, heads * dh)  # (T, heads * dh)
        note(i, "out", out)
        x = x + out @ cast(layer.out_kernel) + cast(layer.out_bias)
        m = norm(x, layer.mlp_norm_scale, layer.mlp_norm_bias)
        note(i, "gate_up", m)
        up = m @ cast(layer.up_kernel) + cast(layer.up_bias)
        if spec.activation is Activation.SILU_GLU:
            gate = m @ cast(layer.gate_kernel)
            hidden = gate / (1 + np.exp(-gate)) * up
        else:
            hidden = 0.5 * up * (1 + np.tanh(np.sqrt(2 / np.pi) * (up + 0.044715 * up**3)))
        note(i, "down", hidden)
        x = x + hidden @ cast(layer.down_kernel) + cast(layer.down_bias)
    x = norm(x, weights.final_norm_scale, weights.final_norm_bias)
    note(len(weights.layers), "output", x)
    table = weights.output_kernel if weights.output_kernel is not None else weights.token_embedding
    return np.asarray(x @ cast(table).T)
