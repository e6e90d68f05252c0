"""`prompt-tui batch CONFIG --data FILE [PROMPT|--all]`: run a chain over a dataset, check it.

Every selected row (x every ``--model``) runs the chain with its dependencies through the cache,
at most ``--concurrency`` requests per provider at once; each prompt's checks judge its answer.
A progress line goes to stderr (rewritten in place on a terminal, plain lines otherwise); a
summary table per model follows. Exit status: 0 every check passed, 1 a check failed, 2 an error
(bad input, or a cell whose chain failed or whose check could not be applied).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..core import display
from ..core.batch import Batch, Cell, batch_workspace
from ..core.config import load
from ..core.datasets import Selection, find_dataset
from ..core.errors import PromptTuiError
from ..core.estimate import Estimate, estimate_run
from ..core.inert import json_text, visible
from ..core.secrets import scrub_text
from .estimate import add_budget_options, apply_budget, combined
from .options import UsageError, add_param_option, parse_params
from .terminal import InertWriter

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="run a chain over every row of a dataset (x models) and check the answers"
    )
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    parser.add_argument("prompt", nargs="?", help="prompt to run with its dependencies")
    parser.add_argument("--all", action="store_true", help="run every prompt (the default)")
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="dataset: a .csv/.jsonl/.yaml file or a name from metadata.datasets",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="M",
        help="run the chain with this model (repeat for a column per model)",
    )
    add_param_option(parser)
    parser.add_argument("--rows", metavar="SPEC", help="rows to run, counted from 1: 1-20,40")
    parser.add_argument("--sample", type=int, metavar="N", help="a random sample of N rows")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="requests in flight per provider (default 4)",
    )
    parser.add_argument("--force", action="store_true", help="ignore cached answers")
    parser.add_argument("--json", action="store_true", help="one JSON object per cell on stdout")
    add_budget_options(parser)
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--report", metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument("--json-report", metavar="FILE", help="write a JSON report")
    parser.set_defaults(func=run)


class ProgressLine:
    """Rows done, pass rate, spend, ETA on stderr: one line rewritten in place on a terminal;
    on a pipe, a plain line at every tenth of the batch (a CI log stays short)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last_paint = 0.0
        self.last_tenth = -1
        self.last_done = -1

    def update(self, batch: Batch, *, final: bool = False) -> None:
        progress = batch.progress
        if self.tty:
            now = time.monotonic()
            if final or now - self.last_paint >= 0.1:
                self.last_paint = now
                line = bar(progress.done, progress.total_cells) + " " + progress.line()
                erase = "\r\x1b[2K"  # back to the line's start and clear it: redrawn in place
                if isinstance(self.out, InertWriter):  # the line is shown inert, not our codes
                    self.out.write_control(erase)
                else:
                    self.out.write(erase)
                self.out.write(line + ("\n" if final else ""))
                self.out.flush()
            return
        tenth = progress.done * 10 // max(1, progress.total_cells)
        if (tenth != self.last_tenth or final) and progress.done != self.last_done:
            self.last_tenth, self.last_done = tenth, progress.done
            print(progress.line(), file=self.out, flush=True)


def bar(done: int, total: int, width: int = 20) -> str:
    """``[██████░░░░]``: the share of cells done, for a terminal's progress line."""
    filled = width * done // total if total else width
    return "[" + "█" * filled + "░" * (width - filled) + "]"


def _summary(batch: Batch, out: TextIO) -> None:
    headers = ("model", "pass rate", "passed", "failed", "errors", "cost", "mean latency")
    rows = [
        (
            visible(column),
            s.rate_text(),
            display.count(s.passed),
            display.count(s.failed),
            display.count(s.errors),
            s.cost_text(),
            display.seconds(s.mean_latency),
        )
        for column, s in batch.stats.items()
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), file=out)
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=out)


def meta_of(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "config": batch.config.source,
        "dataset": str(batch.dataset.path),
        "selection": batch.selection.describe(),
        "rows": batch.total_rows,
        "steps": batch.steps,
        "columns": {name: s.to_json() for name, s in batch.stats.items()},
    }


