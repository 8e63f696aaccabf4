"""The embedded SmolLM2-135M-Instruct, imported from its GGUF into the fast format."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from litecomplete.inspect import read_model_info
from litecomplete.models.embedded import smollm2_gguf_path
from litecomplete.quantize import QuantMode
from litecomplete.runtime import FastModel, GenerationConfig
from tests.slow.shared_files import smollm2_fast_file

pytestmark = pytest.mark.slow

PROMPTS = ["The capital of France is", "Once upon a time, there was a", "def fibonacci(n):"]


@pytest.fixture(scope="module")
def smollm2_fast(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = smollm2_fast_file(QuantMode.NONE, tmp_path_factory.mktemp("smollm2"))
    assert read_model_info(path).op_set == "builtins"
    return path


def test_completes_with_sensible_english(smollm2_fast: Path) -> None:
    model = FastModel.load(smollm2_fast)
    completion = model.complete("The capital of France is", GenerationConfig(max_new_tokens=8))
    assert "Paris" in completion.text


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="the llamacpp extra is not installed"
)
def test_next_token_agrees_with_llama_cpp(smollm2_fast: Path) -> None:
    from llama_cpp import Llama

    model = FastModel.load(smollm2_fast)
    llm = Llama(str(smollm2_gguf_path()), n_ctx=64, n_threads=2, logits_all=True, verbose=False)
    for prompt in PROMPTS:
        ids = model.prompt_ids(prompt, 8)
        assert llm.tokenize(prompt.encode(), add_bos=False, special=True) == ids
        ours = model.feed(ids)
        llm.reset()
        llm.eval(ids)
        # llama.cpp multiplies Q4_1 weights with quantized activations; we run the
        # dequantized weights in float32, so the logits agree closely, not exactly.
        theirs = np.asarray(llm.scores[len(ids) - 1])
        assert int(np.argmax(ours)) == int(np.argmax(theirs)), prompt
        assert np.abs(ours - theirs).max() < 2.0


def test_speculation_returns_the_tokens_of_plain_greedy_decoding() -> None:
    """The default model (dynamic int8, verify signatures) typing through the packaged
    evaluation text and a code file: every suggestion, drafted or not, token for token."""
    from litecomplete.bench.sessions import session_texts
    from litecomplete.default_model import ensure_default_model
    from litecomplete.runtime.speculative import Speculation

    model = FastModel.load(ensure_default_model())
    assert model.verify_lengths, "the default model carries verify signatures"
    compared = 0
    for text in session_texts().values():
        ids = model.encode(text)
        for start in range(200, len(ids) - 10, (len(ids) - 210) // 12):
            for typed in range(4):
                prompt = ids[start - 120 : start + typed]
                runs = []
                for mode in ("auto", "off"):  # auto first: drafts from earlier prompts only
                    config = GenerationConfig(
                        max_new_tokens=16, speculation=Speculation.parse(mode)
                    )
                    model.reset()  # no logits kept from the other mode's run
                    runs.append(model.complete_ids(prompt, config).token_ids)
                assert runs[0] == runs[1], (start, typed)
                compared += 1
            # The same text cut inside a word, healed.
            cut = model.decode_text(ids[start - 120 : start])[:-2]
            healed = []
            for mode in ("auto", "off"):
                config = GenerationConfig(
                    max_new_tokens=16, speculation=Speculation.parse(mode), heal=True
                )
                model.reset()
                healed.append(model.complete(cut, config).token_ids)
            assert healed[0] == healed[1], start
            compared += 1
    assert compared >= 110
    assert model.speculation_stats.accepted > 100, "drafts were checked and accepted"
