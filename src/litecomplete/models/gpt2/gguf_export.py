"""A GPT-2 model as llama.cpp's ``gpt2`` GGUF architecture (biases everywhere, fused QKV)."""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.models.gguf.writer import GgufType, write_header, write_matrix
from litecomplete.models.spec import DecoderWeights


def write_gpt2_gguf(
    writer: Any, weights: DecoderWeights, tokenizer: Any, kind: GgufType, add_bos: bool
) -> None:
    """Queue metadata, tokenizer and tensors on a ``gguf.GGUFWriter``; llama.cpp's
    ``gpt2`` never adds a start token, so ``add_bos`` is not written."""
    write_header(writer, weights.spec, tokenizer, kind)
    writer.add_layer_norm_eps(weights.spec.norm_epsilon)
    write_matrix(writer, "token_embd.weight", weights.token_embedding, kind)  # (vocab, hidden)
    assert weights.position_embedding is not None
    writer.add_tensor("position_embd.weight", weights.position_embedding)
    for i, layer in enumerate(weights.layers):
        b = f"blk.{i}"
        writer.add_tensor(f"{b}.attn_norm.weight", layer.attn_norm_scale)
        writer.add_tensor(f"{b}.attn_norm.bias", _req(layer.attn_norm_bias))
        write_matrix(writer, f"{b}.attn_qkv.weight", layer.qkv_kernel.T.copy(), kind)  # (3d, d)
        writer.add_tensor(f"{b}.attn_qkv.bias", _req(layer.qkv_bias))
        write_matrix(writer, f"{b}.attn_output.weight", layer.out_kernel.T.copy(), kind)
        writer.add_tensor(f"{b}.attn_output.bias", _req(layer.out_bias))
        writer.add_tensor(f"{b}.ffn_norm.weight", layer.mlp_norm_scale)
        writer.add_tensor(f"{b}.ffn_norm.bias", _req(layer.mlp_norm_bias))
        write_matrix(writer, f"{b}.ffn_up.weight", layer.up_kernel.T.copy(), kind)  # (ff, d)
        writer.add_tensor(f"{b}.ffn_up.bias", _req(layer.up_bias))
        write_matrix(writer, f"{b}.ffn_down.weight", layer.down_kernel.T.copy(), kind)  # (d, ff)
        writer.add_tensor(f"{b}.ffn_down.bias", _req(layer.down_bias))
    writer.add_tensor("output_norm.weight", weights.final_norm_scale)
    writer.add_tensor("output_norm.bias", _req(weights.final_norm_bias))


def _req(value: np.ndarray | None) -> np.ndarray:
    assert value is not None, "GPT-2 has biases everywhere"
    return value
