"""The fast format's graph: prefill and decode over explicit KV caches, builtins only.

``FastDecoder`` is a ``tf.Module`` whose weights are variables, so every
signature converted from it shares one copy of them. The cache layout and the
signature contract are written down in ``litecomplete.contract``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from litecomplete import contract as c
from litecomplete.models.spec import Activation, DecoderWeights, LayerWeights, Norm, Positions
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


def make_fast_decoder(
    weights: DecoderWeights,
    max_length: int,
    int8_embedding: bool = False,
    outliers: Mapping[tuple[int, str], np.ndarray] | None = None,
) -> Any:
    """A ``tf.Module`` with ``signatures(buckets)`` for ``tf.saved_model.save``.

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
    import tensorflow as tf

    spec = weights.spec
    if max_length > spec.max_positions:
        raise ValueError(f"max_length {max_length} exceeds {spec.max_positions} positions")
    heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
    group = heads // kv_heads  # query heads per KV head
    scale = 1.0 / float(np.sqrt(head_dim))

    def variable(value: np.ndarray | None, name: str) -> Any:
        return None if value is None else tf.Variable(value, trainable=False, name=name)

    class FastDecoder(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="fast_decoder")
            self.token_embedding = variable(weights.token_embedding, "token_embedding")
            self.embedding_rows: tuple[Any, Any] | None = None
            if int8_embedding:
                rows, row_scale = int8_rows(weights.token_embedding)
                self.embedding_rows = (
                    variable(rows, "token_embedding_int8"),
                    variable(row_scale, "token_embedding_scale"),
                )
                if weights.output_kernel is not None:  # untied: the float table is unused
                    self.token_embedding = None
            self.position_embedding = variable(weights.position_embedding, "position_embedding")
            self.output_kernel = variable(weights.output_kernel, "output_kernel")
            self.final_norm = (
                variable(weights.final_norm_scale, "final_norm_scale"),
                variable(weights.final_norm_bias, "final_norm_bias"),
            )
            self.blocks = [self.block(i, layer) for i, layer in enumerate(weights.layers)]
            self.output_split: tuple[np.ndarray, np.ndarray, Any] | None = None
            channels = (outliers or {}).get((spec.num_layers, "output"))
            if channels is not None and spec.norm is Norm.RMS:
                table = weights.output_kernel
                table = weights.token_embedding if table is None else table  # (vocab, hidden)
                mask = np.ones(spec.hidden_dim, np.float32)
                mask[channels] = 0.0
                side = np.ascontiguousarray(table[:, channels].T)  # (k, vocab)
                self.output_split = (channels, mask, variable(side, "output_side"))

        def block(self, i: int, layer: LayerWeights) -> dict[str, Any]:
            """Layer ``i``'s variables by field; a split kernel becomes "<field>:split":
            (kept channels, outlier channels, main kernel, side kernel)."""
            block: dict[str, Any] = {}
            for field in LayerWeights.__dataclass_fields__:
                value = getattr(layer, field)
                channels = (outliers or {}).get((i, KERNEL_INPUTS.get(field, "")))
                if value is None or channels is None:
                    block[field] = variable(value, f"layer_{i}_{field}")
                    continue
                keep = np.setdiff1d(np.arange(value.shape[0]), channels).astype(np.int32)
                block[field] = None
                block[f"{field}:split"] = (
                    keep,
                    channels,
                    variable(value[keep], f"layer_{i}_{field}_main"),
                    variable(value[channels], f"layer_{i}_{field}_side"),
                )
            return block

        # ------------------------------------------------------------ pieces

        def norm(self, x: Any, scale: Any, bias: Any, scale_first: bool = False) -> Any:
            if spec.norm is Norm.RMS:
                ms = tf.reduce_mean(tf.square(x), axis=-1, keepdims=True)
                if scale_first:  # the product's last factor is not a constant (see forward)
                    return x * scale * tf.math.rsqrt(ms + spec.norm_epsilon)
                return x * tf.math.rsqrt(ms + spec.norm_epsilon) * scale
            mean = tf.reduce_mean(x, axis=-1, keepdims=True)
            var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
            x = (x - mean) * tf.math.rsqrt(var + spec.norm_epsilon)
            return x * scale + bias if bias is not None else x * scale

        def dense(self, x: Any, w: dict[str, Any], field: str, bias: Any, name: str) -> Any:
            # (T, in) @ (in, out): one FULLY_CONNECTED (bias fused), named for per-op
            # quantization recipes; a split kernel: two, on gathered input channels.
            split = w.get(f"{field}:split")
            if split is None:
                y = tf.matmul(x, w[field], name=name)  # a fused bias keeps the matmul's name
            else:
                keep, channels, main, side = split
                y = tf.matmul(tf.gather(x, keep, axis=1), main, name=name)  # (T, out)
                y = y + tf.matmul(tf.gather(x, channels, axis=1), side, name=name + SIDE_SUFFIX)
            return y + bias if bias is not None else y

        def project_qkv(self, x: Any, w: dict[str, Any], positions: Any, t: int) -> Any:
            """x: (T, hidden) -> q (1, kv, group * T, dh) scaled, k (1, kv, T, dh),
            v (1, kv, dh, T); q and k rotated by ``positions`` (T,) where the model ropes."""
            # (T, (h + 2kv) * dh)
            qkv = self.dense(x, w, "qkv_kernel", w["qkv_bias"], "qkv_proj")
            q, k, v = tf.split(
                qkv, [heads * head_dim, kv_heads * head_dim, kv_heads * head_dim], axis=-1
            )
            if spec.positions is Positions.ROPE:  # rotate q and k by their absolute positions
                q = tf.reshape(self.rope(tf.reshape(q, [t, heads, head_dim]), positions), [t, -1])
                k = tf.reshape(
                    self.rope(tf.reshape(k, [t, kv_heads, head_dim]), positions), [t, -1]
                )
            q = tf.reshape(q * scale, [t, kv_heads, group, head_dim])  # query head = kv*group+g
            q = tf.reshape(tf.transpose(q, [1, 2, 0, 3]), [1, kv_heads, group * t, head_dim])
            k = tf.transpose(tf.reshape(k, [t, kv_heads, head_dim]), [1, 0, 2])[tf.newaxis]
            # k: (1, kv, T, dh); v stored transposed: (1, kv, dh, T)
            v = tf.transpose(tf.reshape(v, [t, kv_heads, head_dim]), [1, 2, 0])[tf.newaxis]
            return q, k, v

        def merge_heads(self, out: Any, w: dict[str, Any], t: int) -> Any:
            """(1, kv, group * T, dh) -> output projection (T, hidden)."""
            out = tf.reshape(out, [kv_heads, group, t, head_dim])
            out = tf.reshape(tf.transpose(out, [2, 0, 1, 3]), [t, heads * head_dim])
            return self.dense(out, w, "out_kernel", w["out_bias"], "out_proj")

        def attention(
            self, x: Any, w: dict[str, Any], input_pos: Any, k_cache: Any, v_cache: Any, t: int
        ) -> tuple[Any, Any, Any]:
            """x (T, hidden) at ``input_pos`` (T,) -> (T, hidden), and the whole caches with
            the new keys and values written as T slots from ``input_pos[0]``."""
            from tensorflow.compiler.tf2xla.python import xla

            q, k, v = self.project_qkv(x, w, input_pos, t)
            start = input_pos[0]
            zero = tf.constant(0, tf.int32)
            # (1, kv, max_length, dh) and (1, kv, dh, max_length), T slots from ``start``.
            k_cache = xla.dynamic_update_slice(k_cache, k, [zero, zero, start, zero])
            v_cache = xla.dynamic_update_slice(v_cache, v, [zero, zero, zero, start])
            max_length = k_cache.shape[2]
            # Row r sees slot j iff j <= input_pos[r]; rows repeat per group.
            mask = tf.where(
                tf.range(max_length)[tf.newaxis, :] <= input_pos[:, tf.newaxis], 0.0, NEG_INF
            )  # (T, max_length)
            mask = tf.tile(mask, [group, 1])  # (group * T, max_length)
            scores = tf.matmul(q, k_cache, transpose_b=True) + mask  # (1, kv, gT, max_length)
            probs = tf.nn.softmax(scores, axis=-1)
            out = tf.matmul(probs, v_cache, transpose_b=True)  # (1, kv, group * T, dh)
            return self.merge_heads(out, w, t), k_cache, v_cache

        def mlp(self, x: Any, w: dict[str, Any]) -> Any:
            up = self.dense(x, w, "up_kernel", w["up_bias"], "up_proj")
            if spec.activation is Activation.SILU_GLU:
                hidden = tf.nn.silu(self.dense(x, w, "gate_kernel", None, "gate_proj")) * up
            else:
                hidden = tf.nn.gelu(up, approximate=True)
            return self.dense(hidden, w, "down_kernel", w["down_bias"], "down_proj")

        def rope(self, x: Any, positions: Any) -> Any:
            """Rotary embedding, rotate-half layout; x: (T, heads, head_dim)."""
            half = head_dim // 2
            # Angles and their sines in float64, rounded once: a float32 angle of position
            # p carries p * 6e-8 of error before the sine makes it worse.
            angles = np.arange(max_length, dtype=np.float64)[:, np.newaxis] / (
                spec.rope_theta ** (np.arange(half, dtype=np.float64) * 2 / head_dim)
            )
            rows = tf.minimum(positions, max_length - 1)
            cos = tf.gather(np.cos(angles).astype(np.float32), rows)[:, tf.newaxis, :]
            sin = tf.gather(np.sin(angles).astype(np.float32), rows)[:, tf.newaxis, :]
            x1, x2 = x[..., :half], x[..., half:]
            return tf.concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

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
            return x

        def lm_head(self, last: Any) -> Any:
            """(rows, hidden) -> logits (rows, vocab)."""
            # The converter folds a constant scale that ends a matmul's input into the
            # matmul's weights; with a tied table that would store the table twice.
            # Output projection, tied to the embedding unless the model has its own:
            # (1, hidden) @ (vocab, hidden)^T is a FULLY_CONNECTED reading the table as stored.
            output = self.output_kernel if self.output_kernel is not None else self.token_embedding
            if self.output_split is None:
                last = self.norm(last, *self.final_norm, scale_first=True)
                return tf.matmul(last, output, transpose_b=True, name=OUTPUT_LAYER)
            # The outlier channels zeroed inside the norm's scale (a mask after it would
            # be folded into a second copy of the table), and read by a float matmul.
            channels, mask, side = self.output_split
            scale = self.final_norm[0]
            main = self.norm(last, scale * mask, None, scale_first=True)
            y = tf.matmul(main, output, transpose_b=True, name=OUTPUT_LAYER)
            full = self.norm(last, scale, None, scale_first=True)
            return y + tf.matmul(
                tf.gather(full, channels, axis=1), side, name=OUTPUT_LAYER + SIDE_SUFFIX
            )

        def forward(
            self, tokens: Any, input_pos: Any, caches: list[Any], t: int, every_row: bool = False
        ) -> dict[str, Any]:
            """tokens (1, T) at ``input_pos`` (T,) -> the whole updated caches under the
            inputs' names, and logits (1, 1, vocab) of the last real token, or with
            ``every_row`` (T, vocab) of every row (no reshape: its copy held 2 MiB more)."""
            positions = tf.minimum(input_pos, spec.max_positions - 1)  # (T,)
            x = self.embed(tokens, positions)
            outputs: dict[str, Any] = {}
            for i, w in enumerate(self.blocks):
                a = self.norm(x, w["attn_norm_scale"], w["attn_norm_bias"])
                a, k_cache, v_cache = self.attention(
                    a, w, input_pos, caches[2 * i], caches[2 * i + 1], t
                )
                x = x + a
                x = x + self.mlp(self.norm(x, w["mlp_norm_scale"], w["mlp_norm_bias"]), w)
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

        # ------------------------------------------------------------ signatures

        def cache_specs(self) -> list[Any]:
            specs = []
            for i in range(spec.num_layers):
                specs.append(
                    tf.TensorSpec(
                        [1, kv_heads, max_length, head_dim], tf.float32, name=c.k_cache_name(i)
                    )
                )
                specs.append(
                    tf.TensorSpec(
                        [1, kv_heads, head_dim, max_length], tf.float32, name=c.v_cache_name(i)
                    )
                )
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

    return FastDecoder()
