"""``litecomplete safety-eval``: the profanity filter's precision, recall, F1 and speed."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from litecomplete.commands.common import emit_json

NAME = "safety-eval"
HELP = (
    "Score the profanity filter on a labelled set (default: the packaged one): "
    "precision, recall, F1, false positives on hard clean lines, sentences/s."
)
EXAMPLE = "litecomplete safety-eval --show-mistakes"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        default=None,
        help="labelled TSV: 'profane|clean<TAB>kind<TAB>text' per line (default: packaged)",
    )
    p.add_argument("--show-mistakes", action="store_true", help="list misclassified lines")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from litecomplete.safety import default_filter
    from litecomplete.safety.evaluate import read_labelled, score_filter, time_pathological

    lines = read_labelled(args.set)
    profanity = default_filter()
    score = score_filter(profanity, lines)
    slow = time_pathological(profanity)
    if args.json:
        emit_json(
            {
                **asdict(score),
                "hard_false_positive_rate": score.hard_false_positive_rate,
                "pathological": [
                    {"input": n, "chars": c, "flagged": f, "ms": ms} for n, c, f, ms in slow
                ],
            }
        )
        return 0
    profane = sum(line.profane for line in lines)
    print(f"set          {args.set or 'packaged'}: {score.lines} lines, {profane} profane")
    print(f"precision    {score.precision:.4f}")
    print(f"recall       {score.recall:.4f}")
    print(f"F1           {score.f1:.4f}")
    print(
        f"hard clean   {score.hard_false_positives} of {score.hard_clean} flagged "
        f"({score.hard_false_positive_rate:.1%})"
    )
    print(
        f"speed        {score.sentences_per_second:,.0f} sentences/s (word cache emptied per pass)"
    )
    name, chars, _, ms = max(slow, key=lambda t: t[3])
    print(
        f"worst case   {ms:.0f} ms for {name} ({chars:,} characters; "
        f"{len(slow)} pathological inputs)"
    )
    if args.show_mistakes:
        for text in score.false_positives:
            print(f"false positive  {text}")
        for text in score.false_negatives:
            print(f"false negative  {text}")
    return 0
