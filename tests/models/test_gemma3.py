"""Gemma 3 from GGUF: the tokenizer against SentencePiece and llama.cpp, the KerasHub
import and llama.cpp against the NumPy reference past the sliding window, and the
GGUF export's round trip (a tiny random Gemma 3, ``tests.gemma3_fixtures``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.eval.numpy_forward import forward_logits
from litecomplete.models.gguf.reader import read_gguf
from litecomplete.models.registry import gguf_architecture
from tests.conftest import keras_logits
from tests.gemma3_fixtures import write_tiny_gemma3_gguf

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None

# Unicode, emoji, code, whitespace runs, the turn markers typed as text, bytes outside
# the tiny vocabulary (byte fallback).
STRINGS = [
    "The quick brown fox jumps over the lazy dog.",
    "Zürich café — 東京 naïve",
    "emoji 😀🎉👍🏽 done",
    "def f(x):\n    return x**2  # comment\n\n",
    "<start_of_turn>user\nhi<end_of_turn>\n",
    "tabs\t\tand   spaces  ",
    "1234567890 3.14159",
    "",
]
# Longer than the tiny model's sliding window (8), so local layers mask old positions.
IDS = [2, 40, 95, 301, 7, 12, 480, 33, 250, 9, 61, 102, 5, 77, 300, 41, 18, 222, 90, 11]


@pytest.fixture(scope="module")
def tiny_gemma3(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The tiny Gemma 3's GGUF path and the ``DecoderWeights`` written to it."""
    path = tmp_path_factory.mktemp("gemma3") / "tiny-gemma3.gguf"
    return path, write_tiny_gemma3_gguf(path)


def test_runtime_tokenizer_ids_equal_sentencepiece(tiny_gemma3: tuple[Path, Any]) -> None:
    import sentencepiece as spm

    from litecomplete.models.gemma3.tokenizer import (
        gemma3_tokenizer_from_gguf,
        sentencepiece_proto,
        sentencepiece_vocabulary,
    )
    from litecomplete.runtime.tokenizer import shared_tokenizer

    model = read_gguf(tiny_gemma3[0])
    ours = shared_tokenizer(gemma3_tokenizer_from_gguf(model).to_str())
    proto = sentencepiece_proto(sentencepiece_vocabulary(model))
    reference = spm.SentencePieceProcessor(model_proto=proto)
    for text in STRINGS:
        ids = ours.encode(text, add_special_tokens=False).ids
        assert ids == reference.encode(text), text
        assert ours.decode(ids) == text


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_tokenizer_ids_equal_llama_cpp(tiny_gemma3: tuple[Path, Any]) -> None:
    from llama_cpp import Llama

    from litecomplete.models.gemma3.tokenizer import gemma3_tokenizer_from_gguf
    from litecomplete.runtime.tokenizer import shared_tokenizer

    ours = shared_tokenizer(gemma3_tokenizer_from_gguf(read_gguf(tiny_gemma3[0])).to_str())
    llm = Llama(str(tiny_gemma3[0]), vocab_only=True, verbose=False)
    for text in STRINGS:
        expected = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert ours.encode(text, add_special_tokens=False).ids == expected, text


def _relative_error(logits: np.ndarray, reference: np.ndarray) -> float:
    """Max abs difference over the reference logits' largest magnitude."""
    return float(np.abs(logits - reference).max() / np.abs(reference).max())


def test_keras_import_equals_the_reference_past_the_window(
    tiny_gemma3: tuple[Path, Any],
) -> None:
    from litecomplete.models import load_causal_lm

    path, weights = tiny_gemma3
    causal_lm = load_causal_lm(str(path), sequence_length=32)
    assert type(causal_lm).__name__ == "Gemma3CausalLM"
    reference = forward_logits(weights, IDS)  # float64
    assert _relative_error(keras_logits(causal_lm, IDS), reference) < 1e-5
    # The window matters: without it, the last positions' logits move.
    unwindowed = forward_logits(_without_window(weights), IDS)
    assert _relative_error(unwindowed[-4:], reference[-4:]) > 1e-3


def _without_window(weights: Any) -> Any:
    import dataclasses

    return dataclasses.replace(weights, spec=dataclasses.replace(weights.spec, sliding_window=None))


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_llama_cpp_computes_the_reference_logits(tiny_gemma3: tuple[Path, Any]) -> None:
    from llama_cpp import Llama

    path, weights = tiny_gemma3
    llm = Llama(str(path), n_ctx=32, n_threads=2, logits_all=True, verbose=False)
    llm.eval(IDS)
    logits = np.asarray(llm.scores[: len(IDS)])
    assert _relative_error(logits, forward_logits(weights, IDS)) < 1e-4


def test_gguf_export_round_trips_weights_and_tokenizer(
    tiny_gemma3: tuple[Path, Any], tmp_path: Path
) -> None:
    from litecomplete.models import load_causal_lm
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    path, weights = tiny_gemma3
    causal_lm = load_causal_lm(str(path), sequence_length=32)
    again = tmp_path / "again.gguf"
    write_gguf(decoder_weights(causal_lm), causal_lm.preprocessor.tokenizer, again, add_bos=True)
    first, second = read_gguf(path), read_gguf(again)
    assert second.architecture == "gemma3"
    for key in ("tokens", "scores", "token_type", "bos_token_id", "eos_token_id"):
        assert first.metadata[f"tokenizer.ggml.{key}"] == second.metadata[f"tokenizer.ggml.{key}"]
    assert set(first.tensor_types) == set(second.tensor_types)
    for name in first.tensor_types:
        np.testing.assert_allclose(second.tensor(name), first.tensor(name), atol=1e-6)
    assert gguf_architecture(second).gguf_weights is not None
