"""Run a LiteRT-LM bundle (``.litertlm``) with LiteRT-LM's own engine (``litert-lm-api``).

LiteRT-LM samples on its side: its CPU sampler is top-p with top-k and a temperature
(greedy is k = 1). Our other generation settings have no counterpart there and are
refused by name (``unsupported_settings``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from litecomplete.errors import ConfigError, ModelFileError, ModelRunError
from litecomplete.inspect.litertlm_file import LitertLmInfo, read_litertlm_info
from litecomplete.runtime.generation import GenerationConfig
from litecomplete.runtime.prompt import validate_prompt

DEFAULT_THREADS = 2


def unsupported_settings(config: GenerationConfig) -> list[str]:
    """Our settings in ``config`` that LiteRT-LM's session cannot apply, as option names."""
    unsupported = []
    if config.stop:
        unsupported.append("--stop")
    if config.sampling.repetition_penalty != 1.0:
        unsupported.append("--repetition-penalty")
    if config.max_prompt_tokens is not None:
        unsupported.append("max_prompt_tokens")
    if not config.stop_at_end_token:
        unsupported.append("stop_at_end_token=False")
    if config.heal:
        unsupported.append("--heal")
    return unsupported


class LitertLmModel:
    """A loaded ``.litertlm`` bundle.

    >>> model = LitertLmModel.load("smollm2.litertlm")       # doctest: +SKIP
    >>> model.complete("The capital of France is", GenerationConfig(max_new_tokens=8))
    ' Paris...'                                              # doctest: +SKIP
    """

    def __init__(self, path: Path, info: LitertLmInfo, engine: Any) -> None:
        self.path = path
        self.info = info
        self._engine = engine

    @classmethod
    def load(cls, path: str | Path, num_threads: int = DEFAULT_THREADS) -> LitertLmModel:
        """Load ``path`` in LiteRT-LM's engine on the CPU.

        Raises:
            ModelFileError: missing, not a LiteRT-LM bundle, damaged, or refused by
                the engine.
        """
        path = Path(path)
        info = read_litertlm_info(path)
        import litert_lm

        litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
        try:
            engine = litert_lm.Engine(
                str(path), backend=litert_lm.Backend.CPU(thread_count=num_threads)
            )
        except RuntimeError as e:
            raise ModelFileError(f"LiteRT-LM cannot load {path}: {e}") from None
        return cls(path, info, engine)

    @property
    def vocabulary_size(self) -> int | None:
        decoder = self.info.manifest.get("decoder")
        return int(decoder["vocabulary_size"]) if isinstance(decoder, dict) else None

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` by the bundle's own tokenizer, as LiteRT-LM reads it."""
        return list(self._engine.tokenize(text))

    def _sampler(self, config: GenerationConfig) -> Any:
        import litert_lm

        sampling = config.sampling
        if sampling.temperature == 0:  # greedy: the most likely of one
            return litert_lm.SamplerConfig(top_k=1, top_p=1.0, temperature=1.0, seed=0)
        top_k = sampling.top_k or self.vocabulary_size
        if top_k is None:
            raise ConfigError(
                f"{self.path} does not say its vocabulary size; give --top-k to sample from it"
            )
        seed = sampling.seed if sampling.seed is not None else random.randrange(1 << 31)
        return litert_lm.SamplerConfig(
            top_k=top_k, top_p=sampling.top_p, temperature=sampling.temperature, seed=seed
        )

    def stream(self, prompt: str | bytes, config: GenerationConfig) -> Iterator[str]:
        """Text pieces of the completion of ``prompt`` as LiteRT-LM writes them.

        Raises:
            PromptError: empty prompt or invalid UTF-8.
            ConfigError: a setting LiteRT-LM cannot apply (named).
            ModelRunError: the engine failed.
        """
        text = validate_prompt(prompt).decode("utf-8")
        unsupported = unsupported_settings(config)
        if unsupported:
            raise ConfigError(
                f"LiteRT-LM cannot apply {', '.join(unsupported)}; drop it, or run the "
                "model as a fast-format .tflite (`litecomplete convert --format fast`)"
            )
        try:
            session = self._engine.create_session(
                apply_prompt_template=False,
                sampler_config=self._sampler(config),
                max_output_tokens=config.max_new_tokens,
            )
            try:
                session.run_prefill([text])
                for responses in session.run_decode_async():
                    yield from responses.texts
            finally:
                session.close()
        except RuntimeError as e:
            raise ModelRunError(f"{self.path} failed to run in LiteRT-LM: {e}") from None

    def complete(self, prompt: str | bytes, config: GenerationConfig) -> str:
        """The completion of ``prompt``, without the prompt."""
        return "".join(self.stream(prompt, config))

    def close(self) -> None:
        self._engine.close()
