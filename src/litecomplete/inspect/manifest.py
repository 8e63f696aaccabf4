"""Checks on a fast-format manifest's fields, before anything sizes memory or loops by them.

A manifest comes from the file, so it may lie: a layer count of 1e308 must not
drive a loop, a start token past the vocabulary must not reach the graph's GATHER.
Each field is checked for its type and a range no real model leaves.
"""

from __future__ import annotations

from typing import Any

# Far above any model this runtime can hold in memory; they bound loops and shapes
# (here, and for a preset directory's config in ``models.loader``).
MAX_LENGTH_LIMIT = 1 << 20
MAX_LAYERS = 1024
MAX_HEADS = 1024
MAX_HEAD_DIM = 4096
MAX_VOCABULARY = 1 << 22
MAX_BUCKETS = 64
# A verify signature returns every row's logits: T x vocabulary floats per call.
MAX_VERIFY_LENGTH = 64


def int_in_range(value: Any, low: int, high: int) -> bool:
    """Whether ``value`` is an integer (not a bool) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _int_problem(where: dict[str, Any], key: str, low: int, high: int, label: str) -> str | None:
    if key not in where:
        return f"{label} is missing"
    if not int_in_range(where[key], low, high):
        return f"{label} is {where[key]!r}, expected an integer from {low} to {high}"
    return None


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
    found = [p for p in problems if p]
    if found:
        return found
    max_length, vocab = manifest["max_length"], decoder["vocabulary_size"]
    buckets = manifest.get("buckets")
    if (
        not isinstance(buckets, list)
        or not 1 <= len(buckets) <= MAX_BUCKETS
        or not all(int_in_range(b, 1, max_length) for b in buckets)
    ):
        found.append(
            f"buckets is {buckets!r}, expected a list of 1 to {MAX_BUCKETS} lengths "
            f"from 1 to max_length ({max_length})"
        )
    verify = manifest.get("verify", [])  # optional: files without it do not speculate
    if (
        not isinstance(verify, list)
        or len(verify) > MAX_BUCKETS
        or not all(int_in_range(t, 2, min(max_length, MAX_VERIFY_LENGTH)) for t in verify)
    ):
        found.append(
            f"verify is {verify!r}, expected a list of up to {MAX_BUCKETS} lengths from 2 "
            f"to {min(max_length, MAX_VERIFY_LENGTH)}"
        )
    token = _int_problem(manifest, "end_token_id", 0, vocab - 1, "end_token_id")
    if token:
        found.append(token)
    end_ids = manifest.get("end_token_ids", [])
    if not isinstance(end_ids, list) or not all(int_in_range(t, 0, vocab - 1) for t in end_ids):
        found.append(f"end_token_ids is {end_ids!r}, expected token ids below {vocab}")
    outliers = manifest.get("outlier_channels", 0)  # int8: input channels kept in float
    if not int_in_range(outliers, 0, MAX_HEAD_DIM * MAX_HEADS):
        found.append(f"outlier_channels is {outliers!r}, expected a count of channels")
    start = manifest.get("start_token_id")
    if start is not None and not int_in_range(start, 0, vocab - 1):
        found.append(f"start_token_id is {start!r}, expected null or a token id below {vocab}")
    return found
