"""Options shared by the headless commands: -p NAME=VALUE, --set KEY=VALUE, --model."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..core.errors import PromptTuiError


class UsageError(PromptTuiError):
    """Bad command-line input (exit 2)."""


def add_override_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="run-time parameter (highest precedence); repeatable",
    )
    parser.add_argument("--model", metavar="M", help="use this model instead of the prompt's")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model setting override, e.g. temperature=0.2 (values parse as JSON scalars); repeatable",
    )


def _split(item: str, flag: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"{flag} expects NAME=VALUE, got '{item}'")
    return name.strip(), value


def parse_params(items: list[str]) -> dict[str, str]:
    """-p values stay strings: a parameter is text substituted into a template."""
    return dict(_split(item, "-p") for item in items)


def parse_json_scalar(value: str) -> Any:
    """'0.2' -> 0.2, 'true' -> True, 'null' -> None, '[1]' stays a string, 'abc' stays 'abc'."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, str | int | float | bool) or parsed is None else value


def parse_settings(items: list[str]) -> dict[str, Any]:
    return {name: parse_json_scalar(value) for name, value in (_split(i, "--set") for i in items)}
