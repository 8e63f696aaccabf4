"""The file contracts: signature and tensor names shared by converters and runtimes.

``fast`` is litecomplete's own builtins-only contract, runnable on ai-edge-litert
without TensorFlow. Signatures ``prefill_<T>`` (one per bucket length T) and
``decode`` share one copy of the weights. Per layer ``i`` the KV cache is held
by the runtime, head-major, so both attention matmuls read it as stored:

* ``k_cache_<i>``: float32[1, kv_heads, max_length, head_dim]
* ``v_cache_<i>``: float32[1, kv_heads, head_dim, max_length] (transposed)

Inputs: ``tokens`` int32[1, T] (T = 1 for decode, padded to the bucket for
prefill), ``input_pos`` int32[1] (position of ``tokens[0, 0]``), ``length``
int32[1] (real tokens, prefill only; shape [1] rather than a scalar because the
runtime writes inputs through numpy views and a 0-d view is read-only), and the
caches. Cache slots at and after ``input_pos`` are masked, so stale values
there are harmless; but masking adds a large negative number to the scores, so
every slot must hold a finite value: a runtime zero-fills the caches first.
Outputs: ``logits`` float32[1, vocab] for the last real token, and only the NEW
keys and values, ``k_<i>`` float32[1, kv_heads, T, head_dim] and ``v_<i>``
float32[1, kv_heads, head_dim, T]; the runtime writes them into its caches at
``input_pos``, in place, instead of copying whole caches through every call.
"""

from __future__ import annotations

from litecomplete.choices import Choice


class ModelFormat(Choice):
    """File formats litecomplete writes."""

    __choice__ = "format"
    APP = "app"
    FAST = "fast"
    LITERTLM = "litertlm"  # a LiteRT-LM bundle (convert.litertlm_export)


APP_SIGNATURE = "serving_default"
APP_INPUT = "prompt"
APP_OUTPUT = "output_0"
# The seed app (tensorflow/examples lite/examples/generative_ai/android) copies output 0's
# raw bytes into ``ByteBuffer.allocateDirect(800)``; a larger tensor makes the copy throw.
APP_OUTPUT_BUFFER_BYTES = 800
# A string tensor's raw bytes start with its count and one more offset than strings:
# int32 count, int32 start, int32 end for the one string of a scalar.
STRING_TENSOR_HEADER_BYTES = 12
# The TensorFlow Lite release the seed app ships (org.tensorflow:tensorflow-lite:2.12.0).
APP_RUNTIME_VERSION = "2.12.0"

DECODE_SIGNATURE = "decode"
PREFILL_PREFIX = "prefill_"
TOKENS = "tokens"
INPUT_POS = "input_pos"
LENGTH = "length"
LOGITS = "logits"


def prefill_signature(bucket: int) -> str:
    return f"{PREFILL_PREFIX}{bucket}"


def k_cache_name(layer: int) -> str:
    return f"k_cache_{layer}"


def v_cache_name(layer: int) -> str:
    return f"v_cache_{layer}"


def k_out_name(layer: int) -> str:
    return f"k_{layer}"


def v_out_name(layer: int) -> str:
    return f"v_{layer}"


# Key of the JSON manifest stored in the .tflite file's metadata table.
MANIFEST_METADATA_NAME = "litecomplete_manifest"
# Key of the tokenizer (Hugging Face ``tokenizer.json``) stored beside the manifest.
TOKENIZER_METADATA_NAME = "litecomplete_tokenizer"
