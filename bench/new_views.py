"""The views this wave adds, at scale: hooks with their workloads and targets (issue 25).

Each view is built on another branch; until it lands on main its row says "not measured:
waiting for ..." (a miss in run_all.py, on purpose: a view without its figure is not done).
The workload and the target are fixed here so the view's author only fills in ``measure_*``:

  matrix    the dataset matrix with 10,000 rows: key press to painted     target < 100 ms
            (needs tui_app/ui/screens/matrix*.py or a widget of that name: `datasets`)
  run diff  a diff of two 1 MB outputs (linear or better; no quadratic    target < 300 ms
            word diff) (needs tui_app/core/textdiff.py: `revisions`)
  estimate  the cost estimate of a 1,000-prompt file, computed off the    target < 1 s
            UI loop (needs tui_app/core/estimate*.py: `estimate`)

The comparison of 6 columns streaming (key lag p95 < 50 ms) is measured by bench/compare.py.

    python bench/new_views.py [--json] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from _common import Row, emit_json, format_table, not_measured  # noqa: E402

MATRIX_ROWS = 10_000
DIFF_BYTES = 1_000_000
ESTIMATE_PROMPTS = 1_000


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# --- workloads (fixed: the same for whoever fills in the measurement) --------------------------


def diff_pair(size: int = DIFF_BYTES, seed: int = 25) -> tuple[str, str]:
    """Two ~1 MB outputs of words and lines, the second with ~1% of its words changed, some
    lines inserted and some deleted: what two runs of a long answer look like."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(5000)]
    lines: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(5, 20)))
        lines.append(line)
        total += len(line) + 1
    changed = []
    for line in lines:
        roll = rng.random()
        if roll < 0.005:
            continue  # deleted
        words = [w if rng.random() > 0.01 else rng.choice(vocabulary) for w in line.split()]
        changed.append(" ".join(words))
        if roll > 0.995:
            changed.append("an inserted line " + rng.choice(vocabulary))
    return "\n".join(lines), "\n".join(changed)


def matrix_rows(rows: int = MATRIX_ROWS) -> list[dict[str, str]]:
    """A dataset of ``rows`` rows of 3 parameters (the matrix shows one row per dataset row)."""
    return [
        {"topic": f"topic {i}", "audience": f"audience {i % 7}", "tone": ("dry", "warm")[i % 2]}
        for i in range(rows)
    ]


def estimate_file(prompts: int = ESTIMATE_PROMPTS) -> str:
    from scale import generate

    return generate(prompts)


# --- measurements: fill in when the view lands ------------------------------------------------


def measure_run_diff() -> Row:
    figure = "run diff of two 1 MB outputs"
    if not has_module("tui_app.core.textdiff"):
        return not_measured(
            figure, "waiting for tui_app/core/textdiff.py (`revisions`)", "< 300 ms"
        )
    # The hook: time the diff the run-diff view computes for (old, new); the view's author
    # replaces this generic probe with the module's entry point if it is named otherwise.
    import tui_app.core.textdiff as textdiff

    entry = next(
        (getattr(textdiff, n) for n in ("diff_texts", "diff", "word_diff") if hasattr(textdiff, n)),
        None,
    )
    if entry is None:
        return not_measured(figure, "tui_app.core.textdiff has no diff entry point known here")
    old, new = diff_pair()
    entry(old[:10_000], new[:10_000])  # warm
    start = time.perf_counter()
    entry(old, new)
    return Row(figure, (time.perf_counter() - start) * 1000, None, "ms", "< 300 ms")


def measure_matrix() -> Row:
    figure = f"dataset matrix, {MATRIX_ROWS:,} rows: key to painted"
    found = [p for p in (REPO / "tui_app/ui").rglob("*matrix*.py")]
    why = "waiting for the dataset matrix view (`datasets`)"
    if found:
        why = f"{found[0].relative_to(REPO)} is here: wire its key-to-paint measurement in"
    return not_measured(figure, why, "< 100 ms")


def measure_estimate() -> Row:
    figure = f"cost estimate of a {ESTIMATE_PROMPTS:,}-prompt file (off the UI loop)"
    found = [p for p in (REPO / "tui_app/core").glob("estimat*.py")]
    why = "waiting for the cost estimate (`estimate`)"
    if found:
        why = f"{found[0].relative_to(REPO)} is here: wire its measurement in"
    return not_measured(figure, why, "< 1 s")


MEASURES: tuple[Callable[[], Row], ...] = (measure_matrix, measure_run_diff, measure_estimate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one final JSON line for run_all")
    parser.add_argument("--quick", action="store_true", help="the same (each is one short run)")
    parser.add_argument("--dump", choices=("diff", "matrix", "estimate"), help="print a workload")
    args = parser.parse_args()
    if args.dump == "diff":
        print(json.dumps(diff_pair()))
        return 0
    if args.dump == "matrix":
        print(json.dumps(matrix_rows()))
        return 0
    if args.dump == "estimate":
        print(estimate_file())
        return 0
    rows = [measure() for measure in MEASURES]
    if args.json:
        emit_json(rows)
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
