"""How a run of tokens is cut into signature calls."""

from __future__ import annotations

from litecomplete.runtime.chunks import plan_chunks


def test_chunk_plans_cover_the_prompt_with_full_chunks_first() -> None:
    for n in range(1, 1025):  # one test, not a thousand: it was 40 % of the count
        plan = plan_chunks(n, (16, 64, 256))
        assert sum(plan) >= n, n
        assert sum(plan[:-1]) < n, n  # only the last chunk is padded, and it is not empty
        assert sum(plan) - n < 256, n


def test_a_prompt_between_buckets_is_split_not_padded() -> None:
    assert plan_chunks(128, (16, 64, 256)) == [64, 64]
    assert plan_chunks(17, (16, 64, 256)) == [16, 16]
    assert plan_chunks(256, (16, 64, 256)) == [256]
