"""`prompt-tui CONFIG`: open the TUI. Imports stay cheap: no litellm before the first frame."""

from __future__ import annotations


def launch(path: str) -> int:
    from .app import PromptTuiApp

    app = PromptTuiApp(path)
    result = app.run()
    return int(result or 0)
