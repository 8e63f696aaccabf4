"""The fast format's graph: prefill and decode over explicit KV caches, builtins only.

``FastDecoder`` is a ``tf.Module`` whose weights are variables, so every
signature converted from it shares one copy of them. The cache layout and the
signature contract are written down in ``litecomplete.contract``. The layers are
functions of the block's variables, in the order a token meets them: norm, QKV
projection (with RoPE), attention over the caches, output projection, MLP, and
the output layer. Shapes: T tokens a call, ``kv`` KV heads, ``group`` query heads
per KV head, ``dh`` head width, ``L`` cache slots (``max_length``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf
from tensorflow.compiler.tf2xla.python import xla

from litecomplete import contract as c
from litecomplete.models.spec import (
    Activation,
    DecoderSpec,
    DecoderWeights,
    LayerWeights,
    Norm,
    Positions,
)
from litecomplete.quantize.outliers import OUTPUT_LAYER, SIDE_SUFFIX

NEG_INF = -1e9  # large but finite: softmax of a fully masked row stays finite


def int8_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``table`` float32[rows, cols] as int8[rows, cols] and a float32[rows] scale per row.

    The scales are those a quantizer gives a matmul weight per output channel, so a
    tied table's lookup copy and its output matmul's copy differ at most in how ties
    were rounded, and the writer stores them once
    (``flatbuffer_edit.share_requantized_tables``).
    """
    peak = np.abs(table).max(axis=1)
    peak = np.where(peak > 0, peak, 127.0).astype(np.float32)
    scale = (peak / np.float32(127)).astype(np.float32)
    rows = np.round(table.astype(np.float64) / scale.astype(np.float64)[:, np.newaxis])
    return np.clip(rows, -127, 127).astype(np.int8), scale


# Which recorded matmul input (``eval.numpy_forward``) each kernel reads.
KERNEL_INPUTS = {
    "qkv_kernel": "qkv",
    "out_kernel": "out",
    "gate_kernel": "gate_up",
    "up_kernel": "gate_up",
    "down_kernel": "down",
}


class SplitKernel(NamedTuple):
    """A matmul split by input channel (``quantize.outliers``): ``main`` reads the
    ``keep`` channels, ``side`` (float in ``int8``) the outlier ``channels``."""

    keep: np.ndarray
    channels: np.ndarray
    main: Any
    side: Any


def _variable(value: np.ndarray | None, name: str) -> Any:
    return None if value is None else tf.Variable(value, trainable=False, name=name)


def block_variables(
    i: int, layer: LayerWeights, outliers: Mapping[tuple[int, str], np.ndarray]
) -> dict[str, Any]:
    """Layer ``i``'s variables by field; a split kernel becomes ``"<field>:split"``."""
    block: dict[str, Any] = {}
    for field in LayerWeights.__dataclass_fields__:
        value = getattr(layer, field)
        channels = outliers.get((i, KERNEL_INPUTS.get(field, "")))
        if value is None or channels is None:
            block[field] = _variable(value, f"layer_{i}_{field}")
            continue
        keep = np.setdiff1d(np.arange(value.shape[0]), channels).astype(np.int32)
        block[field] = None
        block[f"{field}:split"] = SplitKernel(
            keep,
            channels,
            _variable(value[keep], f"layer_{i}_{field}_main"),
            _variable(value[channels], f"layer_{i}_{field}_side"),
        )
    return block


def norm(x: Any, spec: DecoderSpec, scale: Any, bias: Any, scale_first: bool = False) -> Any:
    """LayerNorm or RMSNorm over the last axis of x (T, hidden)."""
    if spec.norm is Norm.RMS:
        ms = tf.reduce_mean(tf.square(x), axis=-1, keepdims=True)  # (T, 1)
        if scale_first:  # the product's last factor is not a constant (see ``lm_head``)
            return x * scale * tf.math.rsqrt(ms + spec.norm_epsilon)
        return x * tf.math.rsqrt(ms + spec.norm_epsilon) * scale
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
    x = (x - mean) * tf.math.rsqrt(var + spec.norm_epsilon)
    return x * scale + bias if bias is not None else x * scale


