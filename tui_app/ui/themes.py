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

from ..core.fileio import read_text

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


THEME_FILE_BYTES = 1 << 20  # a theme is a few colours


def read_theme_file(path: Path) -> Any:
    """The parsed YAML of a theme file (not yet checked)."""
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster
        text = read_text(path, limit=THEME_FILE_BYTES)  # the one reader: no FIFO, no /dev/zero
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, ValueError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        # path:line:col and the problem, as for a config (str(exc) names "<unicode string>")
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML"
        raise ThemeFileError(f"{where}: invalid YAML: {problem}") from None


def load_theme_file(path: Path, cache: ThemeCache | None = None) -> Theme:
    data = cache.get(path) if cache is not None else None
    if data is None:
        data = read_theme_file(path)
        if cache is not None:
            cache.put(path, data)
    return theme_from_mapping(data, str(path))


class ThemeCache:
    """Parsed theme files as JSON in the data dir, keyed by path, mtime and size.

    Importing PyYAML is a large share of startup (bench/startup.py); with every theme file
    unchanged since the last start, no YAML is parsed. Any problem with the cache falls back to the YAML files.
    """

    VERSION = 1

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, Any] = {}
        self.changed = False
        if path is None:
            return
        try:
            import json

            data = json.loads(read_text(path))
            if isinstance(data, dict) and data.get("version") == self.VERSION:
                entries = data.get("files")
                if isinstance(entries, dict):
                    self.entries = entries
        except (OSError, ValueError):
            pass

    @staticmethod
    def _key(path: Path) -> tuple[str, list[int]] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return str(path.resolve()), [stat.st_mtime_ns, stat.st_size]

    def get(self, path: Path) -> Any:
        key = self._key(path)
        if key is None:
            return None
        entry = self.entries.get(key[0])
        if isinstance(entry, dict) and entry.get("stamp") == key[1]:
            return entry.get("data")
        return None

    def put(self, path: Path, data: Any) -> None:
        key = self._key(path)
        if key is None or self.path is None:
            return
        self.entries[key[0]] = {"stamp": key[1], "data": data}
        self.changed = True

    def save(self) -> None:
        if not self.changed or self.path is None:
            return
        try:
            import json

            from ..core.fileio import atomic_write

            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps({"version": self.VERSION, "files": self.entries}, default=str)
            atomic_write(self.path, text)
            self.changed = False
        except (OSError, TypeError, ValueError):  # a cache: never in the way
            pass


def theme_cache_path() -> Path | None:
    try:
        from ..core import paths

        return paths.data_dir() / "theme-cache.json"
    except Exception:  # pragma: no cover - a broken user dir must not stop the app
        return None


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


# `t` goes through the shipped themes in the README's order, then the user's own by name.
SHIPPED_ORDER = ("prompt-dark", "prompt-light", "prompt-high-contrast", "prompt-amber")


def theme_cycle(names: Iterable[str]) -> list[str]:
    """The order `t` walks the themes loaded from theme files (Textual's own are in the palette)."""
    names = list(dict.fromkeys(names))
    shipped = [name for name in SHIPPED_ORDER if name in names]
    return shipped + sorted(name for name in names if name not in shipped)


def load_themes(
    dirs: Iterable[Path] | None = None, *, cache: ThemeCache | None = None
) -> tuple[list[Theme], list[str]]:
    """Every theme found (first of each name wins) and the problems met on the way.

    ``cache``: parsed files from an earlier start (default: the data dir's cache when ``dirs``
    is None, none otherwise).
    """
    if cache is None and dirs is None:
        cache = ThemeCache(theme_cache_path())
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in theme_dirs() if dirs is None else dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.y*ml")):
            try:
                theme = load_theme_file(path, cache)
            except ThemeFileError as exc:
                problems.append(str(exc))
                continue
            themes.setdefault(theme.name, theme)
    if cache is not None:
        cache.save()
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
