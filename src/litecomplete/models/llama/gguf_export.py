"""A Llama model as llama.cpp's ``llama`` GGUF architecture (Q/K rows in its rotary order)."""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.models.gguf.writer import GgufType, write_header, write_matrix
from litecomplete.models.llama.gguf_weights import permute_for_gguf
from litecomplete.models.spec import DecoderWeights


def write_llama_gguf(
    writer: Any, weights: DecoderWeights, tokenizer: Any, kind: GgufType, add_bos: bool
) -> None:
    """Queue a Llama model on a ``gguf.GGUFWriter``; no biases, gated MLP, RoPE.

    ``add_bos``: whether llama.cpp puts the start token before a prompt.
    """
    spec = weights.spec
    writer.add_add_bos_token(add_bos)
    write_header(writer, spec, tokenizer, kind)
    writer.add_head_count_kv(spec.num_kv_heads)
    writer.add_layer_norm_rms_eps(spec.norm_epsilon)
    writer.add_rope_freq_base(spec.rope_theta)
    writer.add_rope_dimension_count(spec.head_dim)
    writer.add_vocab_size(spec.vocabulary_size)
    h, kv, dh = spec.num_heads, spec.num_kv_heads, spec.head_dim
    write_matrix(writer, "token_embd.weight", weights.token_embedding, kind)  # (vocab, hidden)
    if weights.output_kernel is not None:
        write_matrix(writer, "output.weight", weights.output_kernel, kind)  # (vocab, hidden)
    for i, layer in enumerate(weights.layers):
        b = f"blk.{i}"
        q, k, v = np.split(layer.qkv_kernel.T, [h * dh, (h + kv) * dh])  # rows: out features
        writer.add_tensor(f"{b}.attn_norm.weight", layer.attn_norm_scale)
        write_matrix(writer, f"{b}.attn_q.weight", permute_for_gguf(q, h), kind)
        write_matrix(writer, f"{b}.attn_k.weight", permute_for_gguf(k, kv), kind)
        write_matrix(writer, f"{b}.attn_v.weight", v.copy(), kind)
        write_matrix(writer, f"{b}.attn_output.weight", layer.out_kernel.T.copy(), kind)
        writer.add_tensor(f"{b}.ffn_norm.weight", layer.mlp_norm_scale)
        assert layer.gate_kernel is not None, "Llama's MLP is gated"
        write_matrix(writer, f"{b}.ffn_gate.weight", layer.gate_kernel.T.copy(), kind)  # (ff, d)
        write_matrix(writer, f"{b}.ffn_up.weight", layer.up_kernel.T.copy(), kind)  # (ff, d)
        write_matrix(writer, f"{b}.ffn_down.weight", layer.down_kernel.T.copy(), kind)  # (d, ff)
    writer.add_tensor("output_norm.weight", weights.final_norm_scale)
