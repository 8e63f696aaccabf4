"""A scripted stand-in for a model, so the server and the suggester are tested on what
they do with a generator's output, without a model file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from litecomplete.app.registry import ModelEntry
from litecomplete.contract import ModelFormat
from litecomplete.errors import ModelNotFoundError
from litecomplete.runtime.generation import Completion, FinishReason, GenerationConfig, Piece


@dataclass
class ScriptedGenerator:
    """Answers each call with the next script, a word a piece (one token each); the last
    script repeats. ``ends``: how a script that fits ``max_new_tokens`` ends."""

    scripts: list[str]
    ends: FinishReason = FinishReason.STOP
    prompts: list[str] = field(default_factory=list)

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[Piece]:
        self.prompts.append(prompt)
        script = self.scripts[min(len(self.prompts), len(self.scripts)) - 1]
        words = [w + " " for w in script.split()]
        for i, word in enumerate(words[: config.max_new_tokens]):
            last = i == len(words) - 1 or i == config.max_new_tokens - 1
            reason = (self.ends if i == len(words) - 1 else FinishReason.LENGTH) if last else None
            yield Piece(word, (i,), reason)

    def complete(self, prompt: str, config: GenerationConfig) -> Completion:
        pieces = list(self.stream(prompt, config))
        return Completion(
            text="".join(p.text for p in pieces),
            token_ids=[t for p in pieces for t in p.token_ids],
            finish_reason=pieces[-1].finish_reason or FinishReason.STOP,
            prompt_tokens=len(prompt.split()),
            reused_tokens=0,
        )


class FakeRegistry:
    """``ModelRegistry``'s face over scripted generators, by id."""

    def __init__(self, models: dict[str, ScriptedGenerator], max_length: int = 64) -> None:
        self.models = models
        self.max_length = max_length
        self._locks = {name: threading.Lock() for name in models}

    def usable(self) -> list[ModelEntry]:
        return [self.entry(name) for name in self.models]

    def entry(self, model_id: str) -> ModelEntry:
        if model_id not in self.models:
            raise ModelNotFoundError(f"unknown model {model_id!r}")
        return ModelEntry(model_id, Path(__file__), ModelFormat.FAST, 1, self.max_length)

    def lock(self, model_id: str) -> threading.Lock:
        return self._locks[model_id]

    def load(self, model_id: str) -> ScriptedGenerator:
        return self.models[model_id]
