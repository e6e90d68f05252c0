"""Recently used models (the model picker's "recent"), kept in prompt-tui's data directory.

The list is shared by every file, so it holds what any file can use: the model id a run sent
(never a file's own alias from ``metadata.models``, which means nothing elsewhere: "thread-0"
from one file failed in another), with its ``api_base`` when it went to a server of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.fileio import atomic_write, read_text
from ..core.runs import PromptStatus
from ..core.secrets import scrub_text

if TYPE_CHECKING:
    from ..core.config import AIConfig
    from ..core.runs import PromptResult, Run

LIMIT = 10
FILE = "recent_models.json"


def _path() -> Path:
    from ..core.paths import data_dir  # platformdirs: not on the first frame

    return data_dir() / FILE


def load_recent() -> list[str]:
    try:
        data = json.loads(read_text(_path(), limit=1 << 20))
    except (OSError, ValueError):
        return []
    return [str(x) for x in data if isinstance(x, str)][:LIMIT] if isinstance(data, list) else []


def recent_for(config: AIConfig) -> list[str]:
    """The recent models this file can run: a name that no provider claims is offered only
    where the file defines it (lists written by earlier versions held other files' aliases)."""
    from ..core.providers.routing import provider_of

    usable = []
    for spec in load_recent():
        model = spec.split(" ", 1)[0]
        if model in config.models or provider_of(model) != "unknown":
            usable.append(spec)
    return usable


def spec_of(result: PromptResult) -> str | None:
    """How a result's model is written for any file: the id sent, and its own server."""
    request = result.request
    model = (request.model if request is not None else "") or result.model
    if not model or " " in model:
        return None
    base: Any = request.call_options.get("api_base") if request is not None else None
    if not base:
        return model
    base = str(base)
    if scrub_text(base) != base or " " in base:  # a password in the URL stays out of the file
        return None
    return f"{model} api_base={base}"


def remember_run(run: Run) -> None:
    """Put the models that answered in ``run`` first in the list (never a failed id: a
    mistyped one must not come back as a suggestion)."""
    worked: list[str] = []
    for result in run.results.values():
        spec = spec_of(result) if result.status is PromptStatus.DONE else None
        if spec and spec not in worked:
            worked.append(spec)
    if not worked:
        return
    models = worked + [m for m in load_recent() if m not in worked]
    try:
        path = _path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(models[:LIMIT]))
    except OSError:
        pass  # a read-only home only loses the list
