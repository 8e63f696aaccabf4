"""Built-in GPT-2 configs with random weights and GPT-2's real tokenizer.

``tiny`` keeps tests fast; ``gpt2-124m`` has the shapes of OpenAI's GPT-2 base
(``gpt2_base_en`` in KerasHub), so sizes and speeds measured on it are those of
the real model. Weights are random (seeded), so the text they write is noise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from litecomplete.models.gpt2.vocab import VOCABULARY_SIZE

if TYPE_CHECKING:
    import keras_hub


@dataclass(frozen=True)
class BuiltinConfig:
    """Shapes of a GPT-2 backbone."""

    name: str
    num_layers: int
    num_heads: int
    hidden_dim: int
    intermediate_dim: int
    max_sequence_length: int = 1024
    vocabulary_size: int = VOCABULARY_SIZE

    def parameter_count(self) -> int:
        """Number of weights, counting the tied token embedding once."""
        d, f, n = self.hidden_dim, self.intermediate_dim, self.num_layers
        embeddings = (self.vocabulary_size + self.max_sequence_length) * d
        attention = 4 * d * d + 4 * d  # q, k, v, output kernels and biases
        mlp = 2 * d * f + f + d
        norms = 2 * 2 * d
        return embeddings + n * (attention + mlp + norms) + 2 * d  # + final norm


BUILTIN_CONFIGS: dict[str, BuiltinConfig] = {
    c.name: c
    for c in (
        BuiltinConfig("tiny", num_layers=2, num_heads=4, hidden_dim=128, intermediate_dim=512),
        BuiltinConfig(
            "gpt2-124m", num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072
        ),
    )
}


def build_builtin_causal_lm(
    config: BuiltinConfig, sequence_length: int, seed: int = 0
) -> keras_hub.models.GPT2CausalLM:
    """A ``GPT2CausalLM`` with random weights (seeded) and GPT-2's tokenizer."""
    import keras
    import keras_hub

    from litecomplete.models.gpt2.vocab import gpt2_vocab_files

    files = gpt2_vocab_files()
    tokenizer = keras_hub.models.GPT2Tokenizer(
        vocabulary=str(files.vocabulary), merges=str(files.merges)
    )
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(
        tokenizer, sequence_length=sequence_length
    )
    keras.utils.set_random_seed(seed)
    sizes = {k: v for k, v in dataclasses.asdict(config).items() if k != "name"}
    backbone = keras_hub.models.GPT2Backbone(**sizes)  # a config's sizes are the backbone's
    return keras_hub.models.GPT2CausalLM(backbone, preprocessor=preprocessor)
