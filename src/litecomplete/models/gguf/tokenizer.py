"""Build a Hugging Face ``tokenizers`` tokenizer from a GGUF file's tokenizer metadata.

GGUF stores the vocabulary (``tokenizer.ggml.tokens``), merges, token types and the
name of llama.cpp's pre-tokenizer. Each supported pre-tokenizer is mapped here to
the same splitting in ``tokenizers``; an unknown one is refused by name.
"""

from __future__ import annotations

from typing import Any

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.reader import GgufFile

CONTROL_TOKEN_TYPES = (3, 4)  # llama.cpp: CONTROL, USER_DEFINED


# llama.cpp pre-tokenizer names accepted; ``hf_pre_tokenizer`` gives the same splitting.
PRE_TOKENIZERS = ("gpt-2", "default", "smollm")


def hf_pre_tokenizer(name: str, path: Any = "the file") -> Any:
    """The ``tokenizers`` pre-tokenizer equal to llama.cpp's ``name``."""
    from tokenizers import pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if name in ("gpt-2", "default"):
        return byte_level
    if name == "smollm":
        # llama.cpp's "smollm": every digit on its own, then GPT-2's split.
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    raise GgufFileError(
        f"{path} uses llama.cpp pre-tokenizer {name!r}; supported: {', '.join(PRE_TOKENIZERS)}"
    )


def gguf_vocabulary(model: GgufFile) -> tuple[list[str], list[int], list[str], str]:
    """Tokens, token types, merges (``"a b"``) and pre-tokenizer name, checked."""
    meta = model.metadata
    kind = meta.get("tokenizer.ggml.model")
    if kind != "gpt2":
        raise GgufFileError(
            f"{model.path} has a {kind!r} tokenizer; import-gguf supports byte-level BPE ('gpt2')"
        )
    tokens = list(meta.get("tokenizer.ggml.tokens") or [])
    merges = list(meta.get("tokenizer.ggml.merges") or [])
    types = list(meta.get("tokenizer.ggml.token_type") or [1] * len(tokens))
    if not tokens or len(types) != len(tokens):
        raise GgufFileError(f"{model.path} has no usable tokenizer vocabulary")
    for key in ("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"):
        index = meta.get(key)
        if index is not None and not (isinstance(index, int) and 0 <= index < len(tokens)):
            raise GgufFileError(
                f"{model.path}: {key} is {index!r}, outside the {len(tokens)}-token vocabulary"
            )
    pre = str(meta.get("tokenizer.ggml.pre", "default"))
    if pre not in PRE_TOKENIZERS:
        raise GgufFileError(
            f"{model.path} uses llama.cpp pre-tokenizer {pre!r}; "
            f"supported: {', '.join(PRE_TOKENIZERS)}"
        )
    return tokens, types, merges, pre


def tokenizer_from_gguf(model: GgufFile) -> Any:
    """The file's byte-level BPE tokenizer as a ``tokenizers.Tokenizer``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models

    tokens, types, raw_merges, pre = gguf_vocabulary(model)
    merges = [(a, b) for a, b in (m.split(" ", 1) for m in raw_merges)]
    tokenizer = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tokenizer.pre_tokenizer = hf_pre_tokenizer(pre, model.path)
    tokenizer.decoder = decoders.ByteLevel()
    special = [tokens[i] for i, kind in enumerate(types) if kind in CONTROL_TOKEN_TYPES]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    return tokenizer
