"""Recently used model names (for the model picker), kept in prompt-tui's data directory."""

from __future__ import annotations

import json

from ..core.fileio import read_text

LIMIT = 10
FILE = "recent_models.json"


def _path():  # noqa: ANN202 - a Path; imported lazily
    from ..core.paths import data_dir

    return data_dir() / FILE


def load_recent() -> list[str]:
    try:
        data = json.loads(read_text(_path(), limit=1 << 20))
    except (OSError, ValueError):
        return []
    return [str(x) for x in data if isinstance(x, str)][:LIMIT] if isinstance(data, list) else []


def remember(model: str) -> None:
    models = [model] + [m for m in load_recent() if m != model]
    try:
        path = _path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(models[:LIMIT]), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only loses the list
