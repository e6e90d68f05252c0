"""`prompt-tui rate [CONFIG] RUN PROMPT --score S [--comment TEXT] [--expected TEXT]`: a person's
judgement of a prompt's answer in a run, kept in the history (shown by history, diff, export)."""

from __future__ import annotations

import argparse
import json

from ..core import paths
from ..core.errors import PromptTuiError, no_such_prompt
from ..core.history import History, Rating
from ..core.rundiff import load_side, rating_words, resolve_run
from .diff import split_items
from .options import UsageError

EXIT_OK = 0
_UP = {"up", "👍", "+", "good", "yes", "pass"}
_DOWN = {"down", "👎", "-", "bad", "no", "fail"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rate", help="rate a prompt's answer in a recorded run")
    parser.add_argument(
        "items",
        nargs="+",
        metavar="[CONFIG] RUN PROMPT",
        help="the run (an id or its start, last, previous, baseline) and the prompt",
    )
    parser.add_argument(
        "--score", metavar="S", help="up/👍 (1), down/👎 (0), or a number from 0 to 1"
    )
    parser.add_argument("--comment", metavar="TEXT", help="why")
    parser.add_argument("--expected", metavar="TEXT", help="the answer it should have given")
    parser.add_argument("--json", action="store_true", help="print the stored rating as JSON")
    parser.set_defaults(func=run)


def parse_score(text: str | None) -> float | None:
    """``up``/``👍`` 1, ``down``/``👎`` 0, or a number in 0..1; None when not given."""
    if text is None:
        return None
    word = text.strip().lower()
    if word in _UP:
        return 1.0
    if word in _DOWN:
        return 0.0
    try:
        value = float(word)
    except ValueError:
        raise UsageError(f"--score '{text}': up, down, 👍, 👎 or a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0 or value != value:
        raise UsageError(f"--score {text}: a number from 0 to 1 (0 bad, 1 good)")
    return value


def run(args: argparse.Namespace) -> int:
    config, rest = split_items(args.items)
    if len(rest) != 2:
        raise UsageError(
            "rate needs RUN and PROMPT (e.g. `prompt-tui rate last summary --score up`)"
        )
    spec, prompt = rest
    score = parse_score(args.score)
    if score is None and args.comment is None and args.expected is None:
        raise UsageError("give --score, --comment or --expected")
    path = paths.history_path()
    if not path.exists():
        raise PromptTuiError(f"no runs recorded yet ({path}): run a config first")
    with History(path) as history:
        run_id = resolve_run(history, spec, config)
        side = load_side(history, run_id, spec)
        if prompt not in side.rows:
            raise PromptTuiError(f"run {run_id}: {no_such_prompt(prompt, list(side.rows))}")
        earlier = side.ratings.get(prompt) or Rating(run_id=run_id, prompt=prompt)
        rating = Rating(  # what is not given now stays as rated before
            run_id=run_id,
            prompt=prompt,
            score=score if score is not None else earlier.score,
            comment=args.comment if args.comment is not None else earlier.comment,
            expected=args.expected if args.expected is not None else earlier.expected,
        )
        history.rate(rating)
        stored = history.ratings([run_id])[(run_id, prompt)]
    if args.json:
        print(json.dumps({"run_id": run_id, "prompt": prompt, **stored.to_json()}))
    else:
        print(f"rated {prompt} in run {run_id}: {rating_words(stored)}")
    return EXIT_OK
