"""`prompt-tui estimate CONFIG [PROMPT] [--with-deps|--all]`: what a run would send and cost.

Nothing is sent. The same estimate prints for ``run --dry-run`` and ``compare --dry-run``; this
module also holds ``--max-cost`` (a :class:`~..core.estimate.Budget` on the runner) for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ..core import display
from ..core.inert import json_text
from ..core.runs import Run, RunMode
from ..core.workspace import Workspace
from .options import UsageError, add_override_options, parse_params, parse_settings
from .revision_options import add_ref_option, open_workspace

# core.estimate (tokenizers' tables, price lookups, statistics) loads where an estimate is made:
# `run`, `compare` and `batch` import this module for their --dry-run / --max-cost options, and
# a plain run (no estimate asked for) does not pay for it in its fresh process (bench/chain.py).
if TYPE_CHECKING:
    from ..core.estimate import Budget, Estimate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate",
        help="requests, cache hits, tokens and cost of a run, before it starts (nothing is sent)",
        description="Estimate a run without sending anything: requests to be sent, answers "
        "from the cache ($0), input tokens (exact for OpenAI models, else ≈ chars/4), output "
        "tokens (0 to max_tokens) and cost (low / likely / high, USD).",
    )
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    parser.add_argument("prompt", nargs="?", help="the prompt (default: all prompts)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--with-deps", action="store_true", help="PROMPT with its dependencies")
    group.add_argument("--all", action="store_true", help="every prompt")
    add_override_options(parser)
    parser.add_argument("--force", action="store_true", help="as if the cache were ignored")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    add_ref_option(parser)
    parser.set_defaults(func=run)


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    """``--dry-run`` and ``--max-cost`` for the commands that send requests."""
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the estimate (requests, cache hits, tokens, cost) and send nothing",
    )
    parser.add_argument(
        "--max-cost",
        type=float,
        default=None,
        metavar="USD",
        help="refuse a run whose high estimate exceeds USD, and stop one before a step that "
        "would cross it (default: max_cost in the settings file)",
    )


def budget_of(args: argparse.Namespace) -> Budget | None:
    """The budget the command line (or the settings file) asks for; None: no limit."""
    limit = args.max_cost
    hint = "--max-cost"
    if limit is None:
        from ..core.settings import load as load_settings

        limit = load_settings().max_cost
        hint = "--max-cost (or max_cost in the settings file)"
    if limit is None:
        return None
    if not limit >= 0:
        raise UsageError(f"--max-cost must be an amount in USD of at least 0, got {limit}")
    from ..core.estimate import Budget

    return Budget(limit, hint=hint)


def run(args: argparse.Namespace) -> int:
    if args.prompt and args.all:
        raise UsageError("give a PROMPT or --all, not both")
    if args.with_deps and not args.prompt:
        raise UsageError("--with-deps needs a PROMPT")
    workspace = open_workspace(
        args.config,
        args.ref,  # the file as it was at a git revision: what `run --ref` would send
        on_warning=lambda text: print(f"prompt-tui: warning: {text}", file=sys.stderr),
    )
    try:
        mode: RunMode = "all" if not args.prompt else ("with_deps" if args.with_deps else "one")
        run_ = workspace.new_run(
            args.prompt,
            mode,
            params=parse_params(args.param),
            model=args.model,
            settings=parse_settings(args.settings),
            force=args.force,
            register=False,  # a plan to price, not a run of the session
        )
        from ..core.estimate import estimate_run

        found = estimate_run(workspace.runner, run_, workspace.graph)
    finally:
        workspace.close()
    print_estimates([found], sys.stdout, as_json=args.json)
    return 2 if found.problem else 0


def print_estimates(estimates: list[Estimate], out: TextIO, *, as_json: bool) -> None:
    """One estimate (a run) or several (a comparison's upstream and columns)."""
    if as_json:
        if len(estimates) == 1:
            out.write(json_text(estimates[0].to_json()) + "\n")
        else:
            total = combined(estimates)
            data = total.to_json()
            data["columns"] = [e.to_json() for e in estimates]
            out.write(json_text(data) + "\n")
        return
    for found in estimates:
        out.write(render(found))
    if len(estimates) > 1:
        out.write(f"all: {combined(estimates).summary()}\n")


def combined(estimates: list[Estimate]) -> Estimate:
    """The estimates of runs made together (a comparison) as one."""
    from ..core.estimate import Estimate

    total = Estimate(label="all")
    for found in estimates:
        total.steps += found.steps
    problems = [f"{e.label}: {e.problem}" for e in estimates if e.problem]
    total.problem = "; ".join(problems) or None
    return total


def render(found: Estimate) -> str:
    """The per-step table, then the one-line summary."""
    head = f"{found.label}: " if found.label else ""
    if found.problem:
        return f"{head}{found.problem}\n"
    header = ("step", "model", "input tokens", "output tokens", "cost")
    rows = [header, *found.table()]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    notes = []
    methods = {s.input_method for s in found.steps if s.sent and not s.input_exact}
    if methods:
        notes.append("≈: approximate (" + ", ".join(sorted(methods)) + ")")
    likely = {s.likely_from for s in found.steps if s.sent and s.likely_from}
    if likely:
        notes.append("likely output: " + "; ".join(sorted(likely)))
    if found.unpriced:
        notes.append(
            f"price unknown for {', '.join(found.unpriced)}: state input_cost_per_token / "
            "output_cost_per_token in the model's settings"
        )
    text = "\n".join(lines) + "\n"
    text += "".join(f"  {n}\n" for n in notes)
    return text + f"{head}{found.summary()}\n"


def apply_budget(
    args: argparse.Namespace, workspace: Workspace, estimate: Callable[[], list[Estimate]]
) -> bool:
    """``--dry-run``: print the estimates (``estimate()``: the run's, or a comparison's
    upstream and columns) and return True (send nothing). Else install ``--max-cost``'s budget
    on the runner, refusing at once when the runs together could exceed it (a comparison's
    columns start together), and return False."""
    budget = budget_of(args)
    if not args.dry_run and budget is None:
        return False
    estimates = estimate()
    if args.dry_run:
        print_estimates(estimates, sys.stdout, as_json=args.json)
        if budget is not None:
            problem = budget.refusal(combined(estimates))
            fits = f"within the budget of {display.cost(budget.limit)}"
            print(f"prompt-tui: {problem or fits}", file=sys.stderr)
        return True
    assert budget is not None
    problem = budget.refusal(combined(estimates))
    if problem:
        raise BudgetRefused(problem)
    budget.install(workspace.runner)
    return False


class BudgetRefused(UsageError):
    """A run over its budget: refused before anything was sent (exit 2)."""


def announce_estimates(workspace: Workspace, out: TextIO) -> None:
    """Print each run's estimate before its first request (``run --watch``: every re-run),
    as a runner preflight check that finds no problem."""
    from ..core.estimate import estimate_run

    runner = workspace.runner

    def announce(run: Run, _requests: list[Any]) -> list[str]:
        found = estimate_run(runner, run)
        if found.problem is None:
            out.write(f"prompt-tui: estimate: {found.summary()}\n")
            out.flush()
        return []

    runner.preflight_checks.append(announce)
