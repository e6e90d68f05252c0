"""The names of custom keyring entries (`keys set NAME --custom`), so that `keys list` and the
keys screen can show them: a keyring cannot be asked what it holds. Names only, never a key.

One JSON list in the data directory (``custom-keys.json``), written atomically.
"""

from __future__ import annotations

import json

from .paths import data_dir

FILE = "custom-keys.json"


def names() -> list[str]:
    try:
        raw = json.loads((data_dir() / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []


def _write(values: list[str]) -> None:
    from .fileio import atomic_write

    atomic_write(data_dir(create=True) / FILE, json.dumps(sorted(set(values))) + "\n")


def remember(name: str) -> None:
    if name not in names():
        _write([*names(), name])


def forget(name: str) -> None:
    if name in names():
        _write([n for n in names() if n != name])
