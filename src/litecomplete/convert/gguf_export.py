"""Write a GPT-2 or Llama causal LM as GGUF, so llama.cpp can run the very same weights.

Used by ``litecomplete export-gguf`` and by ``bench --vs-llamacpp`` for a
like-for-like comparison. Tensor names and metadata keys follow llama.cpp's
``gpt2`` and ``llama`` architectures; matrices are written [out, in], as GGUF
expects, and Llama's Q/K rows in llama.cpp's rotary order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from litecomplete.atomic import atomic_output
from litecomplete.choices import Choice
from litecomplete.convert.decoder_weights import DecoderWeights
from litecomplete.errors import ConfigError, UnsupportedArchitectureError


class GgufType(Choice):
    __choice__ = "GGUF type"
    F32 = "f32"
    F16 = "f16"
    Q8_0 = "q8_0"


def _matrix(writer: Any, name: str, value: np.ndarray, kind: GgufType) -> None:
    """A 2-D weight in the requested type; llama.cpp keeps vectors in F32."""
    import gguf

    if kind is GgufType.F16:
        writer.add_tensor(name, value.astype(np.float16))
    elif kind is GgufType.Q8_0:
        data = gguf.quants.quantize(value, gguf.GGMLQuantizationType.Q8_0)
        writer.add_tensor(
            name, data, raw_shape=data.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0
        )
    else:
        writer.add_tensor(name, value.astype(np.float32))


def write_gguf(
    weights: DecoderWeights,
    tokenizer: Any,
    out: Path,
    kind: GgufType = GgufType.F32,
    add_bos: bool = False,
) -> None:
    """Write ``weights`` and their KerasHub ``tokenizer`` to ``out`` (atomically).

    ``add_bos``: (Llama) whether llama.cpp puts the start token before a prompt.
    """
    import gguf

    spec = weights.spec
    writers = {"gpt2": _write_gpt2, "llama": _write_llama}
    if spec.architecture not in writers:
        raise UnsupportedArchitectureError(
            f"export-gguf writes {', '.join(writers)} models, got {spec.architecture!r}"
        )
    with atomic_output(out) as tmp:
        writer = gguf.GGUFWriter(str(tmp), spec.architecture)
        if spec.architecture == "llama":
            writer.add_add_bos_token(add_bos)
        writers[spec.architecture](writer, weights, tokenizer, kind)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()


def _write_header(writer: Any, spec: Any, tokenizer: Any, kind: GgufType) -> None:
    """Shapes, file type and the byte-level BPE tokenizer, common to both families."""
    import gguf

    writer.add_name(f"litecomplete {spec.architecture}")
    writer.add_context_length(spec.max_positions)
    writer.add_embedding_length(spec.hidden_dim)
    writer.add_feed_forward_length(spec.intermediate_dim)
    writer.add_block_count(spec.num_layers)
    writer.add_head_count(spec.num_heads)
    writer.add_file_type(
        {GgufType.F32: 0, GgufType.F16: 1, GgufType.Q8_0: 7}[kind]  # llama_ftype values
    )
    vocabulary = sorted(tokenizer.vocabulary.items(), key=lambda kv: kv[1])
    if [i for _, i in vocabulary] != list(range(len(vocabulary))):
        raise ConfigError("the tokenizer's vocabulary ids are not 0..n-1")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(getattr(tokenizer, "pre_tokenizer", "gpt-2"))
    writer.add_token_list([t for t, _ in vocabulary])
    special = {tokenizer.token_to_id(t) for t in tokenizer.special_tokens}
    writer.add_token_types(
        [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for _, i in vocabulary]
    )
    writer.add_token_merges([m for m in tokenizer.merges if not m.startswith("#version")])
    writer.add_bos_token_id(int(tokenizer.start_token_id))
    writer.add_eos_token_id(int(tokenizer.end_token_id))


def _write_llama(writer: Any, weights: DecoderWeights, tokenizer: Any, kind: GgufType) -> None:
    """Queue a Llama model on a ``gguf.GGUFWriter``; no biases, gated MLP, RoPE."""
    from litecomplete.convert.gguf_weights import permute_for_gguf

    spec = weights.spec
    _write_header(writer, spec, tokenizer, kind)
    writer.add_head_count_kv(spec.num_kv_heads)
    writer.add_layer_norm_rms_eps(spec.norm_epsilon)
    writer.add_rope_freq_base(spec.rope_theta)
    writer.add_rope_dimension_count(spec.head_dim)
    writer.add_vocab_size(spec.vocabulary_size)
    h, kv, dh = spec.num_heads, spec.num_kv_heads, spec.head_dim
    _matrix(writer, "token_embd.weight", weights.token_embedding, kind)  # (vocab, hidden)
    if weights.output_kernel is not None:
        _matrix(writer, "output.weight", weights.output_kernel, kind)  # (vocab, hidden)
    for i, layer in enumerate(weights.layers):
        b = f"blk.{i}"
        q, k, v = np.split(layer.qkv_kernel.T, [h * dh, (h + kv) * dh])  # rows: out features
        writer.add_tensor(f"{b}.attn_norm.weight", layer.attn_norm_scale)
        _matrix(writer, f"{b}.attn_q.weight", permute_for_gguf(q, h), kind)
        _matrix(writer, f"{b}.attn_k.weight", permute_for_gguf(k, kv), kind)
        _matrix(writer, f"{b}.attn_v.weight", v.copy(), kind)
        _matrix(writer, f"{b}.attn_output.weight", layer.out_kernel.T.copy(), kind)
        writer.add_tensor(f"{b}.ffn_norm.weight", layer.mlp_norm_scale)
        assert layer.gate_kernel is not None, "Llama's MLP is gated"
        _matrix(writer, f"{b}.ffn_gate.weight", layer.gate_kernel.T.copy(), kind)  # (ff, d)
        _matrix(writer, f"{b}.ffn_up.weight", layer.up_kernel.T.copy(), kind)  # (ff, d)
        _matrix(writer, f"{b}.ffn_down.weight", layer.down_kernel.T.copy(), kind)  # (d, ff)
    writer.add_tensor("output_norm.weight", weights.final_norm_scale)


def _write_gpt2(writer: Any, weights: DecoderWeights, tokenizer: Any, kind: GgufType) -> None:
    """Queue metadata, tokenizer and tensors on a ``gguf.GGUFWriter``."""

    _write_header(writer, weights.spec, tokenizer, kind)
    writer.add_layer_norm_eps(weights.spec.norm_epsilon)
    _matrix(writer, "token_embd.weight", weights.token_embedding, kind)  # (vocab, hidden)
    assert weights.position_embedding is not None
    writer.add_tensor("position_embd.weight", weights.position_embedding)
    for i, layer in enumerate(weights.layers):
        b = f"blk.{i}"
        writer.add_tensor(f"{b}.attn_norm.weight", layer.attn_norm_scale)
        writer.add_tensor(f"{b}.attn_norm.bias", _req(layer.attn_norm_bias))
        _matrix(writer, f"{b}.attn_qkv.weight", layer.qkv_kernel.T.copy(), kind)  # (3d, d)
        writer.add_tensor(f"{b}.attn_qkv.bias", _req(layer.qkv_bias))
        _matrix(writer, f"{b}.attn_output.weight", layer.out_kernel.T.copy(), kind)
        writer.add_tensor(f"{b}.attn_output.bias", _req(layer.out_bias))
        writer.add_tensor(f"{b}.ffn_norm.weight", layer.mlp_norm_scale)
        writer.add_tensor(f"{b}.ffn_norm.bias", _req(layer.mlp_norm_bias))
        _matrix(writer, f"{b}.ffn_up.weight", layer.up_kernel.T.copy(), kind)  # (ff, d)
        writer.add_tensor(f"{b}.ffn_up.bias", _req(layer.up_bias))
        _matrix(writer, f"{b}.ffn_down.weight", layer.down_kernel.T.copy(), kind)  # (d, ff)
        writer.add_tensor(f"{b}.ffn_down.bias", _req(layer.down_bias))
    writer.add_tensor("output_norm.weight", weights.final_norm_scale)
    writer.add_tensor("output_norm.bias", _req(weights.final_norm_bias))


def _req(value: np.ndarray | None) -> np.ndarray:
    assert value is not None, "GPT-2 has biases everywhere"
    return value
