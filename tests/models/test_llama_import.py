"""GGUF -> KerasHub Llama: tokenizer, weights, the preset directory, and llama.cpp parity."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.errors import PresetDirectoryError
from litecomplete.models.embedded import smollm2_gguf_path
from litecomplete.models.gguf.importer import import_gguf
from litecomplete.models.gguf.reader import read_gguf
from litecomplete.models.llama.gguf_import import gguf_tokenizer
from tests.conftest import keras_logits, random_llama_weights
from tests.llama_cpp_parity import F32_CACHE

TOKEN_IDS = Path(__file__).resolve().parent.parent / "data" / "smollm2_token_ids.json"
HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
PROMPTS = ["The capital of France is", "Once upon a time", "def f(x):\n    return 2 * x"]


@pytest.fixture(scope="module")
def smollm2_tokenizer() -> Any:
    return gguf_tokenizer(read_gguf(smollm2_gguf_path()))


def test_keras_tokenizer_gives_llama_cpps_ids(smollm2_tokenizer: Any) -> None:
    import tensorflow as tf

    in_graph = tf.function(lambda text: smollm2_tokenizer(text))
    for case in json.loads(TOKEN_IDS.read_text("utf-8"))["cases"]:
        assert list(smollm2_tokenizer(case["text"])) == case["ids"], case["text"]
        # Inside a graph, as the app format tokenizes.
        assert in_graph(tf.constant(case["text"])).numpy().tolist() == case["ids"], case["text"]
        assert smollm2_tokenizer.detokenize(case["ids"]) == case["text"]


def test_batched_graph_tokenization_keeps_texts_apart(smollm2_tokenizer: Any) -> None:
    import tensorflow as tf

    texts = ["In 2026,\n\nwe", "<|im_start|>x", ""]
    batch = tf.function(lambda t: smollm2_tokenizer(t))(tf.constant(texts))
    assert batch.to_list() == [list(smollm2_tokenizer(t)) for t in texts]


def test_weights_survive_gguf_and_keras(tiny_llama: Any) -> None:
    from litecomplete.models.registry import decoder_weights

    expected, got = random_llama_weights(), decoder_weights(tiny_llama)
    # GGUF stores the epsilon as float32.
    epsilon = float(np.float32(expected.spec.norm_epsilon))
    assert got.spec == dataclasses.replace(expected.spec, norm_epsilon=epsilon)
    np.testing.assert_array_equal(got.token_embedding, expected.token_embedding)
    assert got.output_kernel is None  # tied, as written
    for a, b in zip(got.layers, expected.layers, strict=True):
        for field in ("qkv_kernel", "out_kernel", "up_kernel", "gate_kernel", "down_kernel"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        np.testing.assert_array_equal(a.attn_norm_scale, b.attn_norm_scale)


def test_preset_directory_loads_with_keras_hub(
    tiny_llama_gguf: Path, tiny_llama: Any, tmp_path: Path
) -> None:
    import keras_hub

    preset = import_gguf(tiny_llama_gguf, tmp_path / "preset")
    (tmp_path / "plain").mkdir()
    assert preset.stat().st_mode == (tmp_path / "plain").stat().st_mode
    loaded = keras_hub.models.CausalLM.from_preset(str(preset))
    assert type(loaded).__name__ == "Llama3CausalLM"
    assert loaded.backbone.tie_word_embeddings
    assert not loaded.preprocessor.add_start_token  # SmolLM2 adds no BOS
    ids = list(loaded.preprocessor.tokenizer("Hello world, 42"))
    assert ids == list(tiny_llama.preprocessor.tokenizer("Hello world, 42"))
    np.testing.assert_array_equal(keras_logits(loaded, ids), keras_logits(tiny_llama, ids))


def test_import_refuses_a_used_directory(tiny_llama_gguf: Path, tmp_path: Path) -> None:
    out = tmp_path / "preset"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(PresetDirectoryError, match="not an empty directory"):
        import_gguf(tiny_llama_gguf, out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_failed_import_leaves_nothing(
    tiny_llama_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras_hub

    def failing(*_: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(keras_hub.models.Llama3CausalLM, "save_to_preset", failing)
    with pytest.raises(OSError, match="No space"):
        import_gguf(tiny_llama_gguf, tmp_path / "preset")
    assert list(tmp_path.iterdir()) == []


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "litecomplete", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, _: p.write_bytes(b"TFL3 not gguf"), "is not a GGUF file"),
        (lambda p, src: p.write_bytes(src.read_bytes()[:5000]), "truncated or damaged"),
    ],
    ids=["not-gguf", "truncated"],
)
def test_import_gguf_command_refuses_bad_files(
    tiny_llama_gguf: Path, tmp_path: Path, make: Any, message: str
) -> None:
    bad = tmp_path / "bad.gguf"
    make(bad, tiny_llama_gguf)
    result = run_cli("import-gguf", str(bad), "--out", str(tmp_path / "preset"))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "preset").exists()


def test_import_gguf_command_refuses_another_architecture(tiny_lm: Any, tmp_path: Path) -> None:
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    gpt2 = tmp_path / "gpt2.gguf"
    write_gguf(decoder_weights(tiny_lm), tiny_lm.preprocessor.tokenizer, gpt2)
    result = run_cli("import-gguf", str(gpt2), "--out", str(tmp_path / "preset"))
    assert result.returncode == 2
    assert "holds a 'gpt2' model; import-gguf supports: llama" in result.stderr
    assert not (tmp_path / "preset").exists()


def test_import_gguf_command_writes_a_preset(tiny_llama_gguf: Path, tmp_path: Path) -> None:
    result = run_cli("import-gguf", str(tiny_llama_gguf), "--out", str(tmp_path / "preset"))
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (tmp_path / "preset").iterdir()} >= {
        "config.json",
        "task.json",
        "tokenizer.json",
        "model.weights.h5",
    }


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_llama_cpp_computes_the_same_logits(tiny_llama_gguf: Path, tiny_llama: Any) -> None:
    from llama_cpp import Llama

    llm = Llama(
        str(tiny_llama_gguf), n_ctx=64, n_threads=2, logits_all=True, verbose=False, **F32_CACHE
    )
    for prompt in PROMPTS:
        ids = list(tiny_llama.preprocessor.tokenizer(prompt))
        assert llm.tokenize(prompt.encode(), add_bos=False, special=True) == ids
        llm.reset()
        llm.eval(ids)
        theirs = np.asarray(llm.scores[: len(ids)])
        ours = keras_logits(tiny_llama, ids)
        assert (ours.argmax(-1) == theirs.argmax(-1)).all(), prompt
        assert np.abs(ours - theirs).max() < 1e-3, prompt


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_greedy_continuation_equals_llama_cpps(tiny_llama_gguf: Path, tiny_llama: Any) -> None:
    from llama_cpp import Llama

    llm = Llama(str(tiny_llama_gguf), n_ctx=64, n_threads=2, verbose=False, **F32_CACHE)
    for prompt in PROMPTS:
        ids = list(tiny_llama.preprocessor.tokenizer(prompt))
        llm.reset()
        theirs = []
        for token in llm.generate(ids, temp=0.0, top_k=1):
            theirs.append(token)
            if len(theirs) == 16:
                break
        ours = list(ids)
        for _ in range(16):  # greedy on the Keras model, one whole forward pass a token
            ours.append(int(keras_logits(tiny_llama, ours)[-1].argmax()))
        assert ours[len(ids) :] == theirs, prompt
