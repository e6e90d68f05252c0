"""The user's settings file (``settings.json`` in the config dir, or ``$PROMPT_TUI_HOME``).

The one module that knows that file: the chosen theme and key remapping. Reading never fails
(a missing or broken file gives the defaults and a problem to show); writing is atomic and keeps
keys this version does not know.

    {
      "theme": "prompt-light",
      "keymap": {"main.run": "r,f5", "app.theme": "ctrl+t"}
    }

``keymap`` maps a binding id (listed in the key map, ``?``) to comma-separated keys; it is given
to Textual's ``App.set_keymap``.

Money (USD; see ``prompt-tui estimate``):

- ``max_cost``: the budget of every run when ``--max-cost`` is not given (CLI ``run``,
  ``compare``, ``run --watch``, and the TUI): a run whose high estimate exceeds it is refused
  before anything is sent, and a run stops before a step that would cross it.
- ``confirm_cost_above``: the TUI asks before a run whose high estimate is above this amount.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import fileio, paths

# a settings file holds a few choices; anything larger is not one
MAX_SETTINGS_BYTES = 1 << 20


@dataclass
class Settings:
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    max_cost: float | None = None  # USD: the default budget of a run (--max-cost)
    confirm_cost_above: float | None = None  # USD: the TUI asks before a run that could cost more
    extra: dict[str, Any] = field(default_factory=dict)  # keys kept as they were
    problem: str | None = None  # why the file could not be used (shown once, never fatal)


_KNOWN = ("theme", "keymap", "max_cost", "confirm_cost_above")


def settings_file() -> Path:
    return paths.settings_path()


def load(path: Path | None = None) -> Settings:
    path = path or settings_file()
    try:
        text = fileio.read_bytes(path, limit=MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        return Settings(problem=f"{path}: cannot read: {exc.strerror}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Settings(problem=f"{path}: not valid JSON ({exc}); using the defaults")
    if not isinstance(data, dict):
        return Settings(problem=f"{path}: expected a JSON object; using the defaults")
    settings = Settings(extra={k: v for k, v in data.items() if k not in _KNOWN})
    for key in ("max_cost", "confirm_cost_above"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            setattr(settings, key, float(value))
        else:
            settings.problem = f"{path}: '{key}' must be an amount in USD (a number, at least 0)"
    theme = data.get("theme")
    if isinstance(theme, str) and theme:
        settings.theme = theme
    keymap = data.get("keymap")
    if isinstance(keymap, dict):
        settings.keymap = {str(k): str(v) for k, v in keymap.items() if isinstance(v, str)}
        bad = [str(k) for k, v in keymap.items() if not isinstance(v, str)]
        if bad:
            settings.problem = f"{path}: keymap values must be text ('r,f5'): {', '.join(bad)}"
    elif keymap is not None:
        settings.problem = f"{path}: 'keymap' must be an object of binding id -> keys"
    return settings


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings (atomically, the folder private to the user)."""
    from .fileio import atomic_write

    path = path or paths.settings_path(create_dir=True)
    data: dict[str, Any] = dict(settings.extra)
    if settings.theme:
        data["theme"] = settings.theme
    if settings.keymap:
        data["keymap"] = dict(settings.keymap)
    for key in ("max_cost", "confirm_cost_above"):
        if getattr(settings, key) is not None:
            data[key] = getattr(settings, key)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def remember_theme(theme: str) -> str | None:
    """Keep ``theme`` for the next start; returns a problem to show, or None."""
    current = load()
    if current.problem and "not valid JSON" in current.problem:
        return f"{current.problem}: the theme was not saved (fix or remove the file)"
    current.theme = theme
    try:
        save(current)
    except OSError as exc:
        return f"cannot save settings: {exc}"
    return None
