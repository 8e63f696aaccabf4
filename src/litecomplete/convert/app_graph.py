"""The seed's single graph: string prompt -> tokenizer -> generation loop -> string.

Everything runs inside one ``tf.function`` so that the converted file honours
the app contract (``contract.APP_*``). This is written against KerasHub's
``call_with_cache`` instead of ``CausalLM.generate()`` because:

* ``generate()`` post-processes with ``convert_to_numpy`` and does not trace;
* KerasHub's random samplers keep a ``SeedGenerator`` variable, whose state
  updates do not convert; the ``top_k`` sampler here draws with a stateless
  ``tf.random.categorical`` (TFLite ``MULTINOMIAL``) instead;
* the preprocessor's packer keeps the OLDEST tokens of a long prompt, which is
  wrong for autocomplete; this graph keeps the NEWEST.

The loop mirrors ``GPT2CausalLM.generate_step``: prefill a cache of
``max_length`` positions with one forward pass, then feed the token at
``index - 1`` and write the sampled token at ``index`` until ``max_length`` or
the end token.

The output must fit the app's buffer (``config.max_output_bytes``, string header
included), so the completion is cut at a character boundary to fit; the output
always starts with the prompt exactly as sent, which is how the app finds the
completion (``output.indexOf(input) + input.length``).
"""

from __future__ import annotations

from typing import Any

from litecomplete.convert.config import AppExportConfig, Sampler
from litecomplete.convert.tokenizer_export import end_token_ids


def make_generate_fn(causal_lm: Any, config: AppExportConfig) -> Any:
    """A function ``prompt: tf.string[] -> tf.string[]`` (prompt + completion)."""
    import tensorflow as tf

    tokenizer = causal_lm.preprocessor.tokenizer
    max_length = config.max_length
    keep = config.prompt_tokens
    # GPT-2 puts its start token before every prompt; a GGUF model says whether it does.
    start = [tokenizer.start_token_id] if causal_lm.preprocessor.add_start_token else []
    end_ids = tf.constant(end_token_ids(tokenizer), tf.int32)

    def sample(logits: Any) -> Any:
        """float32[vocab] -> int32 scalar."""
        if config.sampler is Sampler.GREEDY:
            return tf.cast(tf.argmax(logits), tf.int32)
        top_logits, top_ids = tf.math.top_k(logits / config.temperature, k=config.top_k)
        choice = tf.random.categorical(top_logits[tf.newaxis, :], 1, dtype=tf.int32)  # (1, 1)
        return top_ids[choice[0, 0]]

    def generate(prompt: Any) -> Any:
        ids = tf.cast(tokenizer(prompt), tf.int32)  # (n,)
        # Newest prompt tokens after the start token, so the completion has room.
        newest = ids[tf.maximum(tf.shape(ids)[0] - (keep - len(start)), 0) :]
        ids = tf.concat([tf.constant(start, tf.int32), newest], axis=0)  # (n,) n <= keep
        n = tf.shape(ids)[0]
        token_ids = tf.pad(ids, [[0, max_length - n]])[tf.newaxis, :]  # (1, max_length)
        # Prefill: one pass over the padded sequence fills the cache
        # (1, layers, 2, max_length, heads, head_dim); padding slots are overwritten later.
        _, cache = prefill_cache(causal_lm, token_ids)

        def not_done(index: Any, token_ids: Any, cache: Any, ended: Any) -> Any:
            return tf.logical_and(index < max_length, tf.logical_not(ended))

        def step(index: Any, token_ids: Any, cache: Any, ended: Any) -> Any:
            # The token at index-1 is the newest one; its logits predict position index.
            last = tf.slice(token_ids, [0, index - 1], [1, 1])  # (1, 1)
            logits, _, cache = causal_lm.call_with_cache(last, cache, index - 1)
            next_id = sample(logits[0, 0])
            token_ids = tf.tensor_scatter_nd_update(token_ids, [[0, index]], [next_id])
            return index + 1, token_ids, cache, tf.reduce_any(tf.equal(next_id, end_ids))

        index, token_ids, _, ended = tf.while_loop(
            not_done, step, (n, token_ids, cache, tf.constant(False))
        )
        stop = tf.where(ended, index - 1, index)  # drop the end token itself
        completion = tokenizer.detokenize(token_ids[0, n:stop])
        # Bytes left for the completion in the app's output buffer.
        room = config.max_text_bytes - tf.strings.length(prompt)
        completion = fit_utf8(completion, tf.maximum(room, 0))
        # A prompt that leaves no room gets an empty output: the app's "no suggestion".
        return tf.cond(
            room >= 0,
            lambda: tf.strings.join([prompt, completion]),
            lambda: tf.constant(""),
        )

    return generate


def prefill_cache(causal_lm: Any, token_ids: Any) -> Any:
    """KerasHub's ``_build_cache`` over ``token_ids``: (hidden states, cache). Gemma 3's
    also takes its image inputs, which a text-only model leaves out."""
    import inspect

    if "img_embeddings" in inspect.signature(causal_lm._build_cache).parameters:
        return causal_lm._build_cache(token_ids, None, None, None, None)
    return causal_lm._build_cache(token_ids)


def fit_utf8(text: Any, max_bytes: Any) -> Any:
    """The longest prefix of ``text`` (tf.string[]) of whole characters in ``max_bytes``.

    Invalid UTF-8 (a completion cut at ``max_length`` inside a character) becomes
    U+FFFD first, so the result is always valid UTF-8.
    """
    import tensorflow as tf

    codepoints = tf.strings.unicode_decode(
        text, "UTF-8", errors="replace", replacement_char=0xFFFD
    )  # (chars,)
    # UTF-8 bytes of each character: 1 below U+0080, 2 below U+0800, 3 below U+10000, else 4.
    sizes = 1 + sum(
        tf.cast(codepoints >= first, tf.int32) for first in (0x80, 0x800, 0x10000)
    )  # (chars,)
    kept = tf.reduce_sum(tf.cast(tf.cumsum(sizes) <= max_bytes, tf.int32))
    return tf.strings.unicode_encode(codepoints[:kept], "UTF-8")
