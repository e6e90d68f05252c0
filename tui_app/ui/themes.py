"""Theme files (YAML) -> ``textual.theme.Theme``.

A theme file holds the fields of :class:`textual.theme.Theme` (``name``, ``primary``, ``dark``,
...) and a ``variables`` mapping of extra CSS variables. The app's own variables (``status-*``
for prompt states, ``source-*`` for parameter sources) have defaults derived from the theme's
base colours, so any Textual theme (built-in or from a file) works.

Where theme files are looked for, first found wins per theme name:
1. ``$PROMPT_TUI_HOME/themes`` or the user config dir's ``themes/`` (the user's own themes);
2. the repository's top-level ``themes/`` directory (a source checkout or editable install);
3. ``tui_app/themes`` inside an installed package (package data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.theme import Theme

# CSS variables the app defines on top of Textual's, with the base variable each falls back to.
APP_VARIABLES: dict[str, str] = {
    "status-idle": "text-muted",
    "status-queued": "secondary",
    "status-running": "primary",
    "status-done": "success",
    "status-cached": "accent",
    "status-stale": "warning",
    "status-failed": "error",
    "status-blocked": "warning",
    "status-cancelled": "text-muted",
    "source-run-time": "accent",
    "source-prompt": "success",
    "source-global": "primary",
    "source-output": "secondary",
    "source-missing": "error",
}

DEFAULT_DARK = "prompt-dark"
DEFAULT_LIGHT = "prompt-light"

_THEME_FIELDS = {f.name for f in dataclasses.fields(Theme)}


class ThemeFileError(ValueError):
    """A theme file that cannot be turned into a Theme."""


def theme_from_mapping(data: Any, source: str = "<theme>") -> Theme:
    """Build a Theme from a parsed theme file; unknown keys are refused with their name."""
    if not isinstance(data, dict):
        raise ThemeFileError(f"{source}: a theme file must be a mapping")
    unknown = sorted(set(data) - _THEME_FIELDS)
    if unknown:
        raise ThemeFileError(f"{source}: unknown theme keys: {', '.join(unknown)}")
    if not data.get("name") or not data.get("primary"):
        raise ThemeFileError(f"{source}: a theme needs at least 'name' and 'primary'")
    fields = dict(data)
    variables = fields.pop("variables", None) or {}
    if not isinstance(variables, dict):
        raise ThemeFileError(f"{source}: 'variables' must be a mapping")
    fields["variables"] = {str(k): str(v) for k, v in variables.items()}
    try:
        return Theme(**fields)
    except (TypeError, ValueError) as exc:
        raise ThemeFileError(f"{source}: {exc}") from None


def load_theme_file(path: Path) -> Theme:
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
    return theme_from_mapping(data, str(path))


def theme_dirs() -> list[Path]:
    """Directories that may hold theme files, highest priority first."""
    dirs: list[Path] = []
    try:
        from ..core import paths

        dirs.append(paths.config_dir() / "themes")
    except Exception:  # pragma: no cover - a broken user dir must not stop the app
        pass
    dirs.append(Path(__file__).resolve().parents[2] / "themes")
    # Package data of an installed wheel: tui_app/themes (a plain directory: no zip imports).
    dirs.append(Path(__file__).resolve().parents[1] / "themes")
    return dirs


def load_themes(dirs: Iterable[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """Every theme found (first of each name wins) and the problems met on the way."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in theme_dirs() if dirs is None else dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.y*ml")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                problems.append(str(exc))
                continue
            themes.setdefault(theme.name, theme)
    if DEFAULT_DARK not in themes:
        themes[DEFAULT_DARK] = FALLBACK_DARK
    return list(themes.values()), problems


# Used when no theme file can be found (a broken install): the app still starts, styled.
FALLBACK_DARK = Theme(
    name=DEFAULT_DARK,
    primary="#5FA8D3",
    secondary="#8E7CC3",
    accent="#F2B880",
    foreground="#D8DEE9",
    background="#14171C",
    surface="#1B1F26",
    panel="#232934",
    success="#8FC97A",
    warning="#E5C07B",
    error="#E06C75",
    dark=True,
)
