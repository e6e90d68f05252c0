"""`prompt-tui diff [CONFIG] [A] [B] [--ref REV] [--json]`: two recorded runs, prompt by prompt.

A and B are run ids (or a unique start), ``last``, ``previous`` or ``baseline``; ``--ref REV``
makes A the newest run of CONFIG as committed at REV (B: the newest run of the working file).
Defaults: A is the config's baseline (else its previous run), B its last run. Exit 0 when the
outputs are the same, 1 when they differ, 2 on an error, like diff(1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import paths
from ..core.errors import PromptTuiError
from ..core.history import History
from ..core.inert import json_text
from ..core.rundiff import diff_runs, load_side, resolve_run
from ..core.secrets import scrub_text
from .baseline import baseline_warning
from .options import UsageError
from .terminal import for_terminal

EXIT_SAME, EXIT_DIFFER = 0, 1
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two recorded runs prompt by prompt",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "items",
        nargs="*",
        metavar="CONFIG|RUN",
        help="a config file and up to two runs: an id, last, previous or baseline",
    )
    parser.add_argument("--ref", metavar="REV", help="a: the newest run of CONFIG as at REV")
    parser.add_argument(
        "--context", type=int, default=8, metavar="N", help="unchanged words around a change"
    )
    parser.add_argument("--json", action="store_true", help="the diff as one JSON object")
    parser.set_defaults(func=run)


def split_items(items: list[str]) -> tuple[str | None, list[str]]:
    """The config file among the arguments (one that exists with a config suffix) and the runs."""
    config: str | None = None
    runs: list[str] = []
    for item in items:
        if item.endswith(CONFIG_SUFFIXES) and Path(item).is_file() and config is None:
            config = item
        else:
            runs.append(item)
    if len(runs) > 2:
        raise UsageError(f"diff takes two runs at most, got {len(runs)}: {' '.join(runs)}")
    return config, runs


def resolve_ref(config: str, rev: str) -> str:
    """The commit a revision names, for matching recorded runs."""
    from ..core.revisions import read_at

    return read_at(config, rev).facts.commit or rev


def _last_of_working_file(history: History, config: str) -> str | None:
    """The newest run of the working file (not of a --ref revision): b for ``diff --ref``."""
    ids = history.run_ids(config, limit=50)
    origins = history.origins(ids)
    return next((i for i in ids if i in origins and origins[i].ref is None), None)


def run(args: argparse.Namespace) -> int:
    if args.context < 0:
        raise UsageError("--context must be 0 or more")
    config, specs = split_items(args.items)
    path = paths.history_path()
    if not path.exists():
        raise PromptTuiError(f"no runs recorded yet ({path}): run a config first")
    warnings: list[str] = []
    with History(path) as history:
        if args.ref is not None:
            if config is None:
                raise UsageError("--ref needs the CONFIG whose revision to look at")
            commit = resolve_ref(config, args.ref)
            a_id = resolve_run(history, args.ref, config, ref_commit=commit)
            a_name = args.ref
            if len(specs) > 1:
                raise UsageError("with --ref give at most one more run (b)")
            b_spec = specs[0] if specs else _last_of_working_file(history, config) or "last"
        else:
            if not specs:
                a_spec = "baseline" if config and history.baseline(config) else "previous"
            else:
                a_spec = specs[0]
            a_id = resolve_run(history, a_spec, config)
            a_name = a_spec
            b_spec = specs[1] if len(specs) > 1 else "last"
        a = load_side(history, a_id, a_name)
        config = config or a.config_path or None
        b = load_side(history, resolve_run(history, b_spec, config), b_spec)
        if a.run_id == b.run_id:
            warnings.append(f"a and b are the same run ({a.run_id}): nothing to compare")
        if config is not None:
            baseline = history.baseline(config)
            for side in (a, b):
                if baseline is not None and side.run_id == baseline[0]:
                    found = baseline_warning(side, baseline[1])
                    if found:
                        warnings.append(found)
    result = diff_runs(a, b, context=args.context)
    for warning in warnings:
        print(f"prompt-tui: warning: {warning}", file=sys.stderr)
    if args.json:
        data = result.to_json()
        data["warnings"] = warnings
        print(scrub_text(json_text(data, default=str)))
    else:
        out = for_terminal(sys.stdout)
        out.write(result.render(inert=False) + "\n")
        out.flush()
    return EXIT_SAME if result.same else EXIT_DIFFER
