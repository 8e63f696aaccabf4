"""A tiny Gemma 3 written as a GGUF file: random weights of the family's fake config and
a 512-piece SentencePiece BPE vocabulary trained here on the bundled English text,
with Gemma's control and user-defined pieces, so every path starts where a user's does."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from litecomplete.models import gemma3
from litecomplete.models.fake import random_decoder_weights
from litecomplete.models.gemma3.tokenizer import vocabulary_of_proto
from litecomplete.quantize.calibration import calibration_passages

TINY_GEMMA3_VOCABULARY = 512
# Gemma's control pieces (typed as text, they stay text) and user-defined whitespace runs.
CONTROLS = ["<start_of_turn>", "<end_of_turn>"]
USER_DEFINED = ["\n", "\n\n", "  ", "   ", "\t\t"]


def tiny_sentencepiece_proto() -> bytes:
    """A BPE SentencePiece model with byte fallback, trained on the calibration text."""
    import sentencepiece as spm

    from litecomplete.models.gemma3.tokenizer import SPACE

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(calibration_passages()),
        model_writer=model,
        model_type="bpe",
        vocab_size=TINY_GEMMA3_VOCABULARY,
        byte_fallback=True,
        character_coverage=1.0,
        split_digits=True,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        control_symbols=CONTROLS,
        user_defined_symbols=[s.replace(" ", SPACE) for s in USER_DEFINED],
        minloglevel=2,
    )  # fmt: skip
    return model.getvalue()


class TinyGemma3Tokenizer:
    """What ``write_gemma3_gguf`` reads of a KerasHub ``Gemma3Tokenizer``: its proto."""

    def __init__(self, proto: bytes) -> None:
        self.proto = proto


def write_tiny_gemma3_gguf(path: Path, seed: int = 0) -> Any:
    """The tiny Gemma 3 as an F32 GGUF at ``path``; returns its ``DecoderWeights``."""
    from litecomplete.models.gguf.export import write_gguf

    proto = tiny_sentencepiece_proto()
    assert len(vocabulary_of_proto(proto).pieces) == TINY_GEMMA3_VOCABULARY
    weights = random_decoder_weights(gemma3.fake_spec(), seed)
    write_gguf(weights, TinyGemma3Tokenizer(proto), path, add_bos=True)
    return weights
