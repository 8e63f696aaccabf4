"""The sizes a decoder's GGUF header declares, checked against the tensors that carry them.

A header can lie (a layer count, a head count that does not divide the width); each
family reads its sizes here (``header_sizes``) and checks every tensor they imply
(``check_tensor_shapes``), so a lie is named before it fails deep inside a reshape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.reader import GgufFile
from litecomplete.models.spec import DecoderSpec


def header_int(model: GgufFile, key: str, default: int | None = None) -> int:
    """``<architecture>.<key>`` as a positive integer; a GgufFileError names it otherwise."""
    value = model.arch_value(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GgufFileError(
            f"{model.path}: {model.architecture}.{key} is {value!r}, expected a positive integer"
        )
    return int(value)


def header_float(model: GgufFile, key: str, default: float | None = None) -> float:
    """``<architecture>.<key>`` as a positive finite number; a GgufFileError otherwise."""
    value = model.arch_value(key, default)
    if not isinstance(value, (int, float, np.number)) or not 0 < float(value) < float("inf"):
        raise GgufFileError(
            f"{model.path}: {model.architecture}.{key} is {value!r}, expected a positive number"
        )
    return float(value)


def header_spec(model: GgufFile, tensors_per_block: int, **choices: Any) -> DecoderSpec:
    """The header's sizes as a ``DecoderSpec`` with the family's ``choices`` (its norm,
    activation, positions...), the vocabulary taken from ``token_embd.weight``.

    The head width is ``attention.key_length`` where the file gives it (Gemma's heads
    are wider than width / heads), else width / heads; it must be even (rotary pairs).
    ``tensors_per_block`` bounds the layer count by the tensors the file holds.
    """
    hidden = header_int(model, "embedding_length")
    heads = header_int(model, "attention.head_count")
    kv_heads = header_int(model, "attention.head_count_kv", heads)
    uneven = model.arch_value("attention.key_length") is None and hidden % heads
    head_dim = header_int(model, "attention.key_length", hidden // heads or 1)
    if uneven or heads % kv_heads or head_dim % 2:
        raise GgufFileError(
            f"{model.path}: embedding_length {hidden}, head_count {heads} and head_count_kv "
            f"{kv_heads} do not split into whole, even-width heads shared evenly"
        )
    if header_int(model, "attention.value_length", head_dim) != head_dim:
        raise GgufFileError(f"{model.path}: values narrower or wider than keys are not supported")
    layers = header_int(model, "block_count")
    if layers * tensors_per_block > len(model.tensor_types):
        raise GgufFileError(
            f"{model.path}: block_count is {layers}, but the file holds only "
            f"{len(model.tensor_types)} tensors"
        )
    embedding = model.shape("token_embd.weight")
    if embedding is None or len(embedding) != 2:
        raise GgufFileError(f"{model.path} has no 2-D tensor 'token_embd.weight'")
    vocab = embedding[0]
    if embedding[1] != hidden:
        raise GgufFileError(
            f"{model.path}: tensor 'token_embd.weight' is {list(embedding)}, but the header's "
            f"embedding_length is {hidden}"
        )
    if header_int(model, "rope.dimension_count", head_dim) != head_dim:
        raise GgufFileError(f"{model.path}: partial rotary embeddings are not supported")
    declared = model.arch_value("vocab_size", vocab)
    tokens = model.metadata.get("tokenizer.ggml.tokens")
    if declared != vocab or (isinstance(tokens, list) and len(tokens) > vocab):
        count = len(tokens) if isinstance(tokens, list) else "no"
        raise GgufFileError(
            f"{model.path}: the embedding has {vocab} rows, but the header says vocab_size "
            f"{declared!r} and the tokenizer has {count} tokens"
        )
    return DecoderSpec(
        architecture=model.architecture,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        hidden_dim=hidden,
        intermediate_dim=header_int(model, "feed_forward_length"),
        vocabulary_size=vocab,
        max_positions=header_int(model, "context_length"),
        norm_epsilon=header_float(model, "attention.layer_norm_rms_epsilon"),
        **choices,
    )


def check_tensor_shapes(
    model: GgufFile, expected: Mapping[str, tuple[int, ...]], num_layers: int
) -> None:
    """Every tensor in ``expected`` is there, of that shape, and no block past the last."""
    for name, shape in expected.items():
        found = model.shape(name)
        if found is None:
            raise GgufFileError(f"{model.path} has no tensor {name!r}")
        if found != shape:
            raise GgufFileError(
                f"{model.path}: tensor {name!r} is {list(found)}, but the header's sizes "
                f"make it {list(shape)}"
            )
    if model.shape(f"blk.{num_layers}.attn_q.weight") is not None:
        raise GgufFileError(
            f"{model.path}: block_count is {num_layers}, but the file holds more blocks"
        )


def decoder_block_shapes(spec: DecoderSpec, i: int) -> dict[str, tuple[int, ...]]:
    """Block ``i``'s tensors that every llama.cpp decoder has: two norms, attention, GLU."""
    hidden, intermediate = spec.hidden_dim, spec.intermediate_dim
    q_width = spec.num_heads * spec.head_dim
    kv_width = spec.num_kv_heads * spec.head_dim
    b = f"blk.{i}"
    return {
        f"{b}.attn_norm.weight": (hidden,),
        f"{b}.attn_q.weight": (q_width, hidden),
        f"{b}.attn_k.weight": (kv_width, hidden),
        f"{b}.attn_v.weight": (kv_width, hidden),
        f"{b}.attn_output.weight": (hidden, q_width),
        f"{b}.ffn_norm.weight": (hidden,),
        f"{b}.ffn_gate.weight": (intermediate, hidden),
        f"{b}.ffn_up.weight": (intermediate, hidden),
        f"{b}.ffn_down.weight": (hidden, intermediate),
    }


def output_shapes(model: GgufFile, spec: DecoderSpec) -> dict[str, tuple[int, ...]]:
    """The embedding, the final norm, and the output layer where it is not tied."""
    expected = {
        "token_embd.weight": (spec.vocabulary_size, spec.hidden_dim),
        "output_norm.weight": (spec.hidden_dim,),
    }
    if model.shape("output.weight") is not None:
        expected["output.weight"] = (spec.vocabulary_size, spec.hidden_dim)
    return expected
