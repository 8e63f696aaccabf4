"""Fast-format conversion of the tiny GPT-2: contract, shared weights, parity with Keras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.contract import ModelFormat
from litecomplete.convert.fast_config import FastExportConfig
from litecomplete.errors import ConfigError
from litecomplete.inspect import check_contract, read_model_info
from litecomplete.models import BUILTIN_CONFIGS
from litecomplete.quantize import QuantMode
from litecomplete.runtime import FastModel, GenerationConfig
from tests.conftest import FAST_BUCKETS, FAST_MAX_LENGTH, keras_logits
from tests.tflite_ops import operators

TEXT = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, "
    "it was the age of foolishness, it was the epoch of belief, it was the epoch of "
    "incredulity, it was the season of Light"
)


@pytest.mark.parametrize("mode", ["none", "dynamic", "float16", "int8"])
def test_every_mode_is_builtins_only_and_fits_the_fast_contract(
    fast_models: dict[str, Path], mode: str
) -> None:
    info = read_model_info(fast_models[mode])
    assert check_contract(info) is ModelFormat.FAST
    assert info.op_set == "builtins"
    signatures = {"decode", "prefill_4", "prefill_16", "fill_16", "verify_4", "verify_16"}
    assert set(info.signatures) == signatures
    assert info.quantization == mode
    assert info.manifest["buckets"] == list(FAST_BUCKETS)
    assert info.manifest["verify"] == [4, 16]


def test_weights_are_stored_once(fast_models: dict[str, Path]) -> None:
    weights = read_model_info(fast_models["none"]).weight_bytes_by_dtype["FLOAT32"]
    # Five signatures, one copy: the float weights are the model's parameters, but for
    # the position table's rows past the cache, which no step can reach.
    tiny = BUILTIN_CONFIGS["tiny"]
    unreachable = (tiny.max_sequence_length - FAST_MAX_LENGTH) * tiny.hidden_dim
    assert weights == pytest.approx(4 * (tiny.parameter_count() - unreachable), rel=0.002)


def test_every_file_holds_its_weights_inline_and_says_so(
    fast_models: dict[str, Path],
) -> None:
    # The converter writes weights after the flatbuffer, marked "buffer_location"; the
    # writer takes them inline and drops the marker, which would no longer be true.
    from tensorflow.lite.tools import flatbuffer_utils

    for mode, path in fast_models.items():
        model = flatbuffer_utils.convert_bytearray_to_object(bytearray(path.read_bytes()))
        names = {m.name.decode() for m in model.metadata}
        assert {"litecomplete_manifest", "litecomplete_tokenizer"} <= names, mode
        assert "buffer_location" not in names, mode
        assert all((b.offset or 0) <= 1 for b in model.buffers), mode


def test_conversion_stages_reach_the_callers_callback_with_its_note() -> None:
    from litecomplete.convert.fast_export import ReleasingStages

    class Bar:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def __call__(self, name: str) -> None:
            self.seen.append(name)

        def note(self, detail: str) -> None:
            self.seen.append(f"note: {detail}")

    bar = Bar()
    stages = ReleasingStages(bar)
    stages("trace")
    assert stages.note is not None
    stages.note("layer 1")
    stages("write")
    assert bar.seen == ["trace", "note: layer 1", "write"]
    ReleasingStages(None)("no callback")  # releases memory, calls nothing
    assert ReleasingStages(print).note is None


@pytest.mark.parametrize("mode", ["int8w", "int4"])
def test_quantized_weights_are_stored_once(fast_models: dict[str, Path], mode: str) -> None:
    # ai-edge-quantizer quantizes a weight once per signature; the copies are shared again.
    params = BUILTIN_CONFIGS["tiny"].parameter_count()
    by_dtype = read_model_info(fast_models[mode]).weight_bytes_by_dtype
    quantized = sum(n for dtype, n in by_dtype.items() if dtype.startswith("INT"))
    # One byte per parameter at most, plus the int8 copy of the embedding for its lookup.
    tiny = BUILTIN_CONFIGS["tiny"]
    assert quantized <= params + tiny.vocabulary_size * tiny.hidden_dim
    assert fast_models[mode].stat().st_size < fast_models["float16"].stat().st_size


@pytest.mark.parametrize("prompt_tokens", [1, 3, 4, 5, 16, 17, 40])
def test_fp32_logits_match_keras_at_prefill_and_every_decode_step(
    tiny_lm: Any, fast_models: dict[str, Path], prompt_tokens: int
) -> None:
    model = FastModel.load(fast_models["none"])
    ids = [model.start_token_id, *model.encode(TEXT)][:prompt_tokens]
    assert len(ids) == prompt_tokens
    logits = model._feed(ids).logits  # prefill: bucket 4, 16, or chunks of 16
    expected = keras_logits(tiny_lm, ids)
    assert np.abs(logits - expected[-1]).max() <= 1e-4
    for _ in range(6):
        ids.append(int(np.argmax(logits)))
        logits = model._run_decode(ids[-1], len(ids) - 1)
        assert np.abs(logits - keras_logits(tiny_lm, ids)[-1]).max() <= 1e-4


@pytest.mark.parametrize("start", [0, 5, 48])
def test_fp32_verify_rows_match_keras_at_every_position(
    tiny_lm: Any, fast_models: dict[str, Path], start: int
) -> None:
    """A verify call after a cached prefix gives each row the logits after its token."""
    model = FastModel.load(fast_models["none"])
    ids = [model.start_token_id, *model.encode(TEXT * 2)][: start + 16]
    if start:
        model._feed(ids[:start])
    rows = model._graphs.run_rows("verify_16", ids[start:], start)
    assert rows.shape == (16, model.vocabulary_size)
    expected = keras_logits(tiny_lm, ids)[start:]
    assert np.abs(rows - expected).max() <= 1e-4
    short = model._graphs.run_rows("verify_4", ids[start : start + 3], start)  # padded
    assert np.abs(short - expected[:3]).max() <= 1e-4


@pytest.mark.parametrize("prompt", ["I'm enjoying a", "The quick brown fox", "東京 café"])
def test_fp32_greedy_continuation_equals_keras_generate(
    tiny_lm: Any, fast_models: dict[str, Path], prompt: str
) -> None:
    model = FastModel.load(fast_models["none"])
    tiny_lm.compile(sampler="greedy")
    expected = tiny_lm.generate(prompt, max_length=24)
    n_prompt = len(model.prompt_ids(prompt, 24))
    completion = model.complete(prompt, GenerationConfig(max_new_tokens=24 - n_prompt))
    assert prompt + completion.text == expected


@pytest.mark.parametrize("mode", ["dynamic", "float16", "int8", "int8w", "int4"])
def test_quantized_models_run_close_to_float(fast_models: dict[str, Path], mode: str) -> None:
    ref = FastModel.load(fast_models["none"])
    model = FastModel.load(fast_models[mode])
    ids = [ref.start_token_id, *ref.encode(TEXT)][:12]
    logits, ref_logits = model._feed(ids).logits, ref._feed(ids).logits
    assert np.isfinite(logits).all()
    # Random weights give small, flat logits; quantization noise must stay below their spread.
    assert np.abs(logits - ref_logits).mean() < 0.5 * ref_logits.std()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_length": 1}, "max-length"),
        ({"max_length": 8, "buckets": (16,)}, "exceeds --max-length"),
        ({"buckets": (64, 16)}, "increasing"),
        ({"buckets": ()}, "positive"),
        ({"verify": (1, 4)}, "from 2 to 64"),
        ({"verify": (16, 4)}, "--verify must be increasing"),
        ({"max_length": 8, "buckets": (4,), "verify": (16,)}, "from 2 to 8"),
        ({"decode_spans": (256,)}, "--decode-spans must be from 1 to 255"),
        ({"decode_spans": (0,)}, "--decode-spans must be from 1 to 255"),
        ({"decode_spans": (128, 64)}, "--decode-spans must be increasing"),
        ({"buckets": (16, 64), "fills": (32,)}, r"--fills must be among the buckets \(\[16, 64"),
        ({"buckets": (16, 64), "fills": (64, 16)}, "--fills must be increasing"),
    ],
)
def test_invalid_fast_config(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FastExportConfig(**fields)


def test_the_default_verify_lengths_fit_a_short_cache() -> None:
    assert FastExportConfig(max_length=6, buckets=(4,)).verify == (4,)
    assert FastExportConfig(max_length=3, buckets=(2,)).verify == ()
    assert FastExportConfig(verify=()).verify == ()


def test_the_default_decode_spans_are_powers_of_two_below_the_cache() -> None:
    assert FastExportConfig().spans == (64, 128)  # max_length 256
    assert FastExportConfig(max_length=1000).spans == (64, 128, 256, 512)
    assert FastExportConfig(max_length=64, buckets=(16,)).spans == ()
    assert FastExportConfig(decode_spans=()).spans == ()


def test_a_model_whose_output_layer_outweighs_its_blocks_gets_a_short_bucket() -> None:
    from litecomplete.convert.fast_config import HEAVY_OUTPUT_BUCKETS, for_spec
    from litecomplete.models.gemma3.shapes import gemma3_spec
    from litecomplete.models.spec import DecoderSpec, Norm, Positions

    # Gemma 3 270M: 168 M weights in its output layer, 100 M in its blocks.
    gemma = gemma3_spec(
        sliding_window=512, num_layers=18, num_heads=4, num_kv_heads=1, head_dim=256,
        hidden_dim=640, intermediate_dim=2048, vocabulary_size=262_144, norm_epsilon=1e-6,
    )  # fmt: skip
    assert gemma.output_cost == pytest.approx(1.67, abs=0.01)
    # GPT-2 124M: 39 M in its output layer, 85 M in its blocks.
    gpt2 = DecoderSpec(
        architecture="gpt2", num_layers=12, num_heads=12, num_kv_heads=12, head_dim=64,
        hidden_dim=768, intermediate_dim=3072, vocabulary_size=50257, max_positions=1024,
        norm_epsilon=1e-5, norm=Norm.LAYER, positions=Positions.LEARNED,
    )  # fmt: skip
    assert gpt2.output_cost == pytest.approx(0.45, abs=0.01)
    assert for_spec(FastExportConfig(), gemma).buckets == HEAVY_OUTPUT_BUCKETS == (16, 64)
    assert for_spec(FastExportConfig(), gpt2).buckets == (64,)
    assert for_spec(FastExportConfig(buckets=(32,)), gemma).buckets == (32,)  # the user's
    # ... and a fill signature for the longest bucket: a prompt's chunks before its last.
    assert for_spec(FastExportConfig(), gemma).fills == (64,)
    assert for_spec(FastExportConfig(), gpt2).fills == ()
    assert for_spec(FastExportConfig(buckets=(16, 32)), gemma).fills == (32,)
    assert for_spec(FastExportConfig(fills=()), gemma).fills == ()  # the user's
    with pytest.raises(ConfigError, match=r"--fills must be among the buckets \(\[64\]\)"):
        for_spec(FastExportConfig(fills=(16,)), gpt2)
    # ... and int8 keeps fewer of its output layer's channels in float (a vocabulary's
    # row of float32 each, read per token); its layers' and the other modes' as they are.
    from litecomplete.quantize.outliers import HEAVY_OUTPUT_CHANNELS, SPLITS, split_counts

    assert split_counts(QuantMode.INT8, gemma) == (48, 1, HEAVY_OUTPUT_CHANNELS) == (48, 1, 16)
    assert split_counts(QuantMode.INT8, gpt2) == SPLITS[QuantMode.INT8] == (48, 1, 48)
    assert split_counts(QuantMode.INT4, gemma) == SPLITS[QuantMode.INT4] == (32, 32, 0)


@pytest.mark.parametrize("prompt_tokens", [17, 40])
def test_a_prompts_chunks_before_its_last_go_through_its_fill_signature(
    tiny_lm: Any, fast_models: dict[str, Path], prompt_tokens: int
) -> None:
    """``fill_16`` writes the keys and values ``prefill_16`` does and no logits: the
    prompt's full chunks before its last take it, and the logits after the prompt and
    after each decode step (which read what it wrote) are Keras's."""
    model = FastModel.load(fast_models["none"])
    assert model.manifest.fills == (16,)  # chosen for the tiny model's large output layer
    fills: list[tuple[str, int, int]] = []
    fill = model._graphs.fill

    def counted(key: str, tokens: list[int], start: int) -> None:
        fills.append((key, len(tokens), start))
        fill(key, tokens, start)

    model._graphs.fill = counted  # type: ignore[method-assign]
    ids = [model.start_token_id, *model.encode(TEXT)][:prompt_tokens]
    logits = model.feed(ids)
    # 17 tokens: 16 + 1 (in prefill_4); 40: 16 + 16 + 8 (in prefill_16).
    full_chunks_before_the_last = (prompt_tokens - 1) // 16
    assert fills == [("fill_16", 16, 16 * i) for i in range(full_chunks_before_the_last)]
    assert np.abs(logits - keras_logits(tiny_lm, ids)[-1]).max() <= 1e-4
    for _ in range(4):
        ids.append(int(np.argmax(logits)))
        logits = model.step(ids[-1])
        assert np.abs(logits - keras_logits(tiny_lm, ids)[-1]).max() <= 1e-4


