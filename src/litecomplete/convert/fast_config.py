"""How a fast-format file is laid out: its signatures' lengths and its quantization."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from litecomplete.contract import MAX_VERIFY_LENGTH
from litecomplete.errors import ConfigError, require_at_least
from litecomplete.models.spec import DecoderSpec
from litecomplete.quantize.calibration import DEFAULT_CALIBRATION_SAMPLES, read_calibration_text
from litecomplete.quantize.modes import QuantMode
from litecomplete.quantize.plan import check_max_kld

# Prefill lengths and verify lengths (every row's logits, for speculative decoding in
# ``runtime.speculative``; a prompt chunk may go through them too). Every signature
# holds 6-7 MiB of the runtime's memory whether it runs or not, so a file has four:
# decode, one prefill bucket and two verify lengths. Measured on SmolLM2 dynamic
# (`bench`, 2 threads): a 256 bucket fed no faster than 64-token chunks (1963 tok/s
# for 128 tokens as two chunks, 1971 for 64); a verify call of 16 rows costs 13 % more
# than a prefill of 16, and one of 4 rows about a decode step (9.1 against 8.3 ms, 1
# thread), so short drafts are nearly free and long ones cost about their length.
DEFAULT_BUCKETS = (64,)
DEFAULT_VERIFY = (4, 16)
# Decode signatures reading only the caches' first S slots (``contract``): a decode
# step's time grows with the slots its attention reads. Measured on SmolLM2 dynamic
# (`bench`, decode from position 16, 1 / 2 threads): caches of 64 slots 239 / 264
# tok/s, 256 slots 204 / 251, 1,024 slots 118 / 167; with a 256-slot cache, spans 64 and
# 128 gave 187 -> 220 tok/s at one thread, 233 / 229 at two, for 13 MiB more RSS (each
# signature holds 6-7 MiB of the runtime's memory). By default a file has one span per
# power of two from ``FIRST_DECODE_SPAN`` below ``max_length``; the default model goes
# without (``default_model``).
FIRST_DECODE_SPAN = 64
# Where a row of logits costs more than a token through the blocks
# (``DecoderSpec.output_cost``: Gemma 3 270M 1.7, its 262k-token vocabulary), a prompt of
# 16 would go through ``verify_16`` and compute the output layer for every row: a file of
# such a model gets a 16-token bucket by default too (``for_spec``). Measured on Gemma 3
# 270M int4 (2 threads, one file, calls alternated): 16 tokens in 19.9 ms through
# ``prefill_16``, 24.0 ms through ``verify_16``; a call reads every weight either way.
HEAVY_OUTPUT_BUCKETS = (16, 64)
# Such a file's longest bucket gets a ``fill_<T>`` twin too (``contract``): a prompt's
# chunks before its last go through it without computing the output layer.
# LiteRT-LM prefills through prefill signatures only (a bundle has no verify ones):
# a bundle gets these unless the caller chose (``litertlm_export``), each no longer
# than the cache.
LITERTLM_DEFAULT_BUCKETS = (16, 64, 256)


@dataclass(frozen=True)
class FastExportConfig:
    """How the fast format is laid out.

    Attributes:
        max_length: KV-cache positions: prompt plus completion tokens.
        buckets: prefill lengths; a prompt is padded to the smallest that fits,
            and longer prompts are fed in bucket-sized chunks. ``None``: chosen for the
            model (``for_spec``), none longer than ``max_length``.
        quant: quantization mode.
        calibration_samples: passages of real text ``int8``, ``int4`` and ``auto``
            calibrate on (``quantize.outliers``, ``quantize.plan``; at most its first
            1,024 tokens).
        calibration_text: a UTF-8 file whose lines are those passages, in place of the
            packaged text (``quantize.calibration``).
        verify: lengths of the signatures that return every row's logits (drafts
            checked in one call); () writes none, and the file does not speculate.
            The default's lengths that do not fit ``max_length`` are left out.
        max_kld: ``auto``'s quality budget (``quantize.plan``); ``None``: its default.
        decode_spans: the slots read by extra decode signatures, each below
            ``max_length`` (``contract``); ``None``: ``default_decode_spans``.
        fills: buckets that also get a signature without logits, for a prompt's
            chunks before its last (``contract``); ``None``: chosen for the model
            (``for_spec``).
    """

    max_length: int = 256
    buckets: tuple[int, ...] | None = None
    quant: QuantMode = QuantMode.NONE
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    calibration_text: Path | None = None
    verify: tuple[int, ...] = DEFAULT_VERIFY
    max_kld: float | None = None
    decode_spans: tuple[int, ...] | None = None
    fills: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        require_at_least("--max-length", self.max_length, 2)
        require_at_least("--calibration-samples", self.calibration_samples, 1)
        if self.calibration_text is not None:
            read_calibration_text(self.calibration_text)  # its errors before the model loads
        if self.max_kld is not None:
            if self.quant is not QuantMode.AUTO:
                raise ConfigError(f"--max-kld applies to --quant auto, not {self.quant.value}")
            check_max_kld(self.max_kld)
        if self.buckets is not None:
            self._check_buckets(self.buckets)
            if self.fills is not None:
                self._check_fills(self.buckets, self.fills)
        if self.verify is DEFAULT_VERIFY:
            fitting = tuple(t for t in DEFAULT_VERIFY if t <= self.max_length)
            object.__setattr__(self, "verify", fitting)
        longest = min(self.max_length, MAX_VERIFY_LENGTH)
        if any(not 2 <= t <= longest for t in self.verify):
            raise ConfigError(
                f"--verify lengths must be from 2 to {longest}, got {list(self.verify)}"
            )
        require_increasing("--verify", self.verify)
        if self.decode_spans is None:
            object.__setattr__(self, "decode_spans", default_decode_spans(self.max_length))
        spans = list(self.spans)
        if any(not 1 <= s < self.max_length for s in spans):
            raise ConfigError(
                f"--decode-spans must be from 1 to {self.max_length - 1} (below --max-length),"
                f" got {spans}"
            )
        require_increasing("--decode-spans", spans)

    def _check_buckets(self, buckets: tuple[int, ...]) -> None:
        if not buckets or any(b < 1 for b in buckets):
            raise ConfigError(f"--buckets must be positive lengths, got {list(buckets)}")
        if max(buckets) > self.max_length:
            raise ConfigError(f"bucket {max(buckets)} exceeds --max-length {self.max_length}")
        require_increasing("--buckets", buckets)

    @staticmethod
    def _check_fills(buckets: tuple[int, ...], fills: tuple[int, ...]) -> None:
        require_increasing("--fills", fills)
        if not set(fills) <= set(buckets):
            raise ConfigError(
                f"--fills must be among the buckets ({list(buckets)}), got {list(fills)}"
            )

    @property
    def prefill_lengths(self) -> tuple[int, ...]:
        """The buckets; ``for_spec`` chooses them where the caller did not."""
        assert self.buckets is not None, "for_spec chooses the buckets before conversion"
        return self.buckets

    @property
    def fill_lengths(self) -> tuple[int, ...]:
        """The fills; ``for_spec`` chooses them where the caller did not."""
        assert self.fills is not None, "for_spec chooses the fills before conversion"
        return self.fills

    @property
    def spans(self) -> tuple[int, ...]:
        """The decode spans, the default's resolved."""
        return self.decode_spans if self.decode_spans is not None else ()


