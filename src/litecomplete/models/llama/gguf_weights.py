"""Map a Llama-family GGUF file onto ``DecoderWeights`` (no Keras involved).

llama.cpp's converter permutes the rows of Q and K so that its rotary embedding,
which rotates adjacent pairs, equals the rotate-half form of Hugging Face
checkpoints. The fast graph uses the rotate-half form, so Q and K are permuted
back here.
"""

from __future__ import annotations

import numpy as np

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.header import (
    check_tensor_shapes,
    decoder_block_shapes,
    header_float,
    header_spec,
    output_shapes,
)
from litecomplete.models.gguf.reader import GgufFile
from litecomplete.models.llama.shapes import LLAMA_CHOICES
from litecomplete.models.spec import DecoderSpec, DecoderWeights, LayerWeights


def _unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation; w: (heads * head_dim, hidden)."""
    rows, cols = w.shape
    # llama.cpp: reshape(heads, 2, head_dim // 2, cols).swapaxes(1, 2); here the inverse.
    return w.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def permute_for_gguf(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's Q/K row permutation (the inverse of ``_unpermute``); w: (heads * dh, hidden)."""
    rows, cols = w.shape
    return w.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_llama_spec(model: GgufFile) -> DecoderSpec:
    """The shapes a ``llama`` GGUF file declares, checked against its tensors
    (``gguf.header``): nine tensors a block, heads as wide as width / heads."""
    theta = header_float(model, "rope.freq_base", 10000.0)
    spec = header_spec(model, tensors_per_block=9, rope_theta=theta, **LLAMA_CHOICES)
    if spec.head_dim * spec.num_heads != spec.hidden_dim:
        raise GgufFileError(
            f"{model.path}: attention.key_length {spec.head_dim} times head_count "
            f"{spec.num_heads} is not embedding_length {spec.hidden_dim}, as a Llama's is"
        )
    expected = output_shapes(model, spec)
    for i in range(spec.num_layers):
        expected |= decoder_block_shapes(spec, i)
    check_tensor_shapes(model, expected, spec.num_layers)
    return spec


def llama_decoder_weights(model: GgufFile) -> DecoderWeights:
    """The weights and shapes of a ``llama`` GGUF file, kernels as [in, out] float32."""
    spec = gguf_llama_spec(model)
    heads, kv_heads = spec.num_heads, spec.num_kv_heads
    embedding = model.tensor("token_embd.weight")  # (vocab, hidden)
    layers = []
    for i in range(spec.num_layers):
        b = f"blk.{i}"
        q = _unpermute(model.tensor(f"{b}.attn_q.weight"), heads)  # (heads * dh, hidden)
        k = _unpermute(model.tensor(f"{b}.attn_k.weight"), kv_heads)
        v = model.tensor(f"{b}.attn_v.weight")
        layers.append(
            LayerWeights(
                attn_norm_scale=model.tensor(f"{b}.attn_norm.weight"),
                qkv_kernel=np.concatenate([q, k, v], axis=0).T.copy(),  # (hidden, q + k + v)
                out_kernel=model.tensor(f"{b}.attn_output.weight").T.copy(),
                mlp_norm_scale=model.tensor(f"{b}.ffn_norm.weight"),
                up_kernel=model.tensor(f"{b}.ffn_up.weight").T.copy(),
                down_kernel=model.tensor(f"{b}.ffn_down.weight").T.copy(),
                gate_kernel=model.tensor(f"{b}.ffn_gate.weight").T.copy(),
            )
        )
    output = model.tensor("output.weight") if "output.weight" in model.tensor_types else None
    return DecoderWeights(
        spec=spec,
        token_embedding=embedding,
        layers=layers,
        final_norm_scale=model.tensor("output_norm.weight"),
        output_kernel=output,
    )
