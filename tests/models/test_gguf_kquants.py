"""GGUF files in llama.cpp's K-quant mixes (Q4_K_M: Q4_K, Q6_K, Q5_0, ...) import: their
weights dequantize to what llama.cpp computes with."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from litecomplete.models import llama
from litecomplete.models.fake import random_decoder_weights
from litecomplete.models.gguf.reader import read_gguf
from litecomplete.models.registry import gguf_architecture
from tests.reference import reference_logits

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
IDS = [1, 504, 3458, 314, 260, 1050, 28, 2114, 30, 216, 1085, 2947]


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="the llamacpp extra is not installed")
def test_a_q4_k_m_file_imports_and_computes_what_llama_cpp_does(tmp_path: Path) -> None:
    import llama_cpp

    from litecomplete.models.embedded import smollm2_gguf_path
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.llama.gguf_import import gguf_tokenizer

    # Rows of 256 and more: K-quant blocks are 256 wide (the tiny Llama's 64 are not).
    spec = dataclasses.replace(
        llama.fake_spec(), num_layers=1, hidden_dim=256, head_dim=64, intermediate_dim=512
    )
    weights = random_decoder_weights(spec, seed=5)
    f32, q4 = tmp_path / "wide-f32.gguf", tmp_path / "wide-q4_k_m.gguf"
    write_gguf(weights, gguf_tokenizer(read_gguf(smollm2_gguf_path())), f32)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert llama_cpp.llama_model_quantize(str(f32).encode(), str(q4).encode(), params) == 0

    model = read_gguf(q4)
    assert {"Q4_K", "Q6_K"} <= set(model.tensor_types.values()), model.tensor_types
    ours = gguf_architecture(model).gguf_weights(model)  # type: ignore[misc]
    # 4-6 bits a weight: close to the float weights, far from noise (measured: relative
    # RMS error 0.062 for Q4_K's QKV, 0.018 for Q6_K's down projection; noise is 1.4).
    for got, want in ((ours.layers[0].qkv_kernel, weights.layers[0].qkv_kernel),
                      (ours.layers[0].down_kernel, weights.layers[0].down_kernel)):  # fmt: skip
        assert np.sqrt(np.mean((got - want) ** 2) / np.mean(want**2)) < 0.1

    llm = llama_cpp.Llama(
        str(q4), n_ctx=64, n_threads=2, logits_all=True, verbose=False, type_k=0, type_v=0
    )
    llm.eval(IDS)
    theirs = np.asarray(llm.scores[: len(IDS)])
    expected = reference_logits(ours, IDS)
    # llama.cpp multiplies K-quant weights with 8-bit activations; the float64 reference
    # uses the same weights in full precision (measured: 0.008 of the largest logit, every
    # top-1 the same).
    scale = np.abs(expected).max()
    assert np.abs(theirs - expected).max() < 0.02 * scale
    assert (theirs.argmax(-1) == expected.argmax(-1)).mean() >= 0.9


def test_a_type_not_dequantized_is_refused_by_name(tmp_path: Path) -> None:
    import gguf

    from litecomplete.errors import GgufFileError

    path = tmp_path / "iq.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.IQ4_NL]  # 32 weights
    raw = np.zeros((4, 64 // block * size), np.uint8)  # 4 rows of 64 weights
    writer.add_tensor(
        "token_embd.weight", raw, raw_shape=raw.shape, raw_dtype=gguf.GGMLQuantizationType.IQ4_NL
    )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(GgufFileError, match="type IQ4_NL, which import-gguf cannot"):
        read_gguf(path)
