"""Damaged and lying model files: each fails with a clear error that names the file."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.errors import ModelFileError, PromptError
from litecomplete.runtime import GenerationConfig
from litecomplete.runtime.model_files import load_model

SHORT = GenerationConfig(max_new_tokens=2)


def rewrite(src: Path, dst: Path, edit: Callable[[Any], None]) -> Path:
    """Copy the model at ``src`` to ``dst`` with ``edit(model)`` applied to its ``ModelT``."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(src))
    edit(model)
    flatbuffer_utils.write_model(model, str(dst))
    return dst


def metadata_buffer(model: Any, name: str) -> Any:
    entry = next(m for m in model.metadata if m.name.decode() == name)
    return model.buffers[entry.buffer]


def with_manifest(change: Callable[[dict[str, Any]], Any]) -> Callable[[Any], None]:
    """An edit that replaces the manifest with ``change(manifest)`` (or the changed one)."""
    from litecomplete.contract import MANIFEST_METADATA_NAME

    def edit(model: Any) -> None:
        buffer = metadata_buffer(model, MANIFEST_METADATA_NAME)
        manifest = json.loads(bytes(buffer.data).decode())
        new = change(manifest)
        new = manifest if new is None else new
        buffer.data = np.frombuffer(json.dumps(new).encode(), np.uint8)

    return edit


def assert_refused(path: Path, fragment: str) -> None:
    with pytest.raises(ModelFileError, match=fragment) as caught:
        load_model(path).complete("Hello there", SHORT)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.5, 0.999])
def test_truncated_files(fast_models: dict[str, Path], tmp_path: Path, keep: float) -> None:
    data = fast_models["none"].read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: int(len(data) * keep)])
    assert_refused(path, "not a TFLite model|damaged TFLite file")


def test_random_bytes_behind_a_tflite_header(tmp_path: Path) -> None:
    path = tmp_path / "random.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + random.Random(0).randbytes(100_000))
    assert_refused(path, "damaged TFLite file")


def test_flipped_bytes_never_escape_as_another_error(
    fast_models: dict[str, Path], tmp_path: Path
) -> None:
    """Bytes flipped in the flatbuffer's tables (its first 4 KB and last 64 KB): either
    the file still loads and completes, or loading fails with ModelFileError naming the
    file; no other error. A flip can land where nothing reads it, so a file may still
    run; most must be caught (all 12 of these seeds were, when this was written)."""
    original = fast_models["none"].read_bytes()
    refused = 0
    for seed in range(12):
        data = bytearray(original)
        rng = random.Random(seed)
        for _ in range(1 + seed % 3):
            start, stop = rng.choice([(0, 4096), (len(data) - 65536, len(data))])
            data[rng.randrange(start, stop)] = rng.getrandbits(8)
        path = tmp_path / f"flipped-{seed}.tflite"
        path.write_bytes(bytes(data))
        try:
            completion = load_model(path).complete("Hello there", SHORT)
        except ModelFileError as e:
            assert str(path) in str(e) and "\n" not in str(e), seed
            refused += 1
        else:
            assert isinstance(completion.text, str), seed
    assert refused >= 9, f"only {refused} of 12 damaged files were refused"


