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
a window). Optional ``decode_<S>`` signatures (the manifest's ``decode_spans``) are
decode signatures that read only the caches' first S slots, for a token at a position
below S: a decode step's cost grows with the slots it reads, and most steps of an
autocomplete come early in the cache. Optional ``fill_<T>`` signatures (the
manifest's ``fills``, each a bucket's length) are prefill signatures without
``logits``: a prompt's chunks before its last need only their keys and values, and
where the output layer is large (Gemma 3's 262k-token vocabulary) one row of logits
costs as much as several tokens through the blocks. Row r attends to slots
0..input_pos[r]: slots beyond the current length may hold anything finite (stale or
padding rows' values); masking adds a large negative number, so a runtime zero-fills
the caches before first use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from litecomplete.choices import Choice
from litecomplete.models.spec import (
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LENGTH_LIMIT,
    MAX_VOCABULARY,
    Activation,
    DecoderSpec,
    Norm,
    Positions,
    int_in_range,
)


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
FILL_PREFIX = "fill_"
TOKENS = "tokens"
INPUT_POS = "input_pos"
LOGITS = "logits"
# The fast contract's version, in the manifest (``contract_version``). Version 1 files
# (an ``input_pos`` of one start, a ``length`` input, only new keys and values out)
# must be converted again.
FAST_CONTRACT_VERSION = 2


VERIFY_PREFIX = "verify_"


class Logits(Enum):
    """Which rows' logits a fast-format signature returns."""

    LAST = "last"  # float32[1, 1, vocab]: the last real token's (prefill, decode)
    EVERY_ROW = "every_row"  # float32[T, vocab] (verify)
    NONE = "none"  # no logits output, the caches only (fill)


def prefill_signature(bucket: int) -> str:
    return f"{PREFILL_PREFIX}{bucket}"


def fill_signature(length: int) -> str:
    return f"{FILL_PREFIX}{length}"


def verify_signature(length: int) -> str:
    return f"{VERIFY_PREFIX}{length}"


def decode_signature(span: int | None = None) -> str:
    """The decode signature reading the caches' first ``span`` slots (None: all)."""
    return DECODE_SIGNATURE if span is None else f"{DECODE_SIGNATURE}_{span}"


def k_cache_name(layer: int) -> str:
    return f"k_cache_{layer}"


def v_cache_name(layer: int) -> str:
    return f"v_cache_{layer}"


def k_cache_shape(kv_heads: int, head_dim: int, max_length: int) -> tuple[int, int, int, int]:
    """A layer's keys, head-major: [1, kv_heads, max_length, head_dim]."""
    return (1, kv_heads, max_length, head_dim)


def v_cache_shape(kv_heads: int, head_dim: int, max_length: int) -> tuple[int, int, int, int]:
    """A layer's values, transposed: [1, kv_heads, head_dim, max_length]."""
    return (1, kv_heads, head_dim, max_length)


# Key of the JSON manifest stored in the .tflite file's metadata table.
MANIFEST_METADATA_NAME = "litecomplete_manifest"
# Key of the tokenizer (Hugging Face ``tokenizer.json``) stored beside the manifest.
TOKENIZER_METADATA_NAME = "litecomplete_tokenizer"


# A manifest comes from the file, so it may lie: a layer count of 1e308 must not drive
# a loop, a start token past the vocabulary must not reach the graph's GATHER. Each
# field is checked for its type and a range no real model leaves (``models.spec``'s
# bounds on shapes, and these).
MAX_BUCKETS = 64
# A verify signature returns every row's logits: T x vocabulary floats per call.
MAX_VERIFY_LENGTH = 64


def _int_problem(where: dict[str, Any], key: str, low: int, high: int, label: str) -> str | None:
    if key not in where:
        return f"{label} is missing"
    if not int_in_range(where[key], low, high):
        return f"{label} is {where[key]!r}, expected an integer from {low} to {high}"
    return None


def _lengths_problems(
    manifest: dict[str, Any], key: str, low: int, high: int, fewest: int = 0
) -> list[str]:
    """``manifest[key]`` as a list of ``fewest`` to ``MAX_BUCKETS`` lengths from ``low`` to
    ``high`` (missing: none, where ``fewest`` allows), or the problem named."""
    lengths = manifest.get(key, None if fewest else [])
    if (
        isinstance(lengths, list)
        and fewest <= len(lengths) <= MAX_BUCKETS
        and all(int_in_range(n, low, high) for n in lengths)
    ):
        return []
    count = f"{fewest} to {MAX_BUCKETS}" if fewest else f"up to {MAX_BUCKETS}"
    return [f"{key} is {lengths!r}, expected a list of {count} lengths from {low} to {high}"]


def fast_manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """Reasons the fields of ``manifest`` cannot describe a fast-format model; empty if none.

    Checks types and ranges only; whether they match the graph's tensors is the
    contract check's job.
    """
    decoder = manifest.get("decoder")
    if not isinstance(decoder, dict):
        return [f"decoder is {decoder!r}, expected an object"]
    problems = [
        _int_problem(manifest, "max_length", 1, MAX_LENGTH_LIMIT, "max_length"),
        _int_problem(decoder, "num_layers", 1, MAX_LAYERS, "decoder.num_layers"),
        _int_problem(decoder, "num_kv_heads", 1, MAX_HEADS, "decoder.num_kv_heads"),
        _int_problem(decoder, "head_dim", 1, MAX_HEAD_DIM, "decoder.head_dim"),
        _int_problem(decoder, "vocabulary_size", 1, MAX_VOCABULARY, "decoder.vocabulary_size"),
    ]
    # Gemma's layer pattern, optional: files of other families go without it.
    if "global_every" in decoder:
        problems.append(
            _int_problem(decoder, "global_every", 1, MAX_LAYERS, "decoder.global_every")
        )
    if decoder.get("sliding_window") is not None:
        problems.append(
            _int_problem(decoder, "sliding_window", 1, MAX_LENGTH_LIMIT, "decoder.sliding_window")
        )
    found = [p for p in problems if p]
    if found:
        return found
    max_length, vocab = manifest["max_length"], decoder["vocabulary_size"]
    buckets = manifest.get("buckets")
    found += _lengths_problems(manifest, "buckets", 1, max_length, fewest=1)
    # Optional: files without verify lengths do not speculate.
    found += _lengths_problems(manifest, "verify", 2, min(max_length, MAX_VERIFY_LENGTH))
    fills = manifest.get("fills", [])  # optional: files without it fill through prefill
    if (
        not isinstance(fills, list)
        or not isinstance(buckets, list)
        or not all(int_in_range(t, 1, max_length) and t in buckets for t in fills)
        or len(set(fills)) != len(fills)  # integers by now: hashable
    ):
        found.append(f"fills is {fills!r}, expected a list of bucket lengths ({buckets!r})")
    # Optional: files without decode spans decode at full length.
    found += _lengths_problems(manifest, "decode_spans", 1, max_length - 1)
    token = _int_problem(manifest, "end_token_id", 0, vocab - 1, "end_token_id")
    if token:
        found.append(token)
    end_ids = manifest.get("end_token_ids", [])
    if not isinstance(end_ids, list) or not all(int_in_range(t, 0, vocab - 1) for t in end_ids):
        found.append(f"end_token_ids is {end_ids!r}, expected token ids below {vocab}")
    outliers = manifest.get("outlier_channels", 0)  # int8: input channels kept in float
    if not int_in_range(outliers, 0, MAX_HEAD_DIM * MAX_HEADS):
        found.append(f"outlier_channels is {outliers!r}, expected a count of channels")
    plan = manifest.get("quant_plan")
    if plan is not None and not isinstance(plan, dict):
        found.append(f"quant_plan is {plan!r}, expected an object")
    start = manifest.get("start_token_id")
    if start is not None and not int_in_range(start, 0, vocab - 1):
        found.append(f"start_token_id is {start!r}, expected null or a token id below {vocab}")
    return found


def _decoder_spec(fields: dict[str, Any]) -> DecoderSpec:
    """The manifest's ``decoder`` object as a ``DecoderSpec``; ValueError names a bad field."""
    names = {f.name for f in dataclasses.fields(DecoderSpec)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ValueError(f"decoder has unknown fields {unknown}")
    try:
        spec = DecoderSpec(**fields)
    except TypeError as e:  # a required field is missing
        raise ValueError(f"decoder: {e}") from None
    return dataclasses.replace(
        spec,
        norm=Norm.parse(str(spec.norm)),
        activation=Activation.parse(str(spec.activation)),
        positions=Positions.parse(str(spec.positions)),
    )


@dataclass(frozen=True)
class FastManifest:
    """What a fast-format file says of itself (metadata ``litecomplete_manifest``).

    ``from_json`` validates what it reads (``fast_manifest_problems``); ``to_json``
    writes the same fields back, ``end_token_id`` included for older readers.
    """

    decoder: DecoderSpec
    quantization: str
    max_length: int
    buckets: tuple[int, ...]
    verify: tuple[int, ...]
    end_token_ids: tuple[int, ...]
    start_token_id: int | None
    # How many input channels a matmul keeps out of its integer part, at most (int8, int4).
    outlier_channels: int | None = None
    # Slots read by each ``decode_<S>`` signature (``decode`` reads all ``max_length``).
    decode_spans: tuple[int, ...] = ()
    # auto: each matmul's precision, one line per layer (``quantize.plan.QuantPlan``).
    quant_plan: dict[str, Any] | None = None
    # Buckets with a ``fill_<T>`` twin (no logits), for a prompt's chunks before its last.
    fills: tuple[int, ...] = ()
    contract_version: int = FAST_CONTRACT_VERSION

    @property
    def architecture(self) -> str:
        return self.decoder.architecture

    @property
    def end_token_id(self) -> int:
        return self.end_token_ids[0]

    def signatures(self) -> list[str]:
        """Every signature the manifest lists: decode, its spans, prefill, fill, verify."""
        return [
            decode_signature(),
            *(decode_signature(s) for s in self.decode_spans),
            *(prefill_signature(b) for b in self.buckets),
            *(fill_signature(t) for t in self.fills),
            *(verify_signature(t) for t in self.verify),
        ]

    def to_json(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "format": ModelFormat.FAST.value,
            "contract_version": self.contract_version,
            "architecture": self.architecture,
            "quantization": self.quantization,
            "max_length": self.max_length,
            "buckets": list(self.buckets),
            "verify": list(self.verify),
            "end_token_id": self.end_token_id,
            "end_token_ids": list(self.end_token_ids),
            "start_token_id": self.start_token_id,
            "decoder": dataclasses.asdict(self.decoder),
            "tokenizer": TOKENIZER_METADATA_NAME,
        }
        if self.outlier_channels is not None:
            fields["outlier_channels"] = self.outlier_channels
        if self.decode_spans:
            fields["decode_spans"] = list(self.decode_spans)
        if self.fills:
            fields["fills"] = list(self.fills)
        if self.quant_plan is not None:
            fields["quant_plan"] = self.quant_plan
        return fields

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> FastManifest:
        """A checked manifest; ValueError lists every problem found."""
        problems = fast_manifest_problems(fields)
        if problems:
            raise ValueError("; ".join(problems))
        end_ids = tuple(fields.get("end_token_ids") or [fields["end_token_id"]])
        return cls(
            decoder=_decoder_spec(fields["decoder"]),
            quantization=str(fields.get("quantization", "none")),
            max_length=fields["max_length"],
            buckets=tuple(sorted(fields["buckets"])),
            verify=tuple(sorted(fields.get("verify", []))),
            end_token_ids=end_ids,
            start_token_id=fields.get("start_token_id"),
            outlier_channels=fields.get("outlier_channels"),
            decode_spans=tuple(sorted(fields.get("decode_spans", []))),
            quant_plan=fields.get("quant_plan"),
            fills=tuple(sorted(fields.get("fills", []))),
            contract_version=int(fields.get("contract_version", 1)),
        )
