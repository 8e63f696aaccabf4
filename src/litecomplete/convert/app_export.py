"""Convert a KerasHub GPT-2 causal LM to the seed's single-graph app format.

Pipeline: ``keras.export.ExportArchive`` -> SavedModel -> ``TFLiteConverter.
from_saved_model``. Going through a SavedModel is what embeds Keras 3 weights;
``from_concrete_functions`` leaves them out and the file computes NaN.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from litecomplete.contract import (
    APP_INPUT,
    APP_RUNTIME_VERSION,
    APP_SIGNATURE,
    MANIFEST_METADATA_NAME,
    ModelFormat,
)
from litecomplete.convert.app_graph import make_generate_fn
from litecomplete.convert.config import AppExportConfig
from litecomplete.convert.output import (
    ConvertResult,
    StageCallback,
    check_output_path,
    quantize_and_convert,
    write_model,
)
from litecomplete.convert.tflite_compat import int32_ranges
from litecomplete.convert.tokenizer_export import end_token_ids
from litecomplete.errors import ConfigError
from litecomplete.inspect.contracts import runs_on_app_runtime
from litecomplete.models import registry
from litecomplete.quantize.calibration import calibration_passages
from litecomplete.quantize.modes import QuantMode

log = logging.getLogger(__name__)

# TF Text and string ops that the converter must keep as Select TF ops (the seed's list).
SELECT_USER_TF_OPS = ["UnsortedSegmentJoin", "UpperBound"]


def _representative_dataset(
    samples: int, path: Path | None
) -> Callable[[], Iterator[dict[str, Any]]]:
    import tensorflow as tf

    passages = calibration_passages(samples, path)

    def dataset() -> Iterator[dict[str, Any]]:
        for passage in passages:
            yield {APP_INPUT: tf.constant(passage)}

    return dataset


def app_tflite_bytes(
    causal_lm: Any, config: AppExportConfig, on_stage: StageCallback | None = None
) -> bytes:
    """Trace, export and convert ``causal_lm``; the .tflite file's bytes (no manifest)."""
    import keras
    import tensorflow as tf

    stage = on_stage or (lambda _: None)
    # GPT-2 has a position table; RoPE models (Llama) are bounded by what they trained on.
    max_positions = registry.decoder_spec(causal_lm).max_positions
    if config.max_length > max_positions:
        raise ConfigError(
            f"--max-length {config.max_length} exceeds the model's {max_positions} positions"
        )
    causal_lm.jit_compile = False
    # A global seed (keras.utils.set_random_seed) would fix the sampler's op seeds and
    # make every top_k completion the same; with none, the kernel seeds itself per run.
    tf.random.set_seed(None)
    with tempfile.TemporaryDirectory(prefix="litecomplete-savedmodel-") as saved_model_dir:
        stage("export SavedModel")
        archive = keras.export.ExportArchive()
        archive.track(causal_lm)
        with int32_ranges():  # TF Lite 2.12 has no int64 RANGE
            archive.add_endpoint(
                APP_SIGNATURE,
                make_generate_fn(causal_lm, config),
                input_signature=[tf.TensorSpec([], tf.string, name=APP_INPUT)],
            )
            archive.write_out(saved_model_dir, verbose=False)

        stage(f"convert to TFLite ({config.quant.value})")
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        # Builtins where they exist; Flex (Select TF ops) for string and hash-table ops.
        # With int8 this is also the explicit float fallback for ops with no integer kernel.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
        converter.allow_custom_ops = True
        converter.target_spec.experimental_select_user_tf_ops = SELECT_USER_TF_OPS
        converter._experimental_guarantee_all_funcs_one_use = True
        if config.quant in (QuantMode.DYNAMIC, QuantMode.INT8):
            # GPT-2 ties its input embedding to its output projection. Per-channel
            # scales quantize the two uses differently and store the table twice;
            # per-tensor scales let both uses share one int8 copy.
            converter._experimental_disable_per_channel = True
        representative = (
            _representative_dataset(config.calibration_samples, config.calibration_text)
            if config.quant is QuantMode.INT8
            else None
        )
        return quantize_and_convert(converter, config.quant, representative)


def app_manifest(causal_lm: Any, config: AppExportConfig) -> dict[str, Any]:
    tokenizer = causal_lm.preprocessor.tokenizer
    return {
        "format": ModelFormat.APP.value,
        "architecture": registry.for_backbone(causal_lm.backbone).name,
        "quantization": config.quant.value,
        "max_length": config.max_length,
        "context_length": config.prompt_tokens,
        "sampler": config.sampler.value,
        "top_k": config.top_k,
        "temperature": config.temperature,
        "max_output_bytes": config.max_output_bytes,
        "end_token_id": int(tokenizer.end_token_id),
        "end_token_ids": list(end_token_ids(tokenizer)),
        "vocabulary_size": int(tokenizer.vocabulary_size()),
        "tokenizer": "byte_level_bpe",
    }


def convert_app_model(
    causal_lm: Any,
    config: AppExportConfig,
    out: Path,
    on_stage: StageCallback | None = None,
) -> ConvertResult:
    """Write ``causal_lm`` to ``out`` in the app format; atomically, or not at all."""
    start = time.perf_counter()
    out = Path(out)
    check_output_path(out)
    data = app_tflite_bytes(causal_lm, config, on_stage)
    if on_stage:
        on_stage("write")
    manifest = json.dumps(app_manifest(causal_lm, config), sort_keys=True).encode("utf-8")
    result = write_model(
        data, {MANIFEST_METADATA_NAME: manifest}, out, config.quant, start, app_runtime=True
    )
    if runs_on_app_runtime(result.info) is False:
        log.warning(
            "%s needs TensorFlow Lite %s; the seed app ships %s and cannot load it",
            out,
            result.info.min_runtime_version,
            APP_RUNTIME_VERSION,
        )
    return result
