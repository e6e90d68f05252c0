"""What a provider stream yields, the one error it raises, and what a transport reports.

A transport (litellm, the direct OpenAI-compatible client) makes *one attempt*: an async
generator of :class:`TextChunk` items ending with one :class:`AttemptEnd`, or raising
:class:`AttemptFailed` with a :class:`Failure`. The shared loop in :mod:`.retry` turns attempts
into the public stream (retries, :class:`RetryNotice`, :class:`StreamEnd`, :class:`ProviderError`).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ..errors import PromptTuiError
from ..events import Usage
from ..request import ResolvedRequest
from ..runs import CUT_AT_MAX_TOKENS
from ..secrets import scrub_text
from .routing import api_base_of, is_local_url, key_env_var, needs_key, provider_of

__all__ = [
    "tool_call",
    "AttemptEnd",
    "AttemptFailed",
    "Call",
    "CUT_AT_MAX_TOKENS",
    "ENDED_EARLY",
    "Failure",
    "ProviderError",
    "RequestSent",
    "RetryNotice",
    "StreamEnd",
    "TextChunk",
    "detail_from_error_body",
    "ended_early",
    "failure_for_status",
    "is_retryable_status",
    "split_userinfo",
    "url_problem",
    "usage_from",
]

_RATE_KEYS = ("input_cost_per_token", "output_cost_per_token")
DEFAULT_TIMEOUT = 600.0  # seconds for a whole attempt (call_options["timeout"])
DEFAULT_MAX_ATTEMPTS = 4
# Sent when the server is local and no key was given: OpenAI-style clients insist on a key, and we
# must not fall back to a real key from the environment for a local server.
LOCAL_DUMMY_KEY = "sk-local-no-key-needed"


@dataclass(frozen=True)
class TextChunk:
    """A piece of the answer, in order. Never empty."""

    text: str


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a successful stream."""

    finish_reason: str | None  # "stop", "length", ... as reported by the model
    usage: Usage | None  # None when the provider reported none
    cost: float | None  # USD from litellm's local price table; None: model not in the table
    model: str  # the model that answered (as the server reports it, else the id sent)
    attempts: int  # 1 + the number of retries it took
    offline: bool  # a built-in offline model answered (no network)
    raw_finish_reason: str | None = None  # as the provider said it ("end_turn", "MAX_TOKENS")
    # Tool calls the answer made, in the canonical OpenAI shape ({"id", "type": "function",
    # "function": {"name", "arguments": JSON text}}); the native clients fill it in.
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class RequestSent:
    """The first request of a call is going out now (``t``: unix time). Yielded once, before any
    text: TTFT and latency are measured from here, so loading a transport (litellm's import,
    httpx's TLS context) is never on a prompt's clock."""

    t: float


@dataclass(frozen=True)
class RetryNotice:
    """Attempt ``attempt`` (1-based) failed with a transient error; retrying in ``delay`` s."""

    attempt: int
    delay: float
    reason: str


class ProviderError(PromptTuiError):
    """A model call that failed. ``str()`` is one line and never contains a key.

    ``status``: the HTTP status when the server answered with one (None for connection problems,
    timeouts, a missing key, offline-model setting errors).
    ``retryable``: the failure is transient (429, 5xx, connection): running again may work. It is
    true even when no retry happened because text had already streamed.
    ``attempts``: how many requests were made (0: failed before any request, e.g. no key).
    ``partial_text``: the text that streamed before the failure (already yielded as chunks).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        attempts: int = 1,
        partial_text: str = "",
        provider: str | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        line = " ".join(str(message).split())  # one line
        self.message = scrub_text(line, secrets)
        self.status = status
        self.retryable = retryable
        self.attempts = attempts
        self.partial_text = partial_text
        self.provider = provider
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.message!r}, status={self.status!r}, "
            f"retryable={self.retryable!r}, attempts={self.attempts!r})"
        )


# -- one attempt ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptEnd:
    """How a successful attempt ended (its text was yielded as TextChunk items)."""

    finish_reason: str | None = None  # normalized: stop, length, tool_calls, content_filter
    usage: Usage | None = None
    model: str | None = None  # as the server reported it
    raw_finish_reason: str | None = None  # the provider's own word, when it differs
    tool_calls: tuple[dict[str, Any], ...] = ()  # canonical OpenAI shape (see StreamEnd)


@dataclass
class Failure:
    """Why an attempt failed, already classified by the transport."""

    message: str  # final message (the loop adds the attempt count for retryable kinds)
    reason: str  # short, for RetryNotice
    status: int | None
    retryable: bool
    retry_after: float | None = None
    kind: str = "status"  # status | connection | timeout | dropped | other
    no_retry: str = ""  # why a failure that is not retryable is not retried (for the message)


def is_retryable_status(status: int | None) -> bool:
    """Rate limits and server errors may pass; a client error (400/401/403/404) never will."""
    return status is not None and (status == 429 or 500 <= status <= 599)


class AttemptFailed(Exception):
    """Raised by a transport's attempt; carries the classified :class:`Failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass
