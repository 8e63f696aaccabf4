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
from tests.gguf_edit import with_header_value

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


def test_runtime_tokenizer_ids_equal_sentencepiece(tiny_gemma3_gguf: tuple[Path, Any]) -> None:
    import sentencepiece as spm

    from litecomplete.models.gemma3.tokenizer import (
        gemma3_tokenizer_from_gguf,
        sentencepiece_proto,
        sentencepiece_vocabulary,
    )
    from litecomplete.runtime.tokenizer import shared_tokenizer

    model = read_gguf(tiny_gemma3_gguf[0])
    ours = shared_tokenizer(gemma3_tokenizer_from_gguf(model).to_str())
    proto = sentencepiece_proto(sentencepiece_vocabulary(model))
    reference = spm.SentencePieceProcessor(model_proto=proto)
    for text in STRINGS:
        ids = ours.encode(text, add_special_tokens=False).ids
        assert ids == reference.encode(text), text
        assert ours.decode(ids) == text


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_tokenizer_ids_equal_llama_cpp(tiny_gemma3_gguf: tuple[Path, Any]) -> None:
    from llama_cpp import Llama

    from litecomplete.models.gemma3.tokenizer import gemma3_tokenizer_from_gguf
    from litecomplete.runtime.tokenizer import shared_tokenizer

    ours = shared_tokenizer(gemma3_tokenizer_from_gguf(read_gguf(tiny_gemma3_gguf[0])).to_str())
    llm = Llama(str(tiny_gemma3_gguf[0]), vocab_only=True, verbose=False)
    for text in STRINGS:
        expected = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert ours.encode(text, add_special_tokens=False).ids == expected, text


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_the_app_graphs_tokenizer_gives_llama_cpps_ids(
    tiny_gemma3_gguf: tuple[Path, Any], tiny_gemma3: Any
) -> None:
    # KerasHub's Gemma3Tokenizer over the rebuilt proto: TF Text's SentencePiece op,
    # what the app format's graph runs.
    from llama_cpp import Llama

    llm = Llama(str(tiny_gemma3_gguf[0]), vocab_only=True, verbose=False)
    tokenizer = tiny_gemma3.preprocessor.tokenizer
    for text in STRINGS:
        expected = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert [int(i) for i in tokenizer(text)] == expected, text


def _relative_error(logits: np.ndarray, reference: np.ndarray) -> float:
    """Max abs difference over the reference logits' largest magnitude."""
    return float(np.abs(logits - reference).max() / np.abs(reference).max())


def test_keras_import_equals_the_reference_past_the_window(
    tiny_gemma3_gguf: tuple[Path, Any],
) -> None:
    from litecomplete.models import load_causal_lm

    path, weights = tiny_gemma3_gguf
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
def test_llama_cpp_computes_the_reference_logits(tiny_gemma3_gguf: tuple[Path, Any]) -> None:
    from llama_cpp import Llama

    path, weights = tiny_gemma3_gguf
    # float32 KV cache (llama.cpp's default is float16, 1e-3 off on its own)
    llm = Llama(
        str(path), n_ctx=32, n_threads=2, logits_all=True, type_k=0, type_v=0, verbose=False
    )
    llm.eval(IDS)
    logits = np.asarray(llm.scores[: len(IDS)])
    reference = forward_logits(weights, IDS)
    # ggml's GELU reads a float16 table: 5.6e-4 of the logits' scale was measured.
    assert _relative_error(logits, reference) < 2e-3
    assert (logits.argmax(-1) == reference.argmax(-1)).all()


def test_gguf_export_round_trips_weights_and_tokenizer(
    tiny_gemma3_gguf: tuple[Path, Any], tmp_path: Path
) -> None:
    from litecomplete.models import load_causal_lm
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    path, weights = tiny_gemma3_gguf
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


