"""Score the profanity filter on a labelled set: precision, recall, F1, false positives, speed.

The packaged set (``data/safety_eval.tsv``) has one line per sentence:
``label<TAB>kind<TAB>text`` with label ``profane`` or ``clean``; ``clean`` lines of
kind ``hard`` contain or resemble listed words (Scunthorpe, assassin, snigger, ...).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from litecomplete.errors import ConfigError
from litecomplete.safety.filter import ProfanityFilter

LABELS = ("profane", "clean")


@dataclass(frozen=True)
class LabelledLine:
    profane: bool
    kind: str
    text: str


@dataclass(frozen=True)
class FilterScore:
    lines: int
    precision: float
    recall: float
    f1: float
    hard_clean: int  # clean lines of kind "hard"
    hard_false_positives: int
    sentences_per_second: float  # every line, the filter's word cache emptied each pass
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def hard_false_positive_rate(self) -> float:
        return self.hard_false_positives / self.hard_clean if self.hard_clean else 0.0


def parse_labelled(text: str, source: str = "labelled set") -> list[LabelledLine]:
    """The lines of a labelled set; ConfigError names the first malformed line."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 3 or parts[0] not in LABELS or not parts[2].strip():
            raise ConfigError(
                f"{source} line {number}: expected 'profane|clean<TAB>kind<TAB>text', "
                f"got {raw[:80]!r}"
            )
        lines.append(LabelledLine(parts[0] == "profane", parts[1], parts[2]))
    if not lines:
        raise ConfigError(f"{source} has no labelled lines")
    return lines


def read_labelled(path: str | Path | None = None) -> list[LabelledLine]:
    """The labelled set at ``path``, or the packaged one."""
    if path is None:
        resource = resources.files("litecomplete") / "data" / "safety_eval.tsv"
        return parse_labelled(resource.read_text("utf-8"), "safety_eval.tsv")
    path = Path(path)
    try:
        return parse_labelled(path.read_text("utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read labelled set {path}: {e}") from None


def sentences_per_second(
    profanity: ProfanityFilter, sentences: list[str], min_seconds: float = 1.0
) -> float:
    """Throughput of ``profanity.is_profane`` over ``sentences``, starting each pass
    with an empty word cache (so repeated words are not free)."""
    done, start = 0, time.perf_counter()
    while True:
        profanity.check_word.cache_clear()
        for sentence in sentences:
            profanity.is_profane(sentence)
        done += len(sentences)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def score_filter(
    profanity: ProfanityFilter, lines: list[LabelledLine], min_seconds: float = 1.0
) -> FilterScore:
    tp = fp = fn = hard = hard_fp = 0
    false_positives, false_negatives = [], []
    for line in lines:
        flagged = profanity.is_profane(line.text)
        if line.profane and flagged:
            tp += 1
        elif line.profane:
            fn += 1
            false_negatives.append(line.text)
        elif flagged:
            fp += 1
            false_positives.append(line.text)
        if not line.profane and line.kind == "hard":
            hard += 1
            hard_fp += flagged
    speed = sentences_per_second(profanity, [line.text for line in lines], min_seconds)
    return FilterScore(
        lines=len(lines),
        **_rates(tp, fp, fn),
        hard_clean=hard,
        hard_false_positives=hard_fp,
        sentences_per_second=speed,
        false_positives=false_positives,
        false_negatives=false_negatives,
    )


def _rates(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 of ``tp`` true positives, ``fp`` false positives and
    ``fn`` false negatives (0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def pathological_texts() -> dict[str, str]:
    """Inputs built to make a normaliser slow or crash: long runs, deep combining marks,
    separators between every letter, look-alike scripts, control characters."""
    return {
        "one letter, 100 KB": "a" * 100_000,
        "one letter and spaces, 100 KB": "a " * 50_000,
        "100,000 combining marks on one letter": "a" + "\u0301" * 100_000,
        "zalgo text, 380 KB": "".join(c + "\u0336\u0335\u0334" * 5 for c in "hello world " * 2000),
        "leetspeak word repeated, 100 KB": "5h1t" * 25_000,
        "dots between letters, 100 KB": "s.h.i.t." * 12_500,
        "Cyrillic look-alikes, 100 KB": "аьсdеfgһіјklmnорqrstuvwxyz" * 4_000,
        "emoji, 100,000": "🙂" * 100_000,
        "right-to-left marks, 100,000": "\u202e" * 100_000,
        "NUL characters, 100,000": "\x00" * 100_000,
        "plain prose, 1 MB": "lorem ipsum dolor " * 60_000,
    }


def time_pathological(profanity: ProfanityFilter) -> list[tuple[str, int, bool, float]]:
    """(name, characters, flagged, milliseconds) for each ``pathological_texts`` input."""
    timings = []
    for name, text in pathological_texts().items():
        profanity.check_word.cache_clear()
        start = time.perf_counter()
        flagged = profanity.is_profane(text)
        timings.append((name, len(text), flagged, 1000 * (time.perf_counter() - start)))
    return timings
