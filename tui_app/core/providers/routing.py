"""Which provider serves a model id, which key it needs. Cheap: called on the UI thread, so this
never imports litellm; a prefix table follows litellm's conventions.

Rules
- ``echo``, ``mock``, ``mock-json`` and ``mock-tool`` (also spelled ``offline/echo``...) are
  built-in offline models: provider ``"offline"``, no key.
- ``provider/model`` (``anthropic/claude-...``, ``ollama/llama3``, ``openai/<any>``): the prefix.
  ``call_options["custom_llm_provider"]`` wins when present.
- A bare name is matched on well-known families (``gpt-*``, ``o3``, ``claude-*``, ``gemini-*``,
  ...); otherwise ``"unknown"`` (litellm will say it cannot tell the provider).
- Keys: :func:`key_env_var` gives the conventional environment variable, or None for providers
  that authenticate another way or need nothing (``offline``, ``ollama``, local servers,
  ``bedrock``/``vertex_ai`` cloud credentials, unknown providers).
- :func:`needs_key` is False for offline models, for providers without a key variable, and for
  any request whose ``api_base`` points at this machine (``localhost``, ``127.0.0.1``, ``::1``,
  ``0.0.0.0``): local OpenAI-compatible servers do not check keys, so the call goes out with a
  dummy key unless one was given. A non-local ``api_base`` with ``openai/...`` still needs
  ``OPENAI_API_KEY`` (hosted OpenAI-compatible services want one).
- A model's settings may name where its key comes from (``api_key_env: VLLM_KEY``,
  ``api_key_keyring: my-vllm``; call options, never sent to the model): :func:`named_key_source`.
  Such a request always needs that key, local ``api_base`` or not, and never gets the provider's.
- Transport: :func:`uses_direct_openai` says whether a call goes through our own
  OpenAI-compatible client (:mod:`.openai_compat`) instead of litellm.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..errors import did_you_mean
from ..keys import PROVIDER_ENV_VARS
from ..offline_models import is_offline

_KNOWN_PREFIXES = frozenset(
    {
        "openai",
        "text-completion-openai",
        "custom_openai",
        "openai_like",
        "azure",
        "azure_ai",
        "anthropic",
        "gemini",
        "vertex_ai",
        "vertex_ai_beta",
        "bedrock",
        "sagemaker",
        "sagemaker_chat",
        "ollama",
        "ollama_chat",
        "lm_studio",
        "hosted_vllm",
        "vllm",
        "llamafile",
        "xinference",
        "mistral",
        "codestral",
        "groq",
        "cohere",
        "cohere_chat",
        "together_ai",
        "huggingface",
        "openrouter",
        "deepseek",
        "xai",
        "fireworks_ai",
        "perplexity",
        "cerebras",
        "deepinfra",
        "ai21",
        "ai21_chat",
        "nvidia_nim",
        "sambanova",
        "databricks",
        "watsonx",
        "replicate",
        "cloudflare",
        "github",
        "friendliai",
        "moonshot",
        "dashscope",
        "novita",
        "nebius",
        "litellm_proxy",
        "offline",
    }
)

# Bare model names: (prefix, provider), first match wins.
_BARE_FAMILIES: tuple[tuple[str, str], ...] = (
    ("ft:gpt", "openai"),
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-", "openai"),
    ("davinci", "openai"),
    ("babbage", "openai"),
    ("claude", "anthropic"),
    ("gemini-", "gemini"),
    ("mistral-", "mistral"),
    ("open-mistral", "mistral"),
    ("open-mixtral", "mistral"),
    ("codestral", "mistral"),
    ("command", "cohere"),
    ("deepseek-", "deepseek"),
    ("grok-", "xai"),
)

_EXTRA_ENV_VARS: dict[str, str] = {
    "text-completion-openai": "OPENAI_API_KEY",
    "custom_openai": "OPENAI_API_KEY",
    "azure_ai": "AZURE_AI_API_KEY",
    "cohere_chat": "COHERE_API_KEY",
    "codestral": "CODESTRAL_API_KEY",
    "perplexity": "PERPLEXITYAI_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
    "deepinfra": "DEEPINFRA_API_KEY",
    "ai21": "AI21_API_KEY",
    "ai21_chat": "AI21_API_KEY",
    "nvidia_nim": "NVIDIA_NIM_API_KEY",
    "sambanova": "SAMBANOVA_API_KEY",
    "replicate": "REPLICATE_API_KEY",
    "databricks": "DATABRICKS_API_KEY",
    "moonshot": "MOONSHOT_API_KEY",
    "novita": "NOVITA_API_KEY",
    "nebius": "NEBIUS_API_KEY",
    "github": "GITHUB_API_KEY",
    "friendliai": "FRIENDLI_TOKEN",
    "dashscope": "DASHSCOPE_API_KEY",
    "litellm_proxy": "LITELLM_PROXY_API_KEY",
}

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "ip6-localhost"})


def api_base_of(call_options: dict[str, Any] | None) -> str | None:
    if not call_options:
        return None
    base = call_options.get("api_base") or call_options.get("base_url")
    return str(base) if base else None


def provider_of(model: str, call_options: dict[str, Any] | None = None) -> str:
    """``"openai"``, ``"anthropic"``, ``"ollama"``, ..., ``"offline"``, or ``"unknown"``."""
    if is_offline(model):
        return "offline"
    explicit = (call_options or {}).get("custom_llm_provider")
    if explicit:
        return str(explicit)
    name = model.strip()
    if "/" in name:
        prefix = name.split("/", 1)[0].lower()
        if prefix in _KNOWN_PREFIXES:
            return prefix
    lowered = name.lower()
    for start, provider in _BARE_FAMILIES:
        if lowered.startswith(start):
            return provider
    if "/" in name:
        return name.split("/", 1)[0].lower()
    return "unknown"


def key_env_var(provider: str) -> str | None:
    """The environment variable holding ``provider``'s key, or None when it needs no key."""
    return PROVIDER_ENV_VARS.get(provider) or _EXTRA_ENV_VARS.get(provider)


