"""User-facing errors.

Every error a user can cause is one of these classes. The CLI prints
``str(error)`` as a single line and exits with ``error.exit_code``; the message
names the bad value and says how to fix it.
"""

from __future__ import annotations


class LitecompleteError(Exception):
    """Base class for errors caused by the user's input or environment."""

    exit_code = 2


class ModelSpecError(LitecompleteError):
    """A ``--model`` value names no built-in config, preset directory or preset."""


class PresetDirectoryError(LitecompleteError):
    """A local preset directory is missing or is not a KerasHub preset."""


class NetworkUnavailableError(LitecompleteError):
    """A preset must be downloaded but the model hub cannot be reached."""


class UnsupportedArchitectureError(LitecompleteError):
    """The model's architecture is not one this stage supports."""


class TokenizerFilesError(LitecompleteError):
    """Tokenizer files are missing or do not have the expected content."""


class ModelFileError(LitecompleteError):
    """A model file is missing, unreadable, not TFLite, or fits no contract."""


class ModelRunError(LitecompleteError):
    """A model file loaded but failed while running (a runtime error, or NaN logits)."""


class PromptError(LitecompleteError):
    """A prompt the model cannot take: empty or not UTF-8 text, or token ids outside the
    vocabulary or longer than the cache."""


class ProfanePromptError(LitecompleteError):
    """The prompt contains a word the profanity filter blocks."""


class ModelNotFoundError(LitecompleteError):
    """A model id names no usable model of the server (unknown, or its file is unusable)."""


class ConfigError(LitecompleteError):
    """An option value is out of range or not one of the allowed choices."""


class ConversionError(LitecompleteError):
    """The converter rejected the model; nothing was written."""


class GgufFileError(LitecompleteError):
    """A GGUF file is missing, not GGUF, truncated, or holds what cannot be imported."""


class BenchmarkError(LitecompleteError):
    """A benchmark's engine failed to load or run the model (its process said why)."""


class FinetuneTextError(LitecompleteError):
    """A text to fine-tune on is unreadable, empty, not UTF-8, or too short to train on."""


class CheckpointError(LitecompleteError):
    """A fine-tuning checkpoint is missing, damaged, or of another run's settings."""


def require_at_least(flag: str, value: int, low: int) -> None:
    """ConfigError naming ``flag`` unless ``value`` is at least ``low``."""
    if value < low:
        bound = "0 or more" if low == 0 else f"at least {low}"
        raise ConfigError(f"{flag} must be {bound}, got {value}")
