"""`prompt-tui run CONFIG [PROMPT]`: run a prompt with its dependencies (or all) headless.

Text streams to stdout as it arrives. With concurrent prompts, one prompt streams live and the
others are buffered and printed whole when it is their turn, so outputs never interleave.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import PromptTuiError
from ..core.events import RunDone
from ..core.inert import json_text
from ..core.runs import Run, RunMode
from ..core.workspace import Workspace
from .estimate import add_budget_options, announce_estimates, apply_budget
from .options import UsageError, add_override_options, parse_params, parse_settings
from .printer import TextPrinter
from .revision_options import add_label_options, add_ref_option, open_workspace, origin_from
from .summary import Summary, save_failed_message
from .terminal import for_terminal

if TYPE_CHECKING:
    from ..core.estimate import Estimate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run a prompt (with dependencies) or all prompts")
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    parser.add_argument("prompt", nargs="?", help="prompt to run (default: all prompts)")
    parser.add_argument("--all", action="store_true", help="run every prompt")
    parser.add_argument(
        "--no-deps", action="store_true", help="run only PROMPT, using stored upstream outputs"
    )
    add_override_options(parser)
    parser.add_argument("--force", action="store_true", help="ignore cached answers")
    add_ref_option(parser)
    add_label_options(parser)
    parser.add_argument(
        "--save", action="store_true", help="write outputs back to the file (atomically)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="prompts in flight at once (default 4)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per event per line")
    add_budget_options(parser)
    parser.add_argument(
        "--tool-result",
        dest="tool_results",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="answer a tool call of function (or call id) NAME with FILE's text and continue the "
        "prompt's conversation; repeatable",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="after the run, re-run on every save of CONFIG (only what changed is sent); Ctrl+C stops",
    )
    parser.set_defaults(func=run)


async def _drive(workspace: Workspace, run: Run, as_json: bool) -> None:
    printer = TextPrinter(for_terminal(sys.stdout))  # inert on a terminal, as is to a pipe
    async for event in workspace.execute(run):
        if as_json:
            print(json_text(event.to_json(), default=str), flush=True)
        elif not isinstance(event, RunDone):
            printer.handle(event)


def run(args: argparse.Namespace) -> int:
    if args.prompt and args.all:
        raise UsageError("give a PROMPT or --all, not both")
    if args.no_deps and not args.prompt:
        raise UsageError("--no-deps needs a PROMPT")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.watch and args.save:
        raise UsageError("--save with --watch would rewrite the file you are editing: drop one")
    if args.ref is not None and (args.save or args.watch):
        raise UsageError("--ref runs a committed version: --save and --watch need the working file")
    origin = origin_from(args)
    workspace = open_workspace(
        args.config,
        args.ref,
        concurrency=args.concurrency,
        on_warning=lambda text: print(f"prompt-tui: warning: {text}", file=sys.stderr),
        # a one-shot run prints no statuses; --watch says after each save what went stale and why
        track_staleness=bool(args.watch),
    )
    config = workspace.document
    mode: RunMode = "all" if not args.prompt else ("one" if args.no_deps else "with_deps")
    workspace.params.update(parse_params(args.param))  # the session's: a re-run keeps them
    run_ = workspace.new_run(
        args.prompt,
        mode,
        model=args.model,
        settings=parse_settings(args.settings),
        force=args.force,
    )
    run_.origin = origin
    if apply_budget(args, workspace, lambda: [_estimate(workspace, run_)]):
        workspace.close()
        return 0
    if args.watch:
        if not args.json:  # each re-run says what it will send before it sends it
            announce_estimates(workspace, sys.stderr)
        return _watch(workspace, run_, args.json)
    # A prompt that fails before it starts (its model cannot be routed...) still shows its model.
    summary = Summary(
        run_,
        models={
            name: args.model or config.model_name_of(config.prompt(name)) or ""
            for name in config.prompt_names
        },
    )
    results = _tool_results(args.tool_results, Path(args.config).parent)
    try:
        asyncio.run(_drive(workspace, run_, args.json))
        for _ in range(MAX_TOOL_ROUNDS):  # a tool call answered: continue the conversation
            answered = _answer_calls(workspace, run_, results) if results else {}
            if not answered or run_.refusal is not None:
                break
            overrides = {"model": args.model, "settings": parse_settings(args.settings)}
            run_ = workspace.new_run(args.prompt, mode, **overrides)
            run_.seed.update(answered)
            summary.run = run_  # the summary tells the last round
            asyncio.run(_drive(workspace, run_, args.json))
    except KeyboardInterrupt:
        print("\nprompt-tui: cancelled", file=sys.stderr)
        return 130
    finally:
        workspace.close()
    if run_.refusal is not None:
        print(f"prompt-tui: {run_.refusal}", file=sys.stderr)
        return 2
    summary.print(sys.stderr)
    if args.save and not workspace.dirty:  # every prompt failed: the file stays as it was
        print(f"prompt-tui: no new outputs: {config.source} not rewritten", file=sys.stderr)
    elif args.save:
        if config.changed_on_disk():
            print(
                f"prompt-tui: {config.source} changed on disk during the run: outputs not saved",
                file=sys.stderr,
            )
            return 1
        try:
            workspace.save()
        except (OSError, PromptTuiError) as exc:  # a failed save must not lose the run
            print(save_failed_message(config.source, exc), file=sys.stderr)
            return 1
        print(f"prompt-tui: saved outputs to {config.source}", file=sys.stderr)
    return 1 if summary.failed else 0


MAX_TOOL_ROUNDS = 8  # a model that keeps calling tools is stopped here


def _tool_results(items: list[str], base: Path) -> dict[str, str]:
    """``--tool-result NAME=FILE`` values: the function name (or call id) -> the file's text
    (FILE relative to the working directory, else to the config's folder)."""
    from ..core.tool_answer import read_result

    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--tool-result expects NAME=FILE, got '{item}'")
        out[name.strip()] = read_result(path.strip(), base)
    return out


def _answer_calls(workspace: Workspace, run: Run, results: dict[str, str]) -> dict[str, dict]:
    """The run's tool calls that ``results`` answer, answered (prompt -> output). A plain run's
    are answered in the document too (``--save`` keeps them); the next run is seeded with them
    either way, so an experiment (``--model``, ``--set``) continues its own conversation."""
    from ..core.tool_answer import answer, answered_output

    answered: dict[str, dict] = {}
    for name, result in run.results.items():
        new = answered_output(result.output, results)
        if new is None:
            continue
        answered[name] = new
        if run.is_plain:
            answer(workspace, name, results)
        print(f"prompt-tui: answered the tool call of {name}; continuing", file=sys.stderr)
    return answered


def _estimate(workspace: Workspace, run_: Run) -> Estimate:
    from ..core.estimate import estimate_run  # only when asked for (see .estimate)

    return estimate_run(workspace.runner, run_)


def _watch(workspace: Workspace, first: Run, as_json: bool) -> int:
    # The watch machinery (file watcher, reload, document diff) loads with --watch only: a
    # one-shot run's fresh process does without it (bench/chain.py).
    from .run_watch import WatchSession, watch_main

    session = WatchSession(workspace, first, as_json=as_json)
    try:
        summary = asyncio.run(watch_main(session))
    finally:
        workspace.close()
    print("\n" + summary.line(), file=sys.stderr)
    return 0
