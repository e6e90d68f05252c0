"""Prices and modes from litellm's local price table, read without importing litellm.

litellm ships its price table as ``model_prices_and_context_window_backup.json`` inside the
package (it is the table litellm itself uses with ``LITELLM_LOCAL_MODEL_COST_MAP=True``). We find
the file with ``importlib.util.find_spec("litellm")``, which locates the package without running
it, and parse it once (~3 MB, ~40 ms: call :func:`load` from a thread the first time).
No litellm installed, or an unreadable file: every lookup answers None (cost unknown).

Cost = ``prompt_tokens * input_cost_per_token + completion_tokens * output_cost_per_token``, using
the ``*_above_<N>k_tokens`` rates when the prompt is longer than N thousand tokens (as litellm
does). Cache, batch, service-tier and audio prices are not applied: a stream's usage does not say
which of them applied.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from ..events import Usage
from ..fileio import read_bytes

__all__ = ["cost_of", "entry_of", "is_loaded", "load", "mode_of"]

TABLE_FILE = "model_prices_and_context_window_backup.json"
_TIER = re.compile(r"^input_cost_per_token_above_(\d+)(k?)_tokens$")

_lock = threading.Lock()
_table: dict[str, Any] | None = None
_loaded = False


def table_path() -> Path | None:
    """Where the installed litellm keeps its price table (None: litellm is not installed)."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / TABLE_FILE


def load() -> dict[str, Any]:
    """The price table, read once (thread-safe). Empty when it cannot be read."""
    global _table, _loaded
    if _loaded:
        return _table or {}
    with _lock:
        if not _loaded:
            table: dict[str, Any] = {}
            path = table_path()
            if path is not None:
                try:
                    data = json.loads(read_bytes(path))
                except (OSError, ValueError):
                    data = None
                if isinstance(data, dict):
                    table = data
            _table = table
            _loaded = True
    return _table or {}


def is_loaded() -> bool:
    return _loaded


def share(table: object) -> None:
    """Use ``table`` (litellm's ``model_cost``, which it read from the same file) instead of a
    copy of our own: once litellm is imported, two parses of the file would stay resident
    (megabytes: bench/memory.py). Only when litellm read the local file, not a fetched one."""
    global _table, _loaded
    if not isinstance(table, dict) or not table:
        return
    if os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "").lower() != "true":
        return
    with _lock:
        _table, _loaded = table, True


def _candidates(model: str, provider: str | None) -> list[str]:
    """Keys to try, in litellm's order: the id as given, without its provider prefix, then
    ``provider/id``."""
    keys = [model]
    bare = model
    if "/" in model:
        prefix, rest = model.split("/", 1)
        if provider is None or prefix.lower() == provider:
            bare = rest
            keys.append(rest)
    if provider and provider not in ("unknown", "offline"):
        keys.append(f"{provider}/{bare}")
    return list(dict.fromkeys(keys))


def entry_of(model: str, provider: str | None = None) -> dict[str, Any] | None:
    """The price-table row for ``model`` (see :func:`_candidates`), or None."""
    table = load()
    for key in _candidates(model, provider):
        entry = table.get(key)
        if isinstance(entry, dict):
            return entry
    return None


def mode_of(model: str, provider: str | None = None) -> str | None:
    """``"chat"``, ``"responses"``, ``"completion"``, ``"embedding"``, ... or None (unknown)."""
    entry = entry_of(model, provider)
    mode = entry.get("mode") if entry else None
    return mode if isinstance(mode, str) else None


def _rate(entry: dict[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def cost_of(
    model: str,
    usage: Usage | None,
    provider: str | None = None,
    rates: dict[str, Any] | None = None,
) -> float | None:
    """USD for ``usage`` on ``model``; None when the model or the token counts are unknown.
    ``rates``: the model's own ``input_cost_per_token`` / ``output_cost_per_token`` settings,
    which win over the table (a model it does not list, a negotiated price)."""
    if usage is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    stated = {
        key: float(value)
        for key, value in (rates or {}).items()
        if key in ("input_cost_per_token", "output_cost_per_token")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    }
    if stated:
        return int(usage.prompt_tokens) * stated.get("input_cost_per_token", 0.0) + int(
            usage.completion_tokens
        ) * stated.get("output_cost_per_token", 0.0)
    entry = entry_of(model, provider)
    if entry is None:
        return None
    input_rate = _rate(entry, "input_cost_per_token")
    output_rate = _rate(entry, "output_cost_per_token")
    if input_rate is None and output_rate is None:
        return None
    prompt, completion = int(usage.prompt_tokens), int(usage.completion_tokens)
    # Long-context tiers: the highest threshold the prompt exceeds sets both rates.
    best = 0
    for key in entry:
        match = _TIER.match(key)
        if match is None:
            continue
        threshold = int(match.group(1)) * (1000 if match.group(2) else 1)
        tier_in = _rate(entry, key)
        if best < threshold < prompt and tier_in is not None:
            best = threshold
            tier_out = _rate(entry, "output_cost_per_token" + key[len("input_cost_per_token") :])
            input_rate = tier_in
            output_rate = (
                tier_out if tier_out is not None else _rate(entry, "output_cost_per_token")
            )
    return prompt * (input_rate or 0.0) + completion * (output_rate or 0.0)