def test_a_graph_that_cannot_be_prepared(fast_models: dict[str, Path], tmp_path: Path) -> None:
    """A reshape target that no longer fits its input: the runtime's prepare step fails."""
    from tensorflow.lite.python import schema_py_generated as schema

    def break_a_reshape(model: Any) -> None:
        reshape = next(
            i
            for i, code in enumerate(model.operatorCodes)
            if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.RESHAPE
        )
        graph = model.subgraphs[0]
        op = next(o for o in graph.operators if o.opcodeIndex == reshape and len(o.inputs) > 1)
        buffer = model.buffers[graph.tensors[op.inputs[1]].buffer]
        shape = np.frombuffer(bytes(buffer.data), np.int32).copy()
        shape[-1] += 1
        buffer.data = np.frombuffer(shape.tobytes(), np.uint8)

    path = rewrite(fast_models["none"], tmp_path / "reshape.tflite", break_a_reshape)
    assert_refused(path, "cannot be prepared")


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        where = manifest
        *parents, last = key.split(".")
        for part in parents:
            where = where[part]
        where[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda m: [1, 2], "not a JSON object"),
        (lambda m: "fast", "not a JSON object"),
        (_set("buckets", []), "buckets is"),
        (_set("buckets", "16"), "buckets is"),
        (_set("end_token_id", "abc"), "end_token_id is 'abc'"),
        (_set("end_token_ids", 5), "end_token_ids is 5"),
        (_set("end_token_ids", [[1]]), "end_token_ids is"),
        (_set("start_token_id", 10**9), "start_token_id is 1000000000"),
        (_set("start_token_id", -5), "start_token_id is -5"),
        (_set("max_length", "64"), "max_length is '64'"),
        (_set("decoder.num_layers", 1e308), "decoder.num_layers is 1e"),  # was a loop of 1e308
        (_set("decoder.num_layers", 2.5), "decoder.num_layers is 2.5"),
        (_set("decoder", None), "decoder is None"),
        (_set("decoder.vocabulary_size", 10), "end_token_id is"),
        (_set("decode_spans", [64]), r"decode_spans is \[64\], expected a list of up to"),
        (_set("verify", [1]), r"verify is \[1\], expected a list of up to \d+ lengths from 2"),
        (_set("decode_spans", [8]), "lists decode span 8 but there is no 'decode_8' signature"),
        (_set("fills", [8]), r"fills is \[8\], expected a list of bucket lengths"),
        (_set("fills", [4]), "lists fill 4 but there is no 'fill_4' signature"),
    ],
)
def test_a_manifest_that_lies(
    fast_models: dict[str, Path],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], Any],
    fragment: str,
) -> None:
    path = rewrite(fast_models["none"], tmp_path / "lying.tflite", with_manifest(change))
    assert_refused(path, fragment)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [(b"\xff\xfe", "not UTF-8 text"), (b"", "points at no data"), (b"{oops", "damaged")],
)
def test_unreadable_metadata(
    fast_models: dict[str, Path], tmp_path: Path, data: bytes, fragment: str
) -> None:
    from litecomplete.contract import MANIFEST_METADATA_NAME

    def edit(model: Any) -> None:
        metadata_buffer(model, MANIFEST_METADATA_NAME).data = (
            np.frombuffer(data, np.uint8) if data else None
        )

    assert_refused(rewrite(fast_models["none"], tmp_path / "meta.tflite", edit), fragment)


def test_a_tokenizer_from_another_model(fast_models: dict[str, Path], tmp_path: Path) -> None:
    """Its ids run past the vocabulary: refused before the graph's lookup fails on them."""
    from litecomplete.contract import TOKENIZER_METADATA_NAME

    words = {"[UNK]": 0, "Hello": 10**6, "there": 10**6 + 1}
    other = {
        "version": "1.0",
        "model": {"type": "WordLevel", "vocab": words, "unk_token": "[UNK]"},
        "pre_tokenizer": {"type": "Whitespace"},
    }

    def edit(model: Any) -> None:
        buffer = metadata_buffer(model, TOKENIZER_METADATA_NAME)
        buffer.data = np.frombuffer(json.dumps(other).encode(), np.uint8)

    path = rewrite(fast_models["none"], tmp_path / "tok.tflite", edit)
    assert_refused(path, "its tokenizer gives token id")


def test_token_ids_outside_the_vocabulary(fast_models: dict[str, Path]) -> None:
    from litecomplete.runtime import FastModel

    model = FastModel.load(fast_models["none"])
    vocab = model.vocabulary_size
    for ids in ([vocab], [-1], [1, 2, vocab + 7]):
        with pytest.raises(PromptError, match="outside the vocabulary"):
            model.feed(ids)
    model.feed([1, 2])
    with pytest.raises(PromptError, match="outside the vocabulary"):
        model.step(vocab)
    assert model.step(3).shape == (vocab,)  # still usable after the refusals
