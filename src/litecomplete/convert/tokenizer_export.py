"""Serialize a KerasHub byte-level BPE tokenizer as a Hugging Face ``tokenizer.json``.

The fast format carries its tokenizer inside the file, so a runtime needs nothing
but the ``.tflite`` and the ``tokenizers`` library.
"""

from __future__ import annotations

from typing import Any

# Tokens that end a text in the families supported; a tokenizer's own end token is one.
END_OF_TEXT_TOKENS = (
    "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<end_of_turn>",
)  # fmt: skip


def end_token_ids(keras_tokenizer: Any) -> tuple[int, ...]:
    """Ids that end a completion: the tokenizer's end token and the family's others."""
    vocabulary = {t: i for i, t in enumerate(keras_tokenizer.get_vocabulary())}
    ends = {int(keras_tokenizer.end_token_id)}
    ends |= {int(vocabulary[t]) for t in END_OF_TEXT_TOKENS if t in vocabulary}
    return tuple(sorted(ends))


def hf_tokenizer_json(keras_tokenizer: Any) -> str:
    """``tokenizer.json`` text equivalent to a KerasHub byte-level BPE or SentencePiece
    BPE (Gemma) tokenizer."""
    if getattr(keras_tokenizer, "proto", None) is not None:
        from litecomplete.models.gemma3.tokenizer import runtime_tokenizer, vocabulary_of_proto

        return str(runtime_tokenizer(vocabulary_of_proto(keras_tokenizer.proto)).to_str())
    if hasattr(keras_tokenizer, "pre_tokenizer"):  # GgufBpeTokenizer: its own, as it runs
        keras_tokenizer._maybe_initialized_tokenizers()
        return str(keras_tokenizer._tokenizer.to_str())
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocabulary = dict(keras_tokenizer.vocabulary)
    # GPT-2's merges file starts with a "#version: 0.2" header that KerasHub keeps.
    merges = [tuple(m.split(" ")) for m in keras_tokenizer.merges if not m.startswith("#version")]
    tokenizer = Tokenizer(models.BPE(vocabulary, merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    special = [keras_tokenizer.end_token, keras_tokenizer.start_token]
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in dict.fromkeys(special) if t])
    return str(tokenizer.to_str())
