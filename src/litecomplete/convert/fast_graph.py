"""The fast format's graph: prefill and decode over explicit KV caches, builtins only.

``FastDecoder`` is a ``tf.Module`` whose weights are variables, so every
signature converted from it shares one copy of them; its blocks run the layers of
``fast_layers``, and it adds the embedding lookup and the output layer. The cache
layout and the signature contract are written down in ``litecomplete.contract``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from litecomplete import contract as c
from litecomplete.convert.fast_layers import (
    LAYER_NAME,
    LayerChoices,
    SplitKernel,
    attention,
    columns,
    mlp,
    norm,
)
from litecomplete.models.spec import DecoderWeights, LayerWeights, Norm
from litecomplete.quantize.outliers import OUTPUT_LAYER, SIDE_SUFFIX, UNIT_KERNELS, layer_prefix


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


def _gather_rows(rows: Any, row_scale: Any, index: Any) -> Any:
    """int8 ``rows`` (n, cols) with ``row_scale`` (n,) at ``index`` (T,) -> float (T, cols)."""
    x = tf.cast(tf.gather(rows, index), tf.float32)  # (T, cols)
    return x * tf.gather(row_scale, index)[:, tf.newaxis]


# Which recorded matmul input (``eval.numpy_forward``) each kernel reads.
KERNEL_INPUTS = {kernel: p for p, kernels in UNIT_KERNELS.items() for kernel in kernels}


def _variable(value: np.ndarray | None, name: str) -> Any:
    return None if value is None else tf.Variable(value, trainable=False, name=name)


def block_variables(
    i: int, layer: LayerWeights, outliers: Mapping[tuple[int, str], np.ndarray]
) -> dict[str, Any]:
    """Layer ``i``'s variables by field; a split kernel becomes ``"<field>:split"``."""
    block: dict[str, Any] = {LAYER_NAME: layer_prefix(i)}
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
    the float table, which the quantizer then quantizes as a matmul weight. A learned
    position table keeps the ``max_length`` rows a cache can reach (as RoPE's tables
    do), as int8 rows with a scale each with ``int8_positions`` (the small modes).
    ``fold_norms`` lets the converter fold a layer's RMS norm scales into its float
    weights (``fast_layers.norm``); the integer modes keep them in the activations.

    ``outliers`` (``quantize.outliers``) splits a matmul by input channel: the listed
    channels through a matmul named ``<name>_side``, the others through the
    main one. The output layer of an RMS-norm model is split too, its main matmul
    reading the whole tied table (the outlier channels zeroed in its input).
    """

    def __init__(
        self,
        weights: DecoderWeights,
        max_length: int,
        *,
        int8_embedding: bool = False,
        outliers: Mapping[tuple[int, str], np.ndarray] | None = None,
        int8_positions: bool = False,
        fold_norms: bool = False,
    ) -> None:
        if max_length > weights.spec.max_positions:
            raise ValueError(
                f"max_length {max_length} exceeds {weights.spec.max_positions} positions"
            )
        super().__init__(name="fast_decoder")
        spec = self.spec = weights.spec
        self.max_length = max_length
        self.fold_norms = fold_norms
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
        self.position_embedding: Any = None
        self.position_rows: tuple[Any, Any] | None = None
        if weights.position_embedding is not None:
            positions = weights.position_embedding[:max_length]  # (max_length, hidden)
            if int8_positions:
                rows, row_scale = int8_rows(positions)
                self.position_rows = (
                    _variable(rows, "position_embedding_int8"),
                    _variable(row_scale, "position_embedding_scale"),
                )
            else:
                self.position_embedding = _variable(positions, "position_embedding")
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
            x = _gather_rows(*self.embedding_rows, tokens[0])  # (T, hidden)
        else:
            x = tf.gather(self.token_embedding, tokens[0])  # (T, hidden)
        if self.position_rows is not None:
            x = x + _gather_rows(*self.position_rows, positions)
        elif self.position_embedding is not None:
            x = x + tf.gather(self.position_embedding, positions)
        if self.spec.embedding_scale != 1.0:
            x = x * self.spec.embedding_scale
        return x

    def lm_head(self, last: Any) -> Any:
        """(rows, hidden) -> logits (rows, vocab)."""
        # The final norm's scale first (``fast_layers.norm``): folded into a tied
        # table, it would store the table twice.
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
        return y + tf.matmul(columns(full, channels), side, name=OUTPUT_LAYER + SIDE_SUFFIX)

    def forward(
        self,
        tokens: Any,
        input_pos: Any,
        caches: list[Any],
        t: int,
        logits: c.Logits = c.Logits.LAST,
        span: int | None = None,
    ) -> dict[str, Any]:
        """tokens (1, T) at ``input_pos`` (T,) -> the whole updated caches under the
        inputs' names, and ``logits``: (1, 1, vocab) of the last real token, (T, vocab)
        of every row (no reshape: its copy held 2 MiB more), or none (the output layer
        is not computed). Attention reads the caches' first ``span`` slots (None: all)."""
        spec = self.spec
        positions = tf.minimum(input_pos, self.max_length - 1)  # (T,)
        x = self.embed(tokens, positions)
        outputs: dict[str, Any] = {}
        first = not self.fold_norms  # the scale before rsqrt (``fast_layers.norm``)
        for i, w in enumerate(self.blocks):
            a = norm(x, spec, w["attn_norm_scale"], w["attn_norm_bias"], first)
            pair = (caches[2 * i], caches[2 * i + 1])
            layer = LayerChoices.of(spec, i, self.max_length, span)
            a, k_cache, v_cache = attention(a, w, input_pos, pair, t, layer)
            if spec.post_norms:
                a = norm(a, spec, w["post_attn_norm_scale"], None)
            x = x + a
            m = mlp(norm(x, spec, w["mlp_norm_scale"], w["mlp_norm_bias"], first), w, spec)
            if spec.post_norms:
                m = norm(m, spec, w["post_mlp_norm_scale"], None)
            x = x + m
            outputs[c.k_cache_name(i)] = k_cache
            outputs[c.v_cache_name(i)] = v_cache
        if logits is c.Logits.NONE:
            return outputs
        if logits is c.Logits.EVERY_ROW:  # (T, vocab)
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

    def signature(self, t: int, logits: c.Logits = c.Logits.LAST, span: int | None = None) -> Any:
        """The concrete function feeding ``t`` tokens, returning ``logits`` (``span``:
        attention reads that many slots)."""

        def run(tokens: Any, input_pos: Any, *caches: Any) -> dict[str, Any]:
            return self.forward(tokens, input_pos, list(caches), t, logits, span)

        return tf.function(run).get_concrete_function(
            tf.TensorSpec([1, t], tf.int32, name=c.TOKENS),
            tf.TensorSpec([t], tf.int32, name=c.INPUT_POS),
            *self.cache_specs(),
        )

    def signatures(
        self,
        buckets: list[int],
        verify: tuple[int, ...] = (),
        spans: tuple[int, ...] = (),
        fills: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """``{signature key: concrete function}`` for prefill buckets, their ``fills``
        (no logits), verify lengths (every row's logits), decode, and decode reading
        ``spans`` slots."""
        every, none = c.Logits.EVERY_ROW, c.Logits.NONE
        result = {c.verify_signature(t): self.signature(t, every) for t in verify}
        result |= {c.prefill_signature(t): self.signature(t) for t in buckets}
        result |= {c.fill_signature(t): self.signature(t, none) for t in fills}
        result |= {c.decode_signature(s): self.signature(1, span=s) for s in spans}
        result[c.DECODE_SIGNATURE] = self.signature(1)
        return result