@pytest.fixture(scope="module")
def spanned(tiny_lm: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny GPT-2 in float32 with decode signatures reading 8 and 24 slots."""
    from litecomplete.convert.fast_export import convert_fast_model

    path = tmp_path_factory.mktemp("spanned") / "tiny-spans.tflite"
    config = FastExportConfig(
        max_length=FAST_MAX_LENGTH, buckets=FAST_BUCKETS, verify=(), decode_spans=(8, 24)
    )
    convert_fast_model(tiny_lm, config, path)
    return path


def test_decode_spans_match_keras_at_every_step_across_their_ends(
    tiny_lm: Any, spanned: Path
) -> None:
    """Each step goes through the shortest span above its position (``decode_8`` up to
    position 7, ``decode_24`` to 23, ``decode`` after), and each gives Keras's logits."""
    info = read_model_info(spanned)
    assert check_contract(info) is ModelFormat.FAST
    assert {"decode", "decode_8", "decode_24"} <= set(info.signatures)
    assert info.manifest["decode_spans"] == [8, 24]
    model = FastModel.load(spanned)
    used: list[tuple[str, int]] = []
    run = model._graphs.run

    def spy(key: str, tokens: list[int], start: int) -> np.ndarray:
        used.append((key, start))
        return run(key, tokens, start)

    model._graphs.run = spy  # type: ignore[method-assign]
    ids = [model.start_token_id, *model.encode(TEXT)][:3]
    logits = model._feed(ids).logits
    while len(ids) < 30:
        ids.append(int(np.argmax(logits)))
        logits = model._run_decode(ids[-1], len(ids) - 1)
        assert np.abs(logits - keras_logits(tiny_lm, ids)[-1]).max() <= 1e-4, len(ids)
    steps = [(key, start) for key, start in used if key.startswith("decode")]
    assert steps == [
        (("decode_8" if p < 8 else "decode_24" if p < 24 else "decode"), p) for p in range(3, 30)
    ]


def test_max_length_limit_is_checked(tiny_lm: Any, tmp_path: Path) -> None:
    from litecomplete.convert.fast_export import convert_fast_model

    with pytest.raises(ConfigError, match="exceeds the model's 1024 positions"):
        convert_fast_model(tiny_lm, FastExportConfig(max_length=2048), tmp_path / "x.tflite")
    assert not list(tmp_path.iterdir())


def test_manifest_describes_the_model(fast_models: dict[str, Path]) -> None:
    manifest = read_model_info(fast_models["none"]).manifest
    assert manifest["max_length"] == FAST_MAX_LENGTH
    assert manifest["decoder"]["num_layers"] == 2
    assert manifest["end_token_id"] == 50256


def test_int8_keeps_each_matmuls_outlier_channels_float(fast_models: dict[str, Path]) -> None:
    from litecomplete.quantize.outliers import OUTLIER_CHANNELS

    # Each of the tiny GPT-2's matmuls (q/k/v, out, up, down in 2 layers; its output
    # layer reads a layer norm and stays whole) is split: int8 weights on activations
    # quantized per row, and a float matmul over the outlier channels. Every weight is
    # stored once: the float ones are the position table (the rows the cache reaches),
    # the int8 token table's row scales and the side kernels (then norms and biases).
    info = read_model_info(fast_models["int8"])
    assert info.manifest["outlier_channels"] == OUTLIER_CHANNELS
    signatures = 5  # two prefill buckets, two verify lengths and decode
    # ... and fill_16, without the output layer, nor the last block's attention output
    # and MLP (what they compute reaches no output of a fill).
    fill = 2 * 4 * 2 - 3 * 2
    assert info.float_activation_ops["FULLY_CONNECTED"] == signatures * (2 * 4 * 2 + 1) + fill
    assert not info.quantized_activation_ops.get("FULLY_CONNECTED")
    # At most an eighth of a matmul's inputs: 16 of the 128-wide ones, 48 of the down
    # projection's 512.
    hidden, ffn = 128, 512
    narrow, wide = hidden // 8, min(OUTLIER_CHANNELS, ffn // 8)
    side_bytes = 2 * 4 * (narrow * (3 * hidden + hidden + ffn) + wide * hidden)
    tables = FAST_MAX_LENGTH * hidden * 4 + 50257 * 4
    assert side_bytes < info.weight_bytes_by_dtype["FLOAT32"] - tables
    assert info.weight_bytes_by_dtype["FLOAT32"] < tables + side_bytes + 20_000


def _gathers(path: Path) -> list[tuple[str, int, list[int]]]:
    """Every GATHER in the file: (signature, axis, the shape of what it reads)."""
    from ai_edge_litert import schema_py_generated as schema

    result = []
    for graph, op in operators(path, schema.BuiltinOperator.GATHER):
        options, table = schema.GatherOptions(), op.BuiltinOptions()
        options.Init(table.Bytes, table.Pos)
        shape = graph.Tensors(int(op.Inputs(0))).ShapeAsNumpy().tolist()
        result.append((graph.Name().decode(), options.Axis(), shape))
    return result


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_split_matmuls_gather_whole_rows(fast_models: dict[str, Path], mode: str) -> None:
    # TFLite's GATHER (not run by XNNPACK) copies a slice per row and index: along a
    # matmul input's channels a slice is one float. A chunk of T tokens takes its
    # columns from the input transposed, a row of T floats a copy (Gemma 3 int4, 2
    # threads: 64 tokens in 28 ms against 45).
    gathers = _gathers(fast_models[mode])
    columns = [(name, shape) for name, axis, shape in gathers if axis == 1]
    assert len(gathers) > 2 * 4 * 2  # the embedding's and each split matmul's
    assert columns and all(shape[0] == 1 for _, shape in columns), columns


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_a_split_matmul_computes_what_the_whole_one_does(tiny_lm: Any, family: str) -> None:
    # In float the split is exact: the same logits as the graph without it, in prefill
    # and decode (the int8 weights are what makes the mode differ from float). The
    # Llama's RMS norm also splits its output layer.
    import tensorflow as tf

    from litecomplete.convert.fast_graph import FastDecoder
    from litecomplete.models.registry import decoder_weights
    from tests.conftest import random_llama_weights

    weights = decoder_weights(tiny_lm) if family == "gpt2" else random_llama_weights()
    spec, rng = weights.spec, np.random.default_rng(0)
    widths = {
        "qkv": spec.hidden_dim,
        "out": spec.num_heads * spec.head_dim,
        "gate_up": spec.hidden_dim,
        "down": spec.intermediate_dim,
    }
    outliers = {
        (i, p): np.sort(rng.choice(width, 7, replace=False)).astype(np.int32)
        for i in range(spec.num_layers)
        for p, width in widths.items()
    }
    outliers[spec.num_layers, "output"] = np.array([1, 5, 9], np.int32)
    length = min(FAST_MAX_LENGTH, spec.max_positions)
    whole = FastDecoder(weights, length)
    split = FastDecoder(weights, length, outliers=outliers)
    assert (split.output_split is not None) == (spec.norm == "rms")
    for t in (4, 1):
        tokens = tf.constant(rng.integers(0, spec.vocabulary_size, (1, t)), tf.int32)
        positions = tf.constant(np.arange(3, 3 + t), tf.int32)
        caches = [tf.zeros(cache.shape) for cache in whole.cache_specs()]
        a = whole.signature(t)(tokens, positions, *caches)["logits"].numpy()
        b = split.signature(t)(tokens, positions, *caches)["logits"].numpy()
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * np.abs(a).max())


