"""GGUF export of GPT-2 weights, for llama.cpp on the very same weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.errors import ConfigError
from litecomplete.models.gguf.export import write_gguf
from litecomplete.models.gguf.writer import GgufType
from litecomplete.models.registry import decoder_weights

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None


@pytest.fixture(scope="module")
def ggufs(tiny_lm: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gguf")
    weights = decoder_weights(tiny_lm)
    paths = {}
    for kind in GgufType:
        paths[kind.value] = out / f"tiny-{kind.value}.gguf"
        write_gguf(weights, tiny_lm.preprocessor.tokenizer, paths[kind.value], kind)
    return paths


def test_metadata_and_tensors(ggufs: dict[str, Path], tiny_lm: Any) -> None:
    import gguf

    reader = gguf.GGUFReader(str(ggufs["f32"]))
    fields = {name: reader.fields[name] for name in reader.fields}
    assert bytes(fields["general.architecture"].parts[-1]).decode() == "gpt2"
    assert int(fields["gpt2.block_count"].parts[-1][0]) == 2
    assert len(fields["tokenizer.ggml.tokens"].data) == 50257
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == 4 + 2 * 12  # embeddings and output norm, 12 per block
    qkv = tensors["blk.0.attn_qkv.weight"]
    assert list(qkv.shape) == [128, 384]  # GGUF lists dims innermost first: (in, out)
    expected = decoder_weights(tiny_lm).layers[0].qkv_kernel.T  # (out, in)
    np.testing.assert_array_equal(np.asarray(qkv.data).reshape(384, 128), expected)


def test_q8_0_round_trips_within_its_step(ggufs: dict[str, Path], tiny_lm: Any) -> None:
    import gguf

    reader = gguf.GGUFReader(str(ggufs["q8_0"]))
    tensor = next(t for t in reader.tensors if t.name == "blk.1.ffn_up.weight")
    assert tensor.tensor_type == gguf.GGMLQuantizationType.Q8_0
    restored = gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(512, 128)
    original = decoder_weights(tiny_lm).layers[1].up_kernel.T
    step = np.abs(original).reshape(512, 4, 32).max(axis=-1, keepdims=True) / 127
    error = np.abs(restored - original).reshape(512, 4, 32)
    # Half a step from rounding, plus the f16 scale's relative error (2**-11) times 127.
    assert (error <= step * (0.5 + 127 * 2**-11)).all()
    assert error.mean() < 0.3 * step.mean()


def test_files_are_smaller_with_smaller_types(ggufs: dict[str, Path]) -> None:
    size = {k: p.stat().st_size for k, p in ggufs.items()}
    assert size["q8_0"] < size["f16"] < size["f32"]


def test_unknown_type() -> None:
    with pytest.raises(ConfigError, match="f32, f16, q8_0"):
        GgufType.parse("q4_k")


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_llama_cpp_computes_the_same_logits(ggufs: dict[str, Path], tiny_lm: Any) -> None:
    from llama_cpp import Llama

    ids = [50256, 464, 2068, 7586, 21831]
    x = {"token_ids": np.array([ids]), "padding_mask": np.ones((1, len(ids)), bool)}
    expected = np.asarray(tiny_lm(x))[0]
    llm = Llama(str(ggufs["f32"]), n_ctx=32, n_threads=2, logits_all=True, verbose=False)
    assert llm.tokenize(b"The quick brown fox", add_bos=False) == ids[1:]
    llm.eval(ids)
    logits = np.asarray(llm.scores[: len(ids)])
    assert np.abs(logits - expected).max() < 1e-3
