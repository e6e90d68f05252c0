"""What a provider stream yields, and the one error it raises."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import PromptTuiError
from ..events import Usage

__all__ = ["ProviderError", "RetryNotice", "StreamEnd", "TextChunk", "scrub_secrets"]


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


@dataclass(frozen=True)
class RetryNotice:
    """Attempt ``attempt`` (1-based) failed with a transient error; retrying in ``delay`` s."""

    attempt: int
    delay: float
    reason: str


# Things that look like credentials, whatever the provider: OpenAI/Anthropic style "sk-...",
# Google "AIza...", bearer tokens, and "api_key=..." / "x-api-key: ..." pairs.
_SECRET_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9_\-.=:/+]{6,}"),
    re.compile(
        r"(?i)\b(api[_-]?key|x-api-key|authorization|token)(\"?\s*[:=]\s*\"?)[^\s\"',}]{6,}"
    ),
]
_REDACTED = "[redacted]"


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without the given secrets and without anything that looks like a key."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + _REDACTED, text)
        else:
            text = pattern.sub(_REDACTED, text)
    return text


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
        self.message = scrub_secrets(line, secrets)
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
