"""Load + graph + resolve-all time for generated configs of 100, 1,000 and 5,000 prompts.

Prints the time per prompt at each size and its ratio to the smallest size: about 1.0 means the
cost grows linearly with the file. Run: python bench/scale.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui_app.core.config import loads  # noqa: E402
from tui_app.core.graph import DependencyGraph  # noqa: E402
from tui_app.core.resolve import resolve_all  # noqa: E402
from tui_app.core.templates import TemplateEngine  # noqa: E402

SIZES = (100, 1_000, 5_000)
QUICK_SIZES = (100, 1000, 2000)


def generate(n: int) -> str:
    """A realistic mix: fan-outs, joins, hyphenated names, chat context in short runs, outputs."""
    prompts = []
    for i in range(n):
        name = f"step-{i}"
        refs = []
        if i >= 1:
            refs.append(f"{{{{step-{i - 1}.output}}}}")
        if i >= 7 and i % 3 == 0:
            refs.append(f"{{{{step-{i - 7}.output}}}}")
        template = f"Task {i} about {{{{topic}}}} for {{{{audience}}}}. " + " ".join(refs)
        if i % 10 == 0:
            template += " {{#if detail}}In detail.{{/if}}"
        prompts.append(
            {
                "name": name,
                "input": template,
                "metadata": {
                    # Chat threads of 5 prompts (one model name each) keep chat context; one thread
                    # spanning thousands of prompts would make the requests themselves quadratic in
                    # size, whatever the engine does.
                    "model": {
                        "name": f"thread-{i // 5}",
                        "settings": {"model": f"gpt-{i % 4}", "temperature": (i % 10) / 10},
                    },
                    "parameters": {"detail": i % 2 == 0},
                },
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "data": f"answer {i}",
                        "metadata": {"role": "assistant"},
                    }
                ],
            }
        )
    doc = {
        "name": f"scale-{n}",
        "schema_version": "latest",
        "metadata": {
            "parameters": {"topic": "tides", "audience": "sailors"},
            "models": {f"thread-{k}": {"max_tokens": 100} for k in range(n // 5)},
            "default_model": "thread-0",
        },
        "prompts": prompts,
    }
    return json.dumps(doc, indent=2)


def measure(n: int) -> dict[str, float]:
    text = generate(n)
    engine = TemplateEngine()  # fresh: compile costs count
    t0 = time.perf_counter()
    config = loads(text)
    t1 = time.perf_counter()
    graph = DependencyGraph.build(config, engine)
    graph.order()
    t2 = time.perf_counter()
    results = resolve_all(config, engine=engine, allow_missing=True)
    t3 = time.perf_counter()
    failures = [name for name, r in results.items() if isinstance(r, Exception)]
    if failures:
        raise SystemExit(f"{len(failures)} prompts failed to resolve, e.g. {results[failures[0]]}")
    return {"load": t1 - t0, "graph": t2 - t1, "resolve": t3 - t2, "total": t3 - t0}


def main() -> None:
    import argparse
    import statistics

    parser = argparse.ArgumentParser(description="load + graph + resolve per prompt as files grow")
    parser.add_argument("--json", action="store_true", help="one JSON line of rows (run_all.py)")
    parser.add_argument("--quick", action="store_true", help="5 runs per size (the minimum)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = 5 if args.quick else max(5, args.runs)
    sizes = QUICK_SIZES if args.quick else SIZES  # --quick: run_all's 5-minute budget
    # each size measured `runs` times, sizes alternating; the median total per size is reported
    samples: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
    for _ in range(runs):
        for n in sizes:
            samples[n].append(measure(n))
    rows = [
        (
            n,
            min(
                samples[n],
                key=lambda t: abs(t["total"] - statistics.median(x["total"] for x in samples[n])),
            ),
        )
        for n in sizes
    ]
    base = rows[0][1]["total"] / rows[0][0]
    print(
        f"{'prompts':>8} {'load':>8} {'graph':>8} {'resolve':>8} {'total':>8} {'µs/prompt':>10} {'ratio':>6}"
    )
    worst = 0.0
    for n, t in rows:
        per = t["total"] / n
        ratio = per / base
        worst = max(worst, ratio)
        print(
            f"{n:>8} {t['load']:>7.3f}s {t['graph']:>7.3f}s {t['resolve']:>7.3f}s {t['total']:>7.3f}s "
            f"{per * 1e6:>10.1f} {ratio:>6.2f}"
        )
    verdict = "about linear" if worst <= 1.5 else "NOT linear"
    print(
        f"\ncost per prompt at {sizes[-1]:,} prompts is {worst:.2f}x that at {sizes[0]}: {verdict}"
    )
    if args.json:
        sys.path.insert(0, str(Path(__file__).parent))
        from _common import Row, emit_json

        big, t_big = rows[-1]
        emit_json(
            [
                Row(
                    f"scale: engine cost per prompt at {big:,} vs {sizes[0]} prompts",
                    t_big["total"] / big * 1e6,
                    base * 1e6,
                    unit="us",
                    target="<= 1.5x",
                    note=f"median of {runs} runs per size (load + graph + resolve)",
                )
            ]
        )


if __name__ == "__main__":
    main()
