"""`prompt-tui keys list|set|delete|test|path`: provider API keys in the OS keyring.

A key is never taken as a command-line argument (it would land in shell history and ``ps``):
``keys set PROVIDER`` reads it from the terminal without echo, or one line from stdin when piped
(``--stdin`` says so explicitly and never prompts). Exit codes: 0 ok, 1 failure (no keyring,
nothing to delete, key rejected...), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from ..core import custom_keys
from ..core.inert import json_text
from ..core.keys import (
    KeyLookup,
    KeyStore,
    KeyStoreError,
    backend_in_words,
    mask,
    normalize_provider,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

CUSTOM_HELP = (
    "store the key under a name outside the known providers, e.g. the keyring entry a model's "
    "settings name with `api_key_keyring: my-vllm` (for a self-hosted server)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="manage provider API keys in the OS keyring",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Provider API keys live in the OS keyring (service 'prompt-tui', user = provider).\n"
            "Lookup order: OS keyring, then the provider's environment variable.\n\n"
            "A self-hosted server (vLLM --api-key, a LiteLLM proxy) gets its own key: name its\n"
            "source in the model's settings, `api_key_keyring: my-vllm` (store it with\n"
            "`prompt-tui keys set my-vllm --custom`) or `api_key_env: VLLM_KEY`. A local\n"
            "server without one is sent a placeholder key, never a provider's real key."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    p_list = actions.add_parser("list", help="where each provider's key comes from (masked)")
    p_list.add_argument(
        "--json",
        action="store_true",
        help="a JSON array of {provider, source, env_var, masked} (never the key)",
    )
    p_list.set_defaults(func=run_list)

    p_set = actions.add_parser(
        "set",
        help="store a key in the keyring (read from the terminal without echo, or from stdin)",
    )
    # optional for argparse: its error would name the internal catch-all below ("stray")
    p_set.add_argument("provider", nargs="?", help="provider name, e.g. openai, anthropic")
    p_set.add_argument("--custom", action="store_true", help=CUSTOM_HELP)
    p_set.add_argument(
        "--stdin",
        action="store_true",
        help="read the key from the first line of stdin, never prompt (for scripts)",
    )
    # Catches `keys set openai sk-...` so argparse does not echo the key in its error message.
    p_set.add_argument("stray", nargs="*", help=argparse.SUPPRESS)
    p_set.set_defaults(func=run_set)

    p_delete = actions.add_parser("delete", help="remove a key from the keyring")
    p_delete.add_argument("provider", help="provider name")
    p_delete.set_defaults(func=run_delete)

    p_test = actions.add_parser(
        "test", help="check a key with one cheap request (listing models; no tokens spent)"
    )
    p_test.add_argument("provider", help="provider name, or a --custom entry with --api-base")
    p_test.add_argument(
        "--api-base",
        metavar="URL",
        help="test against this OpenAI-compatible server's /models instead of the provider's",
    )
    p_test.add_argument("--custom", action="store_true", help=CUSTOM_HELP)
    p_test.set_defaults(func=run_test)

    p_path = actions.add_parser("path", help="the keyring backend in use, in words")
    p_path.set_defaults(func=run_path)


def _store() -> KeyStore:
    return KeyStore()


def _err(message: str) -> None:
    print(f"prompt-tui: {message}", file=sys.stderr)


def _where(hit: KeyLookup) -> str:
    if hit.source is None:
        return "none"
    if hit.source == "environment":
        return f"environment ({hit.env_var})"
    return hit.source


def run_list(args: argparse.Namespace) -> int:
    store = _store()
    custom = [n for n in custom_keys.names() if store.env_var_for(n) is None]
    lookups = store.lookup_all() + [
        store.lookup_named(name, entry=name, env_var=None) for name in custom
    ]
    status = store.backend_status()  # after the reads: it reports a read that failed
    if args.json:
        rows = [
            {
                "provider": hit.provider,
                "source": hit.source,
                "env_var": hit.env_var,
                "masked": hit.masked() or None,
            }
            for hit in lookups
        ]
        print(json_text(rows))
        return EXIT_OK
    print(f"keyring: {status.message}")
    width = max(len(hit.provider) for hit in lookups)
    for hit in lookups:
        shown = hit.masked() or (f"({hit.problem})" if hit.problem else "")
        print(f"{hit.provider:<{width}}  {_where(hit):<34}  {shown}".rstrip())
    return EXIT_OK


def _read_key(provider: str, from_stdin: bool) -> str:
    if not from_stdin and sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"API key for {provider} (input hidden): ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.strip()


def _provider_arg(args: argparse.Namespace, store: KeyStore) -> str | None:
    """The normalized provider name, or None after saying why it is refused (exit 2)."""
    try:
        provider = normalize_provider(args.provider)
    except KeyStoreError as exc:
        _err(str(exc))
        return None
    if store.env_var_for(provider) is None and not args.custom:
        # The name is not echoed: a key pasted in place of the provider must not reach the screen.
        _err(
            f"unknown provider (known: {', '.join(store.providers)}); "
            "pass --custom to use another name (e.g. a self-hosted server's keyring entry)"
        )
        return None
    return provider


def run_set(args: argparse.Namespace) -> int:
    if not args.provider:
        _err("keys set needs a provider: prompt-tui keys set PROVIDER (openai, anthropic, ...)")
        return EXIT_USAGE
    if args.stray:
        _err(
            "keys set takes no key argument (it would be saved in your shell history); "
            "type it at the prompt or pipe it on stdin: prompt-tui keys set PROVIDER --stdin < file"
        )
        return EXIT_USAGE
    store = _store()
    provider = _provider_arg(args, store)
    if provider is None:
        return EXIT_USAGE
    status = store.backend_status()
    if not status.usable:  # say so before asking for a key that cannot be kept
        env_var = store.env_var_for(provider)
        instead = f"; set {env_var} in the environment instead" if env_var else ""
        _err(f"cannot store a key: {status.message}{instead} (`prompt-tui keys path` explains)")
        return EXIT_FAILED
    try:
        value = _read_key(provider, args.stdin).strip()
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
    if store.env_var_for(provider) is None:  # a --custom entry: `keys list` shows it from now on
        custom_keys.remember(provider)
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
    custom_keys.forget(provider)
    print(f"deleted the key for {provider} from the OS keyring")
    hit = store.lookup(provider)
    if hit.source == "environment":
        print(f"note: {hit.env_var} is still set in the environment and will be used")
    return EXIT_OK


def run_test(args: argparse.Namespace) -> int:
    from ..core.key_probe import probe_key, probe_target

    store = _store()
    provider = _provider_arg(args, store)
    if provider is None:
        return EXIT_USAGE
    if probe_target(provider, args.api_base) is None:
        _err(f"cannot test a {provider} key by itself: pass --api-base URL of a server to ask")
        return EXIT_USAGE
    hit = store.lookup(provider)
    if not hit.found:
        fixes = []
        if store.backend_status().usable:
            fixes.append(f"run `prompt-tui keys set {provider}{' --custom' * args.custom}`")
        if hit.env_var:
            fixes.append(f"set {hit.env_var}")
        _err(f"no key for {provider}: " + (", or ".join(fixes) or "no OS keyring here"))
        return EXIT_FAILED
    assert hit.value is not None
    result = probe_key(provider, hit.value, api_base=args.api_base)
    line = f"{provider}: the key {hit.masked()} from {hit.where()}: {result.message}"
    print(line, file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def run_path(args: argparse.Namespace) -> int:
    status = _store().backend_status()
    print(f"keyring backend: {status.name or 'none'}")
    print(backend_in_words(status))
    return EXIT_OK
