"""Convert a causal LM to the fast format (see ``litecomplete.contract``).

Weights are pulled out of the Keras model into a ``tf.Module`` of variables
(``fast_graph``), saved as a SavedModel with one signature per prefill bucket
plus ``decode``, and converted with builtins only: no Flex, no custom ops.
"""

from __future__ import annotations

import gc
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litecomplete import contract as c
from litecomplete.contract import fast_manifest_problems
from litecomplete.convert.fast_config import FastExportConfig, for_spec
from litecomplete.convert.output import (
    ConvertResult,
    StageCallback,
    check_output_path,
    finish_model,
    quantize_and_convert,
    write_finished,
)
from litecomplete.convert.tokenizer_export import (
    END_OF_TEXT_TOKENS,
    end_token_ids,
    hf_tokenizer_json,
)
from litecomplete.errors import ConfigError, ConversionError
from litecomplete.models import registry
from litecomplete.models.spec import DecoderWeights
from litecomplete.process_memory import release_freed_memory
from litecomplete.quantize.calibration import (
    calibration_passages,
)
from litecomplete.quantize.gptq import (
    GPTQ_PASSAGES,
    GPTQ_TOKENS,
    GptqRounding,
    input_hessians,
)
from litecomplete.quantize.modes import INT8_POSITION_MODES, Precision, QuantMode
from litecomplete.quantize.outliers import (
    CALIBRATION_TOKENS,
    SPLITS,
    UNIT_KERNELS,
    Outliers,
    outlier_channels,
    split_counts,
)
from litecomplete.quantize.plan import (
    DEFAULT_MAX_KLD,
    PLAN_TOKENS,
    PLAN_WINDOW,
    QuantPlan,
    check_int4,
    choose_plan,
)
from litecomplete.quantize.simulate import OUTPUT

# Outlier calibration: fewer tokens than this pick channels by chance.
MIN_CALIBRATION_TOKENS = 64


@dataclass(frozen=True)
class FastSource:
    """What a fast-format file is written from: weights, tokenizer and special tokens."""

    weights: DecoderWeights
    tokenizer_json: str  # Hugging Face tokenizer.json
    start_token_id: int | None  # put before every prompt, or None
    end_token_ids: tuple[int, ...]
    chat_template: str | None = None  # Jinja, where the model has one (GGUF)

    def encode(self, text: str) -> list[int]:
        from tokenizers import Tokenizer

        return list(
            Tokenizer.from_str(self.tokenizer_json).encode(text, add_special_tokens=False).ids
        )


def keras_fast_source(causal_lm: Any) -> FastSource:
    """A KerasHub causal LM as a fast-format source."""
    preprocessor = causal_lm.preprocessor
    tokenizer = preprocessor.tokenizer
    adds_start = getattr(preprocessor, "add_start_token", True)
    return FastSource(
        weights=registry.decoder_weights(causal_lm),
        tokenizer_json=hf_tokenizer_json(tokenizer),
        start_token_id=int(tokenizer.start_token_id) if adds_start else None,
        end_token_ids=end_token_ids(tokenizer),
    )


def gguf_fast_source(path: str | Path) -> FastSource:
    """A GGUF file of an importable family as a fast-format source (weights dequantized
    to float32)."""
    from litecomplete.models.gguf.reader import read_gguf

    model = read_gguf(path)
    architecture = registry.gguf_architecture(model)
    assert architecture.gguf_weights is not None and architecture.gguf_tokenizer is not None
    weights = architecture.gguf_weights(model)  # checks the header before the slow tokenizer
    tokenizer = architecture.gguf_tokenizer(model)
    meta = model.metadata
    eos = meta.get("tokenizer.ggml.eos_token_id")
    ends = {int(eos)} if eos is not None else set()
    ends |= {i for t in END_OF_TEXT_TOKENS if (i := tokenizer.token_to_id(t)) is not None}
    bos = meta.get("tokenizer.ggml.bos_token_id")
    add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", False))
    return FastSource(
        weights=weights,
        tokenizer_json=str(tokenizer.to_str()),
        start_token_id=int(bos) if add_bos and bos is not None else None,
        end_token_ids=tuple(sorted(ends)),
        chat_template=meta.get("tokenizer.chat_template"),
    )


class ReleasingStages:
    """A stage callback that first hands back to the system what the stage before it
    freed: objects held in reference cycles (traced graphs), then the C heap's freed
    pages, which glibc keeps. Each stage's peak then sits less on what the stages
    before it left (Gemma 3 int8 converted in one process: 11.2 -> 10.1 GB)."""

    def __init__(self, on_stage: StageCallback | None) -> None:
        self.on_stage = on_stage
        self.note = getattr(on_stage, "note", None)  # a progress bar's detail line

    def __call__(self, name: str) -> None:
        gc.collect()
        release_freed_memory()
        if self.on_stage is not None:
            self.on_stage(name)


