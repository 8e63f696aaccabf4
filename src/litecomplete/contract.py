"""The file contracts: signature and tensor names shared by converters and runtimes.

``app`` is the contract of the seed's Android app (TensorFlow Lite examples,
``lite/examples/generative_ai/android``): one signature ``serving_default``
taking a scalar string ``prompt`` and returning a scalar string ``output_0``
that holds the prompt followed by its completion. Tokenizer, generation loop
and sampler are inside the graph; it needs the Flex delegate and the
TensorFlow Text custom ops to run.
"""

from __future__ import annotations

from enum import StrEnum


class ModelFormat(StrEnum):
    """Closed set of file formats litecomplete writes."""

    APP = "app"

    @classmethod
    def parse(cls, value: str) -> ModelFormat:
        from litecomplete.errors import ConfigError

        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ConfigError(f"unknown format {value!r}; choose one of: {valid}") from None


APP_SIGNATURE = "serving_default"
APP_INPUT = "prompt"
APP_OUTPUT = "output_0"

# Key of the JSON manifest stored in the .tflite file's metadata table.
MANIFEST_METADATA_NAME = "litecomplete_manifest"
