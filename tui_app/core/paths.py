"""Where prompt-tui keeps its own files.

``$PROMPT_TUI_HOME`` (when set and not empty) holds everything: settings and data. Otherwise the
platform's user directories are used (on Linux ``~/.local/share/prompt-tui`` for data and
``~/.config/prompt-tui`` for settings, following ``XDG_*`` variables).

Nothing here touches the file system unless asked: every function computes a path, and creates
its directory only with ``create=True``. Importing this module has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "prompt-tui"
HOME_ENV = "PROMPT_TUI_HOME"

SETTINGS_FILE = "settings.json"
HISTORY_FILE = "history.sqlite3"


def _override() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    if not value:
        return None
    return Path(value).expanduser().absolute()


PRIVATE_DIR_MODE = 0o700  # prompts, answers and settings are nobody else's business


def _ensure(path: Path, create: bool) -> Path:
    if create:
        make_private_dir(path)
    return path


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by the user only: the folder is created
    0700, never created open and tightened afterwards. An existing folder is left as it is."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)


def home(*, create: bool = False) -> Path:
    """``$PROMPT_TUI_HOME`` if set, else the platform's user data directory for prompt-tui."""
    override = _override()
    if override is not None:
        return _ensure(override, create)
    import platformdirs  # a cheap import, but only paid by callers that need a path

    return _ensure(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)), create)


def data_dir(*, create: bool = False) -> Path:
    """Directory for data prompt-tui writes itself (the history database)."""
    return home(create=create)


def config_dir(*, create: bool = False) -> Path:
    """Directory for user settings: ``$PROMPT_TUI_HOME`` if set, else the user config dir."""
    override = _override()
    if override is not None:
        return _ensure(override, create)
    import platformdirs

    return _ensure(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)), create)


def settings_path(*, create_dir: bool = False) -> Path:
    """``settings.json`` in :func:`config_dir` (the file itself is never created here)."""
    return config_dir(create=create_dir) / SETTINGS_FILE


def history_path(*, create_dir: bool = False) -> Path:
    """``history.sqlite3`` in :func:`data_dir` (the file itself is never created here)."""
    return data_dir(create=create_dir) / HISTORY_FILE


# --- the installed package: samples to copy out, never a place to write -----------------------
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../tui_app (site-packages when installed)


def samples_dir() -> Path | None:
    """The shipped samples: ``tui_app/sample_configs`` in a wheel, ``sample_configs/`` beside the
    package in a checkout. None when neither is there."""
    for candidate in (PACKAGE_DIR / "sample_configs", PACKAGE_DIR.parent / "sample_configs"):
        if candidate.is_dir():
            return candidate
    return None


def in_package(path: Path) -> bool:
    """True for a path inside the installed package (a wheel's samples and themes live there):
    nothing is ever written there (``prompt-tui samples DIR`` copies the samples out)."""
    try:
        Path(os.path.realpath(path)).relative_to(PACKAGE_DIR)
    except ValueError:
        return False
    return True
