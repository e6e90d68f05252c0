"""Attachments: AIConfig input ``{data, attachments: [{data, mime_type}]}`` as chat content parts.

An attachment's ``data`` is a file path (relative to the config file), an ``http(s)`` URL, a
``data:`` URL or plain base64; it is a template too (``"{{photo}}"`` bound to a path, so datasets
can vary it). Kinds sent: images (PNG, JPEG, GIF, WebP) as ``image_url`` parts, PDF as ``file``
parts (OpenAI's shape); anything else is refused by name. Every problem names the prompt and
the attachment (``prompts[2].input.attachments[0]``) and is raised before anything is sent.

A local file is not read while resolving: the request holds a ``file://`` URL whose fragment
carries its type and a digest of its content (the cache key and staleness see a changed file),
and :func:`materialize` turns it into a ``data:`` URL right before sending. So the request view,
the history and the cache key never hold a base64 wall, and a file over the limit is refused from
its size alone (``stat``), never read into memory.

Whether a model accepts a kind of input is the caller's question (:func:`.providers.capabilities.
model_accepts` reads litellm's model table).
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .display import plural
from .errors import ConfigError
from .fileio import read_bytes

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "AttachmentError",
    "AttachmentInfo",
    "content_parts",
    "describe_part",
    "elide",
    "infos",
    "materialize",
]

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # 20 MB: OpenAI's limit for one image
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
FILE_TYPES = frozenset({"application/pdf"})
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")
_DIGEST_BLOCK = 1 << 20


class AttachmentError(ConfigError):
    """An attachment that cannot be sent (missing, too large, unsupported, or the model cannot
    take it). Raised before anything is sent."""


@dataclass(frozen=True)
class AttachmentInfo:
    """One attachment as the form and Info show it."""

    name: str
    mime_type: str
    size: int | None  # bytes; None for a URL
    source: str  # "file", "url", "base64"
    problem: str | None = None

    def describe(self) -> str:
        size = _size_text(self.size) if self.size is not None else "size unknown"
        text = f"{self.name} ({self.mime_type}, {size})"
        return f"{text}: {self.problem}" if self.problem else text


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return plural(size, "byte")


_digests: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def _digest(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of a file's content (streamed; remembered by path, size and mtime)."""
    key = (str(path), size, mtime_ns)
    with _digest_lock:
        found = _digests.get(key)
    if found is not None:
        return found
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_DIGEST_BLOCK):
            sha.update(block)
    digest = sha.hexdigest()[:32]
    with _digest_lock:
        if len(_digests) > 256:
            _digests.clear()
        _digests[key] = digest
    return digest


def _part(mime: str, url: str, name: str) -> dict[str, Any]:
    if mime in FILE_TYPES:
        return {"type": "file", "file": {"filename": name, "file_data": url}}
    return {"type": "image_url", "image_url": {"url": url}}


def _kind_word(mime: str) -> str:
    return "PDF files" if mime in FILE_TYPES else "images"


def content_parts(
    attachments: Any,
    *,
    prompt: str,
    location: str,
    base_dir: Path,
    model: str,
    source: str,
    render: Callable[[str], str],
    accepts: Callable[[str, str], bool | None],
) -> tuple[list[dict[str, Any]], list[AttachmentInfo]]:
    """The content parts for a prompt's attachments (raises AttachmentError naming the first
    problem, with its location). ``accepts(model, mime)``: whether the model takes that kind of
    input (None: unknown, sent)."""
    parts: list[dict[str, Any]] = []
    infos: list[AttachmentInfo] = []
    if attachments is None:
        return parts, infos
    if not isinstance(attachments, list):
        raise AttachmentError(
            f"prompt '{prompt}': attachments must be a list of {{data, mime_type}}",
            source=source,
            location=location,
        )
    for index, item in enumerate(attachments):
        where = f"{location}[{index}]"

        def fail(why: str, where: str = where, number: int = index + 1) -> AttachmentError:
            return AttachmentError(
                f"prompt '{prompt}', attachment {number}: {why}", source=source, location=where
            )

        given = item.get("mime_type") if isinstance(item, dict) else None
        mime = given.strip().lower() if isinstance(given, str) and given.strip() else None
        raw = _data_text(item.get("data") if isinstance(item, dict) else None, mime)
        if raw is None:
            raise fail("must be an object with data (a path, URL or base64) and mime_type")
        data = render(raw).strip()
        part, info = _one(data, mime, base_dir, fail)
        if info.mime_type not in IMAGE_TYPES | FILE_TYPES:
            raise fail(
                f"{info.name}: unsupported type {info.mime_type} (images: PNG, JPEG, GIF, WebP;"
                " files: PDF)"
            )
        if accepts(model, info.mime_type) is False:
            raise fail(
                f"{info.name}: model '{model}' cannot take {_kind_word(info.mime_type)} "
                "(litellm's model info says so); pick a model that can (m), or remove it"
            )
        parts.append(part)
        infos.append(info)
    return parts, infos


