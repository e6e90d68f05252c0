"""A one-line banner under the header: the file on disk is invalid or gone, and what the app is
showing instead. It stays until the file is valid again (not a toast that fades)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class ReloadBanner(Static):
    DEFAULT_CSS = """
    ReloadBanner {
        display: none;
        height: auto;
        padding: 0 1;
    }
    ReloadBanner.-shown {
        display: block;
    }
    ReloadBanner.-error {
        background: $error 30%;
        color: $text;
    }
    ReloadBanner.-warning {
        background: $warning 30%;
        color: $text;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.message = ""

    def show_problem(self, message: str, severity: str = "error") -> None:
        self.message = message
        text = Text(no_wrap=False)
        text.append("⚠ " if severity == "error" else "◌ ", "bold")
        text.append(message)
        self.update(text)
        self.set_class(severity == "error", "-error")
        self.set_class(severity != "error", "-warning")
        self.add_class("-shown")

    def clear(self) -> None:
        self.message = ""
        self.remove_class("-shown", "-error", "-warning")
        self.update("")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
