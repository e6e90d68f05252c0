"""`prompt-tui resolve CONFIG PROMPT`: print the request that would be sent, without sending it."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.inert import json_text
from ..core.message_view import elide, message_text
from ..core.resolve import resolve
from ..core.secrets import scrub_settings
from ..core.workspace import Workspace
from .options import add_override_options, parse_params, parse_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("resolve", help="print the request a prompt would send")
    parser.add_argument("config", help="AIConfig file (.json, .yaml, .yml)")
    parser.add_argument("prompt", help="prompt name")
    add_override_options(parser)
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="render missing references as empty strings (AIConfig's behaviour), warn on stderr",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = Workspace.open(args.config, history=False).document
    request = resolve(
        config,
        args.prompt,
        params=parse_params(args.param),
        model=args.model,
        settings=parse_settings(args.settings),
        allow_missing=args.allow_missing,
    )
    for note in request.notes:
        print(f"prompt-tui: note: {note}", file=sys.stderr)
    for name in request.missing:
        print(
            f"prompt-tui: warning: prompt '{request.prompt}': missing {name}, rendered as \"\"",
            file=sys.stderr,
        )
    if args.json:
        print(json_text(elide(request.to_json()), indent=2))
        return 0
    print(f"prompt:   {request.prompt}")
    print(
        f"model:    {request.model}"
        + (f"  ({request.model_name})" if request.model_name != request.model else "")
    )
    if request.settings:
        print("settings: " + ", ".join(f"{k}={json.dumps(v)}" for k, v in request.settings.items()))
    if request.call_options:
        options = scrub_settings(request.call_options)  # a password in api_base stays masked
        print("call:     " + ", ".join(f"{k}={v}" for k, v in options.items()))
    for message in request.messages:
        print(f"\n--- {message.get('role', '?')} " + "-" * 40)
        print(message_text(message))
    return 0
