"""The word diff (core/textdiff.py) on long outputs: two 1 MB answers with scattered edits, and
two 1 MB answers that differ everywhere (the bounded case). Target: < 300 ms for the edited pair.

    python bench/diff.py [--runs N] [--quick] [--json]

The baseline row is difflib.SequenceMatcher over the same words (what the comparison view used
before), on a 20 KB pair: it is quadratic, so a 1 MB pair would not finish in a bench.
"""

from __future__ import annotations

import argparse
import difflib
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Row, Samples, emit_json, runs_for  # noqa: E402

from tui_app.core.textdiff import diff_words, tokenize  # noqa: E402


def prose(size: int, seed: int) -> str:
    """Answer-like text: sentences of a 3,000-word vocabulary, numbers, paragraphs."""
    rng = random.Random(seed)
    vocab = [
        f"{rng.choice('bcdfghklmnprstvw')}{rng.choice('aeiou')}" * rng.randint(1, 4)
        for _ in range(3000)
    ]
    out: list[str] = []
    length = 0
    while length < size:
        words = [rng.choice(vocab) for _ in range(rng.randint(6, 24))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), str(rng.randint(1, 9999)))
        sentence = " ".join(words).capitalize() + ". "
        if rng.random() < 0.15:
            sentence += "\n\n"
        out.append(sentence)
        length += len(sentence)
    return "".join(out)


def edited(text: str, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split(" ")
    for _ in range(40):
        words[rng.randrange(len(words))] = "EDITED"
    cut = rng.randrange(len(words) - 200)
    del words[cut : cut + 120]
    words.insert(rng.randrange(len(words)), "A whole new sentence was added right here.")
    return " ".join(words)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = runs_for(args.runs, args.quick)
    a = prose(1_000_000, 1)
    b = edited(a, 2)
    x = prose(1_000_000, 3)
    small_a, small_b = a[:20_000], edited(a[:20_000], 4)

    similar, different, ours_small, base_small = Samples(), Samples(), Samples(), Samples()
    stopped = False
    for _ in range(runs):
        # the diff and what the CLI and the TUI draw of it (changes in context, the rest folded)
        similar.add(timed(lambda: diff_words(a, b).folded(8)))
        different.add(timed(lambda: diff_words(a, x).folded(8)))
        ours_small.add(timed(lambda: diff_words(small_a, small_b)))

        def old() -> None:
            ka = [w.strip() for w in tokenize(small_a)]
            kb = [w.strip() for w in tokenize(small_b)]
            difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes()

        base_small.add(timed(old))
    result = diff_words(a, x)
    stopped = result.stopped
    rows = [
        Row(
            "diff: two 1 MB outputs, 40 edits + a cut + an insert (diff + folded view)",
            similar.median * 1000,
            unit="ms",
            target="< 300 ms",
            note=f"{similar.describe(1000, 'ms', 0)}; {len(tokenize(a)):,} words",
        ),
        Row(
            "diff: two 1 MB outputs that differ everywhere",
            different.median * 1000,
            unit="ms",
            note=f"{different.describe(1000, 'ms', 0)}; stopped={stopped}, "
            f"{result.operations:,} operations",
        ),
        Row(
            "diff: 20 KB pair, ours vs difflib (the old view)",
            ours_small.median * 1000,
            base_small.median * 1000,
            unit="ms",
            target="<= 1x",
            note=f"difflib {base_small.describe(1000, 'ms', 1)}",
        ),
    ]
    if args.json:
        emit_json(rows)
    else:
        for row in rows:
            r = row.finished()
            print(f"{r.figure}: {r.ours:.1f} ms  target {r.target}  met={r.met}  {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