def _data_text(data: Any, mime: str | None) -> str | None:
    """An attachment's data as one string: a string as is; the SDK's ``{kind: "file_uri",
    value}`` as its URI, ``{kind: "base64", value}`` as a data: URL."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("value"), str):
        value: str = data["value"]
        if data.get("kind") == "base64" and not value.startswith("data:"):
            return f"data:{mime or 'application/octet-stream'};base64,{value}"
        return value
    return None


def infos(
    attachments: Any, *, base_dir: Path, render: Callable[[str], str]
) -> list[AttachmentInfo]:
    """Each attachment as the form and Info show it (name, type, size), a problem included
    instead of raised. Nothing is read but the file's size."""
    out: list[AttachmentInfo] = []
    if not isinstance(attachments, list):
        return out
    for index, item in enumerate(attachments):
        given = item.get("mime_type") if isinstance(item, dict) else None
        mime = given.strip().lower() if isinstance(given, str) and given.strip() else None
        raw = _data_text(item.get("data") if isinstance(item, dict) else None, mime)
        if raw is None:
            out.append(AttachmentInfo(f"attachment {index + 1}", "?", None, "?", "no data"))
            continue
        try:
            data = render(raw).strip()
        except Exception as exc:  # a template error: said where the attachment is listed
            out.append(AttachmentInfo(raw[:40], "?", None, "?", str(exc)))
            continue

        def fail(why: str) -> AttachmentError:
            return AttachmentError(why)

        try:
            _, info = _one(data, mime, base_dir, fail, digest=False)
        except AttachmentError as exc:
            out.append(AttachmentInfo(data[:60], mime or "?", None, "?", exc.message))
            continue
        if info.mime_type not in IMAGE_TYPES | FILE_TYPES:
            info = AttachmentInfo(
                info.name, info.mime_type, info.size, info.source, "unsupported type"
            )
        out.append(info)
    return out


def _one(
    data: str,
    mime: str | None,
    base_dir: Path,
    fail: Callable[[str], AttachmentError],
    *,
    digest: bool = True,
) -> tuple[dict[str, Any], AttachmentInfo]:
    limit = _size_text(MAX_ATTACHMENT_BYTES)
    if data.startswith("data:"):
        header, _, payload = data.partition(",")
        found = header[5:].split(";", 1)[0].strip().lower()
        mime = mime or found or "application/octet-stream"
        size = len(payload) * 3 // 4
        if size > MAX_ATTACHMENT_BYTES:
            raise fail(f"inline data is {_size_text(size)}, over the {limit} limit")
        if ";base64" not in header:
            raise fail("a data: URL must be base64 (data:TYPE;base64,...)")
        url = f"data:{mime};base64,{payload}"
        return _part(mime, url, "inline data"), AttachmentInfo("inline data", mime, size, "base64")
    if data.startswith(("http://", "https://")):
        name = urlsplit(data).path.rsplit("/", 1)[-1] or data
        mime = mime or mimetypes.guess_type(urlsplit(data).path)[0] or "image/jpeg"
        if mime in FILE_TYPES:
            raise fail(f"{name}: a PDF by URL cannot be sent; download it and give its path")
        return _part(mime, data, name), AttachmentInfo(name, mime, None, "url")
    raw_path = unquote(urlsplit(data).path) if data.startswith("file://") else data
    path = Path(os.path.expanduser(raw_path))
    if not path.is_absolute():
        path = base_dir / path
    try:
        stat = path.stat()
    except (OSError, ValueError):
        stat = None
    if stat is None:
        if not data.startswith("file://") and len(data) >= 64 and _BASE64.match(data):
            if not mime:
                raise fail("base64 data needs a mime_type (image/png, ...)")
            size = len(data) * 3 // 4
            if size > MAX_ATTACHMENT_BYTES:
                raise fail(f"base64 data is {_size_text(size)}, over the {limit} limit")
            payload = "".join(data.split())
            url = f"data:{mime};base64,{payload}"
            return _part(mime, url, "base64 data"), AttachmentInfo(
                "base64 data", mime, size, "base64"
            )
        raise fail(f"no such file: {data} (looked for {path})")
    if not path.is_file():
        raise fail(f"{data} is not a file")
    mime = mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if stat.st_size > MAX_ATTACHMENT_BYTES:
        raise fail(f"{path.name} is {_size_text(stat.st_size)}, over the {limit} limit")
    info = AttachmentInfo(path.name, mime, stat.st_size, "file")
    if mime not in IMAGE_TYPES | FILE_TYPES or not digest:
        return {}, info  # the caller names the type
    try:
        sha = _digest(path, stat.st_size, stat.st_mtime_ns)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    url = f"{path.resolve().as_uri()}#type={quote(mime, safe='/')}&sha256={sha}"
    return _part(mime, url, path.name), info


