"""Prompt checks shared by every runtime."""

from __future__ import annotations

from litecomplete.errors import PromptError


def validate_prompt(prompt: str | bytes) -> bytes:
    """The prompt as UTF-8 bytes.

    Raises:
        PromptError: the prompt is empty (or only whitespace) or is not valid UTF-8.
    """
    if isinstance(prompt, str):
        try:
            data = prompt.encode("utf-8")
        except UnicodeEncodeError as e:  # lone surrogates, e.g. undecodable argv bytes
            raise PromptError(
                f"prompt is not valid UTF-8 (undecodable character at position {e.start}); "
                "pass UTF-8 text"
            ) from None
    else:
        data = bytes(prompt)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise PromptError(
                f"prompt is not valid UTF-8 (byte 0x{data[e.start]:02x} at position {e.start}); "
                "pass UTF-8 text"
            ) from None
    if not data.strip():
        raise PromptError("prompt is empty; give some text to complete")
    return data
