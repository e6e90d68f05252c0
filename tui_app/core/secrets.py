"""The one secret scrubber: every message, stored setting and printed value that may hold a
credential goes through here before it leaves the process (error text, history rows, ``--json``
output, the run summary, the screen).

Three kinds of secret are masked:

- literal secrets the caller knows (the API key a call used): replaced by their :func:`mask`
  (``••••abcd``) wherever they appear;
- passwords inside URLs (``https://user:pw@host`` -> ``https://user:••••@host``, a password
  holding ``@`` included) and tokens used as a URL's user (``https://TOKEN@host`` ->
  ``https://••••@host``);
- things that look like credentials whatever the provider (``sk-...``, ``AIza...``,
  ``Bearer ...``/``Basic ...`` credentials, ``api_key=...`` / ``x-api-key: ...`` pairs).

Model output (``patterns=False``) only gets the first kind: an answer explaining what an
``sk-...`` key looks like is not a leak, and rewriting it would change the answer.

Settings whose *name* says they are secret (``api_key``, ``*_token`` with a text value...) are
dropped by :func:`scrub_settings`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MASK",
    "is_secret_setting",
    "mask",
    "scrub_json",
    "scrub_settings",
    "scrub_text",
]

MASK = "••••"
_SHOWN = 4  # trailing characters a masked key keeps
_MIN_LEN_TO_SHOW = 8  # shorter secrets are masked entirely: 4 of 5 characters is not a mask
_MIN_SECRET = 4  # shorter "secrets" would mask ordinary words


def mask(secret: str) -> str:
    """``"••••abcd"``: all but the last 4 characters hidden (a fixed 4 dots, so the length does
    not show). Secrets shorter than 8 characters are hidden entirely; ``""`` stays ``""``."""
    if not secret:
        return ""
    if len(secret) < _MIN_LEN_TO_SHOW:
        return MASK
    return MASK + secret[-_SHOWN:]


# The userinfo of a URL: everything before the authority's LAST '@' (a password may hold '@'),
# so "https://u:p@ss@host" masks "p@ss", not "p". A userinfo without ':' is a token used as the
# user name ("https://TOKEN@host", as GitHub and many proxies accept): masked whole.
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s?#\"'<>]*)@(?=[^@/\s?#\"'<>]*)"
)


def _mask_userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match["userinfo"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{match['scheme']}{shown}@"


# A credential after "Bearer"/"Basic": 12+ token characters including a digit (so that
# "Basic authentication failed" stays readable).
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}")
# Key shapes: OpenAI/Anthropic style "sk-...", Google "AIza...".
_KEY_SHAPES = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),
)
# "api_key=...", "x-api-key: ...", '"token": "..."' pairs.
_PAIR = re.compile(
    r"(?i)\b(api[_-]?key|x-api-key|authorization|token)(\"?\s*[:=]\s*\"?)(?!•|(?:bearer|basic)\b)[^\s\"',}]{6,}"
)


def scrub_text(text: str, secrets: Iterable[str | None] = (), *, patterns: bool = True) -> str:
    """``text`` with the given secrets masked and, with ``patterns``, URL passwords and anything
    shaped like a credential masked too (error messages, settings, URLs; not model output)."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, mask(secret))
    if patterns:
        text = _URL_USERINFO.sub(_mask_userinfo, text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
        for shape in _KEY_SHAPES:
            text = shape.sub(lambda m: mask(m.group(0)), text)
        text = _PAIR.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return text


_SECRET_NAMES = {
    "api_key",
    "apikey",
    "authorization",
    "proxy_authorization",
    "auth",
    "secret",
    "password",
    "passwd",
    "token",
    "bearer",
    "cookie",
    "set_cookie",
    "credentials",
}
# Names containing these are secrets unless the value is a number (max_tokens, max_new_tokens...).
_SECRET_PARTS = ("token", "secret", "password", "passwd", "credential", "authorization", "cookie")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_secret_setting(name: str, value: Any = None) -> bool:
    """Whether a setting (or header) named ``name`` with ``value`` must not be stored.

    Secret: ``api_key``, ``Authorization``, ``X-Api-Key``, any name containing "key"
    (``*_key``, ``api-key``...), and names containing "token", "secret", "password"... unless the
    value is a number (``max_tokens: 256`` is kept, ``access_token: "..."`` is dropped).
    """
    norm = name.strip().lower().replace("-", "_")
    if norm in _SECRET_NAMES or "key" in norm:
        return True
    if norm.startswith("auth_") or norm.endswith("_auth"):
        return not _is_number(value)
    return (
        any(part in norm for part in _SECRET_PARTS) and not _is_number(value) and value is not None
    )


def scrub_settings(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A copy of ``value`` (settings, nested dicts and lists) without secret entries, and with
    every string scrubbed (URL passwords in ``api_base``, literal secrets)."""
    known = [s for s in secrets if s]
    if isinstance(value, dict):
        return {
            k: scrub_settings(v, known)
            for k, v in value.items()
            if not (isinstance(k, str) and is_secret_setting(k, v))
        }
    if isinstance(value, list | tuple):
        return [scrub_settings(v, known) for v in value]
    if isinstance(value, str):
        return scrub_text(value, known)
    return value


def scrub_json(value: Any, secrets: Iterable[str | None] = (), *, patterns: bool = False) -> Any:
    """Strings anywhere in a JSON value scrubbed (no entry is dropped)."""
    known = [s for s in secrets if s]
    if not known and not patterns:
        return value
    if isinstance(value, dict):
        return {k: scrub_json(v, known, patterns=patterns) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(v, known, patterns=patterns) for v in value]
    if isinstance(value, str):
        return scrub_text(value, known, patterns=patterns)
    return value
