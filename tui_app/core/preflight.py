"""Key preflight: before a run sends anything, every request it will send is checked for a key.

A chain whose last prompt needs a key nobody set must not spend tokens on its first prompts and
only then fail: :func:`missing_keys` looks at the resolved request of every prompt a run will
send and returns all the keys that are missing at once, grouped by where the key should come from
(a provider, or the keyring entry / environment variable a model's settings name), each with the
prompts that need it. :class:`MissingKeysError` carries them; its text fits the CLI and
:meth:`MissingKeysError.message` words it for the TUI ("press k to add one").

The same rule finds the key a request is sent with (:func:`key_for`), so the preflight and the
call can never disagree. Keyring reads can block on D-Bus: call these off the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .errors import PromptTuiError
from .keys import PROVIDER_ENV_VARS, KeyLookup, KeyStore, env_var_for
from .model_settings import request_problems
from .request import ResolvedRequest

if TYPE_CHECKING:  # pragma: no cover
    from .config import AIConfig
    from .runs import Run

Surface = Literal["tui", "cli"]


@dataclass(frozen=True)
class KeyNeed:
    """Where the key of one request must come from."""

    label: str  # what the user calls it: "anthropic", or the named keyring entry / variable
    provider: str
    entry: str | None  # the keyring entry to read (None: the keyring is not asked)
    env_var: str | None  # the environment variable to read (None: none)
    named: bool  # the model's settings name the source (api_key_keyring / api_key_env)
    api_base: str | None = field(default=None, compare=False)  # informative; not grouped on


class KeySourceError(PromptTuiError):
    """A model's api_key_env / api_key_keyring setting is not a usable name. The message never
    repeats the value: a key pasted there by mistake must not reach the screen."""


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ENTRY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}\Z")


def _check_name(request: ResolvedRequest, option: str, value: str | None) -> None:
    if value is None:
        return
    from .secrets import scrub_text  # the one "looks like a key" rule

    env = option.endswith("_env")
    pattern = _ENV_NAME if env else _ENTRY_NAME
    if pattern.match(value) and scrub_text(value) == value:
        return
    what = (
        "the name of an environment variable (like VLLM_KEY)"
        if env
        else "the name of an OS keyring entry (like my-vllm)"
    )
    raise KeySourceError(
        f"prompt '{request.prompt}': setting {option} must be {what}, never the key itself "
        "(the value is not shown in case it is one); store a key with "
        "`prompt-tui keys set NAME --custom` or the keys screen (k)"
    )


def key_need(request: ResolvedRequest) -> KeyNeed | None:
    """The key ``request`` must be sent with, or None when it needs none (an offline model, a
    local server without a named key source). Raises :class:`KeySourceError` for a named
    source that is not a name."""
    from .providers.routing import (
        KEY_ENV_OPTION,
        KEY_KEYRING_OPTION,
        api_base_of,
        key_env_var,
        named_key_source,
        needs_key,
        provider_of,
    )

    if not needs_key(request):
        return None
    provider = provider_of(request.model, request.call_options)
    api_base = api_base_of(request.call_options)
    entry, env_var = named_key_source(request.call_options)
    _check_name(request, KEY_KEYRING_OPTION, entry)
    _check_name(request, KEY_ENV_OPTION, env_var)
    if entry or env_var:
        label = entry or env_var or provider
        return KeyNeed(label, provider, entry, env_var, True, api_base)
    return KeyNeed(provider, provider, provider, key_env_var(provider), False, api_base)


def find_key(store: KeyStore, need: KeyNeed) -> KeyLookup:
    if need.named:
        return store.lookup_named(need.label, entry=need.entry, env_var=need.env_var)
    return store.lookup(need.provider, env_var=need.env_var)


@dataclass(frozen=True)
class MissingKey:
    need: KeyNeed
    prompts: tuple[str, ...]
    keyring_error: str | None = None  # why the keyring could not be read, when it could not
    problem: str | None = None  # why a key that was found cannot be used (never the key)


def missing_keys(requests: Iterable[ResolvedRequest], store: KeyStore) -> list[MissingKey]:
    """Every key the requests need and no source has, in the order first needed."""
    groups: dict[KeyNeed, list[str]] = {}
    for request in requests:
        need = key_need(request)
        if need is not None:
            groups.setdefault(need, []).append(request.prompt)
    missing = []
    for need, prompts in groups.items():
        hit = find_key(store, need)
        if not hit.found:
            unique = tuple(dict.fromkeys(prompts))
            missing.append(MissingKey(need, unique, hit.keyring_error, hit.problem))
    return missing


def _fixes(need: KeyNeed, surface: Surface, keyring_usable: bool) -> list[str]:
    fixes = []
    if keyring_usable and need.entry is not None:
        if surface == "tui":
            fixes.append("press k to add one")
        else:
            custom = "" if env_var_for(need.entry) else " --custom"
            fixes.append(f"run `prompt-tui keys set {need.entry}{custom}`")
    if need.env_var:
        fixes.append(f"set {need.env_var}")
    if not fixes:  # a keyring entry on a machine without a keyring
        fixes.append(
            f"there is no OS keyring here to hold '{need.entry}': "
            "name an environment variable with the api_key_env setting instead"
        )
    return fixes


def missing_key_message(missing: MissingKey, surface: Surface, keyring_usable: bool) -> str:
    """ "No key for anthropic (prompts b, c): press k to add one, or set ANTHROPIC_API_KEY"."""
    prompts = missing.prompts
    which = f"prompt{'s' if len(prompts) != 1 else ''} {', '.join(prompts)}"
    text = f"No key for {missing.need.label} ({which}): "
    text += ", or ".join(_fixes(missing.need, surface, keyring_usable))
    if missing.problem:
        text += f" ({missing.problem})"
    if missing.keyring_error:
        text += f" (the OS keyring could not be read: {missing.keyring_error})"
    return text


def offline_route(surface: Surface) -> str:
    """What a refused run can do without any key: the built-in offline models."""
    if surface == "tui":
        return "or try it offline now: m picks echo or mock (no key, no network)"
    return "or try it offline now: --model echo (no key, no network)"


class MissingKeysError(PromptTuiError):
    """A run was refused before sending anything: keys are missing. ``str()`` is the CLI's
    wording; :meth:`message` gives either surface's."""

    def __init__(self, missing: list[MissingKey], *, keyring_usable: bool) -> None:
        self.missing = missing
        self.keyring_usable = keyring_usable
        super().__init__(self.message("cli"))

    def message(self, surface: Surface) -> str:
        return "; ".join(missing_key_message(m, surface, self.keyring_usable) for m in self.missing)


