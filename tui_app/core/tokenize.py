"""Counting a request's input tokens before it is sent: exact where a local tokenizer exists for
the model's family, a marked approximation otherwise.

Exact: OpenAI models, with tiktoken's ``o200k_base`` / ``cl100k_base`` / ``p50k_base`` BPE files.
They are not downloaded: litellm's wheel ships them under ``litellm/litellm_core_utils/tokenizers``
(named like tiktoken's cache, the sha1 of the download URL), and we read them from there without
importing litellm (``importlib.util.find_spec`` finds the package without running it). Each file
is checked against tiktoken's own sha256 before use; a missing or altered file means "no exact
tokenizer" (the approximation), never a download.

A chat request is counted the way OpenAI bills it: each message costs 3 tokens of framing plus
its role and content (and 1 more with a ``name``), and every reply is primed with 3 more.

Approximation: 4 characters per token (OpenAI's rule of thumb for English), the same framing.

tiktoken is imported only when a count is first asked for (never on the startup path); building
an encoding takes a few hundred ms: do it off the UI loop (:func:`warm`).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "APPROX",
    "Counter",
    "counter_for",
    "encoding",
    "encoding_for_model",
    "shipped_encodings",
]

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# sha256 of each BPE file, as tiktoken_ext.openai_public checks them
_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "p50k_base": "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    "r50k_base": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
}
TOKENS_PER_MESSAGE = 3  # <|start|>{role}<|message|> ... <|end|>
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # <|start|>assistant<|message|>
CHARS_PER_TOKEN = 4
APPROX = "≈ chars/4"

_lock = threading.Lock()
_encodings: dict[str, tiktoken.Encoding | None] = {}


def tokenizer_dir() -> Path | None:
    """litellm's folder of tiktoken files, found without importing litellm."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"


def _file_of(name: str) -> Path | None:
    folder = tokenizer_dir()
    if folder is None or name not in _SHA256:
        return None
    path = folder / hashlib.sha1(_BLOB.format(name).encode()).hexdigest()
    return path if path.is_file() else None


def shipped_encodings() -> list[str]:
    """The encodings this installation can count exactly, offline."""
    return [name for name in _SHA256 if _file_of(name) is not None]


def _build(name: str) -> tiktoken.Encoding | None:
    path = _file_of(name)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != _SHA256[name]:
        return None
    try:
        import tiktoken
        from tiktoken_ext import openai_public
    except ImportError:
        return None
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    # tiktoken's own constructor gives the pattern and special tokens; its loader is the one
    # thing we replace (it would fetch the file when its cache folder lacks it)
    original = openai_public.load_tiktoken_bpe
    try:
        openai_public.load_tiktoken_bpe = lambda *_a, **_k: ranks
        spec = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(
        spec["name"],
        pat_str=spec["pat_str"],
        mergeable_ranks=spec["mergeable_ranks"],
        special_tokens=spec["special_tokens"],
    )


def encoding(name: str) -> tiktoken.Encoding | None:
    """The tiktoken encoding ``name`` built from the shipped file (once; thread-safe), or None."""
    if name in _encodings:
        return _encodings[name]
    with _lock:
        if name not in _encodings:
            _encodings[name] = _build(name)
    return _encodings[name]


def encoding_for_model(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model id (``openai/gpt-4o`` or ``gpt-4o``), or None."""
    bare = model.split("/", 1)[1] if model.lower().startswith("openai/") else model
    if "/" in bare:
        return None
    try:
        from tiktoken.model import encoding_name_for_model
    except ImportError:
        return None
    try:
        return encoding_name_for_model(bare)
    except KeyError:
        return None


@dataclass
class Counter:
    """Counts tokens for one model family; ``exact`` says whether the count is the provider's."""

    method: str  # the encoding's name, or APPROX
    exact: bool
    _enc: tiktoken.Encoding | None = field(default=None, repr=False)
    _memo: dict[str, int] = field(default_factory=dict, repr=False)

    def text(self, text: str) -> int:
        found = self._memo.get(text)
        if found is None:
            if self._enc is not None:
                found = len(self._enc.encode(text, disallowed_special=()))
            else:
                found = math.ceil(len(text) / CHARS_PER_TOKEN)
            if len(self._memo) < 100_000:  # chat history repeats the same texts
                self._memo[text] = found
        return found

    def messages(self, messages: Iterable[Mapping[str, Any]]) -> tuple[int, bool]:
        """(input tokens of a chat request, exact?). Content that is not text (images, tool
        calls) is counted by its JSON text and makes the count approximate."""
        total, exact = REPLY_PRIMING, self.exact
        for message in messages:
            total += TOKENS_PER_MESSAGE
            for key, value in message.items():
                if value is None:
                    continue
                if isinstance(value, str):
                    total += self.text(value)
                    if key == "name":
                        total += TOKENS_PER_NAME
                elif key == "content" and isinstance(value, list):
                    for part in value:
                        if isinstance(part, Mapping) and part.get("type") == "text":
                            total += self.text(str(part.get("text", "")))
                        else:
                            total += self.text(_json(part))
                            exact = False
                else:
                    total += self.text(_json(value))
                    exact = False
        return total, exact


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


_counters: dict[str, Counter] = {}


def counter_for(model: str, provider: str | None = None) -> Counter:
    """The counter for a model: exact for OpenAI's families when the file is shipped, else the
    approximation. ``provider`` is the routing's provider name (only "openai" is exact)."""
    name = encoding_for_model(model) if provider in (None, "openai") else None
    key = name or APPROX
    found = _counters.get(key)
    if found is None:
        enc = encoding(name) if name else None
        found = Counter(name, True, enc) if enc is not None and name else Counter(APPROX, False)
        _counters[found.method] = found
        _counters[key] = found
    return found


def warm(models: Iterable[str] = ("gpt-4o",)) -> None:
    """Build the encodings these models need (a thread's job: a few hundred ms each)."""
    for model in models:
        counter_for(model)
