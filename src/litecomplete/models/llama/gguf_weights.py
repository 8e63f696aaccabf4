"""Map a Llama-family GGUF file onto ``DecoderWeights`` (no Keras involved).

llama.cpp's converter permutes the rows of Q and K so that its rotary embedding,
which rotates adjacent pairs, equals the rotate-half form of Hugging Face
checkpoints. The fast graph uses the rotate-half form, so Q and K are permuted
back here.
"""

from __future__ import annotations

import numpy as np

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.reader import GgufFile
from litecomplete.models.llama.shapes import llama_spec
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


def _header_int(model: GgufFile, key: str, default: int | None = None) -> int:
    value = model.arch_value(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GgufFileError(
            f"{model.path}: {model.architecture}.{key} is {value!r}, expected a positive integer"
        )
    return int(value)


def _header_float(model: GgufFile, key: str, default: float | None = None) -> float:
    value = model.arch_value(key, default)
    if not isinstance(value, (int, float, np.number)) or not 0 < float(value) < float("inf"):
        raise GgufFileError(
            f"{model.path}: {model.architecture}.{key} is {value!r}, expected a positive number"
        )
    return float(value)


def gguf_llama_spec(model: GgufFile) -> DecoderSpec:
    """The shapes a ``llama`` GGUF file declares, checked against its tensors.

    A header can lie (a layer count, a head count that does not divide the width);
    every size is checked against the shapes of the tensors that carry it, so a
    lie is named here instead of failing deep inside a reshape.
    """
    hidden = _header_int(model, "embedding_length")
    heads = _header_int(model, "attention.head_count")
    kv_heads = _header_int(model, "attention.head_count_kv", heads)
    if hidden % heads or heads % kv_heads or (hidden // heads) % 2:
        raise GgufFileError(
            f"{model.path}: embedding_length {hidden}, head_count {heads} and head_count_kv "
            f"{kv_heads} do not split into whole, even-width heads shared evenly"
        )
    head_dim = hidden // heads
    layers = _header_int(model, "block_count")
    if layers * 9 > len(model.tensor_types):  # nine tensors a block
        raise GgufFileError(
            f"{model.path}: block_count is {layers}, but the file holds only "
            f"{len(model.tensor_types)} tensors"
        )
    intermediate = _header_int(model, "feed_forward_length")
    embedding = model.shape("token_embd.weight")
    if embedding is None or len(embedding) != 2:
        raise GgufFileError(f"{model.path} has no 2-D tensor 'token_embd.weight'")
    vocab = embedding[0]
    if embedding[1] != hidden:
        raise GgufFileError(
            f"{model.path}: tensor 'token_embd.weight' is {list(embedding)}, but the header's "
            f"embedding_length is {hidden}"
        )
    if _header_int(model, "rope.dimension_count", head_dim) != head_dim:
        raise GgufFileError(f"{model.path}: partial rotary embeddings are not supported")
    declared = model.arch_value("vocab_size", vocab)
    tokens = model.metadata.get("tokenizer.ggml.tokens")
    if declared != vocab or (isinstance(tokens, list) and len(tokens) > vocab):
        count = len(tokens) if isinstance(tokens, list) else "no"
        raise GgufFileError(
            f"{model.path}: the embedding has {vocab} rows, but the header says vocab_size "
            f"{declared!r} and the tokenizer has {count} tokens"
        )
    spec = llama_spec(
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        hidden_dim=hidden,
        intermediate_dim=intermediate,
        vocabulary_size=vocab,
        norm_epsilon=_header_float(model, "attention.layer_norm_rms_epsilon"),
        rope_theta=_header_float(model, "rope.freq_base", 10000.0),
        max_positions=_header_int(model, "context_length"),
    )
    _check_shapes(model, spec)
    return spec


def _check_shapes(model: GgufFile, spec: DecoderSpec) -> None:
    """Every tensor the header's sizes imply is there, of that shape, and no more blocks."""
    hidden, vocab, intermediate = spec.hidden_dim, spec.vocabulary_size, spec.intermediate_dim
    heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
    layers = spec.num_layers
    expected: dict[str, tuple[int, ...]] = {
        "token_embd.weight": (vocab, hidden),
        "output_norm.weight": (hidden,),
    }
    if model.shape("output.weight") is not None:
        expected["output.weight"] = (vocab, hidden)
    for i in range(layers):
        b = f"blk.{i}"
        expected |= {
            f"{b}.attn_norm.weight": (hidden,),
            f"{b}.attn_q.weight": (heads * head_dim, hidden),
            f"{b}.attn_k.weight": (kv_heads * head_dim, hidden),
            f"{b}.attn_v.weight": (kv_heads * head_dim, hidden),
            f"{b}.attn_output.weight": (hidden, heads * head_dim),
            f"{b}.ffn_norm.weight": (hidden,),
            f"{b}.ffn_gate.weight": (intermediate, hidden),
            f"{b}.ffn_up.weight": (intermediate, hidden),
            f"{b}.ffn_down.weight": (hidden, intermediate),
        }
    for name, shape in expected.items():
        found = model.shape(name)
        if found is None:
            raise GgufFileError(f"{model.path} has no tensor {name!r}")
        if found != shape:
            raise GgufFileError(
                f"{model.path}: tensor {name!r} is {list(found)}, but the header's sizes "
                f"make it {list(shape)}"
            )
    if model.shape(f"blk.{layers}.attn_q.weight") is not None:
        raise GgufFileError(
            f"{model.path}: block_count is {layers}, but the file holds more blocks"
        )


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
                attn_norm_bias=None,
                qkv_kernel=np.concatenate([q, k, v], axis=0).T.copy(),  # (hidden, q + k + v)
                qkv_bias=None,
                out_kernel=model.tensor(f"{b}.attn_output.weight").T.copy(),
                out_bias=None,
                mlp_norm_scale=model.tensor(f"{b}.ffn_norm.weight"),
                mlp_norm_bias=None,
                up_kernel=model.tensor(f"{b}.ffn_up.weight").T.copy(),
                up_bias=None,
                down_kernel=model.tensor(f"{b}.ffn_down.weight").T.copy(),
                down_bias=None,
                gate_kernel=model.tensor(f"{b}.ffn_gate.weight").T.copy(),
            )
        )
    output = model.tensor("output.weight") if "output.weight" in model.tensor_types else None
    return DecoderWeights(
        spec=spec,
        token_embedding=embedding,
        position_embedding=None,
        layers=layers,
        final_norm_scale=model.tensor("output_norm.weight"),
        final_norm_bias=None,
        output_kernel=output,
    )
