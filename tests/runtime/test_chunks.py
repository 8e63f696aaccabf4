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


def test_verify_rows_that_cost_more_than_tokens_send_a_prompt_to_a_prefill_bucket() -> None:
    # lengths 4 and 16 are verify signatures (a row of logits each), 64 a prefill bucket
    verify = frozenset({4, 16})
    assert plan_chunks(16, (4, 16, 64), verify) == [16]  # rows free: no padding
    assert plan_chunks(16, (4, 16, 64), verify, 4.0) == [64]  # 16 rows of 4 tokens each
    assert plan_chunks(16, (4, 16, 64), frozenset(), 4.0) == [16]  # prefills pay one row
    # A long prompt pays an invoke per chunk whatever the rows cost.
    assert plan_chunks(128, (4, 16, 64), verify, 4.0) == [64, 64]
