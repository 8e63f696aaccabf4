"""Reading GGUF files: the embedded SmolLM2, and files that must be refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from litecomplete.errors import GgufFileError, UnsupportedArchitectureError
from litecomplete.models.embedded import smollm2_gguf_path
from litecomplete.models.gguf.reader import read_gguf
from litecomplete.models.gguf.tokenizer import tokenizer_from_gguf
from tests.gguf_edit import with_header_value

TOKEN_IDS = Path(__file__).resolve().parent.parent / "data" / "smollm2_token_ids.json"


@pytest.fixture(scope="module")
def smollm2() -> Path:
    return smollm2_gguf_path()


def test_smollm2_metadata_and_dequantized_tensors(smollm2: Path) -> None:
    model = read_gguf(smollm2)
    assert model.architecture == "llama"
    assert model.arch_value("block_count") == 30
    assert model.arch_value("attention.head_count_kv") == 3
    assert model.tensor_types["blk.0.attn_q.weight"] == "Q4_1"
    q = model.tensor("blk.0.attn_q.weight")
    assert q.shape == (576, 576) and q.dtype == np.float32
    assert np.isfinite(q).all() and q.std() > 0
    embedding = model.tensor("token_embd.weight")  # Q8_0
    assert embedding.shape == (49152, 576)
    assert "output.weight" not in model.tensor_types  # tied to the embedding


def test_metadata_and_tensors_are_what_gguf_py_reads(smollm2: Path) -> None:
    """Our parser against gguf-py's ``GGUFReader`` (a second implementation) on the
    embedded file: every value with its Python type, every tensor's type, shape and bytes."""
    import gguf

    ours = read_gguf(smollm2)
    theirs = gguf.GGUFReader(str(smollm2))
    expected = {k: f.contents() for k, f in theirs.fields.items() if not k.startswith("GGUF.")}
    assert ours.metadata == expected
    assert {k: type(v) for k, v in ours.metadata.items()} == {
        k: type(v) for k, v in expected.items()
    }
    assert list(ours._tensors) == [t.name for t in theirs.tensors]
    for t in theirs.tensors:
        mine = ours._tensors[t.name]
        assert mine.tensor_type == t.tensor_type and mine.shape.tolist() == t.shape.tolist()
        assert mine.data.dtype == t.data.dtype and mine.data.shape == t.data.shape, t.name
        np.testing.assert_array_equal(mine.data, t.data)


def test_a_string_that_is_not_utf8_leaves_its_key_empty(smollm2: Path, tmp_path: Path) -> None:
    """As gguf-py's ``contents()`` does, the key reads as absent; the rest stays readable."""
    data = bytearray(smollm2.read_bytes())
    name = b"Smollm2 135M 8k Lc100K Mix1 Ep2"
    at = data.index(name)
    data[at : at + 2] = b"\xff\xfe"
    path = tmp_path / "bad-name.gguf"
    path.write_bytes(bytes(data))
    model = read_gguf(path)
    assert model.metadata["general.name"] is None
    assert model.arch_value("block_count") == 30


def test_tokenizer_gives_llama_cpps_ids(smollm2: Path) -> None:
    reference = json.loads(TOKEN_IDS.read_text("utf-8"))
    tokenizer = tokenizer_from_gguf(read_gguf(smollm2))
    for case in reference["cases"]:
        assert tokenizer.encode(case["text"]).ids == case["ids"], case["text"]
        assert tokenizer.decode(case["ids"], skip_special_tokens=False) == case["text"]


def test_a_non_gguf_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"TFL3 not gguf at all")
    with pytest.raises(GgufFileError, match="is not a GGUF file"):
        read_gguf(path)


@pytest.mark.parametrize("keep", [0.5, 0.001])
def test_a_truncated_gguf_is_refused(smollm2: Path, tmp_path: Path, keep: float) -> None:
    path = tmp_path / "cut.gguf"
    data = smollm2.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(GgufFileError, match="truncated or damaged"):
        read_gguf(path)


def test_another_architecture_is_refused(tmp_path: Path, tiny_lm: object) -> None:
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    path = tmp_path / "gpt2.gguf"
    write_gguf(decoder_weights(tiny_lm), tiny_lm.preprocessor.tokenizer, path)  # type: ignore[attr-defined]
    from litecomplete.models.registry import gguf_architecture

    model = read_gguf(path)  # the reader reads any architecture; the registry says which
    with pytest.raises(UnsupportedArchitectureError, match="'gpt2' model"):
        gguf_architecture(model)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GgufFileError, match="does not exist"):
        read_gguf(tmp_path / "absent.gguf")


def test_missing_tensor_is_named(smollm2: Path, tmp_path: Path) -> None:
    with pytest.raises(GgufFileError, match="no tensor 'output.weight'"):
        read_gguf(smollm2).tensor("output.weight")


def test_file_copy_is_read_alike(smollm2: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.gguf"
    shutil.copy(smollm2, copy)
    a, b = read_gguf(smollm2), read_gguf(copy)
    np.testing.assert_array_equal(a.tensor("blk.3.ffn_up.weight"), b.tensor("blk.3.ffn_up.weight"))


U32_MAX = 0xFFFFFFFF


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("llama.block_count", 0, "block_count is 0"),
        ("llama.block_count", U32_MAX, "file holds only 20 tensors"),  # was out of memory
        ("llama.block_count", 1, "holds more blocks"),
        ("llama.embedding_length", 32, "tensor 'token_embd.weight' is"),
        ("llama.attention.head_count", 0, "head_count is 0"),  # was ZeroDivisionError
        ("llama.attention.head_count_kv", 3, "do not split into whole"),  # was a reshape error
        ("llama.attention.head_count_kv", 4, "tensor 'blk.0.attn_k.weight' is"),
        ("llama.feed_forward_length", 127, "tensor 'blk.0.ffn_gate.weight' is"),  # was accepted
        ("llama.vocab_size", 10, "header says vocab_size 10"),
        ("tokenizer.ggml.eos_token_id", U32_MAX, "outside the 49152-token vocabulary"),
        ("llama.rope.freq_base", float("nan"), "expected a positive number"),
    ],
)
def test_a_gguf_header_that_lies_is_refused(
    tiny_llama_gguf: Path, tmp_path: Path, key: str, value: float, fragment: str
) -> None:
    """Each size in the header is checked against the tensors before anything is built."""
    from litecomplete.convert.fast_export import gguf_fast_source

    path = with_header_value(tiny_llama_gguf, tmp_path / "lying.gguf", key, value)
    with pytest.raises(GgufFileError, match=fragment) as caught:
        gguf_fast_source(path)
    assert str(path) in str(caught.value)