def key_for(request: ResolvedRequest, store: KeyStore) -> KeyLookup | None:
    """The key ``request`` is sent with (None: it needs none); raises :class:`MissingKeysError`
    when it needs one that no source has."""
    need = key_need(request)
    if need is None:
        return None
    hit = find_key(store, need)
    if not hit.found:
        missing = MissingKey(need, (request.prompt,), hit.keyring_error, hit.problem)
        raise MissingKeysError([missing], keyring_usable=store.backend_status().usable)
    return hit


def settings_refusals(run: Run, requests: Iterable[ResolvedRequest]) -> list[str]:
    """Preflight: every setting ``validate`` would refuse in the requests a run would send
    (temperature 9, max_tokens -3, a delay of 1e9 s for an offline model...), with validate's
    words. The runner refuses the run on any."""
    problems: list[str] = []
    for request in requests:
        problems += request_problems(request.prompt, request.settings, request.call_options)
    return problems


def explain_auth_failure(message: str, status: int | None, key: KeyLookup | None) -> str:
    """An authentication failure (401/403) names where the key it sent came from, instead of
    the provider's generic "check OPENAI_API_KEY" (wrong when the key came from the keyring)."""
    if status not in (401, 403) or key is None or not key.found:
        return message
    head = message.split(" — check ", 1)[0]
    return f"{head} — the key sent ({key.masked()}) came from {key.where()}: check or replace it"


def config_key_needs(config: AIConfig) -> list[tuple[KeyNeed, tuple[str, ...]]]:
    """The keys ``config``'s prompts need (with the prompts needing each), in prompt order.
    Prompts that cannot be resolved yet are skipped: a run reports them."""
    from .resolve import resolve

    groups: dict[KeyNeed, list[str]] = {}
    for name in config.prompt_names:
        try:
            need = key_need(resolve(config, name, allow_missing=True))
        except PromptTuiError:
            continue  # a run says why
        if need is not None:
            groups.setdefault(need, []).append(name)
    return [(need, tuple(prompts)) for need, prompts in groups.items()]


def common_key_needs() -> list[KeyNeed]:
    """The well-known providers, each with its keyring entry and environment variable."""
    return [KeyNeed(p, p, p, env, False) for p, env in PROVIDER_ENV_VARS.items()]