def dense(x: Any, w: dict[str, Any], field: str, bias: Any, name: str) -> Any:
    """(T, in) @ (in, out): one FULLY_CONNECTED (bias fused), named for per-op
    quantization recipes; a split kernel: two, on gathered input channels."""
    split = w.get(f"{field}:split")
    if split is None:
        y = tf.matmul(x, w[field], name=name)  # a fused bias keeps the matmul's name
    else:
        y = tf.matmul(tf.gather(x, split.keep, axis=1), split.main, name=name)  # (T, out)
        side = tf.matmul(tf.gather(x, split.channels, axis=1), split.side, name=name + SIDE_SUFFIX)
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
    cache's ``max_length``, the block's RoPE base and sliding window (None: global)."""

    spec: DecoderSpec
    max_length: int
    rope_theta: float
    window: int | None

    @classmethod
    def of(cls, spec: DecoderSpec, i: int, max_length: int) -> LayerChoices:
        # A window as long as the cache hides nothing: no mask is built for it.
        window = spec.sliding_window if spec.is_local(i) else None
        window = window if window is not None and window < max_length else None
        return cls(spec, max_length, spec.layer_rope_theta(i), window)


def attention_mask(input_pos: Any, layer: LayerChoices) -> Any:
    """(group * T, L): 0 where row r may see slot j, else NEG_INF. Row r sees slot j
    iff j <= input_pos[r], and within a sliding window j > input_pos[r] - window."""
    slots = tf.range(layer.max_length)[tf.newaxis, :]  # (1, L)
    rows = input_pos[:, tf.newaxis]  # (T, 1)
    seen = slots <= rows
    if layer.window is not None:
        seen = tf.logical_and(seen, slots > rows - layer.window)
    mask = tf.where(seen, 0.0, NEG_INF)  # (T, L)
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
    from ``input_pos[0]``."""
    k_cache, v_cache = caches
    q, k, v = project_qkv(x, w, input_pos, t, layer)
    start = input_pos[0]
    zero = tf.constant(0, tf.int32)
    k_cache = xla.dynamic_update_slice(k_cache, k, [zero, zero, start, zero])
    v_cache = xla.dynamic_update_slice(v_cache, v, [zero, zero, zero, start])
    scores = tf.matmul(q, k_cache, transpose_b=True)  # (1, kv, group * T, L)
    scores = scores + attention_mask(input_pos, layer)  # rows repeat per group
    probs = tf.nn.softmax(scores, axis=-1)
    out = tf.matmul(probs, v_cache, transpose_b=True)  # (1, kv, group * T, dh)
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


class OutputSplit(NamedTuple):
    """The output layer's outlier ``channels``: zeroed by ``mask`` in the main matmul's
    input, read by ``side`` (k, vocab)."""

    channels: np.ndarray
    mask: np.ndarray
    side: Any