def test_a_preset_directory_loads_as_the_import(
    tiny_gemma3_gguf: tuple[Path, Any], tmp_path: Path
) -> None:
    # The real loading code of KerasHub presets (``gemma3_270m`` where a hub is reachable),
    # on the directory import-gguf writes.
    from litecomplete.models import load_causal_lm
    from litecomplete.models.gguf.importer import import_gguf

    path, weights = tiny_gemma3_gguf
    preset = import_gguf(path, tmp_path / "preset", sequence_length=32)
    causal_lm = load_causal_lm(str(preset))
    assert type(causal_lm.preprocessor.tokenizer).__name__ == "Gemma3Tokenizer"
    assert _relative_error(keras_logits(causal_lm, IDS), forward_logits(weights, IDS)) < 1e-5


U32_MAX = 0xFFFFFFFF


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("gemma3.block_count", 6, "holds more blocks"),
        ("gemma3.block_count", U32_MAX, "file holds only"),
        ("gemma3.attention.key_length", 32, "values narrower or wider than keys"),
        ("gemma3.attention.head_count", 3, "tensor 'blk.0.attn_q.weight' is"),
        ("gemma3.attention.key_length", 47, "even-width heads"),
        ("gemma3.attention.sliding_window", 0, "sliding_window is 0"),
        ("gemma3.feed_forward_length", 100, "tensor 'blk.0.ffn_gate.weight' is"),
        ("tokenizer.ggml.unknown_token_id", U32_MAX, "not a token of the 512-token"),
        ("gemma3.rope.freq_base", float("nan"), "expected a positive number"),
    ],
)
def test_a_gemma3_header_that_lies_is_refused(
    tiny_gemma3_gguf: tuple[Path, Any], tmp_path: Path, key: str, value: float, fragment: str
) -> None:
    from litecomplete.convert.fast_export import gguf_fast_source
    from litecomplete.errors import GgufFileError

    path = with_header_value(tiny_gemma3_gguf[0], tmp_path / "lying.gguf", key, value)
    with pytest.raises(GgufFileError, match=fragment) as caught:
        gguf_fast_source(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


class _Dropping:
    """A ``gguf.GGUFWriter`` that leaves out the tensors named in ``drop``."""

    def __init__(self, writer: Any, drop: set[str]) -> None:
        self.writer, self.drop = writer, drop

    def add_tensor(self, name: str, *args: Any, **kwargs: Any) -> None:
        if name not in self.drop:
            self.writer.add_tensor(name, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.writer, name)


def test_a_missing_norm_is_named(tiny_gemma3_gguf: tuple[Path, Any], tmp_path: Path) -> None:
    import gguf

    from litecomplete.convert.fast_export import gguf_fast_source
    from litecomplete.errors import GgufFileError
    from litecomplete.models.gemma3.gguf_export import write_gemma3_gguf
    from litecomplete.models.gguf.writer import GgufType
    from tests.gemma3_fixtures import TinyGemma3Tokenizer, tiny_sentencepiece_proto

    path = tmp_path / "no-norm.gguf"
    writer = gguf.GGUFWriter(str(path), "gemma3")
    tokenizer = TinyGemma3Tokenizer(tiny_sentencepiece_proto())
    dropping = _Dropping(writer, {"blk.3.post_ffw_norm.weight"})
    write_gemma3_gguf(dropping, tiny_gemma3_gguf[1], tokenizer, GgufType.F32, True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(GgufFileError, match="has no tensor 'blk.3.post_ffw_norm.weight'"):
        gguf_fast_source(path)


def test_an_unknown_tensor_type_is_named(
    tiny_gemma3_gguf: tuple[Path, Any], tmp_path: Path
) -> None:
    import gguf

    from litecomplete.errors import GgufFileError

    reader = gguf.GGUFReader(tiny_gemma3_gguf[0])
    norm = next(t for t in reader.tensors if t.name == "blk.0.attn_q_norm.weight")
    parts = norm.field.parts  # name length, name, dims count, dims, type, offset
    offset = norm.field.offset + sum(part.nbytes for part in parts[:4])
    data = bytearray(tiny_gemma3_gguf[0].read_bytes())
    data[offset : offset + 4] = np.array([gguf.GGMLQuantizationType.I32], np.uint32).tobytes()
    path = tmp_path / "i32.gguf"
    path.write_bytes(bytes(data))
    with pytest.raises(GgufFileError, match="has tensors of type I32") as caught:
        read_gguf(path)
    assert str(path) in str(caught.value)
