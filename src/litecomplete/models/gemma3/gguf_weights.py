"""Map llama.cpp's ``gemma3`` GGUF onto ``DecoderWeights`` (no Keras involved).

Unlike Llama's, Gemma's Q and K rows are not permuted (llama.cpp ropes Gemma in the
rotate-half form the fast graph uses), and the norms are stored as 1 + w, which is
what ``DecoderWeights`` holds.
"""

from __future__ import annotations

import numpy as np

from litecomplete.errors import GgufFileError
from litecomplete.models.gemma3.shapes import as_gemma3
from litecomplete.models.gguf.header import (
    check_tensor_shapes,
    decoder_block_shapes,
    header_float,
    header_int,
    header_spec,
    output_shapes,
)
from litecomplete.models.gguf.reader import GgufFile
from litecomplete.models.spec import DecoderSpec, DecoderWeights, LayerWeights

TENSORS_PER_BLOCK = 13


def gguf_gemma3_spec(model: GgufFile) -> DecoderSpec:
    """The shapes a ``gemma3`` GGUF file declares, checked against its tensors."""
    scaling = model.arch_value("rope.scaling.type", "none")
    if scaling != "none" or model.arch_value("rope.scaling.factor", 1.0) != 1.0:
        raise GgufFileError(f"{model.path}: RoPE scaling ({scaling!r}) is not supported yet")
    spec = as_gemma3(
        header_spec(model, TENSORS_PER_BLOCK),
        sliding_window=header_int(model, "attention.sliding_window"),
        rope_theta=header_float(model, "rope.freq_base"),
    )
    if model.shape("output.weight") is not None:
        raise GgufFileError(f"{model.path}: a Gemma 3 file ties its output layer, this has one")
    expected = output_shapes(model, spec)
    head, hidden = (spec.head_dim,), (spec.hidden_dim,)
    for i in range(spec.num_layers):
        b = f"blk.{i}"
        expected |= decoder_block_shapes(spec, i) | {
            f"{b}.attn_q_norm.weight": head,
            f"{b}.attn_k_norm.weight": head,
            f"{b}.post_attention_norm.weight": hidden,
            f"{b}.post_ffw_norm.weight": hidden,
        }
    check_tensor_shapes(model, expected, spec.num_layers)
    return spec


def gemma3_decoder_weights(model: GgufFile) -> DecoderWeights:
    """The weights and shapes of a ``gemma3`` GGUF file, kernels as [in, out] float32."""
    spec = gguf_gemma3_spec(model)
    layers = []
    for i in range(spec.num_layers):

        def tensor(name: str, b: str = f"blk.{i}") -> np.ndarray:
            return model.tensor(f"{b}.{name}.weight")

        def kernel(name: str) -> np.ndarray:
            return tensor(name).T.copy()

        qkv = np.concatenate([tensor("attn_q"), tensor("attn_k"), tensor("attn_v")], axis=0)
        layers.append(
            LayerWeights(
                attn_norm_scale=tensor("attn_norm"),
                qkv_kernel=qkv.T.copy(),  # (hidden, q + k + v)
                out_kernel=kernel("attn_output"),
                mlp_norm_scale=tensor("ffn_norm"),
                up_kernel=kernel("ffn_up"),
                down_kernel=kernel("ffn_down"),
                gate_kernel=kernel("ffn_gate"),
                q_norm_scale=tensor("attn_q_norm"),
                k_norm_scale=tensor("attn_k_norm"),
                post_attn_norm_scale=tensor("post_attention_norm"),
                post_mlp_norm_scale=tensor("post_ffw_norm"),
            )
        )
    return DecoderWeights(
        spec=spec,
        token_embedding=model.tensor("token_embd.weight"),
        layers=layers,
        final_norm_scale=model.tensor("output_norm.weight"),
    )