@dataclass(frozen=True)
class Calibration:
    """What ``int8``, ``int4`` and ``auto`` learn from calibration text: the matmuls'
    outlier channels; for ``auto``, each matmul's precision; the weights the graph is
    built from, each int4 and int8 kernel as GPTQ rounded it (``quantize.gptq``)."""

    outliers: Outliers | None = None
    plan: QuantPlan | None = None
    weights: DecoderWeights | None = None


def calibrate(
    source: FastSource, config: FastExportConfig, on_stage: StageCallback | None = None
) -> Calibration:
    """``config.quant``'s calibration on the first ``calibration_samples`` passages."""
    if config.quant not in SPLITS and config.quant is not QuantMode.AUTO:
        return Calibration()
    text = " ".join(calibration_passages(config.calibration_samples, config.calibration_text))
    ids = source.encode(text)[:CALIBRATION_TOKENS]
    if len(ids) < MIN_CALIBRATION_TOKENS:
        raise ConfigError(
            f"{config.quant.value} calibration needs at least {MIN_CALIBRATION_TOKENS} "
            f"tokens of text, {config.calibration_samples} passages give {len(ids)}; give "
            "more --calibration-samples or a longer --calibration-text"
        )
    stage = on_stage or (lambda _: None)
    if config.quant is QuantMode.AUTO:
        stage("choose each matmul's precision (auto)")
        note = getattr(on_stage, "note", None)  # a progress bar's detail, where there is one
        max_kld = DEFAULT_MAX_KLD if config.max_kld is None else config.max_kld
        rounding = GptqRounding(input_hessians(source.weights, gptq_ids(source, config)))
        plan = choose_plan(source.weights, ids, max_kld, note, rounding)
        weights = rounding.weights(source.weights, plan.precisions, plan.outliers)
        return Calibration(plan.outliers, plan, weights)
    stage(f"find outlier channels ({config.quant.value})")
    counts = split_counts(config.quant, source.weights.spec)
    outliers = outlier_channels(source.weights, ids, *counts)
    if config.quant is QuantMode.INT4:
        check_int4(source.weights, outliers)
    layers = Precision.INT4 if config.quant is QuantMode.INT4 else Precision.INT8
    n = source.weights.spec.num_layers
    precisions = {(i, p): layers for i in range(n) for p in UNIT_KERNELS}
    precisions[(n, OUTPUT)] = Precision.INT8
    stage(f"round {layers.value} weights (GPTQ)")
    rounding = GptqRounding(input_hessians(source.weights, gptq_ids(source, config)))
    return Calibration(outliers, weights=rounding.weights(source.weights, precisions, outliers))


def gptq_ids(source: FastSource, config: FastExportConfig) -> list[int]:
    """The calibration tokens GPTQ fits integer weights on: up to ``GPTQ_TOKENS`` of at least
    ``GPTQ_PASSAGES`` passages; for ``auto``, those after the tokens its plans are
    scored on (``PLAN_TOKENS``), where that leaves a whole window (else all of them)."""
    passages = max(config.calibration_samples, GPTQ_PASSAGES)
    text = " ".join(calibration_passages(passages, config.calibration_text))
    ids = source.encode(text)[:GPTQ_TOKENS]
    if config.quant is QuantMode.AUTO and len(ids) - PLAN_TOKENS >= PLAN_WINDOW:
        return ids[PLAN_TOKENS:]
    return ids