def _failure_lines(cell: Cell) -> list[str]:
    where = f"{cell.row.number} ({cell.column})"
    if cell.verdict == "error":
        return [f"row {where}: error: {visible(cell.error_text())}"]
    return [
        f"row {where}: {c.prompt}: {c.kind} failed: expected {visible(c.expected)}, "
        f"saw {visible(c.seen)}"
        for c in cell.checks
        if c.verdict == "fail"
    ]


def run(args: argparse.Namespace) -> int:
    if args.prompt and args.all:
        raise UsageError("give a PROMPT or --all, not both")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    selection = Selection.parse(args.rows, args.sample, args.seed)
    document = load(args.config)
    dataset = find_dataset(document, args.data)
    workspace, _limiter = batch_workspace(
        document,
        concurrency=args.concurrency,
        on_warning=lambda text: print(f"prompt-tui: warning: {text}", file=sys.stderr),
    )
    batch = Batch(
        workspace,
        dataset,
        selection=selection,
        target=args.prompt,
        models=args.model,
        params=parse_params(args.param),
        concurrency=args.concurrency,
        force=args.force,
    )
    batch.prepare()  # every problem with the rows or the checks, before anything is sent

    def estimate_all() -> list[Estimate]:
        """Every row x column, priced together (the same estimate `run` makes of one run)."""
        found = combined(
            [
                estimate_run(workspace.runner, batch.new_run(row, column))
                for row in batch.selection.rows(batch.dataset)
                for column in batch.columns
            ]
        )
        found.label = f"batch of {display.plural(batch.total_rows, 'row')}"
        return [found]

    try:
        dry_run = apply_budget(args, workspace, estimate_all)  # or refused: BudgetRefused
    except BaseException:
        workspace.close()
        raise
    if dry_run:  # the estimate is printed, nothing is sent
        workspace.close()
        return EXIT_PASS
    reports = [a for a in (args.junit, args.report, args.json_report) if a]
    spool = None
    if reports:
        from ..core.reports import CellSpool

        spool = CellSpool(batch.columns)
    progress = ProgressLine(sys.stderr)
    failures: list[str] = []
    shown_limit = 20

    def on_cell(cell: Cell) -> None:
        data = cell.to_json() if (args.json or spool is not None) else None
        if args.json:  # an answer echoing a key is masked, as in the history and the reports
            print(scrub_text(json_text(data, default=str)), flush=True)
        if spool is not None and data is not None:
            spool.add(data)
        if cell.verdict != "pass" and len(failures) < shown_limit:
            failures.extend(_failure_lines(cell))
        progress.update(batch)

    print(
        f"prompt-tui: batch {batch.id}: {display.plural(batch.total_rows, 'row')} of "
        f"{dataset.label} x {display.plural(len(batch.columns), 'column')} "
        f"({', '.join(batch.steps)})",
        file=sys.stderr,
    )
    try:
        asyncio.run(batch.run(on_cell))
    except KeyboardInterrupt:
        print(
            "\nprompt-tui: cancelled; run the same command again to resume (finished answers "
            "come from the cache)",
            file=sys.stderr,
        )
        return 130
    finally:
        workspace.close()
    progress.update(batch, final=True)
    try:
        if spool is not None:
            from ..core import reports as report_writers

            meta = meta_of(batch)
            if args.junit:
                report_writers.write_junit(args.junit, spool, meta)
            if args.json_report:
                report_writers.write_json(args.json_report, spool, meta)
            if args.report:
                report_writers.write_html(args.report, spool, meta)
            for path in reports:
                print(f"prompt-tui: wrote {Path(path)}", file=sys.stderr)
    except OSError as exc:
        raise PromptTuiError(f"cannot write the report: {exc}") from None
    finally:
        if spool is not None:
            spool.close()
    for line in failures[:shown_limit]:
        print(line, file=sys.stderr)
    _summary(batch, sys.stderr)
    errors = sum(s.errors for s in batch.stats.values())
    failed = sum(s.failed for s in batch.stats.values())
    if errors:
        return EXIT_ERROR
    return EXIT_FAIL if failed else EXIT_PASS
