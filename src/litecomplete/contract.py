"""The file contracts: signature and tensor names shared by converters and runtimes.

``fast`` is litecomplete's builtins-only contract, runnable on ai-edge-litert
without TensorFlow, and the same graph LiteRT-LM runs from a ``.litertlm`` bundle
(its executor's contract, 0.18.1). Signatures ``prefill_<T>`` (one per bucket
length T) and ``decode`` share one copy of the weights. Per layer ``i`` the KV cache
is head-major, so both attention matmuls read it as stored:

* ``k_cache_<i>``: float32[1, kv_heads, max_length, head_dim]
* ``v_cache_<i>``: float32[1, kv_heads, head_dim, max_length] (transposed)

Inputs: ``tokens`` int32[1, T] (T = 1 for decode, padded to the bucket for
prefill), ``input_pos`` int32[T] (each token's position; padding rows hold 0), and
the caches. Outputs: the caches again, under the same names, with the T new keys
and values written as slots ``input_pos[0]`` to ``input_pos[0] + T - 1`` (so a
runtime binds one buffer as both input and output, and a chunk must end inside the
cache), and ``logits`` float32[1, 1, vocab] of the last real token (the row with the
largest position). Optional ``verify_<T>`` signatures (listed in the manifest's
``verify``) are prefill signatures whose ``logits`` are float32[T, vocab], every
row's: a chunk of draft tokens is checked in one call (speculative decoding, scoring
a window). Row r attends to slots 0..input_pos[r]: slots beyond the current
length may hold anything finite (stale or padding rows' values); masking adds a
large negative number, so a runtime zero-fills the caches before first use.
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
LOGITS = "logits"
# The fast contract's version, in the manifest (``contract_version``). Version 1 files
# (an ``input_pos`` of one start, a ``length`` input, only new keys and values out)
# must be converted again.
FAST_CONTRACT_VERSION = 2


VERIFY_PREFIX = "verify_"


def prefill_signature(bucket: int) -> str:
    return f"{PREFILL_PREFIX}{bucket}"


def verify_signature(length: int) -> str:
    return f"{VERIFY_PREFIX}{length}"


def k_cache_name(layer: int) -> str:
    return f"k_cache_{layer}"


def v_cache_name(layer: int) -> str:
    return f"v_cache_{layer}"


# Key of the JSON manifest stored in the .tflite file's metadata table.
MANIFEST_METADATA_NAME = "litecomplete_manifest"
# Key of the tokenizer (Hugging Face ``tokenizer.json``) stored beside the manifest.
TOKENIZER_METADATA_NAME = "litecomplete_tokenizer"
