"""The fine-tuning text: checks, the held-out split, windows and the order they are seen in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from litecomplete.errors import FinetuneTextError
from litecomplete.finetune.text import (
    batch_order,
    full_windows,
    passages,
    read_texts,
    split_held_out,
    windows,
)


def test_unreadable_empty_and_non_utf8_files_are_named(tmp_path: Path) -> None:
    empty, latin1 = tmp_path / "empty.txt", tmp_path / "latin1.txt"
    empty.write_text(" \n\n", "utf-8")
    latin1.write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(FinetuneTextError, match=r"empty\.txt is empty"):
        read_texts([empty])
    with pytest.raises(
        FinetuneTextError, match=r"latin1\.txt is not UTF-8 text \(byte 0xe9 at offset 3\)"
    ):
        read_texts([latin1])
    with pytest.raises(FinetuneTextError, match="--text .*missing.txt: no such file"):
        read_texts([tmp_path / "missing.txt"])
    with pytest.raises(FinetuneTextError, match="no text"):
        read_texts([])


def test_a_folder_gives_its_text_files_in_order(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    (notes / "b").mkdir(parents=True)
    (notes / "a.md").write_text("first", "utf-8")
    (notes / "b" / "c.txt").write_text("second", "utf-8")
    (notes / "b" / "photo.jpg").write_bytes(b"\xff\xd8\xff")  # not text: left out
    assert read_texts([notes]) == ["first", "second"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FinetuneTextError, match="empty is a folder with no text files"):
        read_texts([tmp_path / "empty"])


def test_held_out_passages_are_whole_and_from_the_end() -> None:
    texts = ["one\nstill one\n\ntwo", "three\n\n\nfour is the longest passage here"]
    assert passages(texts[0]) == ["one\nstill one", "two"]
    split = split_held_out(texts, 0.3)
    assert split.held_out == "four is the longest passage here"
    assert split.train == "one\nstill one\n\ntwo\n\nthree"
    assert (split.train_passages, split.held_out_passages) == (3, 1)
    assert split_held_out(texts, 0.0).held_out == ""
    # No blank line: lines are the passages.
    assert split_held_out(["a\nb\nc\nd"], 0.25).held_out == "d"


@pytest.mark.parametrize("fraction", [0.99, 1.0, -0.1])
def test_a_fraction_that_leaves_nothing_to_train_on_is_refused(fraction: float) -> None:
    with pytest.raises(FinetuneTextError, match="--held-out"):
        split_held_out(["first\n\nsecond\n\nthird"], fraction)


def test_windows_with_a_start_token_cover_every_token_once() -> None:
    ids = list(range(10, 21))  # 11 tokens
    found = windows(ids, 4, start_id=1, pad_id=0)
    assert found.ids.tolist() == [
        [1, 10, 11, 12, 13],
        [1, 14, 15, 16, 17],
        [1, 18, 19, 20, 0],
    ]
    assert found.weights.tolist() == [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]]
    assert found.tokens == len(ids)  # every token is a label once


def test_windows_without_a_start_token_chain_their_labels() -> None:
    found = windows(list(range(10)), 4, start_id=None, pad_id=-1)
    assert found.ids.tolist() == [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8], [8, 9, -1, -1, -1]]
    assert found.tokens == 9  # every token but the first is a label once
    training = full_windows(list(range(10)), 4, start_id=None)
    assert training.count == 2  # the short tail is not trained on


def test_a_text_shorter_than_one_window_is_refused() -> None:
    with pytest.raises(FinetuneTextError, match="5 tokens, shorter than one sequence of 8"):
        full_windows([1, 2, 3, 4, 5], 8, start_id=None)


def test_each_epoch_sees_every_window_once_in_a_new_order() -> None:
    count, batch = 10, 3
    seen = np.concatenate([batch_order(count, batch, step, seed=7) for step in range(10)])
    epochs = seen.reshape(3, count)  # 30 picks: three epochs
    for epoch in epochs:
        assert sorted(epoch.tolist()) == list(range(count))
    assert epochs[0].tolist() != epochs[1].tolist()
    # A step's batch depends on the step alone (what resuming relies on).
    assert batch_order(count, batch, 5, seed=7).tolist() == seen[15:18].tolist()
    assert batch_order(count, batch, 5, seed=8).tolist() != seen[15:18].tolist()
