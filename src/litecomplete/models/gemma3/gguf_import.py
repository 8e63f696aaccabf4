"""A Gemma 3 GGUF file as a KerasHub ``Gemma3CausalLM`` (text only, float32).

The tokenizer is rebuilt from the file as a SentencePiece proto
(``gemma3.tokenizer``), which KerasHub's ``Gemma3Tokenizer`` takes, so its ids are
llama.cpp's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litecomplete.models.gemma3.gguf_weights import gemma3_decoder_weights
from litecomplete.models.gemma3.keras import assign_gemma3_weights
from litecomplete.models.gemma3.shapes import KERAS_BACKBONE_NAMES, KERAS_FIXED
from litecomplete.models.gemma3.tokenizer import sentencepiece_proto, sentencepiece_vocabulary
from litecomplete.models.spec import DecoderWeights

if TYPE_CHECKING:
    import keras_hub

    from litecomplete.models.gguf.reader import GgufFile

# ``Gemma3Backbone`` asks for an image size even without a vision encoder.
TEXT_ONLY_IMAGE_SIZE = 896


def gemma3_keras_tokenizer(proto: bytes) -> Any:
    """KerasHub's ``Gemma3Tokenizer`` of a SentencePiece proto, without image tokens."""
    import keras_hub

    return keras_hub.models.Gemma3Tokenizer(proto=proto, has_vision_tokens=False)


def gemma3_causal_lm(
    weights: DecoderWeights, tokenizer: Any, add_start_token: bool, sequence_length: int
) -> keras_hub.models.Gemma3CausalLM:
    """A text-only ``Gemma3CausalLM`` holding ``weights`` (float32)."""
    import keras_hub

    spec = weights.spec
    sizes = {keras: getattr(spec, field) for field, keras in KERAS_BACKBONE_NAMES.items()}
    backbone = keras_hub.models.Gemma3Backbone(
        **sizes, **KERAS_FIXED, image_size=TEXT_ONLY_IMAGE_SIZE, dtype="float32"
    )
    assign_gemma3_weights(backbone, weights)
    preprocessor = keras_hub.models.Gemma3CausalLMPreprocessor(
        tokenizer, sequence_length=sequence_length, add_start_token=add_start_token
    )
    return keras_hub.models.Gemma3CausalLM(backbone=backbone, preprocessor=preprocessor)


def gemma3_causal_lm_from_gguf(
    model: GgufFile, sequence_length: int = 256
) -> keras_hub.models.Gemma3CausalLM:
    """Build the KerasHub model of a ``gemma3`` GGUF file."""
    weights = gemma3_decoder_weights(model)  # checks the header before the tokenizer
    tokenizer = gemma3_keras_tokenizer(sentencepiece_proto(sentencepiece_vocabulary(model)))
    add_bos = bool(model.metadata.get("tokenizer.ggml.add_bos_token", True))
    return gemma3_causal_lm(weights, tokenizer, add_bos, sequence_length)
