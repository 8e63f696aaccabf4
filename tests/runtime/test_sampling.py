from __future__ import annotations

import numpy as np

from litecomplete.runtime.sampling import SamplingConfig, TokenSampler
from litecomplete.runtime.stopping import StopMatcher


def test_greedy_picks_the_argmax() -> None:
    logits = np.array([0.1, 3.0, 2.9, -1.0], np.float32)
    assert TokenSampler(SamplingConfig())(logits) == 1


def test_repetition_penalty_demotes_seen_tokens() -> None:
    logits = np.array([2.0, 1.9, -1.0], np.float32)
    sampler = TokenSampler(SamplingConfig(repetition_penalty=1.2))
    assert sampler(logits, history=[0]) == 1  # 2.0 / 1.2 < 1.9
    assert sampler(logits, history=[]) == 0


def test_top_k_samples_only_among_the_k_best() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=100).astype(np.float32)
    best = set(np.argsort(-logits)[:3].tolist())
    sampler = TokenSampler(SamplingConfig(temperature=2.0, top_k=3, seed=0))
    drawn = {sampler(logits) for _ in range(300)}
    assert drawn == best


def test_top_p_keeps_the_smallest_sufficient_set() -> None:
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    sampler = TokenSampler(SamplingConfig(temperature=1.0, top_p=0.8, seed=0))
    drawn = {sampler(np.log(probs).astype(np.float32)) for _ in range(300)}
    assert drawn == {0, 1}


def test_sampling_frequencies_follow_the_softmax() -> None:
    logits = np.log(np.array([0.7, 0.2, 0.1])).astype(np.float32)
    sampler = TokenSampler(SamplingConfig(temperature=1.0, seed=3))
    counts = np.bincount([sampler(logits) for _ in range(4000)], minlength=3) / 4000
    np.testing.assert_allclose(counts, [0.7, 0.2, 0.1], atol=0.03)


def test_stop_matcher_holds_back_a_possible_stop_across_pieces() -> None:
    stops = StopMatcher(["\n\n", "END"])
    assert stops.feed("Hello E") == "Hello "  # "E" may start "END"
    assert stops.feed("N") == ""
    assert stops.feed("Xtra") == "ENXtra"  # not a stop after all
    assert stops.feed(" more\n") == " more"
    assert stops.feed("\nignored") == ""
    assert stops.stopped
    assert stops.flush() == ""


def test_stop_matcher_flushes_at_the_end() -> None:
    stops = StopMatcher(["END"])
    assert stops.feed("the E") == "the "
    assert stops.flush() == "E"