def _file_url(part: dict[str, Any]) -> str | None:
    if part.get("type") == "image_url":
        inner = part.get("image_url")
        url = inner.get("url") if isinstance(inner, dict) else None
    elif part.get("type") == "file":
        inner = part.get("file")
        url = inner.get("file_data") if isinstance(inner, dict) else None
    else:
        return None
    return url if isinstance(url, str) and url.startswith("file://") else None


def _data_url(url: str) -> str:
    parts = urlsplit(url)
    path = Path(unquote(parts.path))
    query = parse_qs(parts.fragment)
    mime = (query.get("type") or [""])[0] or mimetypes.guess_type(path.name)[0] or ""
    try:
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(
                f"{path.name} is {_size_text(size)}, over the "
                f"{_size_text(MAX_ATTACHMENT_BYTES)} limit for an attachment"
            )
        blob = read_bytes(path, limit=MAX_ATTACHMENT_BYTES)  # the one reader: regular files only
    except OSError as exc:
        raise AttachmentError(f"cannot read attachment {path}: {exc.strerror or exc}") from None
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def materialize(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with every local-file part turned into a ``data:`` URL (what providers take).
    Messages without such parts are returned as they are (no copy)."""
    if not any(
        isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and _file_url(p) for p in m["content"])
        for m in messages
        if isinstance(m, dict)
    ):
        return messages
    out = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            out.append(message)
            continue
        parts = []
        for part in content:
            url = _file_url(part) if isinstance(part, dict) else None
            if url is None:
                parts.append(part)
            elif part["type"] == "image_url":
                parts.append({**part, "image_url": {**part["image_url"], "url": _data_url(url)}})
            else:
                parts.append({**part, "file": {**part["file"], "file_data": _data_url(url)}})
        out.append({**message, "content": parts})
    return out


def describe_part(part: dict[str, Any]) -> str:
    """A content part for people: text as is, an attachment as where it goes (never its bytes)."""
    kind = part.get("type")
    if kind == "text":
        return str(part.get("text", ""))
    url = _file_url(part)
    if url is not None:
        path = Path(unquote(urlsplit(url).path))
        mime = (parse_qs(urlsplit(url).fragment).get("type") or ["?"])[0]
        try:
            size = _size_text(path.stat().st_size)
        except OSError:
            size = "missing"
        return f"[{kind}: {path} ({mime}, {size}) sent inline as base64]"
    inner = part.get("image_url") if kind == "image_url" else part.get("file")
    raw = ""
    if isinstance(inner, dict):
        raw = str(inner.get("url") or inner.get("file_data") or "")
    if raw.startswith("data:"):
        header = raw.split(",", 1)[0]
        return f"[{kind}: {header}, {_size_text(len(raw) * 3 // 4)} inline]"
    return f"[{kind}: {raw}]"


def elide(value: Any) -> Any:
    """A copy of a request's JSON with every ``data:`` URL cut to its header (request views)."""
    return _copy_elided(value)


def _copy_elided(value: Any) -> Any:
    # iterative copy: a request is shallow, but a hostile message may not be
    result: Any
    if isinstance(value, str):
        return _elide_text(value)
    if not isinstance(value, dict | list):
        return value
    result = {} if isinstance(value, dict) else []
    todo: list[tuple[Any, Any]] = [(value, result)]
    while todo:
        src, dst = todo.pop()
        items = src.items() if isinstance(src, dict) else enumerate(src)
        for key, item in items:
            if isinstance(item, dict | list):
                child: Any = {} if isinstance(item, dict) else []
                todo.append((item, child))
            else:
                child = _elide_text(item) if isinstance(item, str) else item
            if isinstance(dst, dict):
                dst[key] = child
            else:
                dst.append(child)
    return result


def _elide_text(text: str) -> str:
    if text.startswith("data:") and len(text) > 120:
        header = text.split(",", 1)[0]
        return f"{header},… ({_size_text(len(text) * 3 // 4)} elided)"
    return text
