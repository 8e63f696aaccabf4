"""The fast format's layers: functions of a block's variables, in the order a token meets
them: norm, QKV projection (q/k norms and RoPE where the model has them), attention
over the caches (a sliding window where a layer has one), output projection, MLP.

Shapes: T tokens a call, ``kv`` KV heads, ``group`` query heads per KV head, ``dh`` head
width, ``L`` cache slots (``max_length``). ``fast_graph.FastDecoder`` holds the
variables and composes these into signatures.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf
from tensorflow.compiler.tf2xla.python import xla

from litecomplete.models.spec import Activation, DecoderSpec, Norm, Positions
from litecomplete.quantize.outliers import SIDE_SUFFIX

NEG_INF = -1e9  # large but finite: softmax of a fully masked row stays finite
# A block's entry holding its ops' name prefix, "layer_<i>_".
LAYER_NAME = "name"


class SplitKernel(NamedTuple):
    """A matmul split by input channel (``quantize.outliers``): ``main`` reads the
    ``keep`` channels, ``side`` (float in ``int8``) the outlier ``channels``."""

    keep: np.ndarray
    channels: np.ndarray
    main: Any
    side: Any


def norm(x: Any, spec: DecoderSpec, scale: Any, bias: Any, scale_first: bool = False) -> Any:
    """LayerNorm or RMSNorm over the last axis of x (T, hidden).

    ``scale_first``: RMSNorm multiplies by its scale before the normalizing factor. The
    TFLite converter folds a constant multiply that ends a matmul's input into the
    matmul's weights: harmless for float weights (the product rounds once, at
    conversion), but one channel's large scale (Gemma 3's reach 40x the median) would
    cost every other channel of int8 weights its precision, and a tied output table
    would be stored twice."""
    if spec.norm is Norm.RMS:
        ms = tf.reduce_mean(tf.square(x), axis=-1, keepdims=True)  # (T, 1)
        if scale_first:
            return x * scale * tf.math.rsqrt(ms + spec.norm_epsilon)
        return x * tf.math.rsqrt(ms + spec.norm_epsilon) * scale
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
    x = (x - mean) * tf.math.rsqrt(var + spec.norm_epsilon)
    return x * scale + bias if bias is not None else x * scale


def columns(x: Any, index: np.ndarray) -> Any:
    """x (T, n) -> its columns at ``index`` (T, k). TFLite's GATHER, which XNNPACK does
    not run, copies one slice per row and index; a column of x is one float, so a
    gather along axis 1 makes T * k copies of 4 bytes. On x transposed the slices are
    rows of T floats: k copies, and the two transposes run in XNNPACK."""
    if x.shape[0] == 1:
        return tf.gather(x, index, axis=1)
    return tf.transpose(tf.gather(tf.transpose(x), index))  # (n, T) -> (k, T) -> (T, k)


def dense(x: Any, w: dict[str, Any], field: str, bias: Any, name: str) -> Any:
    """(T, in) @ (in, out): one FULLY_CONNECTED (bias fused), named ``layer_<i>_<name>``
    for per-op quantization recipes (``quantize.weights``); a split kernel: two, on
    gathered input channels."""
    name = w[LAYER_NAME] + name
    split = w.get(f"{field}:split")
    if split is None:
        y = tf.matmul(x, w[field], name=name)  # a fused bias keeps the matmul's name
    else:
        y = tf.matmul(columns(x, split.keep), split.main, name=name)  # (T, out)
        side = tf.matmul(columns(x, split.channels), split.side, name=name + SIDE_SUFFIX)
        y = y + side
    return y + bias if bias is not None else y


def rope(x: Any, positions: Any, theta: float, max_length: int) -> Any:
    """Rotary embedding of base ``theta``, rotate-half layout; x: (T, heads, dh),
    positions (T,)."""
    head_dim = x.shape[-1]
    half = head_dim // 2
    # Angles and their sines in float64, rounded once: a float32 angle of position
    # p carries p * 6e-8 of error before the sine makes it worse.
    angles = np.arange(max_length, dtype=np.float64)[:, np.newaxis] / (
        theta ** (np.arange(half, dtype=np.float64) * 2 / head_dim)
    )  # (L, dh / 2)
    rows = tf.minimum(positions, max_length - 1)
    cos = tf.gather(np.cos(angles).astype(np.float32), rows)[:, tf.newaxis, :]  # (T, 1, dh/2)
    sin = tf.gather(np.sin(angles).astype(np.float32), rows)[:, tf.newaxis, :]
    x1, x2 = x[..., :half], x[..., half:]
    return tf.concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def project_qkv(
    x: Any, w: dict[str, Any], positions: Any, t: int, layer: LayerChoices
) -> tuple[Any, Any, Any]:
    """x: (T, hidden) -> q (1, kv, group * T, dh) scaled, k (1, kv, T, dh),
    v (1, kv, dh, T); q and k normed per head where the model does, and rotated by
    ``positions`` (T,) where it ropes."""
    spec = layer.spec
    heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
    group = heads // kv_heads  # query head = kv * group + g
    qkv = dense(x, w, "qkv_kernel", w["qkv_bias"], "qkv_proj")  # (T, (h + 2kv) * dh)
    q, k, v = tf.split(qkv, [heads * head_dim, kv_heads * head_dim, kv_heads * head_dim], axis=-1)
    if spec.qk_norm or spec.positions is Positions.ROPE:  # per head: (T, heads, dh)
        q, k = tf.reshape(q, [t, heads, head_dim]), tf.reshape(k, [t, kv_heads, head_dim])
        if spec.qk_norm:
            q = norm(q, spec, w["q_norm_scale"], None)
            k = norm(k, spec, w["k_norm_scale"], None)
        if spec.positions is Positions.ROPE:  # rotate q and k by their absolute positions
            q = rope(q, positions, layer.rope_theta, layer.max_length)
            k = rope(k, positions, layer.rope_theta, layer.max_length)
        q, k = tf.reshape(q, [t, -1]), tf.reshape(k, [t, -1])
    q = tf.reshape(q * (1.0 / float(np.sqrt(head_dim))), [t, kv_heads, group, head_dim])
    q = tf.reshape(tf.transpose(q, [1, 2, 0, 3]), [1, kv_heads, group * t, head_dim])
    # k: (1, kv, T, dh); v stored transposed: (1, kv, dh, T)
    k = tf.transpose(tf.reshape(k, [t, kv_heads, head_dim]), [1, 0, 2])[tf.newaxis]
    v = tf.transpose(tf.reshape(v, [t, kv_heads, head_dim]), [1, 2, 0])[tf.newaxis]
    return q, k, v


def merge_heads(out: Any, w: dict[str, Any], t: int, spec: DecoderSpec) -> Any:
    """(1, kv, group * T, dh) -> output projection (T, hidden)."""
    heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
    out = tf.reshape(out, [kv_heads, heads // kv_heads, t, head_dim])  # (kv, group, T, dh)
    out = tf.reshape(tf.transpose(out, [2, 0, 1, 3]), [t, heads * head_dim])  # (T, h * dh)
    return dense(out, w, "out_kernel", w["out_bias"], "out_proj")


class LayerChoices(NamedTuple):
    """What a block's attention needs beyond its weights: the model's ``spec``, the
    cache's ``max_length``, the block's RoPE base and sliding window (None: global),
    and the cache slots its attention reads (``span``: the first ones)."""

    spec: DecoderSpec
    max_length: int
    rope_theta: float
    window: int | None
    span: int

    @classmethod
    def of(
        cls, spec: DecoderSpec, i: int, max_length: int, span: int | None = None
    ) -> LayerChoices:
        span = max_length if span is None else span
        # A window as long as the slots read hides nothing: no mask is built for it.
        window = spec.sliding_window if spec.is_local(i) else None
        window = window if window is not None and window < span else None
        return cls(spec, max_length, spec.layer_rope_theta(i), window, span)


def attention_mask(input_pos: Any, layer: LayerChoices) -> Any:
    """(group * T, S): 0 where row r may see slot j, else NEG_INF (S = ``layer.span``).
    Row r sees slot j iff j <= input_pos[r], and within a sliding window
    j > input_pos[r] - window."""
    slots = tf.range(layer.span)[tf.newaxis, :]  # (1, S)
    rows = input_pos[:, tf.newaxis]  # (T, 1)
    seen = slots <= rows
    if layer.window is not None:
        seen = tf.logical_and(seen, slots > rows - layer.window)
    mask = tf.where(seen, 0.0, NEG_INF)  # (T, S)
    return tf.tile(mask, [layer.spec.num_heads // layer.spec.num_kv_heads, 1])


def attention(
    x: Any,
    w: dict[str, Any],
    input_pos: Any,
    caches: tuple[Any, Any],
    t: int,
    layer: LayerChoices,
) -> tuple[Any, Any, Any]:
    """x (T, hidden) at ``input_pos`` (T,) -> (T, hidden), and the whole caches
    (1, kv, L, dh) and (1, kv, dh, L) with the new keys and values written as T slots
    from ``input_pos[0]``. Attention reads the first ``layer.span`` slots (S) of them."""
    k_cache, v_cache = caches
    q, k, v = project_qkv(x, w, input_pos, t, layer)
    start = input_pos[0]
    zero = tf.constant(0, tf.int32)
    k_cache = xla.dynamic_update_slice(k_cache, k, [zero, zero, start, zero])
    v_cache = xla.dynamic_update_slice(v_cache, v, [zero, zero, zero, start])
    keys, values = k_cache, v_cache
    if layer.span < layer.max_length:
        keys = k_cache[:, :, : layer.span, :]  # (1, kv, S, dh)
        values = v_cache[:, :, :, : layer.span]  # (1, kv, dh, S)
    scores = tf.matmul(q, keys, transpose_b=True)  # (1, kv, group * T, S)
    scores = scores + attention_mask(input_pos, layer)  # rows repeat per group
    probs = tf.nn.softmax(scores, axis=-1)
    out = tf.matmul(probs, values, transpose_b=True)  # (1, kv, group * T, dh)
    return merge_heads(out, w, t, layer.spec), k_cache, v_cache


def mlp(x: Any, w: dict[str, Any], spec: DecoderSpec) -> Any:
    """(T, hidden) -> (T, hidden): GELU, SwiGLU's SiLU(gate) * up, or GeGLU's
    GELU(gate) * up."""
    up = dense(x, w, "up_kernel", w["up_bias"], "up_proj")  # (T, intermediate)
    if spec.activation is Activation.SILU_GLU:
        hidden = tf.nn.silu(dense(x, w, "gate_kernel", None, "gate_proj")) * up
    elif spec.activation is Activation.GELU_TANH_GLU:
        gate = dense(x, w, "gate_kernel", None, "gate_proj")
        hidden = tf.nn.gelu(gate, approximate=True) * up
    else:
        hidden = tf.nn.gelu(up, approximate=True)
    return dense(hidden, w, "down_kernel", w["down_bias"], "down_proj")