def fast_tflite_bytes(
    source: FastSource,
    config: FastExportConfig,
    calibration: Calibration,
    on_stage: StageCallback | None = None,
) -> bytes:
    """The fast-format file's bytes (no metadata yet), as ``calibration`` (``calibrate``)
    chose."""
    import tensorflow as tf

    from litecomplete.convert.fast_graph import FastDecoder

    stage = on_stage or (lambda _: None)
    weights = source.weights if calibration.weights is None else calibration.weights
    if config.max_length > weights.spec.max_positions:
        raise ConfigError(
            f"--max-length {config.max_length} exceeds the model's "
            f"{weights.spec.max_positions} positions"
        )
    # int8, int8w, int4 and auto here are float conversion (of a graph with split
    # matmuls in int8, int4 and auto), then ai-edge-quantizer (quantize.weights).
    from litecomplete.quantize.weights import QUANTIZER_MODES, quantize_weights

    converter_quant = QuantMode.NONE if config.quant in QUANTIZER_MODES else config.quant
    outliers = calibration.outliers
    with tempfile.TemporaryDirectory(prefix="litecomplete-fast-") as saved_model_dir:
        stage("trace prefill and decode")
        # Integer modes look embeddings up in an int8 table and keep norm scales out
        # of their int8 weights (see FastDecoder).
        integer = config.quant not in (QuantMode.NONE, QuantMode.FLOAT16)
        module = FastDecoder(
            weights,
            config.max_length,
            int8_embedding=integer,
            outliers=outliers,
            int8_positions=config.quant in INT8_POSITION_MODES,
            fold_norms=not integer,
        )
        signatures = module.signatures(
            list(config.prefill_lengths), config.verify, config.spans, config.fill_lengths
        )
        tf.saved_model.save(module, saved_model_dir, signatures=signatures)
        del module
        stage(f"convert to TFLite ({converter_quant.value})")
        converter = tf.lite.TFLiteConverter.from_saved_model(
            saved_model_dir, signature_keys=list(signatures)
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        # Weights stored after the flatbuffer. Without it, TensorFlow passes the whole
        # model through Python objects twice after converting (conversion metadata,
        # shared buffers; finish_model shares them anyway): 1.5 GB more at SmolLM2's
        # peak, 3.4 GB at Gemma 3 int8's, and 30 s of Gemma 3's conversion.
        converter._experimental_use_buffer_offset = True
        data = quantize_and_convert(converter, converter_quant, None)
    if config.quant in QUANTIZER_MODES:
        stage(f"quantize ({config.quant.value})")
        data = quantize_weights(data, config.quant, calibration.plan)
    return data


def fast_manifest(
    source: FastSource, config: FastExportConfig, plan: QuantPlan | None = None
) -> c.FastManifest:
    outliers = SPLITS[config.quant][0] if config.quant in SPLITS else None
    if plan is not None:
        outliers = max((len(ch) for ch in plan.outliers.values()), default=0)
    return c.FastManifest(  # in the order of its fields
        decoder=source.weights.spec,
        quantization=config.quant.value,
        max_length=config.max_length,
        buckets=config.prefill_lengths,
        verify=config.verify,
        end_token_ids=source.end_token_ids,
        start_token_id=source.start_token_id,
        outlier_channels=outliers,
        decode_spans=config.spans,
        quant_plan=None if plan is None else plan.manifest(),
        fills=config.fill_lengths,
    )


def fast_source(model: Any) -> FastSource:
    """``model`` as a fast-format source: a ``FastSource`` as it is, or a KerasHub causal LM."""
    return model if isinstance(model, FastSource) else keras_fast_source(model)


def fast_file_bytes(
    source: FastSource,
    config: FastExportConfig,
    on_stage: StageCallback | None = None,
    last_stage: str = "write",
) -> bytes:
    """The whole fast-format file: the graph with its manifest and tokenizer, each weight
    stored once. ``last_stage`` names the step after conversion for ``on_stage``; the
    default buckets are chosen for the model (``fast_config.for_spec``)."""
    config = for_spec(config, source.weights.spec)
    fields = fast_manifest(source, config).to_json()
    problems = fast_manifest_problems(fields)  # what a runtime would refuse to load
    if problems:
        raise ConversionError(f"the model cannot be written: {'; '.join(problems)}")
    stages = ReleasingStages(on_stage)
    calibration = calibrate(source, config, stages)
    data = fast_tflite_bytes(source, config, calibration, stages)
    stages(last_stage)
    fields = fast_manifest(source, config, calibration.plan).to_json()
    manifest = json.dumps(fields, sort_keys=True)
    metadata = {
        c.MANIFEST_METADATA_NAME: manifest.encode("utf-8"),
        c.TOKENIZER_METADATA_NAME: source.tokenizer_json.encode("utf-8"),
    }
    # One weight can land in the file more than once: ai-edge-quantizer writes it per
    # signature, and a tied table's lookup and output matmul get a quantized copy each.
    return finish_model(data, metadata, share_weights=True)


def convert_fast_model(
    model: Any,
    config: FastExportConfig,
    out: Path,
    on_stage: StageCallback | None = None,
) -> ConvertResult:
    """Write ``model`` (a KerasHub causal LM or a ``FastSource``) to ``out`` in the fast
    format; atomically, or not at all."""
    start = time.perf_counter()
    out = Path(out)
    check_output_path(out)
    data = fast_file_bytes(fast_source(model), config, on_stage)
    return write_finished(data, out, config.quant, start)