class Call:
    """What every transport needs to know about one call, worked out once before any attempt."""

    provider: str
    api_base: str | None  # from call_options (None: the provider's default endpoint)
    where: str  # for messages: the api_base without user:password, else the provider
    timeout: float
    max_attempts: int
    # None: the transport finds it (litellm reads the environment). Never in the repr.
    api_key: str | None = field(repr=False)
    secrets: list[str | None] = field(default_factory=list, repr=False)
    placeholder_key: bool = False  # the local-server placeholder is sent, no real key
    # the model's input_cost_per_token / output_cost_per_token settings (win over the table)
    rates: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, request: ResolvedRequest, api_key: str | None, max_attempts: int | None) -> Call:
        """Raises ProviderError (attempts=0) when the call needs a key and none is available."""
        options = request.call_options or {}
        provider = provider_of(request.model, options)
        api_base, password = split_userinfo(api_base_of(options))
        if max_attempts is None:
            max_attempts = options.get("max_attempts") or DEFAULT_MAX_ATTEMPTS
        if api_key is None:
            if is_local_url(api_base):
                api_key = LOCAL_DUMMY_KEY
            elif needs_key(request):
                env = key_env_var(provider)
                if env and not os.environ.get(env):
                    # the preflight's wording (the runner never gets here without a key)
                    raise ProviderError(
                        f"No key for {provider}: run `prompt-tui keys set {provider}`, "
                        f"or set {env}",
                        provider=provider,
                        attempts=0,
                    )
        try:
            timeout = float(options.get("timeout") or DEFAULT_TIMEOUT)
            attempts = max(1, int(max_attempts))
        except (TypeError, ValueError):
            raise ProviderError(
                f"prompt '{request.prompt}': timeout must be a number of seconds and "
                f"max_attempts a whole number (got {options.get('timeout')!r}, {max_attempts!r})",
                provider=provider,
                attempts=0,
            ) from None
        problem = url_problem(api_base) if api_base else None
        if problem:  # e.g. port 99999: say so, instead of whatever the socket layer raises
            raise ProviderError(
                f"invalid api_base {api_base}: {problem}",
                provider=provider,
                attempts=0,
                secrets=[api_key, password],
            )
        if not (timeout > 0 and math.isfinite(timeout)):
            timeout = DEFAULT_TIMEOUT
        return cls(
            provider=provider,
            api_base=api_base,
            where=api_base or provider,
            timeout=timeout,
            max_attempts=attempts,
            api_key=api_key,
            secrets=[api_key, password],
            placeholder_key=api_key == LOCAL_DUMMY_KEY,
            rates={k: options[k] for k in _RATE_KEYS if k in options},
        )


