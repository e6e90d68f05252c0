"""Shown instead of the main screen when the config cannot be loaded: the error, where it is."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...core.fileio import read_bytes


def error_snippet(path: Path, line: int | None, col: int | None, context: int = 3) -> Text | None:
    """The lines around ``line`` with a caret under ``col`` (None when the file can't be read)."""
    if line is None:
        return None
    try:
        raw = read_bytes(path)
        lines = raw.decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not 1 <= line <= max(len(lines), 1):
        return None
    start, end = max(1, line - context), min(len(lines), line + context)
    width = len(str(end))
    text = Text()
    for number in range(start, end + 1):
        content = lines[number - 1] if lines else ""
        style = "bold" if number == line else "dim"
        text.append(f"{number:>{width}} │ ", "dim")
        text.append(content + "\n", style)
        if number == line and col is not None:
            text.append(" " * (width + 3 + max(col - 1, 0)) + "^\n", "bold red")
    return text


class LoadErrorScreen(Screen[None]):
    HELP = """\
### The config could not be loaded

The message names the file, the line and column, and where in the document the problem is.
Fix it in your editor: the file is loaded again when it is saved (or press `r`). `q` quits.
"""

    BINDINGS = [
        Binding("r", "app.reload", "Reload", id="error.reload", tooltip="Load the file again"),
        Binding("q", "app.quit", "Quit", id="error.quit"),
    ]

    def __init__(self, path: str, error: Exception) -> None:
        super().__init__(id="load-error-screen")
        self.path = path
        self.error = error

    def on_mount(self) -> None:
        self._watch_file()

    @work(group="watch", exclusive=True, description="watch the broken file for a fix")
    async def _watch_file(self) -> None:
        """A save of the file loads it again, as the main screen's live reload would."""
        from ...core.watch import ConfigWatcher, FileEventKind, digest_of

        try:  # the bytes that failed: not a change to report
            seen: str | None = digest_of(read_bytes(Path(self.path)))
        except OSError:
            seen = None
        watcher = ConfigWatcher(self.path, known_digest=lambda: seen)
        try:
            async for event in watcher.events():
                if event.kind is FileEventKind.CHANGED:
                    seen = event.digest
                    self.app.call_later(self.app.run_action, "reload")
        finally:
            watcher.stop()

    def on_screen_suspend(self) -> None:
        """The main screen is on top once the file loads: from then on it watches the file."""
        self.workers.cancel_group(self, "watch")

    def show_error(self, error: Exception) -> None:
        self.error = error
        self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        error = self.error
        with Vertical(id="load-error"):
            yield Static(f"Could not open {self.path}", id="load-error-title", markup=False)
            with VerticalScroll(id="load-error-body"):
                yield Static(Text(str(error)), id="load-error-message")
                problems = getattr(error, "errors", None) or [error]
                for problem in problems[:5]:
                    line, col = getattr(problem, "line", None), getattr(problem, "col", None)
                    source = getattr(problem, "source", None) or self.path
                    snippet = error_snippet(Path(source), line, col)
                    if snippet is not None:
                        location = getattr(problem, "location", None)
                        heading = f"{source}:{line}" + (f":{col}" if col else "")
                        if location:
                            heading += f"  ({location})"
                        yield Static(heading, classes="load-error-where", markup=False)
                        yield Static(snippet, classes="load-error-snippet", markup=False)
            yield Static(
                "Fix the file: it loads again when saved (r reloads now; q quits).",
                id="load-error-hint",
            )
        yield Footer()
