"""The profanity filter: disguises undone, Scunthorpe-style words kept clean."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litecomplete.errors import ConfigError
from litecomplete.safety import ProfanityFilter, default_filter, is_profane
from litecomplete.safety.evaluate import (
    parse_labelled,
    read_labelled,
    score_filter,
    time_pathological,
)
from litecomplete.safety.filter import Entry, parse_word_list
from litecomplete.safety.normalize import candidates, fold, readings, squeeze


@pytest.mark.parametrize(
    "text",
    [
        "fuck",
        "FUCK",
        "Fuuuuuck",
        "f u c k",
        "f.u.c.k",
        "f-u-c-k",
        "fu-ck",
        "f*ck",
        "f**king",
        "$h1t",
        "5h!t",
        "sh1t",
        "a55hole",
        "@sshole",
        "F|_|ck",
        "ｆｕｃｋ",  # fullwidth
        "𝐟𝐮𝐜𝐤",  # mathematical bold
        "fück",  # accent
        "F̶u̶c̶k̶",  # combining strikethrough
        "shі\u200bt",  # Cyrillic i and a zero-width space
        "fu\u00adcking",  # soft hyphen
        "сunt",  # Cyrillic c
        "motherfucker",
        "whatafuckingjoke",
        "dickhead",
        "bastaaaard",
    ],
)
def test_disguised_words_are_found(text: str) -> None:
    assert is_profane(f"well {text} then"), text


@pytest.mark.parametrize(
    "text",
    [
        "The assassin waited in the shadows.",
        "We drove through Scunthorpe.",
        "Classic rock and a cocktail.",
        "Shiitake mushrooms from Essex and Sussex.",
        "Please assess the assignment.",
        "Do not snigger at the speaker.",
        "He was niggardly with praise; Niger borders Nigeria.",
        "The spicy curry.",
        "Camille Pissarro painted Paris.",
        "Matsushita and shittim wood.",
        "He checked his wristwatch in the saltwater bar.",
        "My uncle Dick fixed the fence.",
        "We read Moby Dick.",
        "A pussy willow by the pond.",
        "The U S A team won; A B C D is how it starts.",
        "The l33t h4x0r scored 100% for $5.",
        "Soooo good, that was cooool.",
        "The pen is mightier than the sword.",
        "",
    ],
)
def test_clean_words_pass(text: str) -> None:
    assert default_filter().find(text) == [], text


def test_repeated_letters_need_the_listed_runs() -> None:
    # "ass" needs two s's: "as" is a different word, "assss" the same one.
    assert not is_profane("as")
    assert is_profane("assss")
    assert not is_profane("Niger")  # "nigger" needs two g's
    assert squeeze("fuuuck") == ("fuck", (1, 3, 1, 1))


def test_name_rule_applies_to_capitalized_inner_uses_only() -> None:
    assert not is_profane("My uncle Dick came.")
    assert is_profane("Dick.")  # sentence start: not known to be a name
    assert is_profane("you dick")


def test_fold_and_readings() -> None:
    assert fold("ＡＢＣ") == "abc"
    assert fold("Çà") == "ca"
    assert readings("h3ll0!") == ("hello",)
    assert readings("2024") == ()
    assert set(readings("sh1t")) == {"shit", "shlt"}
    assert "fuck" in candidates(fold("f . u . c . k"))


def test_word_list_format_errors_name_the_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_word_list(["good", "Bad Word"])
    entries = parse_word_list(["# comment", "bad+  # inline", "name~", ""])
    assert entries == [Entry("bad", inside=True), Entry("name", name=True)]


def test_custom_lists() -> None:
    f = ProfanityFilter(parse_word_list(["zork+"]), allowed=["zorkington"])
    assert f.is_profane("a zorky zork")
    assert f.is_profane("bigzorkthing")
    assert not f.is_profane("Zorkington is a town")


def test_packaged_set_meets_the_goals() -> None:
    lines = read_labelled()
    assert len(lines) >= 200
    hard = [line for line in lines if not line.profane and line.kind == "hard"]
    assert len(hard) >= len(lines) / 2
    score = score_filter(default_filter(), lines, min_seconds=0.0)
    assert score.f1 >= 0.95, (score.false_positives, score.false_negatives)
    assert score.hard_false_positive_rate <= 0.02, score.false_positives


def test_labelled_set_errors() -> None:
    with pytest.raises(ConfigError, match="line 2"):
        parse_labelled("profane\tplain\tfuck\nmaybe\tplain\tx\n")
    with pytest.raises(ConfigError, match="no labelled lines"):
        parse_labelled("# only a comment\n")
    with pytest.raises(ConfigError, match="cannot read"):
        read_labelled("/nonexistent/set.tsv")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_the_filter_takes_any_text(text: str) -> None:
    assert isinstance(is_profane(text), bool)
    assert all(isinstance(c, str) for c in candidates(text))


@settings(max_examples=200, deadline=None)
@given(
    word=st.sampled_from(["shit", "fuck"]), noise=st.text(alphabet=" .-_*\u0301\u200b", max_size=3)
)
def test_a_listed_word_inside_any_noise_between_words_is_found(word: str, noise: str) -> None:
    assert is_profane(f"well{noise} {word} {noise}there")


def test_pathological_inputs_are_answered() -> None:
    """Long runs, deep combining marks, separators everywhere: each gets an answer (the
    time each takes is printed by ``litecomplete safety-eval``, not tested here)."""
    flagged = {name: f for name, _, f, _ in time_pathological(default_filter())}
    assert flagged["leetspeak word repeated, 100 KB"] and flagged["dots between letters, 100 KB"]
    clean = ("one letter, 100 KB", "100,000 combining marks on one letter", "plain prose, 1 MB")
    assert not any(flagged[name] for name in clean)


def test_an_unfinished_word_is_held_while_it_may_become_a_listed_one() -> None:
    f = default_filter()
    # Every beginning of every listed word, after other words: written whole, and
    # spelled out a letter at a time.
    for entry in f.entries:
        for joiner in ("", " ", ".", "-"):
            for k in range(1, len(entry.word) + 1):
                begun = "I said " + joiner.join(entry.word[:k])
                assert f.may_grow_profane(begun), begun
    assert f.may_grow_profane("What the f*")  # a mask may stand for anything
    assert f.may_grow_profane("a motherfu")  # inside a longer word
    assert f.may_grow_profane("I said 5 h 1") and f.may_grow_profane("x a s")  # leetspeak
    clean = ("Once upon a time", "Hello there", "The weather tod", "fuck ", "fuck.", "")
    # One character that begins no listed spelling, read as a letter or leetspeak.
    assert not any(entry.word[0] in "ilzo" for entry in f.entries)
    lone = ("Then I", "Step 1", "Step 2", "go o", "I")
    for text in clean + lone:
        assert not f.may_grow_profane(text), text
