"""`prompt-tui compare CONFIG PROMPT -m MODEL -m MODEL ... [--chain]`: models side by side.

A column is ``-m MODEL``, optionally followed by ``--col-set KEY=VALUE`` (settings of that
column only; repeatable), or the same in one word: ``-m 'MODEL KEY=VALUE ...'``. ``--set`` applies
to every column. Prints the outputs wrapped in columns, then the metrics (chain mode: each step,
then totals); ``--json`` prints one object per column. Exit 1 when a column failed, 2 for bad
input. The file is never written: a comparison changes nothing until adopted (in the TUI).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import textwrap
from collections.abc import Sequence
from functools import partial
from typing import Any, TextIO

from ..core import display
from ..core.compare import (
    MAX_COLUMNS,
    MIN_COLUMNS,
    Column,
    ColumnMetrics,
    Comparison,
    new_comparison,
    parse_value,
)
from ..core.estimate import estimate_comparison
from ..core.events import Cached, Failed, Finished, RunDone
from ..core.inert import json_text
from ..core.runs import PromptStatus
from ..core.workspace import Workspace
from .estimate import add_budget_options, apply_budget
from .options import UsageError, add_param_option, parse_params, parse_settings

GAP = " │ "


class _ColumnAction(argparse.Action):
    """-m and --col-set append to one ordered list, so a --col-set belongs to the -m before it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((self.const, str(values)))
        setattr(namespace, self.dest, items)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run one prompt (or its downstream chain) with several models, side by side",
        description="Compare models on one prompt. A column is -m MODEL, optionally followed by "
        "--col-set KEY=VALUE for that column only (or -m 'MODEL KEY=VALUE ...'). "
        f"{MIN_COLUMNS} to {MAX_COLUMNS} columns. Nothing is written to the file.",
    )
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    parser.add_argument("prompt", help="the prompt to compare")
    parser.add_argument(
        "-m",
        "--model",
        dest="columns",
        action=_ColumnAction,
        const="model",
        metavar="MODEL",
        help="a column: a model name or litellm id, e.g. gpt-4o-mini, echo; repeatable",
    )
    parser.add_argument(
        "--col-set",
        dest="columns",
        action=_ColumnAction,
        const="set",
        metavar="KEY=VALUE",
        help="a setting of the column before it, e.g. -m gpt-4o --col-set temperature=0.9",
    )
    parser.add_argument(
        "--chain",
        action="store_true",
        help="also run the prompt's downstream chain per column (each step and totals)",
    )
    add_param_option(parser)
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for every column, e.g. max_tokens=200; repeatable",
    )
    parser.add_argument(
        "--ref",
        metavar="REV",
        help="columns: the prompt as committed at REV and as edited now (before any -m), "
        "then the word diff; a column '-m @REV' is the file at REV too",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per column")
    add_budget_options(parser)
    parser.add_argument(
        "--width",
        type=_width,
        default=0,
        metavar="N",
        help=f"table width, {MIN_WIDTH} to {MAX_WIDTH} (default: the terminal's)",
    )
    parser.set_defaults(func=run, columns=[])


def columns_of(items: list[tuple[str, str]], common: dict[str, Any]) -> list[Column]:
    """The columns the -m / --col-set sequence describes (``common``: --set for all)."""
    columns: list[Column] = []
    for kind, value in items:
        if kind == "model":
            columns.append(Column.parse(value))
            continue
        if not columns:
            raise UsageError(f"--col-set {value}: put it after the -m MODEL it belongs to")
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--col-set expects KEY=VALUE, got '{value}'")
        columns[-1] = columns[-1].with_settings({key.strip(): parse_value(raw)})
    return [Column(c.model, {**common, **c.settings}, c.ref) for c in columns]


async def _drive(comparison: Comparison, err: TextIO) -> None:
    async for item in comparison.execute():
        event = item.event
        if item.column < 0:
            if isinstance(event, Finished | Cached):
                how = "cached" if isinstance(event, Cached) else "done"
                err.write(f"upstream (once for every column): {event.prompt} {how}\n")
            continue
        label = comparison.columns[item.column].label
        if isinstance(event, Failed):
            err.write(f"{label}: {event.prompt} failed: {event.error}\n")
        elif isinstance(event, RunDone):
            err.write(f"{label}: done\n")
        err.flush()


def run(args: argparse.Namespace) -> int:
    columns = columns_of(args.columns, parse_settings(args.settings))
    if args.ref is not None:  # versions side by side: as committed, as edited, then any -m
        common = parse_settings(args.settings)
        columns = [Column("", common, ref=args.ref), Column("", common), *columns]
    if not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
        raise UsageError(
            f"give {MIN_COLUMNS} to {MAX_COLUMNS} columns with -m MODEL, got {len(columns)}"
        )
    workspace = Workspace.open(
        args.config,
        concurrency=MAX_COLUMNS,
        on_warning=lambda text: print(f"prompt-tui: warning: {text}", file=sys.stderr),
    )
    for name, value in parse_params(args.param).items():
        workspace.set_param(name, value)
    try:
        comparison = new_comparison(workspace, args.prompt, columns, chain=args.chain)
        if apply_budget(args, workspace, partial(estimate_comparison, comparison)):
            return 0
        asyncio.run(_drive(comparison, sys.stderr))
    except KeyboardInterrupt:
        print("\nprompt-tui: cancelled", file=sys.stderr)
        return 130
    finally:
        workspace.close()
    if comparison.refusal is not None:
        print(f"prompt-tui: {comparison.refusal}", file=sys.stderr)
        return 2
    metrics = comparison.all_metrics()
    if args.json:
        for column, found in zip(comparison.columns, metrics, strict=True):
            row = {
                "group_id": comparison.group_id,
                "prompt": comparison.prompt,
                "model": column.model,
                "settings": column.settings,
            }
            row.update(found.to_json())
            print(json_text(row, default=str))
    else:
        width = args.width or min(shutil.get_terminal_size((120, 40)).columns, MAX_WIDTH)
        sys.stdout.write(render_table(comparison, metrics, width))
        if args.ref is not None:
            _print_version_diff(metrics[0], metrics[1])
        print(f"group {comparison.group_id}: prompt-tui history --group {comparison.group_id}")
    ok = (PromptStatus.DONE, PromptStatus.CACHED)
    return 0 if all(m.status in ok for m in metrics) else 1


# --- the side-by-side table -------------------------------------------------------------------


MIN_WIDTH = 40
MAX_WIDTH = 1000  # wider than any screen; 99,999,999 would print a gigabyte of padding


def _width(text: str) -> int:
    """``--width``: a whole number, clamped to what a table can use."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    return 0 if value == 0 else min(max(value, MIN_WIDTH), MAX_WIDTH)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(
            paragraph, width, replace_whitespace=False, drop_whitespace=True
        ) or [""]
    return lines


def _row(cells: list[str], width: int) -> str:
    return GAP.join(cell[:width].ljust(width) for cell in cells).rstrip() + "\n"


def render_table(comparison: Comparison, metrics: list[ColumnMetrics], total_width: int) -> str:
    """Outputs wrapped side by side, then the metrics (chain mode: per step, then totals)."""
    n = len(metrics)
    width = max(12, (total_width - len(GAP) * (n - 1)) // n)
    rule = "─" * min(total_width, width * n + len(GAP) * (n - 1)) + "\n"
    out = [_row([m.label for m in metrics], width), rule]
    bodies = [
        _wrap(
            m.text if m.status in (PromptStatus.DONE, PromptStatus.CACHED) else _problem(m), width
        )
        for m in metrics
    ]
    for i in range(max(len(b) for b in bodies)):
        out.append(_row([b[i] if i < len(b) else "" for b in bodies], width))
    out.append(rule)
    if comparison.chain and len(comparison.steps) > 1:
        for step in comparison.steps:
            cells = []
            for m in metrics:
                s = m.steps[step]
                cells.append(
                    f"{step}: {s.status.value} {display.seconds(s.latency)} "
                    f"{display.tokens(s.tokens_in, s.tokens_out)} "
                    f"{display.cost(s.cost, offline=s.offline)}"
                )
            out.append(_row(cells, width))
        out.append(rule)
        out.append(_row(["totals"] * n, width))
    rows = [
        ("status", lambda m: m.status.value),
        ("ttft", lambda m: display.seconds(m.ttft)),
        ("latency", lambda m: display.seconds(m.latency)),
        ("tokens in/out", lambda m: display.tokens(m.tokens_in, m.tokens_out)),
        ("tokens/s", lambda m: display.rate(m.tokens_per_s)),
        ("cost", lambda m: display.cost(m.cost, offline=m.offline)),
    ]
    for name, get in rows:
        out.append(_row([f"{name:<14}{get(m)}" for m in metrics], width))
    return "".join(out)


def _print_version_diff(committed: ColumnMetrics, edited: ColumnMetrics) -> None:
    """The diff from the committed column's answer to the edited one's: by path when both are
    JSON, else word by word."""
    from ..core.jsondiff import diff_answers
    from ..core.rundiff import render_words
    from ..core.textdiff import diff_words
    from .terminal import for_terminal

    out = for_terminal(sys.stdout)
    out.write(f"diff {committed.label} → {edited.label}:\n")
    by_path = diff_answers(committed.text, edited.text)
    if committed.text == edited.text or (by_path is not None and by_path.same):
        out.write("   the same answer\n")
    elif by_path is not None:
        for line in by_path.lines():
            out.write(f"   {line}\n")
    else:
        for line in render_words(diff_words(committed.text, edited.text), inert=False):
            out.write(f"   {line}\n")
    out.flush()


def _problem(m: ColumnMetrics) -> str:
    return f"[{m.status.value}] {m.error or ''}".strip()
