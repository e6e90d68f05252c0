"""The word diff's work is bounded whatever the two texts: asserted on its operation count and
its "stopped" flag, never on the clock."""

from __future__ import annotations

import random

from tui_app.core.compare import word_diff
from tui_app.core.textdiff import ANCHOR_PASSES, DEFAULT_BUDGET, Fold, Piece, diff_words


def _bound(a: str, b: str, budget: int = DEFAULT_BUDGET) -> int:
    """The documented ceiling: linear passes over the words, the Myers budget, one snake."""
    words = len(a.split()) + len(b.split()) + 2
    return (2 + ANCHOR_PASSES) * words * 2 + budget + words


def _rebuild(diff) -> tuple[str, str]:
    old = "".join("".join(diff.a[i1:i2]) for t, i1, i2, _, _ in diff.ops if t != "insert")
    new = "".join("".join(diff.b[j1:j2]) for t, _, _, j1, j2 in diff.ops if t != "delete")
    return old, new


def test_two_megabyte_outputs_that_differ_everywhere_stop_within_the_budget():
    rng = random.Random(7)
    a = " ".join(rng.choice("ab") for _ in range(700_000))  # ~1.4 MB, two repeated words
    b = " ".join(rng.choice("ab") for _ in range(700_000))
    assert len(a) + len(b) > 2_000_000
    diff = diff_words(a, b)
    assert diff.operations <= _bound(a, b)
    assert diff.stopped  # said, not hidden: parts are marked replaced whole
    assert _rebuild(diff) == (a, b)  # still a correct diff


def test_32k_and_24k_word_answers_with_nothing_in_common_stop_within_the_budget():
    a = " ".join(f"alpha{i % 997}" for i in range(32_000))
    b = " ".join(f"beta{i % 991}" for i in range(24_000))
    diff = diff_words(a, b)
    assert diff.operations <= _bound(a, b)
    assert diff.changed_words == (32_000, 24_000)
    assert _rebuild(diff) == (a, b)


def test_32k_and_24k_word_answers_that_share_words_in_another_order():
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(300)]
    a = " ".join(rng.choice(vocab) for _ in range(32_000))
    b = " ".join(rng.choice(vocab) for _ in range(24_000))
    diff = diff_words(a, b)
    assert diff.operations <= _bound(a, b)
    assert diff.stopped
    assert _rebuild(diff) == (a, b)


def test_a_megabyte_answer_with_a_few_edits_is_diffed_exactly_without_stopping():
    rng = random.Random(5)
    vocab = [f"token{i}" for i in range(2_000)]  # no word is unique: anchors are word runs
    words = [rng.choice(vocab) for _ in range(150_000)]
    edited = list(words)
    for index in range(0, 150_000, 5_000):
        edited[index + 17] = "EDITED"
    a, b = " ".join(words), " ".join(edited)
    diff = diff_words(a, b)
    assert not diff.stopped
    assert diff.changed_words == (30, 30)
    assert diff.operations <= _bound(a, b)


def test_a_tiny_budget_still_gives_a_correct_diff_and_says_it_stopped():
    a = "one two three four five six seven eight " * 3
    b = "eight seven six five four three two one " * 3
    diff = diff_words(a, b, budget=5)
    assert diff.stopped
    assert _rebuild(diff) == (a, b)
    full = diff_words(a, b)
    assert not full.stopped
    assert sum(w for w in full.changed_words) < sum(w for w in diff.changed_words)


def test_random_small_texts_rebuild_and_equal_runs_really_match():
    rng = random.Random(11)
    vocab = ["a", "b", "c", "d", "e\n", "f"]
    for _ in range(400):
        a = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 25)))
        b = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 25)))
        diff = diff_words(a, b)
        assert _rebuild(diff) == (a, b)
        for tag, i1, i2, j1, j2 in diff.ops:
            if tag == "equal":
                assert [w.strip() for w in diff.a[i1:i2]] == [w.strip() for w in diff.b[j1:j2]]


def test_folding_keeps_context_and_counts_what_it_left_out():
    a = " ".join(f"w{i}" for i in range(1000))
    b = a.replace("w500 ", "CHANGED ")
    parts = diff_words(a, b).folded(context=3)
    folds = [p for p in parts if isinstance(p, Fold)]
    assert [f.words for f in folds] == [497, 496]
    changed = [p for p in parts if isinstance(p, Piece) and p.tag != "equal"]
    assert [(p.tag, p.text.strip()) for p in changed] == [("delete", "w500"), ("insert", "CHANGED")]
    assert sum(p.words for p in parts) == 1000 + 1  # every word is shown or counted once


def test_the_comparison_view_uses_the_bounded_diff():
    a = " ".join(f"x{i % 50}" for i in range(40_000))
    b = " ".join(f"y{i % 50}" for i in range(40_000))
    pieces = word_diff(a, b)
    assert "".join(t for t, _ in pieces) == b
    assert pieces == [(b, True)]


def test_long_multi_line_answers_diff_changed_lines_word_by_word_and_fold_the_rest():
    lines = [f"line {i} says something about topic {i % 7}\n" for i in range(30_000)]  # ~1 MB
    edited = list(lines)
    edited[100] = "line 100 says nothing about topic 2\n"
    edited[20_000] = "   line 20000 says something about topic 1  \n"  # only spaces differ
    del edited[25_000:25_010]
    a, b = "".join(lines), "".join(edited)
    diff = diff_words(a, b)
    assert not diff.stopped and _rebuild(diff) == (a, b)
    assert diff.changed_words == (1 + 70, 1)  # "something" -> "nothing", ten 7-word lines cut
    assert diff.operations <= _bound(a, b)
    parts = diff.folded(context=2)
    shown = [p for p in parts if isinstance(p, Piece)]
    assert [(p.tag, p.text.strip()) for p in shown if p.tag == "insert"] == [("insert", "nothing")]
    assert sum(p.words for p in parts) == len(a.split()) + 1  # every word shown or counted once
