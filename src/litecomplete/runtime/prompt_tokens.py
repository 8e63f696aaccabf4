"""A fast-format model's text side: its tokenizer, checked against its vocabulary, and
the window of a prompt's newest tokens that fits its cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litecomplete.errors import ConfigError, ModelFileError, PromptError
from litecomplete.runtime.byte_vocab import unspellable_characters
from litecomplete.runtime.healing import SpellingIndex
from litecomplete.runtime.prompt import validate_prompt

TRIM_STEP_MAX = 32  # tokens a too-long prompt's window start moves by at a time


def trim_step(keep: int) -> int:
    """The step a window of ``keep`` tokens moves by: up to 32 tokens, a quarter of it."""
    return max(1, min(TRIM_STEP_MAX, keep // 4))


class PromptTokens:
    """Text to token ids and back for one model file (``path``, for messages)."""

    def __init__(
        self,
        tokenizer: Any,
        vocabulary_size: int,
        start_token_id: int | None,
        max_length: int,
        path: Path,
    ) -> None:
        self.tokenizer = tokenizer
        self.vocabulary_size = vocabulary_size
        self.start_token_id = start_token_id
        self.max_length = max_length
        self.path = path
        self._unspellable = unspellable_characters(tokenizer)
        self._spelling: SpellingIndex | None = None

    @property
    def spelling(self) -> SpellingIndex:
        """Each token's bytes, searchable by beginning (built at first use: healing)."""
        if self._spelling is None:
            self._spelling = SpellingIndex(self.tokenizer, self.vocabulary_size)
        return self._spelling

    def encoding(self, text: str) -> Any:
        """``text`` as a ``tokenizers.Encoding`` (ids and character offsets), checked.

        Characters the vocabulary cannot spell are left out whole (``byte_vocab``);
        ModelFileError if the tokenizer gives ids the model does not have (the graph
        would fail on them).
        """
        encoding = self.tokenizer.encode(self._spellable(text), add_special_tokens=False)
        ids = encoding.ids
        if ids and max(ids) >= self.vocabulary_size:
            raise ModelFileError(
                f"{self.path}: its tokenizer gives token id {max(ids)}, but the model's "
                f"vocabulary has {self.vocabulary_size} tokens; the file's tokenizer and "
                "weights do not belong together"
            )
        return encoding

    def _spellable(self, text: str) -> str:
        """``text`` without the characters the vocabulary cannot spell."""
        return text if self._unspellable is None else self._unspellable.sub("", text)

    def check_ids(self, ids: list[int]) -> None:
        """PromptError if an id is outside the vocabulary."""
        bad = [t for t in ids if not 0 <= t < self.vocabulary_size]
        if bad:
            raise PromptError(
                f"token id {bad[0]} is outside the vocabulary (0 to {self.vocabulary_size - 1})"
            )

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def fed_ids(
        self,
        prompt: str | bytes,
        max_new_tokens: int,
        max_prompt_tokens: int | None = None,
        heal: bool = False,
    ) -> tuple[list[int], bytes]:
        """``prompt_ids``, healed: without the tokens of the prompt's last word (or
        trailing spaces or punctuation), and the bytes they spelled, which the
        completion must spell again (``runtime.healing``); ``(ids, b"")`` where nothing
        is healed or ``heal`` is False."""
        if not heal:
            return self.prompt_ids(prompt, max_new_tokens, max_prompt_tokens), b""
        text = self._spellable(validate_prompt(prompt).decode("utf-8"))
        return self.spelling.heal(self._window_ids(text, max_new_tokens, max_prompt_tokens), text)

    def prompt_ids(
        self, prompt: str | bytes, max_new_tokens: int, max_prompt_tokens: int | None = None
    ) -> list[int]:
        """Token ids the model sees: start token, then the prompt's NEWEST tokens.

        At most ``max_length - min(max_new_tokens, max_length // 2)`` tokens are kept,
        so the completion always has room in the cache, and at most
        ``max_prompt_tokens`` of the prompt's own. A prompt that is too long loses its
        oldest tokens in steps (``trim_step``), so a text growing at its end keeps the
        same first token, and the cached keys and values, over several calls.
        """
        text = validate_prompt(prompt).decode("utf-8")
        return self._window_ids(text, max_new_tokens, max_prompt_tokens)

    def _window_ids(
        self, text: str, max_new_tokens: int, max_prompt_tokens: int | None
    ) -> list[int]:
        """``prompt_ids`` of a prompt already checked and decoded."""
        encoding = self.encoding(text)
        ids, offsets = list(encoding.ids), encoding.offsets
        start = [int(self.start_token_id)] if self.start_token_id is not None else []
        if not ids and not start:  # e.g. only characters the vocabulary cannot spell
            raise PromptError(
                "the prompt has no characters this model's vocabulary can spell; give some text"
            )
        keep = self.max_length - min(max_new_tokens, self.max_length // 2) - len(start)
        if max_prompt_tokens is not None:
            keep = min(keep, max_prompt_tokens)
        drop = len(ids) - keep
        if drop > 0:
            step = trim_step(keep)
            drop = -(-drop // step) * step  # up to the next step
            # Byte-level tokens can hold part of a character: never start inside one
            # (its pieces share the character's offsets, so each starts before the
            # previous piece ends).
            while drop < len(ids) and offsets[drop][0] < offsets[drop - 1][1]:
                drop += 1
            if drop == len(ids) and not start:
                raise ConfigError(
                    f"a window of {keep} prompt tokens cannot hold the prompt's last "
                    "character; allow more prompt tokens"
                )
        return start + ids[max(0, drop) :]
