"""App-format files on the seed app's runtime: TensorFlow Lite 2.12 with TF Text 2.12.

Every tiny GPT-2, Llama and Gemma 3 file, in every app-format mode, runs the way the app
runs it (input 0, output 0, no signature, one thread), and its output fits the app's
800-byte buffer for the prompts the app's context window sends (the newest 5, 20 or 50
words) in English, Turkish and emoji, and for 50 very long words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from litecomplete.contract import APP_OUTPUT_BUFFER_BYTES, STRING_TENSOR_HEADER_BYTES
from litecomplete.runtime import AppModel
from tests.oracles import AppRun, run_like_seed_app

ENGLISH = "the quick brown fox jumps over the lazy dog while children play in the park"
TURKISH = (
    "çocuklar güneşli öğleden sonra bahçedeki ağaçların gölgesinde şarkı söyleyip oyun "
    "oynarken büyükleri çay içiyordu"
)
EMOJI = "😀 🎉🚀 ✨🌍 🌈 👨‍👩‍👧‍👦 🇹🇷 🙂🙃 ❤️‍🔥 🐱‍👤 🍕🍔🍟"  # ZWJ sequences and flags too
LONG_WORDS = "Pneumonoultramicroscopicsilicovolcanoconiosis Çekoslovakyalılaştıramadıklarımız"


def words(vocabulary: str, count: int) -> str:
    """``count`` words of ``vocabulary``'s words, cycled."""
    pool = vocabulary.split(" ")
    return " ".join(pool[i % len(pool)] for i in range(count))


PROMPTS = {
    f"{name}-{count}": words(vocabulary, count)
    for name, vocabulary in (("english", ENGLISH), ("turkish", TURKISH), ("emoji", EMOJI))
    for count in (5, 20, 50)
}
PROMPTS["long-words-50"] = words(LONG_WORDS, 50)


def filled(vocabulary: str, room: int) -> str:
    """Words of ``vocabulary`` until fewer than ``room`` bytes of the buffer are left."""
    text, count = "", 0
    limit = APP_OUTPUT_BUFFER_BYTES - STRING_TENSOR_HEADER_BYTES - room
    while len(text.encode()) < limit:
        count += 1
        text = words(vocabulary, count)
    return text


# Less room than any completion of the tiny models takes: the graph must cut it.
PROMPTS["turkish-nearly-full"] = filled(TURKISH, 24)
PROMPTS["emoji-nearly-full"] = filled(EMOJI, 24)


def fits(prompt: str) -> bool:
    """Whether the prompt alone leaves room in the app's buffer."""
    return STRING_TENSOR_HEADER_BYTES + len(prompt.encode()) < APP_OUTPUT_BUFFER_BYTES


def test_the_prompts_cover_both_sides_of_the_buffer() -> None:
    assert not fits(PROMPTS["long-words-50"])
    assert fits(PROMPTS["emoji-50"])
    assert len(PROMPTS["emoji-50"].encode()) > APP_OUTPUT_BUFFER_BYTES // 2


@pytest.fixture(scope="module")
def runs(
    app_models: dict[str, Path],
    llama_app_models: dict[str, Path],
    gemma3_app_models: dict[str, Path],
) -> dict[str, Any]:
    models = {f"gpt2-{mode}": path for mode, path in app_models.items()}
    models |= {f"llama-{mode}": path for mode, path in llama_app_models.items()}
    models |= {f"gemma3-{mode}": path for mode, path in gemma3_app_models.items()}
    return run_like_seed_app(models, list(PROMPTS.values()))


MODELS = [
    f"{arch}-{mode}"
    for arch in ("gpt2", "llama", "gemma3")
    for mode in ("none", "dynamic", "float16", "int8")
]


@pytest.mark.parametrize("model", MODELS)
def test_every_mode_loads_and_runs_on_tflite_212(runs: dict[str, Any], model: str) -> None:
    result = runs[model]
    assert not isinstance(result, str), f"{model} failed on TF Lite 2.12: {result}"
    for prompt, run in zip(PROMPTS.values(), result, strict=True):
        assert run.raw_bytes <= APP_OUTPUT_BUFFER_BYTES, (prompt[:40], run.raw_bytes)
        text = run.output.decode("utf-8")  # strict: whole characters only
        if fits(prompt):
            # The app finds the completion as output.indexOf(input) + input.length.
            assert text.startswith(prompt)
        else:
            assert text == "", "a prompt with no room left gets an empty output"


@pytest.mark.parametrize("model", MODELS)
def test_short_prompts_get_a_completion(runs: dict[str, Any], model: str) -> None:
    for prompt, run in zip(PROMPTS.values(), runs[model], strict=True):
        if len(prompt.encode()) < APP_OUTPUT_BUFFER_BYTES // 2:
            assert len(run.output) > len(prompt.encode()), prompt[:40]


@pytest.mark.parametrize("model", MODELS)
def test_nearly_full_prompts_are_cut_at_a_character(runs: dict[str, Any], model: str) -> None:
    for name in ("turkish-nearly-full", "emoji-nearly-full"):
        index = list(PROMPTS).index(name)
        run = runs[model][index]
        completion = run.output[len(PROMPTS[name].encode()) :].decode("utf-8")
        assert completion, name
        # Cut where the next character would not fit: at most 3 bytes left unused.
        assert run.raw_bytes > APP_OUTPUT_BUFFER_BYTES - 4, (name, run.raw_bytes)


@pytest.mark.parametrize("arch", ["gpt2", "llama", "gemma3"])
def test_float32_outputs_equal_the_pinned_tensorflow(
    runs: dict[str, Any],
    app_models: dict[str, Path],
    llama_app_models: dict[str, Path],
    gemma3_app_models: dict[str, Path],
    arch: str,
) -> None:
    """Greedy float32: TF Lite 2.12 writes what our own TensorFlow 2.19 runtime writes."""
    by_arch = {"gpt2": app_models, "llama": llama_app_models, "gemma3": gemma3_app_models}
    path = by_arch[arch]["none"]
    ours = AppModel.load(path)
    theirs: list[AppRun] = runs[f"{arch}-none"]
    for prompt, run in zip(PROMPTS.values(), theirs, strict=True):
        assert run.output == ours.generate(prompt), prompt[:40]
