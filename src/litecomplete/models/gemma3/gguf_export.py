"""A Gemma 3 model as llama.cpp's ``gemma3`` GGUF architecture, its tokenizer included."""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.models.gemma3.tokenizer import vocabulary_of_proto
from litecomplete.models.gguf.writer import GgufType, write_matrix, write_sizes
from litecomplete.models.spec import DecoderWeights, present


def write_sentencepiece_tokenizer(writer: Any, proto: bytes, add_bos: bool) -> None:
    """A SentencePiece BPE vocabulary as llama.cpp's ``llama`` tokenizer."""
    vocab = vocabulary_of_proto(proto)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(vocab.pieces)
    writer.add_token_scores(vocab.scores)
    writer.add_token_types(vocab.types)
    writer.add_bos_token_id(vocab.bos_id)
    writer.add_eos_token_id(vocab.eos_id)
    writer.add_unk_token_id(vocab.unk_id)
    writer.add_pad_token_id(vocab.pad_id)
    writer.add_add_bos_token(add_bos)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(vocab.add_space_prefix)


def write_gemma3_gguf(
    writer: Any, weights: DecoderWeights, tokenizer: Any, kind: GgufType, add_bos: bool
) -> None:
    """Queue a Gemma 3 model and its KerasHub ``Gemma3Tokenizer`` on a ``gguf.GGUFWriter``."""
    spec = weights.spec
    write_sizes(writer, spec, kind)
    write_sentencepiece_tokenizer(writer, tokenizer.proto, add_bos)
    writer.add_head_count_kv(spec.num_kv_heads)
    writer.add_key_length(spec.head_dim)
    writer.add_value_length(spec.head_dim)
    writer.add_layer_norm_rms_eps(spec.norm_epsilon)
    writer.add_rope_freq_base(spec.rope_theta)
    if spec.sliding_window is None:
        raise ValueError("a Gemma 3 spec has a sliding window")
    writer.add_sliding_window(spec.sliding_window)
    h, kv, dh = spec.num_heads, spec.num_kv_heads, spec.head_dim
    write_matrix(writer, "token_embd.weight", weights.token_embedding, kind)  # (vocab, hidden)
    for i, layer in enumerate(weights.layers):
        b = f"blk.{i}"
        q, k, v = np.split(layer.qkv_kernel.T, [h * dh, (h + kv) * dh])  # rows: out features
        writer.add_tensor(f"{b}.attn_norm.weight", layer.attn_norm_scale)
        write_matrix(writer, f"{b}.attn_q.weight", q.copy(), kind)
        write_matrix(writer, f"{b}.attn_k.weight", k.copy(), kind)
        write_matrix(writer, f"{b}.attn_v.weight", v.copy(), kind)
        writer.add_tensor(f"{b}.attn_q_norm.weight", present(layer.q_norm_scale, "q_norm_scale"))
        writer.add_tensor(f"{b}.attn_k_norm.weight", present(layer.k_norm_scale, "k_norm_scale"))
        write_matrix(writer, f"{b}.attn_output.weight", layer.out_kernel.T.copy(), kind)
        post_attn = present(layer.post_attn_norm_scale, "post_attn_norm_scale")
        writer.add_tensor(f"{b}.post_attention_norm.weight", post_attn)
        writer.add_tensor(f"{b}.ffn_norm.weight", layer.mlp_norm_scale)
        gate = present(layer.gate_kernel, "gate_kernel")
        write_matrix(writer, f"{b}.ffn_gate.weight", gate.T.copy(), kind)  # (ff, d)
        write_matrix(writer, f"{b}.ffn_up.weight", layer.up_kernel.T.copy(), kind)  # (ff, d)
        write_matrix(writer, f"{b}.ffn_down.weight", layer.down_kernel.T.copy(), kind)  # (d, ff)
        post_mlp = present(layer.post_mlp_norm_scale, "post_mlp_norm_scale")
        writer.add_tensor(f"{b}.post_ffw_norm.weight", post_mlp)
    writer.add_tensor("output_norm.weight", weights.final_norm_scale)
