"""Export (`x`, the palette): the selected prompt's output or the whole run, to Markdown or JSON
beside the config file; or the output to the clipboard (OSC 52, where the terminal allows it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import PromptTuiError

CHOICES = [
    ("output-markdown", "Output → Markdown", "primary"),
    ("output-json", "Output → JSON", "default"),
    ("run-markdown", "Run → Markdown", "default"),
    ("run-json", "Run → JSON", "default"),
    ("copy", "Copy output", "default"),
]


class ExportMixin:
    """Mixed into MainScreen (needs app, config, session, selected, notify, _shown_text)."""

    app: Any
    config: Any
    session: Any
    selected: str | None
    notify: Any
    path: str
    _shown_text: Any

    def action_export(self, choice: str = "") -> None:
        if self.selected is None:
            self.notify("Select a prompt first.", severity="warning")
            return
        if choice:
            self.export(choice)
            return
        from .confirm import ConfirmScreen

        def answered(answer: str | None) -> None:
            if answer:
                self.export(answer)

        self.app.push_screen(
            ConfirmScreen(
                "Export",
                f"Export the output of '{self.selected}', or the whole run it was part of "
                "(every prompt's request, output and metrics), beside the config file.",
                CHOICES + [("cancel", "Cancel", "default")],
            ),
            answered,
        )

    def export(self, choice: str) -> Path | None:
        name = self.selected
        if name is None or choice == "cancel":
            return None
        if choice == "copy":
            text, _ = self._shown_text(name)
            if not text:
                self.notify("Nothing to copy: this prompt has no output yet.", severity="warning")
                return None
            self.app.copy_to_clipboard(text)
            self.notify(
                f"Copied {len(text):,} characters (OSC 52: needs a terminal that allows it)",
                timeout=3,
            )
            return None
        from ...core import export

        what, fmt_name = choice.split("-", 1)
        fmt: export.Format = "json" if fmt_name == "json" else "markdown"
        workspace = self.session.workspace
        run: Any = None
        if what == "output":
            names, title = [name], f"{self.config.name or 'prompt-tui'}: {name}"
        else:
            run = newest_run_with(workspace, name)
            if run is None:
                self.notify("No run in this session yet: r, R or a runs prompts.", timeout=3)
                return None
            names = [n for n in self.config.prompt_names if n in run.results]
            title = f"{self.config.name or 'prompt-tui'}: run of {run.describe()}"
        records = []
        for prompt in names:
            stored = self.config.get(prompt)
            result = workspace.last_result(prompt) if run is None else run.results.get(prompt)
            records.append(export.record_of(prompt, result, stored.output_text if stored else None))
        if not any(record.output for record in records):  # an empty file helps nobody
            self.notify(f"Nothing to export: {name} has no output yet.", severity="warning")
            return None
        target = export.export_path(Path(self.path), name if what == "output" else "run", fmt)
        try:
            export.write_export(target, export.render(fmt, title, records))
        except (OSError, PromptTuiError) as exc:
            self.notify(f"Cannot write {target}: {exc}", title="Export failed", severity="error")
            return None
        self.notify(f"Exported to {target}", title="Export", timeout=5)
        return target


def newest_run_with(workspace: Any, prompt: str) -> Any:
    """The newest run of this session that reached ``prompt`` (else the newest run)."""
    runs = list(workspace.runs.values())
    for run in reversed(runs):
        if prompt in run.results:
            return run
    return runs[-1] if runs else None
