"""`prompt-tui status CONFIG [--json]`: each prompt fresh, stale (and why), never run, or failed.

The same verdicts the TUI's tree and output pane show: both ask the workspace.
"""

from __future__ import annotations

import argparse
import json

from ..core.errors import ConfigErrors
from ..core.graph import serial_hint, serial_waits
from ..core.runs import PromptStatus
from ..core.workspace import Workspace
from .options import add_param_option, parse_params


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="is each prompt's output fresh, stale, or missing"
    )
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    add_param_option(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per prompt per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.config)
    try:
        duplicates = workspace.graph.duplicates
        if duplicates:  # every verdict would be about an ambiguous name: say that instead
            raise duplicates[0] if len(duplicates) == 1 else ConfigErrors(duplicates)
        workspace.params.update(parse_params(args.param))
        states = workspace.states()
        waits = serial_waits(workspace.graph)
    finally:
        workspace.close()
    width = max((len(name) for name in states), default=0)
    for name, state in states.items():
        hint = serial_hint(name, waits[name]) if name in waits else None
        if args.json:
            data = state.to_json()
            data["serial"] = hint
            print(json.dumps(data, ensure_ascii=False))
            continue
        line = f"{name:<{width}}  {state.status.label}"
        if state.detail:
            line += f": {state.detail}"
        print(line)
        if hint:
            print(f"{'':<{width}}  note: {hint}")
    bad = (PromptStatus.STALE, PromptStatus.FAILED, PromptStatus.IDLE)
    return 1 if any(s.status in bad for s in states.values()) else 0
