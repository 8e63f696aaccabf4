"""The TensorFlow-free runtime on tiny fast-format models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from litecomplete.errors import ConfigError, ModelFileError, PromptError
from litecomplete.runtime import FastModel, FinishReason, GenerationConfig, SamplingConfig
from litecomplete.runtime.prompt_tokens import trim_step
from tests.conftest import FAST_MAX_LENGTH


@pytest.fixture(scope="module")
def model(fast_models: dict[str, Path]) -> FastModel:
    return FastModel.load(fast_models["none"])


def greedy(n: int, **fields: object) -> GenerationConfig:
    return GenerationConfig(max_new_tokens=n, **fields)  # type: ignore[arg-type]


def test_prefix_reuse_gives_the_tokens_of_a_cold_run(
    model: FastModel, fast_models: dict[str, Path]
) -> None:
    typed = "The history of the city begins with a small fishing village on the river"
    prompts = [typed[:n] for n in range(20, len(typed) + 1, 7)] + [typed, typed + " bank"]
    warm = [model.complete(p, greedy(8)) for p in prompts]
    assert any(c.reused_tokens > 0 for c in warm[1:])
    for prompt, completion in zip(prompts, warm, strict=True):
        cold = FastModel.load(fast_models["none"]).complete(prompt, greedy(8))
        assert cold.reused_tokens == 0
        assert completion.token_ids == cold.token_ids, prompt


def test_one_token_extension_reuses_the_whole_prefix(model: FastModel) -> None:
    model.complete("A quiet morning in the", greedy(4))
    again = model.complete("A quiet morning in the park", greedy(4))
    assert again.reused_tokens == again.prompt_tokens - 1


def test_stream_pieces_join_to_the_completion(model: FastModel) -> None:
    config = greedy(20)
    pieces = list(model.stream("Once upon a time", config))
    assert pieces[-1].finish_reason is not None
    assert all(p.finish_reason is None for p in pieces[:-1])
    completion = model.complete("Once upon a time", config)
    assert "".join(p.text for p in pieces) == completion.text
    assert [t for p in pieces for t in p.token_ids] == completion.token_ids


def test_stop_string_ends_the_completion(model: FastModel) -> None:
    full = model.complete("Once upon a time", greedy(20, stop_at_end_token=False)).text
    stop = full[len(full) // 2 : len(full) // 2 + 4]  # spans tokens, mid-completion
    assert stop.strip(), full
    cut = model.complete("Once upon a time", greedy(20, stop=(stop,), stop_at_end_token=False))
    assert cut.finish_reason is FinishReason.STOP
    assert cut.text == full[: full.index(stop)]


def test_max_new_tokens_beyond_the_cache_stops_cleanly(model: FastModel) -> None:
    long_prompt = " word" * 200
    result = model.complete(long_prompt, greedy(1000, stop_at_end_token=False))
    assert result.finish_reason is FinishReason.CACHE_FULL
    # The newest tokens of the first half kept (the window moves in steps), room for the rest.
    half = FAST_MAX_LENGTH // 2
    assert half - trim_step(half) < result.prompt_tokens <= half
    assert result.prompt_tokens + len(result.token_ids) == FAST_MAX_LENGTH + 1


def test_max_new_tokens_reached(model: FastModel) -> None:
    result = model.complete("Hello", greedy(5, stop_at_end_token=False))
    assert result.finish_reason is FinishReason.LENGTH
    assert len(result.token_ids) == 5


def test_long_prompt_keeps_the_newest_tokens(model: FastModel) -> None:
    newest = " word" * 70  # more tokens than the model keeps
    keep = FAST_MAX_LENGTH - 6
    a = model.complete("Completely different opening words. " * 30 + newest, greedy(6))
    start = 0 if model.start_token_id is None else 1
    b = model.complete(" word" * (a.prompt_tokens - start), greedy(6))  # fits: none trimmed
    assert keep - trim_step(keep) < a.prompt_tokens <= keep
    assert b.prompt_tokens == a.prompt_tokens  # the same newest tokens, so the same text
    assert a.token_ids == b.token_ids


def test_a_growing_prompt_keeps_its_window_start(model: FastModel) -> None:
    """Past the cache, the window moves in steps: most calls reuse the cached prefix."""
    text = "Once upon a time" + "".join(f" {i}" for i in range(80))  # no two tokens alike
    reused = []
    for _ in range(12):
        text += " more"
        reused.append(model.complete(text, greedy(2)).reused_tokens)
    # Cold at the first call, and the window moves once in 12 one-token steps (its
    # step is 15 tokens here); every other call reuses more than the start token.
    start = 0 if model.start_token_id is None else 1
    assert sum(r <= start for r in reused) <= 2, reused


def test_sampling_is_seeded_and_alternatives_differ(model: FastModel) -> None:
    config = GenerationConfig(max_new_tokens=8, sampling=SamplingConfig(temperature=1.0, seed=7))
    first = model.complete_n("The weather today", 3, config)
    again = model.complete_n("The weather today", 3, config)
    assert [c.token_ids for c in first] == [c.token_ids for c in again]
    assert len({tuple(c.token_ids) for c in first}) > 1


def test_top_k_one_and_tiny_top_p_are_greedy(model: FastModel) -> None:
    expected = model.complete("The weather today", greedy(8)).token_ids
    for sampling in (
        SamplingConfig(temperature=1.0, top_k=1, seed=1),
        SamplingConfig(temperature=1.0, top_p=1e-9, seed=1),
    ):
        config = GenerationConfig(max_new_tokens=8, sampling=sampling)
        assert model.complete("The weather today", config).token_ids == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": -0.5}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
    ],
)
def test_invalid_sampling_values(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SamplingConfig(**fields)  # type: ignore[arg-type]


def test_invalid_generation_values(model: FastModel) -> None:
    with pytest.raises(ConfigError, match="max_new_tokens"):
        GenerationConfig(max_new_tokens=0)
    with pytest.raises(ConfigError, match="n must be"):
        model.complete_n("x", 0)
    with pytest.raises(PromptError, match="empty"):
        model.complete("")
    with pytest.raises(PromptError, match="UTF-8"):
        model.complete(b"\xc3\x28")


def test_models_of_one_tokenizer_share_it(fast_models: dict[str, Path]) -> None:
    """A server holding several quantizations of a model parses their tokenizer once."""
    dynamic = FastModel.load(fast_models["dynamic"])
    int4 = FastModel.load(fast_models["int4"])
    assert dynamic.tokenizer is int4.tokenizer
    assert dynamic.info.tokenizer_json is None  # the parsed tokenizer is what stays
    assert dynamic.encode("<|endoftext|>") == int4.encode("<|endoftext|>") != [50256]


def test_an_app_format_file_is_not_fast(app_models: dict[str, Path]) -> None:
    with pytest.raises(ModelFileError, match="no 'decode' signature"):
        FastModel.load(app_models["none"])


def test_a_manifest_that_lies_is_rejected(fast_models: dict[str, Path], tmp_path: Path) -> None:
    from tensorflow.lite.tools import flatbuffer_utils

    from litecomplete.contract import MANIFEST_METADATA_NAME

    model = flatbuffer_utils.read_model(str(fast_models["none"]))
    entry = next(m for m in model.metadata if m.name.decode() == MANIFEST_METADATA_NAME)
    manifest = json.loads(bytes(model.buffers[entry.buffer].data).decode())
    manifest["decoder"]["num_layers"] = 3
    model.buffers[entry.buffer].data = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    lying = tmp_path / "lying.tflite"
    flatbuffer_utils.write_model(model, str(lying))
    with pytest.raises(ModelFileError, match="manifest does not match the model"):
        FastModel.load(lying)


def test_runs_with_tensorflow_absent(fast_models: dict[str, Path]) -> None:
    code = f"""
import sys
for name in ("tensorflow", "keras", "keras_hub", "tensorflow_text"):
    sys.modules[name] = None  # any import of them now fails
from litecomplete.runtime import FastModel, GenerationConfig
model = FastModel.load({str(fast_models["dynamic"])!r})
print(repr(model.complete("Hello there", GenerationConfig(max_new_tokens=5)).text))
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(eval(lines[0])) > 0  # a completion came back
    assert lines[1] == "['keras', 'tensorflow']"  # only the blocking placeholders
