"""SmolLM2-135M-Instruct imported into KerasHub: against llama.cpp and the fast format.

llama.cpp multiplies the file's Q4_1 weights with 8-bit quantized activations, so on
the embedded file itself it cannot agree with a float model exactly. The importer's
weights, written back as an F32 GGUF, are the very same floats: on that file llama.cpp
and Keras must agree at every position.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.models.embedded import smollm2_gguf_path
from tests.conftest import keras_logits
from tests.llama_cpp_parity import F32_CACHE, keras_greedy, llama_cpp_greedy, llama_cpp_logits
from tests.reference import reference_logits

pytestmark = pytest.mark.slow
needs_llama_cpp = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="the llamacpp extra is not installed"
)

PROMPTS = [
    "The capital of France is",
    "Once upon a time, there was a",
    "def fibonacci(n):",
    "The three primary colors are",
    "In 1969, Neil Armstrong",
]


@pytest.fixture(scope="module")
def smollm2_keras() -> Any:
    from litecomplete.models import load_causal_lm

    return load_causal_lm("smollm2")


@pytest.fixture(scope="module")
def smollm2_f32_gguf(smollm2_keras: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    path = tmp_path_factory.mktemp("smollm2") / "smollm2-f32.gguf"
    write_gguf(decoder_weights(smollm2_keras), smollm2_keras.preprocessor.tokenizer, path)
    return path


@needs_llama_cpp
def test_keras_agrees_with_llama_cpp_at_every_position(
    smollm2_keras: Any, smollm2_f32_gguf: Path
) -> None:
    from llama_cpp import Llama

    llm = Llama(
        str(smollm2_f32_gguf), n_ctx=128, n_threads=2, logits_all=True, verbose=False, **F32_CACHE
    )
    for prompt in PROMPTS:
        ids = list(smollm2_keras.preprocessor.tokenizer(prompt))
        assert llm.tokenize(prompt.encode(), add_bos=False, special=True) == ids
        # Prompt plus llama.cpp's own greedy continuation: 32 more positions to check.
        theirs_greedy = llama_cpp_greedy(llm, ids, 32)
        assert keras_greedy(smollm2_keras, ids, 32) == theirs_greedy, prompt
        sequence = ids + theirs_greedy
        theirs = llama_cpp_logits(llm, sequence)
        ours = keras_logits(smollm2_keras, sequence)
        assert (ours.argmax(-1) == theirs.argmax(-1)).all(), prompt
        assert np.abs(ours - theirs).max() < 0.05, prompt


def test_fast_fp32_matches_keras(smollm2_keras: Any, tmp_path: Path) -> None:
    """Prompt and 32 greedy tokens, 5 prompts: 160 positions, each checked three ways.

    SmolLM2's residual stream reaches 22,000 in a few channels, so float32 rounding alone
    moves logits by up to ~1e-4: Keras itself lies up to 7.6e-5 from the float64 value,
    the fast model up to 9.3e-5 (measured). Each is held to 1e-4 of the exact value; the
    two float32 results, whose errors add, to 2e-4 of each other with the same top-1.
    """
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.models.registry import decoder_weights
    from litecomplete.runtime import FastModel

    path = tmp_path / "smollm2-fast-none.tflite"
    convert_fast_model(smollm2_keras, FastExportConfig(max_length=128, buckets=(16, 64)), path)
    model = FastModel.load(path)
    weights = decoder_weights(smollm2_keras)
    for prompt in PROMPTS:
        ids = model.encode(prompt)
        first = len(ids) - 1
        logits = model._feed(ids).logits
        fast = []
        for _ in range(32):
            fast.append(logits)
            ids.append(int(np.argmax(logits)))
            logits = model._run_decode(ids[-1], len(ids) - 1)
        ours = np.asarray(fast)
        exact = reference_logits(weights, ids[:-1])[first:]
        keras = keras_logits(smollm2_keras, ids[:-1])[first:]
        assert np.abs(ours - exact).max() <= 1e-4, prompt
        assert np.abs(keras - exact).max() <= 1e-4, prompt
        assert np.abs(ours - keras).max() <= 2e-4, prompt
        assert (ours.argmax(-1) == keras.argmax(-1)).all(), prompt


def test_smollm2_file_itself_against_llama_cpp_is_close(smollm2_keras: Any) -> None:
    """On the Q4_1 file llama.cpp quantizes activations: close, and the same top-1."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the llamacpp extra is not installed")
    from llama_cpp import Llama

    llm = Llama(
        str(smollm2_gguf_path()), n_ctx=64, n_threads=2, logits_all=True, verbose=False, **F32_CACHE
    )
    ids = list(smollm2_keras.preprocessor.tokenizer(PROMPTS[0]))
    llm.eval(ids)
    theirs = np.asarray(llm.scores[len(ids) - 1])
    ours = keras_logits(smollm2_keras, ids)[-1]
    assert int(ours.argmax()) == int(theirs.argmax())
    assert np.abs(ours - theirs).max() < 2.0
