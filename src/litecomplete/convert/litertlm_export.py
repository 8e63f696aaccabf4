"""Convert a causal LM to a LiteRT-LM bundle (``.litertlm``), written by litert-lm-builder.

The bundle holds three sections: the fast-format file itself, whose contract is LiteRT-LM's
(``litecomplete.contract``: ``tokens`` [1, T], ``input_pos`` with a position per
token, the caches ``k_cache_<i>`` / ``v_cache_<i>`` as inputs and, updated whole, as
outputs of the same names, ``logits`` [1, 1, vocab]), the Hugging Face
``tokenizer.json``, and ``LlmMetadata``: start and stop tokens, the
cache length as ``max_num_tokens``, the chat template where the model has one, and a
greedy sampler in the form LiteRT-LM's CPU sampler implements (top-p with k = 1).
"""

from __future__ import annotations

import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from litecomplete.atomic import atomic_write_bytes
from litecomplete.convert.fast_config import (
    LITERTLM_DEFAULT_BUCKETS,
    FastExportConfig,
    fitting_buckets,
)
from litecomplete.convert.fast_export import FastSource, fast_file_bytes, fast_source
from litecomplete.convert.output import ConvertResult, StageCallback, check_output_path, converted
from litecomplete.errors import ConversionError
from litecomplete.inspect.litertlm_file import import_litertlm_builder
from litecomplete.inspect.model_info import parse_model_bytes


def llm_metadata(source: FastSource, config: FastExportConfig) -> bytes:
    """A serialized ``LlmMetadata`` for ``source``."""
    import_litertlm_builder()
    from litert_lm_builder.runtime.proto import llm_metadata_pb2, sampler_params_pb2

    meta = llm_metadata_pb2.LlmMetadata()
    if source.start_token_id is not None:
        meta.start_token.token_ids.ids.append(source.start_token_id)
    for end in source.end_token_ids:
        meta.stop_tokens.add().token_ids.ids.append(end)
    meta.max_num_tokens = config.max_length
    # Greedy: LiteRT-LM's CPU sampler is top-p; k = 1 keeps the most likely token.
    meta.sampler_params.type = sampler_params_pb2.SamplerParameters.TOP_P
    meta.sampler_params.k = 1
    meta.sampler_params.p = 1.0
    meta.sampler_params.temperature = 1.0
    meta.llm_model_type.generic_model.SetInParent()
    if source.chat_template:
        meta.jinja_prompt_template = source.chat_template
    return bytes(meta.SerializeToString())


def bundle_bytes(tflite: bytes, source: FastSource, config: FastExportConfig) -> bytes:
    """The ``.litertlm`` bytes of a LiteRT-LM-contract ``tflite`` model and its tokenizer."""
    builder_module = import_litertlm_builder().litertlm_builder
    with tempfile.TemporaryDirectory(prefix="litecomplete-litertlm-") as tmp:
        model_path = Path(tmp) / "model.tflite"
        tokenizer_path = Path(tmp) / "tokenizer.json"
        metadata_path = Path(tmp) / "llm_metadata.pb"
        model_path.write_bytes(tflite)
        tokenizer_path.write_text(source.tokenizer_json, "utf-8")
        metadata_path.write_bytes(llm_metadata(source, config))
        builder = builder_module.LitertLmFileBuilder()
        builder.add_system_metadata(
            builder_module.Metadata(
                key="Authors", value="litecomplete", dtype=builder_module.DType.STRING
            )
        )
        builder.add_tflite_model(str(model_path), builder_module.TfLiteModelType.PREFILL_DECODE)
        builder.add_hf_tokenizer(str(tokenizer_path))
        builder.add_llm_metadata(str(metadata_path))
        stream = io.BytesIO()
        try:
            builder.build(stream)
        except Exception as e:
            raise ConversionError(f"litert-lm-builder failed: {e}") from e
        return stream.getvalue()


def convert_litertlm_model(
    model: Any,
    config: FastExportConfig,
    out: Path,
    on_stage: StageCallback | None = None,
) -> ConvertResult:
    """Write ``model`` (a KerasHub causal LM or a ``FastSource``) to ``out`` as a LiteRT-LM
    bundle; atomically, or not at all. The result's ``info`` describes the bundled model."""
    start = time.perf_counter()
    out = Path(out)
    check_output_path(out)
    # LiteRT-LM runs prefill and decode only: verify, fill and decode-span signatures
    # would cost it memory, and short prompts want short prefill buckets (unless the
    # caller chose buckets).
    buckets = config.buckets or fitting_buckets(LITERTLM_DEFAULT_BUCKETS, config.max_length)
    config = replace(config, buckets=buckets, verify=(), decode_spans=(), fills=())
    source = fast_source(model)
    tflite = fast_file_bytes(source, config, on_stage, last_stage="bundle")
    bundle = bundle_bytes(tflite, source, config)
    atomic_write_bytes(out, bundle)
    return converted(out, len(bundle), config.quant, start, parse_model_bytes(tflite))
