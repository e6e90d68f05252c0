"""Entry point: `prompt-tui CONFIG` opens the TUI; `prompt-tui COMMAND ...` runs headless.

Each command lives in ``tui_app.commands.<name>`` and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (args -> exit code). Only the chosen command's module is imported,
so `prompt-tui validate` never pays for textual and the TUI never pays for the CLI commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .commands.terminal import inert_streams
from .core.cancel import stop_renders
from .core.errors import PromptTuiError, did_you_mean
from .core.inert import visible_name

COMMANDS = {
    "resolve": "Print the request a prompt would send, without sending it",
    "validate": "Check config files: syntax, shape, duplicates, cycles, unknown references",
    "run": "Run a prompt (with its dependencies) or all prompts, streaming to stdout",
    "batch": "Run a chain over a dataset's rows (x models) and check every answer",
    "compare": "Run one prompt (or its downstream chain) with several models side by side",
    "estimate": "Requests, cache hits, tokens and cost of a run, before it starts",
    "status": "Show each prompt's status: fresh, stale (and why), never run, failed",
    "history": "Show recorded runs from the history database",
    "diff": "Compare two recorded runs prompt by prompt (exit 1 when outputs differ)",
    "baseline": "Mark the run later runs of a config are compared with",
    "rate": "Rate a prompt's answer in a recorded run (score, comment, expected text)",
    "keys": "Manage provider API keys in the OS keyring",
    "samples": "Copy the sample configs into a directory, to open and edit there",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep the message to one line
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = _Parser(prog="prompt-tui")
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    module = importlib.import_module(f"tui_app.commands.{command}")
    module.register(subparsers)
    return parser


def parse_command(args: list[str]) -> argparse.Namespace:
    """Parse ``COMMAND ...`` with options and positionals in any order
    (``run cfg --model echo weather`` as well as ``run cfg weather --model echo``)."""
    parser = _Parser(prog="prompt-tui")
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    importlib.import_module(f"tui_app.commands.{args[0]}").register(subparsers)
    command_parser: argparse.ArgumentParser = subparsers.choices[args[0]]
    try:
        parsed = command_parser.parse_intermixed_args(args[1:])
    except TypeError:  # a command with its own subcommands (keys): argparse's usual order
        return parser.parse_args(args)
    parsed.command = args[0]
    return parsed


def _usage() -> str:
    lines = [
        "usage: prompt-tui CONFIG            open a config in the terminal UI",
        "       prompt-tui COMMAND ...       run headless",
        "",
        "commands:",
    ]
    lines += [f"  {name:<10} {summary}" for name, summary in COMMANDS.items()]
    lines.append("\n`prompt-tui COMMAND --help` for a command's options.")
    return "\n".join(lines)


def _hint(word: str) -> str:
    """The rest of the one error line: the command meant (``rnu``: run), else where to look."""
    hint = did_you_mean(word, COMMANDS, n=1)
    return f" ({hint})" if hint else " (commands: " + ", ".join(COMMANDS) + "; prompt-tui --help)"


def _run_command(parsed: argparse.Namespace) -> int:
    try:
        return int(parsed.func(parsed))
    finally:
        # A template render still going in a worker thread (the run was interrupted) would keep
        # the interpreter from exiting: every render stops at its next check.
        stop_renders()


def _not_a_config(path: Path) -> str | None:
    """Why ``path`` can never be a config (a directory, another kind of file), else None.

    A .json/.yaml file with a syntax error still opens: the load-error screen watches it for a fix.
    """
    from .core.fileio import format_of

    if path.is_dir():
        return f"{path}: is a directory, not a config file (prompt-tui CONFIG.aiconfig.json)"
    try:
        format_of(path)
    except PromptTuiError as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # a reader that left shows up here, inside the handler, not at exit
        return code
    except BrokenPipeError:
        # `prompt-tui --help | head -1`, `run ... | head`: the reader left; stop quietly like
        # other Unix tools. Point stdout at /dev/null so the interpreter's final flush is silent.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return EXIT_OK if args else EXIT_USAGE
    if args[0] == "--version":
        from . import __version__

        print(f"prompt-tui {__version__}")
        return EXIT_OK
    if args[0] in COMMANDS:
        # Every line a command prints (its output, its errors, argparse's) is shown, never
        # executed, on a terminal: names, templates and answers come from elsewhere.
        with inert_streams():
            return _command(args)
    if len(args) > 1 or args[0].startswith("-"):
        word = visible_name(args[0])
        print(f"prompt-tui: unknown command '{word}'{_hint(args[0])}", file=sys.stderr)
        return EXIT_USAGE
    if not Path(args[0]).exists():
        # Neither a command nor a file: say so on one line, never open the full-screen UI.
        word = visible_name(args[0])
        print(f"prompt-tui: no such command or file: '{word}'{_hint(args[0])}", file=sys.stderr)
        return EXIT_USAGE
    not_a_config = _not_a_config(Path(args[0]))
    if not_a_config:
        # A directory or a README is a mistyped argument, not a config to fix live: one line.
        print(f"prompt-tui: {not_a_config}", file=sys.stderr)
        return EXIT_USAGE
    from .ui.launch import launch

    try:
        return launch(args[0])
    finally:
        stop_renders()


def _command(args: list[str]) -> int:
    parsed = parse_command(args)
    try:
        return _run_command(parsed)
    except PromptTuiError as exc:
        print(f"prompt-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `prompt-tui run ... | head`: the reader left; stop quietly like other Unix tools.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
