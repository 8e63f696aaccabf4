"""Greedy continuations and logits from KerasHub and from llama.cpp, compared by the
slow parity tests on the same weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.conftest import keras_logits

# llama.cpp keeps its KV cache in F16 by default; F32 (GGML type 0) compares like with like.
F32_CACHE = {"type_k": 0, "type_v": 0}


def keras_greedy(causal_lm: Any, ids: list[int], n: int) -> list[int]:
    """``n`` greedy tokens after ``ids``, each from a whole forward pass."""
    ids = list(ids)
    for _ in range(n):
        ids.append(int(keras_logits(causal_lm, ids)[-1].argmax()))
    return ids[-n:]


def llama_cpp_greedy(llm: Any, ids: list[int], n: int) -> list[int]:
    """llama.cpp's ``n`` greedy tokens after ``ids``."""
    llm.reset()
    tokens: list[int] = []
    for token in llm.generate(ids, temp=0.0, top_k=1):
        tokens.append(token)
        if len(tokens) == n:
            break
    return tokens


def llama_cpp_logits(llm: Any, ids: list[int]) -> np.ndarray:
    """llama.cpp's logits at every position of ``ids`` (``logits_all``)."""
    llm.reset()
    llm.eval(ids)
    return np.asarray(llm.scores[: len(ids)])