@pytest.mark.parametrize("mode", [m.value for m in QuantMode])
def test_the_runtime_computes_what_the_interpreter_computes(
    fast_models: dict[str, Path], mode: str
) -> None:
    """Our runtime (CompiledModel, one packed copy of the weights for all signatures)
    against ai-edge-litert's Interpreter on the same file, prefill then decode."""
    from ai_edge_litert.interpreter import Interpreter

    model = FastModel.load(fast_models[mode])
    ids = [model.start_token_id, *model.encode(TEXT)][:12]
    ours = [model._graphs.run("prefill_16", ids, 0), model._graphs.run("decode", [ids[0]], 12)]
    interpreter = Interpreter(model_path=str(fast_models[mode]), num_threads=2)
    prefill = interpreter.get_signature_runner("prefill_16")
    inputs = {k: np.zeros(v["shape"], v["dtype"]) for k, v in prefill.get_input_details().items()}
    inputs["tokens"][0, : len(ids)] = ids
    inputs["input_pos"][: len(ids)] = np.arange(len(ids))
    out = prefill(**inputs)
    caches = {k: v for k, v in out.items() if k != "logits"}
    decode = interpreter.get_signature_runner("decode")
    theirs = [
        out["logits"].reshape(-1),
        decode(tokens=np.array([[ids[0]]], np.int32), input_pos=np.array([12], np.int32), **caches)[
            "logits"
        ].reshape(-1),
    ]
    for a, b in zip(ours, theirs, strict=True):
        assert np.abs(a - b).max() <= 1e-4 * max(1.0, float(np.abs(b).max())), mode


@pytest.mark.parametrize("mode", [QuantMode.INT8, QuantMode.INT4])
def test_too_little_calibration_text_is_refused_before_converting(
    tiny_lm: Any, tmp_path: Path, mode: QuantMode
) -> None:
    from litecomplete.convert.fast_export import convert_fast_model

    out = tmp_path / "x.tflite"
    config = FastExportConfig(max_length=FAST_MAX_LENGTH, quant=mode, calibration_samples=1)
    with pytest.raises(ConfigError, match=f"{mode.value} calibration needs at least 64 tokens"):
        convert_fast_model(tiny_lm, config, out)
    assert not list(tmp_path.iterdir())