class FastDecoder(tf.Module):
    """The weights as variables, and the signatures that run them (``signatures``).

    ``int8_embedding`` stores the token-embedding table for the lookup as int8 rows
    with a scale each, for the integer modes: ai-edge-quantizer leaves a GATHER's
    table float, and the TFLite converter quantizes it apart from the matmul's copy
    (once per signature with full integer). A tied output projection keeps reading
    the float table, which the quantizer then quantizes as a matmul weight.

    ``outliers`` (``quantize.outliers``) splits a matmul by input channel: the listed
    channels through a matmul named ``<name>_side``, the others through the
    main one. The output layer of an RMS-norm model is split too, its main matmul
    reading the whole tied table (the outlier channels zeroed in its input).
    """

    def __init__(
        self,
        weights: DecoderWeights,
        max_length: int,
        int8_embedding: bool = False,
        outliers: Mapping[tuple[int, str], np.ndarray] | None = None,
    ) -> None:
        super().__init__(name="fast_decoder")
        spec = self.spec = weights.spec
        self.max_length = max_length
        outliers = outliers or {}
        self.token_embedding = _variable(weights.token_embedding, "token_embedding")
        self.embedding_rows: tuple[Any, Any] | None = None
        if int8_embedding:
            rows, row_scale = int8_rows(weights.token_embedding)
            self.embedding_rows = (
                _variable(rows, "token_embedding_int8"),
                _variable(row_scale, "token_embedding_scale"),
            )
            if weights.output_kernel is not None:  # untied: the float table is unused
                self.token_embedding = None
        self.position_embedding = _variable(weights.position_embedding, "position_embedding")
        self.output_kernel = _variable(weights.output_kernel, "output_kernel")
        self.final_norm = (
            _variable(weights.final_norm_scale, "final_norm_scale"),
            _variable(weights.final_norm_bias, "final_norm_bias"),
        )
        self.blocks = [block_variables(i, w, outliers) for i, w in enumerate(weights.layers)]
        self.output_split: OutputSplit | None = None
        channels = outliers.get((spec.num_layers, "output"))
        if channels is not None and spec.norm is Norm.RMS:
            table = weights.output_kernel
            table = weights.token_embedding if table is None else table  # (vocab, hidden)
            mask = np.ones(spec.hidden_dim, np.float32)
            mask[channels] = 0.0
            side = np.ascontiguousarray(table[:, channels].T)  # (k, vocab)
            self.output_split = OutputSplit(channels, mask, _variable(side, "output_side"))

    def embed(self, tokens: Any, positions: Any) -> Any:
        """tokens (1, T) at positions (T,) -> (T, hidden)."""
        if self.embedding_rows is not None:
            rows, row_scale = self.embedding_rows
            x = tf.cast(tf.gather(rows, tokens[0]), tf.float32)  # (T, hidden)
            x = x * tf.gather(row_scale, tokens[0])[:, tf.newaxis]
        else:
            x = tf.gather(self.token_embedding, tokens[0])  # (T, hidden)
        if self.position_embedding is not None:
            x = x + tf.gather(self.position_embedding, positions)
        if self.spec.embedding_scale != 1.0:
            x = x * self.spec.embedding_scale
        return x

    def lm_head(self, last: Any) -> Any:
        """(rows, hidden) -> logits (rows, vocab)."""
        # The converter folds a constant scale that ends a matmul's input into the
        # matmul's weights; with a tied table that would store the table twice.
        # Output projection, tied to the embedding unless the model has its own:
        # (1, hidden) @ (vocab, hidden)^T is a FULLY_CONNECTED reading the table as stored.
        output = self.output_kernel if self.output_kernel is not None else self.token_embedding
        if self.output_split is None:
            last = norm(last, self.spec, *self.final_norm, scale_first=True)
            return tf.matmul(last, output, transpose_b=True, name=OUTPUT_LAYER)
        # The outlier channels zeroed inside the norm's scale (a mask after it would
        # be folded into a second copy of the table), and read by a float matmul.
        channels, mask, side = self.output_split
        scale = self.final_norm[0]
        main = norm(last, self.spec, scale * mask, None, scale_first=True)
        y = tf.matmul(main, output, transpose_b=True, name=OUTPUT_LAYER)
        full = norm(last, self.spec, scale, None, scale_first=True)
        return y + tf.matmul(
            tf.gather(full, channels, axis=1), side, name=OUTPUT_LAYER + SIDE_SUFFIX
        )

    def forward(
        self, tokens: Any, input_pos: Any, caches: list[Any], t: int, every_row: bool = False
    ) -> dict[str, Any]:
        """tokens (1, T) at ``input_pos`` (T,) -> the whole updated caches under the
        inputs' names, and logits (1, 1, vocab) of the last real token, or with
        ``every_row`` (T, vocab) of every row (no reshape: its copy held 2 MiB more)."""
        spec = self.spec
        positions = tf.minimum(input_pos, spec.max_positions - 1)  # (T,)
        x = self.embed(tokens, positions)
        outputs: dict[str, Any] = {}
        for i, w in enumerate(self.blocks):
            a = norm(x, spec, w["attn_norm_scale"], w["attn_norm_bias"])
            pair = (caches[2 * i], caches[2 * i + 1])
            layer = LayerChoices.of(spec, i, self.max_length)
            a, k_cache, v_cache = attention(a, w, input_pos, pair, t, layer)
            if spec.post_norms:
                a = norm(a, spec, w["post_attn_norm_scale"], None)
            x = x + a
            m = mlp(norm(x, spec, w["mlp_norm_scale"], w["mlp_norm_bias"]), w, spec)
            if spec.post_norms:
                m = norm(m, spec, w["post_mlp_norm_scale"], None)
            x = x + m
            outputs[c.k_cache_name(i)] = k_cache
            outputs[c.v_cache_name(i)] = v_cache
        if every_row:  # (T, vocab)
            outputs[c.LOGITS] = self.lm_head(x)
            return outputs
        # The last real token holds the largest position (padding rows hold 0). A
        # gather with a static index shape keeps the output's shape static.
        last = tf.gather(x, tf.reshape(tf.argmax(input_pos, output_type=tf.int32), [1]))
        outputs[c.LOGITS] = tf.reshape(self.lm_head(last), [1, 1, -1])  # (1, 1, vocab)
        return outputs

    def cache_specs(self) -> list[Any]:
        """Per layer: k_cache (1, kv, L, dh), v_cache (1, kv, dh, L)."""
        sizes = (self.spec.num_kv_heads, self.spec.head_dim, self.max_length)
        k_shape, v_shape = c.k_cache_shape(*sizes), c.v_cache_shape(*sizes)
        specs = []
        for i in range(self.spec.num_layers):
            specs.append(tf.TensorSpec(k_shape, tf.float32, name=c.k_cache_name(i)))
            specs.append(tf.TensorSpec(v_shape, tf.float32, name=c.v_cache_name(i)))
        return specs

    def signature(self, t: int, every_row: bool = False) -> Any:
        """The concrete function feeding ``t`` tokens (``every_row``: all logits)."""

        def run(tokens: Any, input_pos: Any, *caches: Any) -> dict[str, Any]:
            return self.forward(tokens, input_pos, list(caches), t, every_row)

        return tf.function(run).get_concrete_function(
            tf.TensorSpec([1, t], tf.int32, name=c.TOKENS),
            tf.TensorSpec([t], tf.int32, name=c.INPUT_POS),
            *self.cache_specs(),
        )

    def signatures(self, buckets: list[int], verify: tuple[int, ...] = ()) -> dict[str, Any]:
        """``{signature key: concrete function}`` for prefill buckets, verify lengths
        (every row's logits) and decode."""
        result = {c.verify_signature(t): self.signature(t, every_row=True) for t in verify}
        result |= {c.prefill_signature(t): self.signature(t) for t in buckets}
        result[c.DECODE_SIGNATURE] = self.signature(1)
        return result


def make_fast_decoder(
    weights: DecoderWeights,
    max_length: int,
    int8_embedding: bool = False,
    outliers: Mapping[tuple[int, str], np.ndarray] | None = None,
) -> FastDecoder:
    """A ``FastDecoder`` (see there) for ``tf.saved_model.save``."""
    if max_length > weights.spec.max_positions:
        raise ValueError(f"max_length {max_length} exceeds {weights.spec.max_positions} positions")
    return FastDecoder(weights, max_length, int8_embedding, outliers)
