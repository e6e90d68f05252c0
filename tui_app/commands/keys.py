"""`prompt-tui keys list|set|delete|path`: provider API keys in the OS keyring.

A key is never taken as a command-line argument (it would land in shell history and ``ps``):
``keys set PROVIDER`` reads it from the terminal without echo, or one line from stdin when piped.
Exit codes: 0 ok, 1 failure (no keyring, nothing to delete...), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from ..core.keys import KeyStore, KeyStoreError, mask, normalize_provider

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="manage provider API keys in the OS keyring",
        description=(
            "Provider API keys live in the OS keyring (service 'prompt-tui', user = provider). "
            "Lookup order: OS keyring, then the provider's environment variable."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    p_list = actions.add_parser("list", help="where each provider's key comes from (masked)")
    p_list.set_defaults(func=run_list)

    p_set = actions.add_parser(
        "set",
        help="store a key in the keyring (read from the terminal without echo, or from stdin)",
    )
    p_set.add_argument("provider", help="provider name, e.g. openai, anthropic")
    p_set.add_argument(
        "--custom", action="store_true", help="allow a provider name outside the known list"
    )
    # Catches `keys set openai sk-...` so argparse does not echo the key in its error message.
    p_set.add_argument("stray", nargs="*", help=argparse.SUPPRESS)
    p_set.set_defaults(func=run_set)

    p_delete = actions.add_parser("delete", help="remove a key from the keyring")
    p_delete.add_argument("provider", help="provider name")
    p_delete.set_defaults(func=run_delete)

    p_path = actions.add_parser("path", help="the keyring backend in use")
    p_path.set_defaults(func=run_path)


def _store() -> KeyStore:
    return KeyStore()


def _err(message: str) -> None:
    print(f"prompt-tui: {message}", file=sys.stderr)


def run_list(args: argparse.Namespace) -> int:
    store = _store()
    lookups = store.lookup_all()
    status = store.backend_status()  # after the reads: it reports a read that failed
    print(f"keyring: {status.message}")
    width = max(len(hit.provider) for hit in lookups)
    for hit in lookups:
        if hit.source is None:
            where = "none"
        elif hit.source == "environment":
            where = f"environment ({hit.env_var})"
        else:
            where = hit.source
        print(f"{hit.provider:<{width}}  {where:<34}  {hit.masked()}".rstrip())
    return EXIT_OK


def _read_key(provider: str) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"API key for {provider} (input hidden): ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.strip()


def run_set(args: argparse.Namespace) -> int:
    if args.stray:
        _err(
            "keys set takes no key argument (it would be saved in your shell history); "
            "type it at the prompt or pipe it on stdin: prompt-tui keys set PROVIDER < file"
        )
        return EXIT_USAGE
    try:
        provider = normalize_provider(args.provider)
    except KeyStoreError as exc:
        _err(str(exc))
        return EXIT_USAGE
    store = _store()
    if store.env_var_for(provider) is None and not args.custom:
        # The name is not echoed: a key pasted in place of the provider must not reach the screen.
        _err(
            f"unknown provider (known: {', '.join(store.providers)}); "
            "pass --custom to store a key under another name"
        )
        return EXIT_USAGE
    status = store.backend_status()
    if not status.usable:  # say so before asking for a key that cannot be kept
        _err(f"cannot store a key: {status.message}")
        return EXIT_FAILED
    try:
        value = _read_key(provider).strip()
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        _err("no key given; nothing stored")
        return EXIT_FAILED
    if not value:
        _err("no key given; nothing stored")
        return EXIT_FAILED
    try:
        store.set(provider, value)
    except KeyStoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    print(f"stored the key for {provider} in the OS keyring: {mask(value)}")
    return EXIT_OK


def run_delete(args: argparse.Namespace) -> int:
    try:
        provider = normalize_provider(args.provider)
    except KeyStoreError as exc:
        _err(str(exc))
        return EXIT_USAGE
    store = _store()
    try:
        deleted = store.delete(provider)
    except KeyStoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    if not deleted:
        _err(f"no key for {provider} in the OS keyring")
        return EXIT_FAILED
    print(f"deleted the key for {provider} from the OS keyring")
    hit = store.lookup(provider)
    if hit.source == "environment":
        print(f"note: {hit.env_var} is still set in the environment and will be used")
    return EXIT_OK


def run_path(args: argparse.Namespace) -> int:
    status = _store().backend_status()
    if status.name:
        print(status.name)
    if not status.usable:
        _err(status.message)
        return EXIT_FAILED
    return EXIT_OK
