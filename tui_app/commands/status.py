"""`prompt-tui status CONFIG [--json]`: each prompt done, stale (and why), idle, or failed.

The same verdicts the TUI's tree and output pane show: both ask the workspace.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..core.graph import serial_hint, serial_waits
from ..core.inert import json_text, visible_name
from ..core.runs import PromptStatus
from ..core.workspace import Workspace
from .options import add_param_option, parse_params
from .revision_options import add_ref_option, open_workspace


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="is each prompt's output fresh, stale, or missing"
    )
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    add_param_option(parser)
    add_ref_option(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per prompt per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workspace = open_workspace(args.config, args.ref)
    try:
        # A name used twice, or a cycle: every verdict would be about an ambiguous name or an
        # order that cannot exist, so say that instead.
        workspace.graph.check()
        workspace.params.update(parse_params(args.param))
        states = workspace.states()
        waits = serial_waits(workspace.graph)
        unsaved = _runs_not_in_the_file(workspace, states)
    finally:
        workspace.close()
    width = max((len(name) for name in states), default=0)
    for name, state in states.items():
        hint = serial_hint(name, waits[name]) if name in waits else None
        if args.json:
            data = state.to_json()
            data["serial"] = hint
            data["history"] = unsaved.get(name)
            print(json_text(data))
            continue
        line = f"{visible_name(name):<{width}}  {state.status.value}"
        detail = state.detail or unsaved.get(name)
        if not detail and state.status is PromptStatus.IDLE:
            detail = "never run"
        if detail:
            line += f": {detail}"
        print(line)
        if hint:
            print(f"{'':<{width}}  note: {hint}")
    bad = (PromptStatus.STALE, PromptStatus.FAILED, PromptStatus.IDLE)
    return 1 if any(s.status in bad for s in states.values()) else 0


def _runs_not_in_the_file(workspace: Workspace, states: dict[str, Any]) -> dict[str, str]:
    """Prompts with no output in the file that did run (the history has it): "never run" would
    be wrong for them, a run in the TUI or the CLI whose outputs were not saved."""
    import time

    history, path = workspace.history, workspace.document.path
    if history is None or path is None:
        return {}
    found: dict[str, str] = {}
    for name, state in states.items():
        if state.status is not PromptStatus.IDLE:
            continue
        record = history.latest_for(str(path), name)
        if record is not None:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started_at))
            found[name] = f"not in the file: ran {when} ({record.status}), its output was not saved"
    return found
