from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from litecomplete.errors import TokenizerFilesError
from litecomplete.models.gpt2 import vocab as gpt2_vocab
from litecomplete.models.gpt2.vocab import VOCABULARY_SIZE, gpt2_vocab_files


def test_files_are_gpt2s_real_vocabulary() -> None:
    files = gpt2_vocab_files()
    vocabulary = json.loads(files.vocabulary.read_text("utf-8"))
    assert len(vocabulary) == VOCABULARY_SIZE
    assert vocabulary["<|endoftext|>"] == 50256
    assert vocabulary["Ġthe"] == 262  # " the", GPT-2's most frequent word piece
    merges = files.merges.read_text("utf-8").splitlines()
    assert merges[1] == "Ġ t"  # first merge after the version header


def test_altered_file_is_rejected(tmp_path: Path) -> None:
    copy = tmp_path / "vocab.bpe"
    shutil.copy(gpt2_vocab_files().merges, copy)
    with copy.open("a", encoding="utf-8") as f:
        f.write("x y\n")
    with pytest.raises(TokenizerFilesError, match="sha256"):
        gpt2_vocab._check(copy, gpt2_vocab.MERGES_SHA256)


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(TokenizerFilesError, match="missing"):
        gpt2_vocab._check(tmp_path / "encoder.json", gpt2_vocab.VOCABULARY_SHA256)