def require_increasing(flag: str, lengths: Sequence[int]) -> None:
    """ConfigError naming ``flag`` unless ``lengths`` increase strictly."""
    if sorted(set(lengths)) != list(lengths):
        raise ConfigError(f"{flag} must be increasing, got {list(lengths)}")


def default_decode_spans(max_length: int) -> tuple[int, ...]:
    """One decode span per power of two from ``FIRST_DECODE_SPAN`` below ``max_length``."""
    spans = []
    span = FIRST_DECODE_SPAN
    while span < max_length:
        spans.append(span)
        span *= 2
    return tuple(spans)


def fitting_buckets(lengths: tuple[int, ...], max_length: int) -> tuple[int, ...]:
    """Default ``lengths`` for a cache of ``max_length``: a longer one shortened to it."""
    return tuple(sorted({min(b, max_length) for b in lengths}))


def for_spec(config: FastExportConfig, spec: DecoderSpec) -> FastExportConfig:
    """``config`` with its buckets and fills chosen for ``spec`` where the caller left
    them: where a row of logits outweighs a token through the blocks,
    ``HEAVY_OUTPUT_BUCKETS`` and a fill of the longest; else ``DEFAULT_BUCKETS`` and no
    fills."""
    heavy = spec.output_cost > 1
    buckets = config.buckets
    if buckets is None:
        lengths = HEAVY_OUTPUT_BUCKETS if heavy else DEFAULT_BUCKETS
        buckets = fitting_buckets(lengths, config.max_length)
    fills = config.fills
    if fills is None:
        fills = (max(buckets),) if heavy else ()
    # The caller's fills are checked against the chosen buckets (they may name none).
    return dataclasses.replace(config, buckets=buckets, fills=fills)
