"""Export settings, validated once when they are made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litecomplete.choices import Choice
from litecomplete.contract import APP_OUTPUT_BUFFER_BYTES, STRING_TENSOR_HEADER_BYTES
from litecomplete.errors import ConfigError, require_at_least
from litecomplete.quantize.calibration import DEFAULT_CALIBRATION_SAMPLES, read_calibration_text
from litecomplete.quantize.modes import APP_QUANT_MODES, QuantMode

# The string header, a one-byte prompt and a one-byte completion.
MIN_OUTPUT_BYTES = STRING_TENSOR_HEADER_BYTES + 2


class Sampler(Choice):
    __choice__ = "sampler"
    GREEDY = "greedy"
    TOP_K = "top_k"


@dataclass(frozen=True)
class AppExportConfig:
    """How the single-graph app model generates.

    Attributes:
        max_length: total tokens of prompt plus completion, as in KerasHub
            ``generate(max_length=...)`` and the seed (100).
        context_length: prompt tokens kept, newest first (the start token
            counts); ``None`` means half of ``max_length``, the seed's advice,
            so a completion always has room.
        sampler: ``greedy`` or ``top_k`` (the seed app's default, k=5).
        top_k: candidates for ``top_k``.
        temperature: divides the logits before ``top_k`` sampling.
        quant: quantization mode.
        calibration_samples: passages of real text fed to ``int8`` calibration.
        calibration_text: a UTF-8 file whose lines are those passages, in place of the
            packaged text (``quantize.calibration``).
        max_output_bytes: the output tensor's raw bytes at most (string header
            included): the seed app's 800-byte buffer by default. The completion is
            cut at a character boundary to fit; a prompt that leaves no room gets
            an empty output, which the app reads as "no suggestion".
    """

    max_length: int = 100
    context_length: int | None = None
    sampler: Sampler = Sampler.TOP_K
    top_k: int = 5
    temperature: float = 1.0
    quant: QuantMode = QuantMode.NONE
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    calibration_text: Path | None = None
    max_output_bytes: int = APP_OUTPUT_BUFFER_BYTES

    def __post_init__(self) -> None:
        require_at_least("--max-length", self.max_length, 2)
        if self.context_length is not None and not 1 <= self.context_length < self.max_length:
            raise ConfigError(
                f"--context-length must be between 1 and max length - 1 "
                f"({self.max_length - 1}), got {self.context_length}"
            )
        if self.quant not in APP_QUANT_MODES:
            raise ConfigError(
                f"the app format cannot take --quant {self.quant.value}; choose one of: "
                f"{', '.join(m.value for m in APP_QUANT_MODES)} (or --format fast)"
            )
        require_at_least("--top-k", self.top_k, 1)
        if not self.temperature > 0:
            raise ConfigError(f"--temperature must be greater than 0, got {self.temperature}")
        if self.calibration_samples < 1:
            raise ConfigError(
                f"calibration needs at least 1 sample, got {self.calibration_samples}"
            )
        if self.calibration_text is not None:
            read_calibration_text(self.calibration_text)  # its errors before the model loads
        if self.max_output_bytes < MIN_OUTPUT_BYTES:
            raise ConfigError(
                f"--max-output-bytes {self.max_output_bytes} cannot hold any completion: "
                f"the string header takes {STRING_TENSOR_HEADER_BYTES} bytes, and "
                f"{MIN_OUTPUT_BYTES} is the least that holds a one-byte prompt and a "
                "one-byte completion"
            )

    @property
    def max_text_bytes(self) -> int:
        """Bytes of prompt plus completion that fit in ``max_output_bytes``."""
        return self.max_output_bytes - STRING_TENSOR_HEADER_BYTES

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens kept (start token included)."""
        return self.context_length if self.context_length is not None else self.max_length // 2
