"""What every family's GGUF writer shares: the tensor types, matrices, header and tokenizer.

Each family queues its own tensors (``models/<arch>/gguf_export.py``) on a
``gguf.GGUFWriter``; ``models.gguf.export.write_gguf`` opens and closes the file.
Matrices are written [out, in], as GGUF expects; vectors stay F32, as in llama.cpp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.choices import Choice
from litecomplete.errors import ConfigError
from litecomplete.models.spec import DecoderSpec


class GgufType(Choice):
    __choice__ = "GGUF type"
    F32 = "f32"
    F16 = "f16"
    Q8_0 = "q8_0"


def write_matrix(writer: Any, name: str, value: np.ndarray, kind: GgufType) -> None:
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


def write_header(writer: Any, spec: DecoderSpec, tokenizer: Any, kind: GgufType) -> None:
    """Shapes, file type and a KerasHub byte-level BPE tokenizer (GPT-2's, Llama's)."""
    write_sizes(writer, spec, kind)
    write_bpe_tokenizer(writer, tokenizer)


def write_sizes(writer: Any, spec: DecoderSpec, kind: GgufType) -> None:
    """The shapes every family declares, and the file type."""
    writer.add_name(f"litecomplete {spec.architecture}")
    writer.add_context_length(spec.max_positions)
    writer.add_embedding_length(spec.hidden_dim)
    writer.add_feed_forward_length(spec.intermediate_dim)
    writer.add_block_count(spec.num_layers)
    writer.add_head_count(spec.num_heads)
    writer.add_file_type(
        {GgufType.F32: 0, GgufType.F16: 1, GgufType.Q8_0: 7}[kind]  # llama_ftype values
    )


def write_bpe_tokenizer(writer: Any, tokenizer: Any) -> None:
    """A KerasHub byte-level BPE tokenizer as llama.cpp's ``gpt2`` tokenizer."""
    import gguf

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
