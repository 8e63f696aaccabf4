"""A user's text for fine-tuning: read and checked, split into training and held-out
passages, and cut into token windows. NumPy only.

The held-out part is whole passages (blocks between blank lines) from the end of the
text, never trained on: the perplexity measured on it says whether the model learnt
the user's way of writing, not their sentences by heart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from litecomplete.errors import FinetuneTextError
from litecomplete.textfile import read_utf8

PASSAGE_BREAK = re.compile(r"\n[ \t]*\n+")
# What a folder given as --text contributes: its text files, at any depth.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".org", ".tex")


@dataclass(frozen=True)
class SplitText:
    """The training text and the held-out text (empty when no fraction is held out)."""

    train: str
    held_out: str
    train_passages: int
    held_out_passages: int


def text_files(paths: Sequence[Path]) -> list[Path]:
    """``paths`` with each folder replaced by its text files (sorted, at any depth)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)
            continue
        inside = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES
        )
        if not inside:
            raise FinetuneTextError(
                f"--text {path} is a folder with no text files ({', '.join(TEXT_SUFFIXES)})"
            )
        found.extend(inside)
    return found


def read_texts(paths: Sequence[Path]) -> list[str]:
    """Each file's text (a folder: its text files'), refused with one line when missing,
    empty or not UTF-8."""
    if not paths:
        raise FinetuneTextError("no text to train on; give --text FILE (one or more)")
    texts = []
    for path in text_files(paths):
        text = read_utf8(path, "--text", FinetuneTextError)
        if not text.strip():
            raise FinetuneTextError(f"--text {path} is empty")
        texts.append(text.replace("\r\n", "\n"))
    return texts


def passages(text: str) -> list[str]:
    """``text``'s blocks between blank lines; its lines when it has no blank line."""
    blocks = [p.strip("\n") for p in PASSAGE_BREAK.split(text) if p.strip()]
    if len(blocks) < 2:
        blocks = [line for line in text.splitlines() if line.strip()]
    return blocks


def split_held_out(texts: Sequence[str], fraction: float) -> SplitText:
    """Hold out whole passages from the end until they are ``fraction`` of the characters.

    Raises:
        FinetuneTextError: the fraction is out of range, or leaves nothing to train on.
    """
    if not 0.0 <= fraction < 1.0:
        raise FinetuneTextError(f"--held-out is {fraction}; give a fraction from 0 up to 1")
    blocks = [p for text in texts for p in passages(text)]
    total = sum(len(p) for p in blocks)
    held: list[str] = []
    while fraction > 0 and sum(len(p) for p in held) < fraction * total and blocks:
        held.insert(0, blocks.pop())
    if not blocks:
        raise FinetuneTextError(
            f"--held-out {fraction} leaves nothing to train on: the text has {len(held)} "
            "passage(s) (blocks between blank lines); give more text or a smaller fraction"
        )
    return SplitText("\n\n".join(blocks), "\n\n".join(held), len(blocks), len(held))


@dataclass(frozen=True)
class Windows:
    """Token windows of ``length + 1`` ids (inputs and their next-token labels).

    ``weights`` is 0 where a label is padding (the last held-out window may be short).
    """

    ids: np.ndarray  # [windows, length + 1] int32
    weights: np.ndarray  # [windows, length] float32: which labels count

    @property
    def count(self) -> int:
        return int(self.ids.shape[0])

    @property
    def tokens(self) -> int:
        """Labels that count (the tokens the loss is taken over)."""
        return int(self.weights.sum())


def windows(ids: Sequence[int], length: int, start_id: int | None, pad_id: int) -> Windows:
    """Cut ``ids`` into windows of ``length`` labels, each window after the last.

    With a ``start_id`` (a model that always sees its start token first), every window
    begins with it and holds ``length`` text tokens after it; without, a window's last
    label is the next window's first input. The last window is padded
    when short; a text shorter than two tokens gives no window.
    """
    rows, masks = [], []
    position = 0
    while position + 1 < len(ids) or (start_id is not None and position < len(ids)):
        if start_id is None:
            chunk = list(ids[position : position + length + 1])  # the next window's first
        else:  # input is this one's last label
            chunk = [start_id, *ids[position : position + length]]
        labels = len(chunk) - 1
        rows.append(chunk + [pad_id] * (length + 1 - len(chunk)))
        masks.append([1.0] * labels + [0.0] * (length - labels))
        position += length
    if not rows:
        return Windows(np.zeros((0, length + 1), np.int32), np.zeros((0, length), np.float32))
    return Windows(np.asarray(rows, np.int32), np.asarray(masks, np.float32))


def full_windows(ids: Sequence[int], length: int, start_id: int | None) -> Windows:
    """Training windows: only whole ones (a short tail would train on padding).

    Raises:
        FinetuneTextError: the text is shorter than one window.
    """
    found = windows(ids, length, start_id, pad_id=0)
    whole = found.weights.sum(axis=1) == length
    if not whole.any():
        raise FinetuneTextError(
            f"the training text is {len(ids)} tokens, shorter than one sequence of {length}; "
            "give more text or a smaller --sequence-length"
        )
    return Windows(found.ids[whole], found.weights[whole])


def batch_order(count: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """The window indices of training step ``step`` (0-based).

    Every window is seen once per epoch, in an order shuffled per epoch from ``seed``:
    a step's batch depends on the step alone, so a resumed run sees what an
    uninterrupted one would.
    """
    picks = []
    for k in range(step * batch_size, (step + 1) * batch_size):
        epoch, within = divmod(k, count)
        order = np.random.default_rng([seed, epoch]).permutation(count)
        picks.append(order[within])
    return np.asarray(picks, np.int64)
