"""A NumPy forward pass of ``DecoderWeights``, with a hook on every projection's input.

In float64 it is the exact value float32 code approximates (the slow parity tests
measure against it); the hook shows what each projection is fed
(``scripts/activation_outliers.py``, ``quantize.outliers``) or changes it (the
quantization simulation of ``quantize.simulate``, which also runs a pass layer by
layer through ``Forward``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from litecomplete.models.spec import (
    Activation,
    DecoderWeights,
    LayerWeights,
    Norm,
    Positions,
    present,
)

# record(layer, projection, inputs): projection is "qkv", "out", "gate_up" or "down";
# inputs is float[T, in_features]. The output projection's input is recorded as layer
# num_layers, projection "output". A hook that returns an array has the projection
# read that instead.
Recorder = Callable[[int, str, np.ndarray], np.ndarray | None]


def forward_logits(
    weights: DecoderWeights,
    ids: list[int],
    dtype: type = np.float64,
    record: Recorder | None = None,
) -> np.ndarray:
    """dtype[len(ids), vocab]: logits at every position of ``ids``."""
    return Forward(weights, len(ids), dtype, record).logits(ids)


class Forward:
    """One pass over ``t`` tokens in ``dtype``; a method per sublayer: ``embed``, then
    ``block`` per layer, then ``head`` (``logits`` runs them in order)."""

    def __init__(
        self, weights: DecoderWeights, t: int, dtype: type, record: Recorder | None
    ) -> None:
        self.weights, self.spec, self.t, self.dtype = weights, weights.spec, t, dtype
        self.hook = record
        distance = np.arange(t)[:, None] - np.arange(t)[None, :]  # row - column
        window = self.spec.sliding_window or t + 1
        self.causal: Any = np.where(distance >= 0, 0.0, -np.inf).astype(dtype)
        local = (distance >= 0) & (distance < window)
        self.local: Any = np.where(local, 0.0, -np.inf).astype(dtype)
        self.rope_tables: dict[float, tuple[Any, Any]] = {}

    def feed(self, layer: int, projection: str, x: np.ndarray) -> np.ndarray:
        """What ``projection`` of ``layer`` reads: ``x``, or the hook's replacement."""
        changed = self.hook(layer, projection, x) if self.hook else None
        return x if changed is None else changed

    def cast(self, a: np.ndarray | None) -> Any:
        """``a`` in ``dtype`` (itself where it is already: callers only read it); a
        missing bias adds nothing."""
        return 0.0 if a is None else a.astype(self.dtype, copy=False)

    def norm(self, x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        eps = self.spec.norm_epsilon
        if self.spec.norm is Norm.RMS:
            return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * self.cast(scale)
        x = x - x.mean(-1, keepdims=True)
        x = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
        return x * self.cast(scale) + self.cast(bias)

    def rope(self, x: np.ndarray, theta: float) -> np.ndarray:
        dh = self.spec.head_dim
        half = dh // 2
        if theta not in self.rope_tables:  # one table per base: local and global layers
            angles = np.arange(self.t)[:, None] / theta ** (np.arange(half) * 2 / dh)
            self.rope_tables[theta] = (  # (T, 1, half) each
                np.cos(angles).astype(self.dtype)[:, None, :],
                np.sin(angles).astype(self.dtype)[:, None, :],
            )
        cos, sin = self.rope_tables[theta]
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    @staticmethod
    def gelu(x: np.ndarray) -> np.ndarray:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    def residual(self, x: np.ndarray, y: np.ndarray, post_scale: Any, name: str) -> np.ndarray:
        """x + y, y normed first where the model norms a sublayer's output too."""
        if self.spec.post_norms:
            y = self.norm(y, present(post_scale, name), None)
        return x + y

    def attention(self, i: int, layer: LayerWeights, a: np.ndarray) -> np.ndarray:
        """(T, hidden) normed input -> (T, heads * dh), before the output projection."""
        spec, t, dh = self.spec, self.t, self.spec.head_dim
        heads, kv_heads = spec.num_heads, spec.num_kv_heads
        qkv = a @ self.cast(layer.qkv_kernel) + self.cast(layer.qkv_bias)
        q, k, v = np.split(qkv, [heads * dh, (heads + kv_heads) * dh], -1)
        q, k, v = q.reshape(t, heads, dh), k.reshape(t, kv_heads, dh), v.reshape(t, kv_heads, dh)
        if spec.qk_norm:
            q = self.norm(q, present(layer.q_norm_scale, "q_norm_scale"), None)
            k = self.norm(k, present(layer.k_norm_scale, "k_norm_scale"), None)
        if spec.positions is Positions.ROPE:
            theta = spec.layer_rope_theta(i)
            q, k = self.rope(q, theta), self.rope(k, theta)
        # query head h reads KV head h // group
        k, v = np.repeat(k, heads // kv_heads, 1), np.repeat(v, heads // kv_heads, 1)
        mask = self.local if spec.is_local(i) else self.causal
        # Batched matmuls by head (BLAS; ``np.einsum`` here took half a calibration pass).
        q, k, v = q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(dh).astype(self.dtype) + mask  # (h, t, s)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        return (probs @ v).transpose(1, 0, 2).reshape(t, heads * dh)

    def mlp_hidden(self, layer: LayerWeights, m: np.ndarray) -> np.ndarray:
        """(T, hidden) normed input -> (T, intermediate), before the down projection."""
        up = m @ self.cast(layer.up_kernel) + self.cast(layer.up_bias)
        if self.spec.activation is Activation.SILU_GLU:
            gate = m @ self.cast(layer.gate_kernel)
            return gate / (1 + np.exp(-gate)) * up
        if self.spec.activation is Activation.GELU_TANH_GLU:
            return self.gelu(m @ self.cast(layer.gate_kernel)) * up
        return self.gelu(up)

    def embed(
        self, ids: list[int], table: np.ndarray | None = None, positions: np.ndarray | None = None
    ) -> np.ndarray:
        """(T, hidden): the first block's input; ``table`` and ``positions`` in place of
        the token and position embeddings'."""
        weights = self.weights
        x = self.cast(weights.token_embedding if table is None else table)[ids]
        positions = weights.position_embedding if positions is None else positions
        if positions is not None:
            x = x + self.cast(positions)[: self.t]
        return np.asarray(x * self.dtype(self.spec.embedding_scale))

    def block(self, i: int, layer: LayerWeights, x: np.ndarray) -> np.ndarray:
        """Layer ``i`` (its weights ``layer``) on its input x (T, hidden)."""
        cast, feed = self.cast, self.feed
        a = feed(i, "qkv", self.norm(x, layer.attn_norm_scale, layer.attn_norm_bias))
        out = feed(i, "out", self.attention(i, layer, a))
        out = out @ cast(layer.out_kernel) + cast(layer.out_bias)
        x = self.residual(x, out, layer.post_attn_norm_scale, "post_attn_norm_scale")
        m = feed(i, "gate_up", self.norm(x, layer.mlp_norm_scale, layer.mlp_norm_bias))
        hidden = feed(i, "down", self.mlp_hidden(layer, m))
        down = hidden @ cast(layer.down_kernel) + cast(layer.down_bias)
        return self.residual(x, down, layer.post_mlp_norm_scale, "post_mlp_norm_scale")

    def head(self, x: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
        """(T, vocab) logits of the last block's output; ``table`` (vocab, hidden) in
        place of the output layer's."""
        weights = self.weights
        x = self.norm(x, weights.final_norm_scale, weights.final_norm_bias)
        x = self.feed(len(weights.layers), "output", x)
        if table is None:
            table = weights.output_kernel
            table = weights.token_embedding if table is None else table
        return np.asarray(x @ self.cast(table).T)

    def logits(self, ids: list[int]) -> np.ndarray:
        x = self.embed(ids)
        for i, layer in enumerate(self.weights.layers):
            x = self.block(i, layer, x)
        return self.head(x)
