"""What drafts can do for a keystroke that look-ahead did not cover: greedy suggestions replayed.

    python scripts/uncovered_drafts.py [--corpus FILE ...] [--draft MODEL.tflite]

The bench's typing sessions (``bench --sessions 8``: 8 places of each session text,
128 tokens of context, 8 tokens typed one at a time), the default model at 2 threads.
For each typed token that is not among the four likeliest after the text before it
(what look-ahead of 3 covers), the 8-token greedy suggestion after it is replayed
against a drafter: each round checks the typed token or the last accepted one with a
draft of up to 3 tokens in a 4-row verify call (one decode step where there is no
draft) and keeps the draft up to its first wrong token, plus the row after it.

Printed per text: the keystrokes uncovered, and each drafter's cost for the suggestion
in decode steps (8 without drafts; a 4-row call counted at its cost measured in this
run). Drafters: lookup of 2 tokens or more (``auto``) and of 1 (``lookup``) over the
text, the previous suggestion and the branches look-ahead made; with ``--corpus``, a
table of the files' tokens: the commonest token after the last two (after the last
one where those two never occur together), chained three times; with ``--draft``, a
second fast-format model's greedy tokens, each counted at its decode step's cost
measured against the model's in this run.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from litecomplete import contract as c
from litecomplete.bench.sessions import session_texts
from litecomplete.default_model import default_model_path
from litecomplete.runtime import GenerationConfig
from litecomplete.runtime.fast_model import FastModel
from litecomplete.runtime.speculative import LookupDrafter, ModelDrafter, Speculation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from look_ahead_latency import ms  # noqa: E402

SESSIONS, CONTEXT, TYPED, LENGTH, COVERED, DRAFT = 8, 128, 8, 8, 4, 3
Draft = Callable[[list[int], list[list[int]]], list[int]]


class Trigrams:
    """The commonest next token after two tokens (or one) of a corpus."""

    def __init__(self, ids: Sequence[int]) -> None:
        pairs: defaultdict[tuple[int, int], Counter[int]] = defaultdict(Counter)
        singles: defaultdict[int, Counter[int]] = defaultdict(Counter)
        for a, b, n in zip(ids, ids[1:], ids[2:], strict=False):
            pairs[a, b][n] += 1
            singles[b][n] += 1
        self.pairs = {k: v.most_common(1)[0][0] for k, v in pairs.items()}
        self.singles = {k: v.most_common(1)[0][0] for k, v in singles.items()}

    def draft(self, history: list[int], _sources: list[list[int]]) -> list[int]:
        h, out = list(history), list[int]()
        while len(out) < DRAFT:
            token = self.pairs.get((h[-2], h[-1]), self.singles.get(h[-1]))
            if token is None:
                break
            out.append(token)
            h.append(token)
        return out


def _lookup(min_ngram: int) -> Draft:
    def draft(history: list[int], sources: list[list[int]]) -> list[int]:
        return LookupDrafter(sources, min_ngram).propose(history, DRAFT, DRAFT)

    return draft


def replay(
    truth: list[int],
    history: list[int],
    sources: list[list[int]],
    draft: Draft,
    verify_cost: float,
    token_cost: float = 0.0,
) -> float:
    """Decode steps ``draft`` would take to make the greedy suggestion ``truth``
    (``token_cost``: a drafted token's, in the model's decode steps)."""
    made: list[int] = []
    cost = 0.0
    while len(made) < len(truth):
        guess = draft([*history, *made], sources)[: len(truth) - len(made) - 1]
        right = 0
        while right < len(guess) and guess[right] == truth[len(made) + right]:
            right += 1
        made += truth[len(made) : len(made) + right + 1]
        cost += verify_cost + token_cost * len(guess) if guess else 1.0
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, nargs="*", default=[])
    parser.add_argument("--draft", type=Path)
    args = parser.parse_args()
    model = FastModel.load(default_model_path(), num_threads=2)
    off = GenerationConfig(
        max_new_tokens=LENGTH, stop_at_end_token=False, speculation=Speculation.parse("off")
    )

    def greedy(ids: list[int]) -> list[int]:
        return list(model.complete_ids(ids, off).token_ids)

    steps = np.median([ms(model._run_decode, 5, 100) for _ in range(30)])
    key = c.verify_signature(4)
    rows4 = np.median([ms(model._graphs.run_rows, key, [5] * 4, 100) for _ in range(30)])
    verify_cost = float(rows4 / steps)
    print(f"decode step {steps:.1f} ms, 4-row verify {rows4:.1f} ms ({verify_cost:.2f} steps)")
    drafters: dict[str, Draft] = {"auto": _lookup(2), "lookup": _lookup(1)}
    token_costs: dict[str, float] = {}  # a drafted token's cost, where it has one
    if args.corpus:
        corpus = "\n".join(p.read_text("utf-8", errors="replace") for p in args.corpus)
        drafters["corpus"] = Trigrams(model.encode(corpus)).draft
    if args.draft:
        second = FastModel.load(args.draft, num_threads=2)
        drafted = ModelDrafter(second)
        drafters["draft"] = lambda history, _: drafted.propose(history, DRAFT, DRAFT)
        token_costs["draft"] = float(
            np.median([ms(second._run_decode, 5, 100) for _ in range(30)]) / steps
        )
        print(f"draft model's decode step: {token_costs['draft']:.2f} steps")
    for name, text in session_texts().items():
        ids = model.encode(text)
        room = len(ids) - CONTEXT - TYPED
        costs: dict[str, list[float]] = {d: [] for d in drafters}
        keystrokes = 0
        for start in (CONTEXT + i * room // SESSIONS for i in range(SESSIONS)):
            before = ids[start - CONTEXT : start]
            shown = greedy(before)
            for typed in range(1, TYPED + 1):
                now = ids[start - CONTEXT : start + typed]
                likeliest = [int(t) for t in np.argsort(-model.feed(before))[:COVERED]]
                truth = greedy(now)
                keystrokes += 1
                if now[-1] not in likeliest:
                    branches = [[*before, t, *greedy([*before, t])] for t in likeliest]
                    sources = [[*before, *shown], *branches]
                    for d, draft in drafters.items():
                        costs[d].append(
                            replay(truth, now, sources, draft, verify_cost, token_costs.get(d, 0.0))
                        )
                before, shown = now, truth
        uncovered = len(costs["auto"])
        figures = ", ".join(
            f"{d} {np.mean(v):.2f} (p90 {np.percentile(v, 90):.2f})" for d, v in costs.items()
        )
        print(f"{name}: {uncovered} of {keystrokes} uncovered; steps of {LENGTH}: {figures}")


if __name__ == "__main__":
    main()
