"""Test a key with one cheap request: list the provider's models (no tokens are spent).

``probe_key(provider, key)`` asks the provider's models endpoint, or ``api_base``'s ``/models``
(an OpenAI-compatible server: vLLM, a LiteLLM proxy, Ollama's /v1) when given. The result's
message is one line for people and never contains the key. Blocking (httpx): run it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .display import plural
from .secrets import scrub_text

Auth = Literal["bearer", "x-api-key", "x-goog-api-key"]

# provider -> (models URL, how the key is sent). Providers missing here need a server address
# (azure) or authenticate another way: test them with an api_base, or by running a prompt.
MODELS_ENDPOINTS: dict[str, tuple[str, Auth]] = {
    "openai": ("https://api.openai.com/v1/models", "bearer"),
    "anthropic": ("https://api.anthropic.com/v1/models", "x-api-key"),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/models", "x-goog-api-key"),
    "mistral": ("https://api.mistral.ai/v1/models", "bearer"),
    "groq": ("https://api.groq.com/openai/v1/models", "bearer"),
    "cohere": ("https://api.cohere.com/v1/models", "bearer"),
    "together_ai": ("https://api.together.xyz/v1/models", "bearer"),
    "huggingface": ("https://huggingface.co/api/whoami-v2", "bearer"),
    "openrouter": ("https://openrouter.ai/api/v1/key", "bearer"),  # /models needs no key
    "deepseek": ("https://api.deepseek.com/models", "bearer"),
    "xai": ("https://api.x.ai/v1/models", "bearer"),
    "fireworks_ai": ("https://api.fireworks.ai/inference/v1/models", "bearer"),
}
TIMEOUT = 15.0  # seconds: a models list answers in well under a second when the server is up


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str  # one line, never the key
    status: int | None = None

    def __str__(self) -> str:
        return self.message


def probe_target(provider: str, api_base: str | None = None) -> tuple[str, Auth] | None:
    """The URL a key test asks and how it sends the key; None when there is nothing to ask."""
    if api_base:
        return api_base.rstrip("/") + "/models", "bearer"
    return MODELS_ENDPOINTS.get(provider)


def _headers(auth: Auth, key: str) -> dict[str, str]:
    if auth == "x-api-key":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if auth == "x-goog-api-key":
        return {"x-goog-api-key": key}
    return {"authorization": f"Bearer {key}"}


def probe_key(
    provider: str, key: str, *, api_base: str | None = None, timeout: float = TIMEOUT
) -> ProbeResult:
    target = probe_target(provider, api_base)
    if target is None:
        return ProbeResult(
            False,
            f"cannot test a {provider} key by itself (no models endpoint known): "
            "run a prompt, or test against an OpenAI-compatible server with an api_base",
        )
    url, auth = target
    import httpx

    shown = scrub_text(url, [key])  # the one scrubber: a password or token in the URL is masked

    try:
        response = httpx.get(url, headers=_headers(auth, key), timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        # The error text can quote the request (headers included): keep only its kind.
        return ProbeResult(False, f"could not reach {shown}: {type(exc).__name__}")
    status = response.status_code
    if 200 <= status < 300:
        count = _model_count(response)
        listed = f" ({plural(count, 'model')} listed)" if count is not None else ""
        return ProbeResult(True, f"key accepted by {shown}{listed}", status)
    detail = scrub_text(" ".join(response.text.split())[:160], [key])
    if status in (401, 403):
        return ProbeResult(False, f"key rejected by {shown} ({status}): {detail}", status)
    return ProbeResult(False, f"{shown} answered {status}: {detail}", status)


def _model_count(response: object) -> int | None:
    try:
        body = response.json()  # type: ignore[attr-defined]
    except ValueError:
        return None
    items = body.get("data", body.get("models")) if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) else None
