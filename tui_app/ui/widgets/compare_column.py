"""One column of the comparison screen: its answer (optionally with the words that differ from
another column highlighted), then its metrics (chain mode: each step, then totals)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...core import display
from ...core.compare import ColumnMetrics, word_diff
from ...core.jsondiff import diff_answers
from ...core.runs import PromptStatus
from ..markup import plain
from .stream_view import StreamView


def metrics_text(m: ColumnMetrics, chain: bool) -> str:
    lines = []
    if chain and len(m.steps) > 1:
        for name, step in m.steps.items():
            lines.append(
                f"{name[:14]:<14} {step.status.value:<9} {display.seconds(step.latency):>7} "
                f"{display.tokens(step.tokens_in, step.tokens_out):>7} "
                f"{display.cost(step.cost, offline=step.offline)}"
            )
        lines.append("── totals")
    # one figure a line: three columns at 80 columns leave ~22 cells, where two a line wrapped
    lines.append(f"ttft     {display.seconds(m.ttft)}")
    lines.append(f"latency  {display.seconds(m.latency)}")
    lines.append(f"tokens   {display.tokens(m.tokens_in, m.tokens_out)}")
    lines.append(f"speed    {display.rate(m.tokens_per_s)}")
    lines.append(f"cost     {display.cost(m.cost, offline=m.offline)}")
    return "\n".join(lines)


def shown_answer(m: ColumnMetrics) -> tuple[str, str]:
    """(step, text) to show: the last step's answer, or while a chain streams, the step that
    has got furthest (so the column shows progress)."""
    for name, step in reversed(m.steps.items()):
        if step.text:
            return name, step.text
    return (next(reversed(m.steps), "")), ""


class CompareColumn(Widget, can_focus=True):
    """A column; :meth:`show` redraws it only when what it shows changed."""

    DEFAULT_CSS = """
    CompareColumn {
        width: 1fr;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $foreground;
        border-subtitle-color: $foreground-muted;
    }
    CompareColumn:focus {
        border: round $primary;
        border-title-style: bold;
    }
    CompareColumn.-failed {
        border-subtitle-color: $error;
    }
    CompareColumn > VerticalScroll, CompareColumn > StreamView {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    CompareColumn > VerticalScroll {
        display: none;
    }
    CompareColumn.-diff > VerticalScroll {
        display: block;
    }
    CompareColumn.-diff > StreamView {
        display: none;
    }
    CompareColumn > .metrics {
        height: auto;
        padding: 0 1;
        border-top: solid $panel-lighten-2;
        color: $foreground-muted;
    }
    """

    def __init__(self, index: int, label: str, *, chain: bool, last_step: str) -> None:
        super().__init__(id=f"column-{index}")
        self.index = index
        self.label = label
        self.chain = chain
        self.last_step = last_step
        self._shown: tuple[object, ...] = ()
        self.text = ""
        self.status = PromptStatus.QUEUED
        self.highlighted: list[str] = []  # the words shown as different from the diff base
        self._metrics = ""
        self._streamed = ""  # what the StreamView holds
        self._view = StreamView()
        self._diff_view = Static("", classes="answer", markup=False)
        self._metrics_view = Static("", classes="metrics", markup=False)  # step names in it
        self.set_title(base=False)

    def set_title(self, *, base: bool) -> None:
        title = f"{self.index + 1} {self.label}" + ("  (diff base)" if base else "")
        self.border_title = plain(title)

    def compose(self) -> ComposeResult:
        # the answer streams into a StreamView (appends cost only the new text, no layout); the
        # word diff, drawn when asked, is a Static in a scroll view shown instead
        yield self._view
        with VerticalScroll():
            yield self._diff_view
        yield self._metrics_view

    def show(self, m: ColumnMetrics, diff_base: str | None) -> bool:
        """Draw ``m``; False when nothing changed since the last draw (or nothing to draw on:
        the screen is closing)."""
        if not self.is_attached:
            return False
        step, text = shown_answer(m)
        metrics = metrics_text(m, self.chain)
        key = (text, step, m.status, diff_base, metrics)
        if key == self._shown:
            return False
        self._shown = key
        self.text, self.status = m.text, m.status
        prefix = f"[{step}]\n" if self.chain and step and step != self.last_step else ""
        self.highlighted = []
        if not text and m.error:
            text, prefix = m.error, ""
        self.set_class(diff_base is not None, "-diff")
        if diff_base is not None:
            body = Text(prefix, style="dim")
            by_path = diff_answers(diff_base, text)
            if by_path is not None:  # two JSON answers: compared by path, not by words
                body.append(
                    "the same JSON value\n" if by_path.same else "JSON, compared by path:\n",
                    style="dim",
                )
                for line in by_path.lines():
                    body.append(line + "\n", style="reverse")
                    self.highlighted.append(line)
                body.append("\n" + text)
            else:
                for piece, changed in word_diff(diff_base, text):
                    body.append(piece, style="reverse" if changed else "")
                    if changed:
                        self.highlighted.append(piece.strip())
            self._diff_view.update(body)
        else:
            self._stream(prefix + text)
        if metrics != self._metrics:
            self._metrics = metrics
            self._metrics_view.update(metrics)
        subtitle = m.status.value
        if m.error and m.status not in (PromptStatus.DONE, PromptStatus.CACHED):
            subtitle += f": {m.error}"
        self.border_subtitle = plain(subtitle[:70])
        self.set_class(m.status is PromptStatus.FAILED, "-failed")
        return True

    def _stream(self, text: str) -> None:
        """Show ``text``: append what is new when it extends what is shown (streaming)."""
        view = self._view
        shown = self._streamed
        if text.startswith(shown):
            view.append(text[len(shown) :])
        else:
            view.set_text(text)
        self._streamed = text
