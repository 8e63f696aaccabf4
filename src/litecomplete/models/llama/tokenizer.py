"""KerasHub tokenizer for Llama-family GGUF files: byte-level BPE with llama.cpp's pre-split.

KerasHub's ``Llama3Tokenizer`` splits text with Llama 3's pattern in Python and
GPT-2's in TensorFlow graphs. A GGUF names its own pre-tokenizer; for SmolLM2 it
is ``smollm``: every digit stands alone, then GPT-2's split. ``GgufBpeTokenizer``
applies the file's pre-tokenizer on both paths, so the ids are llama.cpp's in
Python and inside a traced graph (the app format) alike.

The class is registered with Keras: a preset directory written by ``import-gguf``
loads with ``keras_hub.models.CausalLM.from_preset(DIR)`` once ``litecomplete.models``
is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras
from keras_hub.models import Llama3Tokenizer

from litecomplete.models.gguf.tokenizer import PRE_TOKENIZERS, hf_pre_tokenizer

# Marks a cut between pieces inside the graph, then is dropped: a Unicode noncharacter.
_CUT = "\ufdd0"


@keras.saving.register_keras_serializable(package="litecomplete")
class GgufBpeTokenizer(Llama3Tokenizer):
    """``Llama3Tokenizer`` with llama.cpp's pre-tokenizer ``pre_tokenizer``.

    Args:
        vocabulary: token -> id.
        merges: BPE merges, ``"a b"`` strings in rank order.
        bos_token, eos_token: the file's start and end tokens (both in ``vocabulary``).
        pre_tokenizer: llama.cpp's name, one of ``PRE_TOKENIZERS``.
    """

    def __init__(
        self,
        vocabulary: Any = None,
        merges: Any = None,
        bos_token: str = "<|im_start|>",
        eos_token: str = "<|im_end|>",
        misc_special_tokens: Any = None,
        pre_tokenizer: str = "gpt-2",
        **kwargs: Any,
    ) -> None:
        if pre_tokenizer not in PRE_TOKENIZERS:
            raise ValueError(
                f"pre-tokenizer {pre_tokenizer!r}; supported: {', '.join(PRE_TOKENIZERS)}"
            )
        self.pre_tokenizer = pre_tokenizer
        self.bos_token, self.eos_token = bos_token, eos_token
        self.misc_special_tokens = sorted(misc_special_tokens or ())
        super().__init__(
            vocabulary=vocabulary,
            merges=merges,
            bos_token=bos_token,
            eos_token=eos_token,
            misc_special_tokens=set(self.misc_special_tokens),
            **kwargs,
        )

    def _set_vocabulary_and_merges_tokenizers(self, vocabulary: Any, merges: Any) -> None:
        super()._set_vocabulary_and_merges_tokenizers(vocabulary, merges)
        self._tokenizer.pre_tokenizer = hf_pre_tokenizer(self.pre_tokenizer)

    def _tokenize_tf(self, inputs: Any) -> Any:
        """Tokenize inside a graph (the app format).

        KerasHub's graph tokenizer approximates GPT-2's split and differs from it in
        two places: a whitespace run before a newline stays whole ("\\n\\nword" gives
        one token, GPT-2 gives two), and with more than ten special tokens it maps some
        back to the wrong one. Both are handled here before its BPE runs: the text is cut
        into pieces at special tokens, at digits (``smollm``) and before the newline
        that ends a whitespace run; special tokens become their ids directly.
        """
        import tensorflow as tf
        import tensorflow_text as tf_text

        inputs = tf.convert_to_tensor(inputs)
        unbatched = inputs.shape.rank == 0
        if unbatched:
            inputs = inputs[tf.newaxis]
        # GPT-2's "\s+(?!\S)": in "\n\nword" the run ends before its last newline.
        inputs = tf.strings.regex_replace(inputs, r"(\s)(\n\S)", "\\1" + _CUT + "\\2")
        kept = [re.escape(t) for t in sorted(self.special_tokens, key=len, reverse=True)]
        if self.pre_tokenizer == "smollm":
            kept.append(r"\p{N}")  # every digit on its own
        # (batch, pieces)
        pieces = tf_text.regex_split(inputs, "|".join([*kept, _CUT]), "|".join(kept))
        flat = pieces.flat_values  # (pieces,)
        special = tf.fill(tf.shape(flat), -1)
        for token in self.special_tokens:
            special = tf.where(tf.equal(flat, token), self.token_to_id(token), special)
        is_special = special >= 0
        # (pieces, tokens): BPE on the plain pieces; special pieces get their one id.
        with self._plain_bpe():
            ids = super()._tokenize_tf(tf.where(is_special, "", flat))
        specials = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(special, is_special), tf.cast(is_special, tf.int64)
        )
        ids = tf.concat([tf.cast(ids, tf.int32), specials], axis=1)
        # (batch, tokens): each text's pieces joined again.
        ids = tf.RaggedTensor.from_row_splits(
            ids.flat_values, tf.gather(ids.row_splits, pieces.row_splits)
        )
        if self.sequence_length:
            ids = ids.to_tensor(shape=[None, self.sequence_length])
        return ids[0] if unbatched else ids

    @contextmanager
    def _plain_bpe(self) -> Iterator[None]:
        """KerasHub's graph path with no padding and no special-token handling of its own."""
        saved = (getattr(self, "sequence_length"), getattr(self, "unsplittable_tokens"))  # noqa: B009
        self.sequence_length, self.unsplittable_tokens = None, None
        try:
            yield
        finally:
            self.sequence_length, self.unsplittable_tokens = saved

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            {
                "bos_token": self.bos_token,
                "eos_token": self.eos_token,
                "misc_special_tokens": self.misc_special_tokens,
                "pre_tokenizer": self.pre_tokenizer,
            }
        )
        return config
