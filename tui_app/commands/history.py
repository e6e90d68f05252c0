"""`prompt-tui history [CONFIG] [--prompt P] [--limit N] [--group ID | --groups] [--json]`:
recorded runs, newest first; a comparison's runs (one group) oldest first.

`prompt-tui history prune [--max-size MB]`: keep the database within its size budget (answers no
run uses deleted, the messages and answers of old runs dropped, the file compacted). A config
file named ``prune`` is read as ``./prune``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..core import display, paths
from ..core.history import MAX_HISTORY_BYTES, History, RunRecord, config_key
from ..core.inert import json_text, visible_name
from .run_labels import RunLabels

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="show recorded runs",
        description=f"Recorded runs, newest first, from {paths.HISTORY_FILE} in the data "
        f"directory (${paths.HOME_ENV} or the platform's user data dir).",
    )
    parser.add_argument(
        "config", nargs="?", help="only runs of this config file; or `prune` (see --max-size)"
    )
    parser.add_argument("--prompt", metavar="P", help="only runs of this prompt")
    parser.add_argument(
        "--limit", type=_limit, default=50, metavar="N", help="at most N runs (0: all; default 50)"
    )
    parser.add_argument(
        "--group",
        metavar="ID",
        help="only the runs of one comparison (its group id), oldest first, by column",
    )
    parser.add_argument(
        "--groups", action="store_true", help="list the comparisons (group ids), newest first"
    )
    parser.add_argument("--tag", metavar="NAME", help="only runs tagged NAME (run --tag)")
    parser.add_argument(
        "--ref",
        metavar="REV",
        help="only runs made from CONFIG as committed at REV (a ref, or a commit id's start)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--max-size",
        type=_megabytes,
        default=None,
        metavar="MB",
        help=f"with prune: the budget in MB (default {MAX_HISTORY_BYTES // 2**20})",
    )
    parser.set_defaults(func=run)


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of MB, got {text!r}") from None
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("a number of MB between 0 and 1,000,000")
    return int(value * 2**20)


MAX_LIMIT = 1_000_000_000


def _no_such_file(config: str) -> int:
    print(
        f"prompt-tui: history: no such file, and no runs recorded for it: {config}", file=sys.stderr
    )
    return 2


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (all) or more")
    if value > MAX_LIMIT:  # SQLite's integers stop at 2^63: say so instead of an OverflowError
        raise argparse.ArgumentTypeError(f"at most {MAX_LIMIT:,} (0 shows every run)")
    return value


def run(args: argparse.Namespace) -> int:
    # `history missing.json` with no runs recorded for it: a typo, not a config without runs
    typo = bool(args.config) and not Path(args.config).exists()
    path = paths.history_path()
    if args.config == "prune":
        return run_prune(path, args.max_size)
    if not path.exists():  # reading must not create the database
        if typo:
            return _no_such_file(args.config)
        if not args.json:
            print(f"no runs recorded yet ({path})", file=sys.stderr)
        return EXIT_OK
    with History(path) as history:
        records = history.runs(
            config_path=config_key(args.config) if args.config else None,
            prompt=args.prompt,
            group_id=args.group,
            limit=None
            if args.group or args.groups or args.tag or args.ref
            else (args.limit or None),
        )
        labels = RunLabels.of(history, records)
        if args.tag or args.ref:
            records = labels.matching(history, records, args)[: args.limit or None]
    if args.groups:
        return print_groups(records, args.json, args.limit)
    if args.group:
        records.reverse()  # a comparison reads oldest first: upstream, then the columns
    if args.json:
        for rec in records:
            row = rec.to_json()
            row.update(labels.json_of(rec))
            print(json_text(row, default=str))
        return EXIT_OK
    if not records and typo:
        return _no_such_file(args.config)
    if not records:
        print("no matching runs", file=sys.stderr)
        return EXIT_OK
    print_table(records, show_config=not args.config, labels=labels)
    return EXIT_OK


def _tokens(rec: RunRecord) -> str:
    if rec.tokens_in is None and rec.tokens_out is None:
        return display.NONE if rec.status in ("blocked", "cancelled") else display.UNKNOWN
    return f"{display.count(rec.tokens_in)}/{display.count(rec.tokens_out)}"


def _short_config(path: str) -> str:
    return path.rsplit("/", 1)[-1] if path else "-"


def table_rows(
    records: list[RunRecord], *, show_config: bool, labels: RunLabels | None = None
) -> list[list[str]]:
    header = ["time", "prompt", "model", "status", "ttft", "latency", "tokens", "cost"]
    if labels is not None and labels.any:
        header += ["revision", "tags", "score"]
    if show_config:
        header.insert(1, "config")
    grouped = any(rec.group_id for rec in records)
    if grouped:
        header.insert(1, "run")
    rows: list[list[str]] = [header]
    for rec in records:
        ran = rec.status not in ("blocked", "cancelled") or rec.tokens_out is not None
        row: list[Any] = [
            display.when(rec.started_at),
            rec.prompt,
            rec.model or display.NONE,
            rec.status + (" (offline)" if rec.offline else ""),
            display.seconds(rec.ttft),
            display.seconds(rec.latency),
            _tokens(rec),
            display.cost(rec.cost, offline=rec.offline) if ran else display.NONE,
        ]
        if labels is not None and labels.any:
            row += labels.cells(rec)
        if show_config:
            row.insert(1, _short_config(rec.config_path))
        if grouped:
            row.insert(1, rec.run_id)
        rows.append([visible_name(str(cell)) for cell in row])  # a name cannot break the table
    return rows


def print_groups(records: list[RunRecord], as_json: bool, limit: int) -> int:
    """One line per comparison: its group id, when, the prompt compared and the models."""
    groups: dict[str, list[RunRecord]] = {}
    for rec in records:
        if rec.group_id:
            groups.setdefault(rec.group_id, []).append(rec)
    shown = list(groups.items())[: limit or None]
    if not shown and not as_json:
        print("no comparisons recorded", file=sys.stderr)
    table: list[list[str]] = [["group", "time", "config", "prompts", "models"]]
    for group_id, rows in shown:
        rows = sorted(rows, key=lambda r: r.started_at)
        models = sorted({r.model or "-" for r in rows})
        config = _short_config(rows[0].config_path)
        prompts = list(dict.fromkeys(r.prompt for r in rows))
        if as_json:
            row = {"group_id": group_id, "started_at": rows[0].started_at, "config": config}
            row.update({"prompts": prompts, "models": models, "runs": len(rows)})
            print(json_text(row))
        else:
            cells = [group_id, display.when(rows[0].started_at), config, ", ".join(prompts)]
            table.append([visible_name(c) for c in [*cells, ", ".join(models)]])
    if len(table) > 1:  # a header over the columns, as the runs table has
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    return EXIT_OK


def print_table(
    records: list[RunRecord], *, show_config: bool, labels: RunLabels | None = None
) -> None:
    rows = table_rows(records, show_config=show_config, labels=labels)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {"ttft", "latency", "tokens", "cost"}
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            aligned = cell.rjust(widths[i]) if rows[0][i] in right else cell.ljust(widths[i])
            cells.append(aligned)
        print("  ".join(cells).rstrip())


def run_prune(path: Path, max_bytes: int | None) -> int:
    if not path.exists():
        print(f"no history to prune ({path})", file=sys.stderr)
        return EXIT_OK
    with History(path) as history:
        result = history.prune(max_bytes)
    mb = 2**20
    print(
        f"pruned {path}: {display.plural(result.orphans, 'unused answer')} deleted, "
        f"{display.plural(result.cleared, 'old run')} without their messages and answer; "
        f"{result.size_before / mb:.1f} MB -> {result.size_after / mb:.1f} MB"
    )
    return EXIT_OK
