"""Rate an answer: a score (👍 / 👎 or 0..1), a comment and the text it should have been."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..widgets.line_input import LineInput

_UP = {"+", "up", "👍", "good", "1"}
_DOWN = {"-", "down", "👎", "bad", "0"}


@dataclass(frozen=True)
class RateAnswer:
    score: float | None
    comment: str | None
    expected: str | None


def parse_score(text: str) -> tuple[float | None, str | None]:
    """(score, problem): ``+``/``up``/``👍`` 1, ``-``/``down``/``👎`` 0, a number in 0..1,
    nothing: no score."""
    word = text.strip().lower()
    if not word:
        return None, None
    if word in _UP:
        return 1.0, None
    if word in _DOWN:
        return 0.0, None
    try:
        value = float(word)
    except ValueError:
        return None, "score: + or -, 👍 or 👎, or a number from 0 to 1"
    if not 0.0 <= value <= 1.0:
        return None, "score: a number from 0 (bad) to 1 (good)"
    return value, None


class RateScreen(ModalScreen[RateAnswer | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, *, score: str = "", comment: str = "", expected: str = ""):
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.values = (score, comment, expected)

    def compose(self) -> ComposeResult:
        score, comment, expected = self.values
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield LineInput(score, placeholder="score: + / - / 0..1", id="rate-score")
            yield LineInput(comment, placeholder="comment (why)", id="rate-comment")
            yield LineInput(expected, placeholder="expected answer (optional)", id="rate-expected")
            yield Static(
                "enter: next / save   escape: cancel",
                classes="dialog-hint",
                id="rate-hint",
                markup=False,
            )

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id != "rate-expected":
            self.focus_next()
            return
        score, problem = parse_score(self.query_one("#rate-score", Input).value)
        if problem:
            hint = self.query_one("#rate-hint", Static)
            hint.update(problem)
            hint.add_class("dialog-error")
            self.query_one("#rate-score", Input).focus()
            return
        comment = self.query_one("#rate-comment", Input).value.strip() or None
        expected = self.query_one("#rate-expected", Input).value.strip() or None
        self.dismiss(RateAnswer(score, comment, expected))
