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
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
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


_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_FLAG_FIELDS = ("dark", "ansi")
_NUMBER_FIELDS = ("luminosity_spread", "text_alpha")
# "auto 87%", "#fff 50%": a colour (or auto) with an alpha, as Textual's own defaults write it
_ALPHA_COLOUR = re.compile(r"^(?P<colour>\S+)\s+(?P<percent>\d{1,3}(?:\.\d+)?)%$")


@cache
def _variable_defaults() -> dict[str, str]:
    """Every CSS variable a theme may set, with Textual's value for it (its kind)."""
    defaults = dict(FALLBACK_DARK.to_color_system().generate())
    defaults.update({name: "#000000" for name in APP_VARIABLES})
    return defaults


def _is_colour(value: str, *, alpha: bool = False, auto: bool = False) -> bool:
    match = _ALPHA_COLOUR.match(value) if alpha else None
    if match is not None:
        value = match["colour"]
        if float(match["percent"]) > 100:
            return False
    if auto and value == "auto":
        return True
    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


def variable_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be theme variable ``name`` (None: it can)."""
    defaults = _variable_defaults()
    if name not in defaults:
        return f"unknown variable '{name}'"
    if not isinstance(value, str):
        return f"variable '{name}' must be a string, not {_kind(value)}"
    default = defaults[name]
    if _is_colour(default):
        if not _is_colour(value):
            return f"variable '{name}': '{value}' is not a colour"
    elif name.endswith("-style"):
        words = value.split()
        if not words or any(word not in VALID_STYLE_FLAGS for word in words):
            return f"variable '{name}': '{value}' is not a text style"
    elif default == "initial":
        if value != "initial" and not _is_colour(value):
            return f"variable '{name}': '{value}' is not a colour"
    elif not _is_colour(value, alpha=True, auto=True):
        return f"variable '{name}': '{value}' is not a colour"
    return None


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _field_problem(key: str, value: object) -> str | None:
    """Why ``value`` cannot be the theme field ``key`` (None: it can)."""
    if key == "name":
        if not isinstance(value, str) or not value.strip():
            return "'name' must be a non-empty string"
        if "[" in value:  # Textual's own theme picker reads the name as markup
            return f"'name' cannot hold '[': {value!r}"
    elif key in _COLOUR_FIELDS:
        if value is None and key != "primary":
            return None
        if not isinstance(value, str):
            return f"'{key}' must be a colour string, not {_kind(value)}"
        if not _is_colour(value):
            return f"'{key}': '{value}' is not a colour"
    elif key in _FLAG_FIELDS:
        if not isinstance(value, bool):
            return f"'{key}' must be true or false, not {value!r}"
    elif key in _NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"'{key}' must be a number, not {value!r}"
        if not 0 <= value <= 1:
            return f"'{key}' must be between 0 and 1, not {value!r}"
    elif key == "variables" and value is not None and not isinstance(value, dict):
        return "'variables' must be a mapping"
    return None


def theme_from_mapping(data: Any, source: str = "<theme>") -> Theme:
    """Build a Theme from a parsed theme file, every field and variable checked (a bad colour
    would otherwise only fail when the theme is switched on, inside Textual). A problem names
    ``source``:line:col of the key when ``source`` is a readable YAML file."""
    if not isinstance(data, dict):
        raise ThemeFileError(f"{source}: a theme file must be a mapping")
    unknown = sorted(set(data) - _THEME_FIELDS, key=str)
    if unknown:
        raise ThemeFileError(f"{_where(source, unknown[0])}: unknown theme key '{unknown[0]}'")
    missing = [key for key in ("name", "primary") if key not in data]
    if missing:
        needs = " and ".join(f"'{key}'" for key in missing)
        raise ThemeFileError(f"{_where(source)}: a theme needs {needs}")
    for key, value in data.items():
        problem = _field_problem(key, value)
        if problem:
            raise ThemeFileError(f"{_where(source, key)}: {problem}")
    fields = dict(data)
    variables = fields.pop("variables", None) or {}
    for name, value in variables.items():
        problem = variable_problem(str(name), value)
        if problem:
            raise ThemeFileError(f"{_where(source, 'variables', name)}: {problem}")
    fields["variables"] = {str(k): str(v) for k, v in variables.items()}
    try:
        return Theme(**fields)
    except (TypeError, ValueError) as exc:
        raise ThemeFileError(f"{source}: {exc}") from None


def _where(source: str, *keys: object) -> str:
    """``source:line:col`` of the value at ``keys`` in a YAML file (``source`` alone when it cannot
    be found). Only a broken theme gets here: the file is read again, for its positions."""
    try:
        import yaml

        node = yaml.compose(read_text(Path(source), limit=THEME_FILE_BYTES), Loader=yaml.SafeLoader)
    except Exception:  # no file (a mapping from elsewhere), or it changed: the name alone
        return source
    if node is None:
        return source
    mark = node.start_mark
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        found = [(k, v) for k, v in node.value if k.value == str(key)]
        if not found:
            break
        mark = found[-1][0].start_mark
        node = found[-1][1]
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


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