def tool_call(call_id: str | None, name: str, arguments: Any, index: int) -> dict[str, Any]:
    """One tool call in the canonical OpenAI shape; ``arguments`` as JSON text (a provider that
    sends an object gets it serialized), an id made up when the provider gives none."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return {
        "id": call_id or f"call_{index}",
        "type": "function",
        "function": {"name": name, "arguments": text},
    }


def split_userinfo(url: str | None) -> tuple[str | None, str | None]:
    """``(url without "user:password@", the password)``: the password is a secret (scrubbed from
    every message) and the URL without it is what messages name. The user name stays. The
    transports send the credentials as HTTP basic auth (httpx reads them from the full URL)."""
    if not url or "@" not in url:
        return url, None
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        password = parts.password
        host = parts.netloc.rsplit("@", 1)[1]
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    return urlunsplit(parts._replace(netloc=host)), password or None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be connected to ("invalid port 99999"), None when it looks usable."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        match = re.search(r":(\d+|[^/@\s]*)(?:/|$)", url.split("://", 1)[-1])
        return f"invalid port {match.group(1)}" if match else "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return f"unsupported scheme '{parts.scheme}' (http or https)"
    if not parts.hostname:
        return "no host name"
    if port == 0:
        return "invalid port 0"
    return None


def usage_from(raw: Any) -> Usage | None:
    """Usage from an OpenAI-style usage object or dict; None when it carries no token counts."""
    if raw is None:
        return None

    def num(name: str) -> int | None:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        return (
            int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        )

    def detail(group: str, name: str) -> int | None:
        inner = raw.get(group) if isinstance(raw, dict) else getattr(raw, group, None)
        value = inner.get(name) if isinstance(inner, dict) else getattr(inner, name, None)
        return (
            int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        )

    usage = Usage(
        num("prompt_tokens"),
        num("completion_tokens"),
        num("total_tokens"),
        # 0 is what litellm fills in when the server said nothing: no information either way
        cached_tokens=detail("prompt_tokens_details", "cached_tokens") or None,
        reasoning_tokens=detail("completion_tokens_details", "reasoning_tokens") or None,
    )
    if usage.prompt_tokens is None and usage.completion_tokens is None:
        return None
    return usage


_DETAIL_MAX = 200


def _one_line(text: str, limit: int = _DETAIL_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def detail_from_error_body(body: Any) -> tuple[str, str | None]:
    """``(message, code)`` from an error body: OpenAI's ``{"error": {"message", "code",
    "type"}}``, also ``{"error": "text"}``, ``{"detail": ...}`` (FastAPI, vLLM), ``{"message":
    ...}``, raw JSON text, or plain text. One line, at most 200 characters (not yet scrubbed)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        stripped = body.strip()
        if stripped[:1] in ("{", "["):
            try:
                body = json.loads(stripped)
            except ValueError:
                return _one_line(stripped), None
        else:
            return _one_line(stripped), None
    code: str | None = None
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("detail")
            raw_code = inner.get("code") or inner.get("type")
            code = str(raw_code) if raw_code not in (None, "") else None
        elif inner is not None:
            message = inner
        if message is None:
            message = body.get("detail") or body.get("message")
        if isinstance(message, (list, dict)):
            message = json.dumps(message)
    elif body is not None:
        message = body
    return _one_line(message) if message else "", code


ENDED_EARLY = "the stream ended before the answer was complete"


# finish_reason "length": a success, but the answer stops at the token limit, not where it ended
def ended_early(where: str) -> Failure:
    """A stream whose body ended with no finish_reason (and no ``[DONE]``): a truncated answer,
    never a success. Retryable: the retry loop only retries it when no text had been shown."""
    return Failure(f"{ENDED_EARLY} ({where})", "stream ended early", None, True, kind="dropped")


# Statuses the standard library has no phrase for, as the providers name them.
_PHRASES = {529: "Overloaded"}


def _http_reason(status: int) -> str:
    if status in _PHRASES:
        return _PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a code the standard library does not know
        return ""


_QUOTA_WORDS = ("billing", "exceeded your current quota", "insufficient_quota", "credit balance")


def is_quota_failure(code: str | None, detail: str) -> bool:
    """A 429 that is a quota or billing limit (OpenAI ``insufficient_quota``, Gemini's
    RESOURCE_EXHAUSTED "exceeded your current quota ... billing"): waiting will not help."""
    lowered = detail.lower()
    return code == "insufficient_quota" or any(word in lowered for word in _QUOTA_WORDS)


def failure_for_status(
    status: int,
    detail: str,
    *,
    provider: str,
    model: str,
    where: str,
    retry_after: float | None = None,
    code: str | None = None,
    placeholder_key: bool = False,
) -> Failure:
    """The failure (message, retryability) for an HTTP error status; ``detail`` is the server's
    message (from the error body), ``code`` its error code or type when it gave one. The message
    names the provider, the status as sent (529 stays 529) and the server's own words."""
    label = f"{status} {_http_reason(status)}".strip()
    said = f": {detail}" if detail else ""
    head = f"{provider}: {label}{said}"
    if status == 429 and is_quota_failure(code, detail):
        why = "a quota or billing limit, waiting will not help"
        return Failure(head, label, 429, False, no_retry=why)
    if is_retryable_status(status):
        return Failure(head, label, status, True, retry_after)
    if status in (401, 403):
        if placeholder_key:  # a local server that checks keys got our placeholder
            hint = (
                "the server wants a key: name it with the model's api_key_env "
                "(or api_key_keyring) setting"
            )
        else:
            env = key_env_var(provider)
            hint = f"check {env}" if env else "check the API key"
        return Failure(f"{head} — {hint}", label, status, False, no_retry="a key problem")
    if status == 404:
        msg = f"{head} — model '{model}' at {where}"
        return Failure(msg, label, 404, False, no_retry="the server does not have it")
    return Failure(head, label, status, False, no_retry="the server refused the request")