def is_local_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname
    except ValueError:
        return False
    return host is not None and (host.lower() in _LOCAL_HOSTS or host.startswith("127."))


KEY_ENV_OPTION = "api_key_env"  # setting: the environment variable holding this model's key
KEY_KEYRING_OPTION = "api_key_keyring"  # setting: the OS keyring entry holding this model's key


def named_key_source(call_options: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """``(keyring entry, environment variable)`` a model's settings name for its key; both None
    when the settings name neither (the provider's own key, or none for a local server)."""
    options = call_options or {}
    entry = str(options.get(KEY_KEYRING_OPTION) or "").strip() or None
    env = str(options.get(KEY_ENV_OPTION) or "").strip() or None
    return entry, env


def needs_key(request: Any) -> bool:
    """Whether ``request`` (a ResolvedRequest) must be sent with an API key."""
    if is_offline(request.model):
        return False
    if any(named_key_source(request.call_options)):
        return True
    if is_local_url(api_base_of(request.call_options)):
        return False
    return key_env_var(provider_of(request.model, request.call_options)) is not None


# -- transport ------------------------------------------------------------------------------------

# Why a second transport: litellm (plus the OpenAI SDK under it) spends ~1 ms of CPU per streamed
# chunk building objects. bench/provider_stream.py, 100,000 tokens from the local test server
# (2-core machine): litellm ~124 s (~1 ms CPU per token), httpx reading the bytes 0.33 s, a
# hand-written httpx + json.loads client 1.06 s, openai_compat.py 0.59 s. A 1,000-token answer
# paced over 2 s cost 1.09 s of CPU through litellm against 0.32 s direct: CPU taken from the UI's
# event loop. OpenAI's chat-completions SSE is simple and shared by OpenAI and most local servers
# (Ollama's /v1, vLLM, LM Studio, llama.cpp), so those go through openai_compat.py (httpx + a small
# SSE parser); every other provider keeps litellm, which knows their APIs.
#
# What stays on litellm although the provider is "openai" (litellm does more than forward them):
# - model ids litellm's price table lists with another mode than "chat": "responses" models
#   (o1-pro, o3-pro, gpt-5-pro, *-codex, ...) that litellm bridges to the Responses API, and
#   "completion"/"embedding"/... models (gpt-3.5-turbo-instruct, davinci-002, ...);
# - "openai/responses/<model>", litellm's explicit Responses-API spelling;
# - GPT-5 models with tools/functions or a reasoning summary (litellm may bridge those to the
#   Responses API too);
# - call_options["transport"] == "litellm", which forces litellm for any model (a way around a
#   server the direct client mishandles; the tests use it to exercise litellm).
# Both transports share the retry loop, the error wording and the price table.
_GPT5 = re.compile(r"^gpt-5")
_LITELLM_ONLY_GPT5_SETTINGS = ("tools", "functions", "reasoning_summary")


# Models that do not chat: prompt-tui sends chat requests, so these fail at once with a plain
# reason instead of a provider error many seconds later. Names first (the price table does not
# list every id, e.g. "dall-e-3"), then the price table's "mode".
_NOT_CHAT_NAMES = (
    (re.compile(r"(^|/)(dall-e|gpt-image|imagen|stable-diffusion|sdxl|sd3|flux)", re.I), "image"),
    (re.compile(r"(^|/)(text-embedding|embed-|.*-embedding)", re.I), "embedding"),
    (re.compile(r"(^|/)(whisper|tts-)", re.I), "audio"),
)
_NOT_CHAT_MODES = {
    "image_generation": "image",
    "image_edit": "image",
    "embedding": "embedding",
    "audio_transcription": "audio",
    "audio_speech": "audio",
    "moderation": "moderation",
    "rerank": "rerank",
}


def unsupported_reason(model: str) -> str | None:
    """Why ``model`` cannot answer a prompt (an image, embedding or audio model), or None."""
    if is_offline(model):
        return None
    name = model.strip()
    kind = next((k for pattern, k in _NOT_CHAT_NAMES if pattern.search(name)), None)
    if kind is None:
        from . import pricing

        if pricing.is_loaded():
            kind = _NOT_CHAT_MODES.get(pricing.mode_of(openai_model_id(name)) or "")
    if kind is None:
        return None
    return (
        f"{kind} models are not supported: '{name}' does not answer chat prompts "
        "(pick a chat model)"
    )


def openai_model_id(model: str) -> str:
    """The id an OpenAI-compatible server gets: ``openai/<name>`` without the prefix."""
    name = model.strip()
    return name[len("openai/") :] if name.lower().startswith("openai/") else name


def uses_direct_openai(
    model: str, call_options: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
) -> bool:
    """Whether the call goes through the direct OpenAI-compatible client rather than litellm:
    provider ``openai`` (``gpt-*``, ``o3-mini``, ``openai/<any>`` with or without an
    ``api_base``), minus the cases listed above. Reads litellm's price table (via
    :mod:`.pricing`, without importing litellm): load it off the event loop first."""
    options = call_options or {}
    if str(options.get("transport") or "").lower() == "litellm":
        return False
    if is_offline(model) or provider_of(model, options) != "openai":
        return False
    name = openai_model_id(model)
    if not name or name.lower().startswith("responses/"):
        return False
    from . import pricing  # lazy: the price table is only read when a call is routed

    if pricing.mode_of(name, "openai") not in (None, "chat"):
        return False
    return not (
        _GPT5.match(name.lower())
        and any((settings or {}).get(k) for k in _LITELLM_ONLY_GPT5_SETTINGS)
    )


# -- native clients -------------------------------------------------------------------------------

# The big protocols get their own httpx clients (~0.02 ms of CPU per chunk, no 3-5 s import, the
# provider's own errors and finish reasons): Anthropic Messages, Gemini, Ollama's /api/chat,
# and the OpenAI-compatible client above. litellm serves every other provider (Bedrock, Vertex,
# Azure, Cohere, Mistral, ...) and any model whose settings say ``transport: litellm``.
NATIVE = ("anthropic", "gemini", "ollama")
_NATIVE_PROVIDERS = {
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
    "ollama_chat": "ollama",
}
Transport = str  # "offline" | "openai" | "anthropic" | "gemini" | "ollama" | "litellm"


def transport_for(
    model: str, call_options: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
) -> Transport:
    """Which client serves a call: ``"offline"``, ``"openai"`` (:mod:`.openai_compat`),
    ``"anthropic"``, ``"gemini"``, ``"ollama"`` (the native clients) or ``"litellm"``.
    ``transport: litellm`` in the model's settings forces litellm (not for offline models)."""
    if is_offline(model):
        return "offline"
    options = call_options or {}
    if str(options.get("transport") or "").lower() == "litellm":
        return "litellm"
    if uses_direct_openai(model, options, settings):
        return "openai"
    native = _NATIVE_PROVIDERS.get(provider_of(model, options))
    if native is None:
        return "litellm"
    name = model.strip()
    rest = name.split("/", 1)[1] if "/" in name else name
    if not rest.strip():
        return "litellm"  # "anthropic/": litellm's message for it
    return native


def _providers_in_price_table() -> frozenset[str]:
    from . import pricing

    found = {
        str(entry.get("litellm_provider")).split("-", 1)[0]
        for entry in pricing.load().values()
        if isinstance(entry, dict) and entry.get("litellm_provider")
    }
    return frozenset(found)


def unknown_model_reason(model: str, call_options: dict[str, Any] | None = None) -> str | None:
    """Why litellm would refuse ``model`` without knowing its provider, judged from the id alone
    (so a typo is refused at once, not after litellm's multi-second import): a bare name of no
    known family and no ``api_base``/``custom_llm_provider``, or a ``prefix/`` no provider uses.
    None when the id may be fine (the server judges the model name itself)."""
    options = call_options or {}
    if is_offline(model) or options.get("custom_llm_provider"):
        return None
    name = model.strip()
    provider = provider_of(name, options)
    if provider == "unknown":
        from . import pricing

        if pricing.entry_of(name) is not None:  # litellm knows it by name (e.g. a Groq model)
            return None
        if api_base_of(options):
            return (
                f"cannot tell the provider of model '{name}': write it as provider/model "
                f"(openai/{name} for an OpenAI-compatible server at that api_base)"
            )
        return (
            f"cannot tell the provider of model '{name}': write it as provider/model "
            f"(e.g. openai/{name}, anthropic/{name}, ollama/{name})"
        )
    if "/" in name and provider not in _KNOWN_PREFIXES:
        known = _KNOWN_PREFIXES | _providers_in_price_table()
        if provider in known:
            return None
        hint = did_you_mean(provider, sorted(known))
        return f"unknown provider '{provider}' in model '{name}'" + (f"; {hint}" if hint else "")
    return None
