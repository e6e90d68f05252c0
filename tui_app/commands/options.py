"""Options shared by the headless commands: -p NAME=VALUE, --set KEY=VALUE, --model."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.errors import PromptTuiError
from ..core.model_settings import parse_setting


class UsageError(PromptTuiError):
    """Bad command-line input (exit 2)."""


def add_param_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="run-time parameter (highest precedence); repeatable",
    )


def add_override_options(parser: argparse.ArgumentParser) -> None:
    add_param_option(parser)
    parser.add_argument("--model", metavar="M", help="use this model instead of the prompt's")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model setting override, e.g. temperature=0.2 (checked like the form); repeatable",
    )


def _split(item: str, flag: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"{flag} expects NAME=VALUE, got '{item}'")
    return name.strip(), value


def parse_params(items: list[str]) -> dict[str, str]:
    """-p values stay strings: a parameter is text substituted into a template."""
    return dict(_split(item, "-p") for item in items)


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` values, parsed and checked exactly as the parameter form does
    (:func:`..core.model_settings.parse_setting`): ``--set temperature=9`` is refused with the
    form's message, ``--set stop='["a"]'`` is the list ``["a"]``. An empty value unsets."""
    settings: dict[str, Any] = {}
    for item in items:
        name, text = _split(item, "--set")
        value, error = parse_setting(name, text)
        if error:
            raise UsageError(f"--set {item}: {error}")
        settings[name] = value
    return settings
