"""Choose a comparison's columns (2-6 models, each optionally with its own settings) and its
mode; and pick a past comparison from the history to reopen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ...core.compare import MAX_COLUMNS, MIN_COLUMNS, Column, ColumnSpecError
from ..markup import plain, styled
from ..widgets.line_input import LineInput
from .model_picker import model_options


@dataclass(frozen=True)
class CompareChoice:
    columns: list[Column]
    chain: bool


# (columns, chain mode) -> a line per column (its estimate), after a line for the shared
# upstream when it must run first; computed in a thread worker (it resolves and tokenizes)
ColumnEstimator = Callable[[list[Column], bool], list[str]]


@dataclass
class ColumnEstimates(Message):
    """What each column would cost, for the columns and mode in ``key``."""

    key: tuple[tuple[str, ...], bool]
    lines: list[str]


class CompareSetupScreen(ModalScreen[CompareChoice | None]):
    # The model list gives way on a small terminal: the keys line and chain mode stay on screen
    # (at 80x24 they were below the dialog's edge).
    DEFAULT_CSS = """
    CompareSetupScreen #compare-options { height: 1fr; min-height: 3; }
    CompareSetupScreen #compare-columns, CompareSetupScreen .dialog-hint { height: auto; }
    """

    HELP = f"""\
### Compare models

Add {MIN_COLUMNS}-{MAX_COLUMNS} columns. Type to filter the models (the config's, recently used,
offline) and press `enter` to add the highlighted one, or type any litellm id. A column can have
its own settings: `gpt-4o-mini temperature=0.9` (values parse as JSON: numbers, true, "text").
`@HEAD~1` (any git revision) is the file as committed there, with the prompt's own model; `@` the
file as edited: the same prompt (or chain) as committed and as edited, side by side.
`ctrl+d` removes the last column, `ctrl+t` toggles chain mode (the prompt's downstream runs
per column too), `ctrl+r` (or `enter` on an empty line) starts.
"""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("ctrl+d", "remove_last", "Remove last"),
        Binding("ctrl+t", "toggle_chain", "Chain mode"),
        Binding("ctrl+r", "start", "Compare"),
    ]

    def __init__(
        self,
        prompt: str,
        *,
        current: Column | None,
        downstream: list[str],
        config_models: list[str],
        recent: list[str],
        offline: list[str],
        estimate: ColumnEstimator | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.estimate = estimate
        self.estimates: tuple[tuple[tuple[str, ...], bool], list[str]] | None = None
        self.prompt = prompt
        self.downstream = downstream
        self.columns: list[Column] = [current] if current is not None else []
        self.groups = [("config", config_models), ("recent", recent), ("offline", offline)]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker", id="compare-setup"):
            yield Static(
                styled("Compare models on [b]$prompt[/b]", prompt=self.prompt),
                classes="dialog-title",
            )
            yield Static("", id="compare-columns")
            yield LineInput(placeholder="model [key=value ...]", id="compare-model", compact=True)
            yield OptionList(id="compare-options")
            chain = Checkbox(
                self._chain_label(False),
                value=False,
                id="compare-chain",
                disabled=not self.downstream,
                compact=True,
            )
            yield chain
            yield Static(
                "enter: add column   ctrl+d: remove last   ctrl+t: chain   ctrl+r: compare   "
                "escape: cancel",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self._fill("")
        self._show_columns()
        self.query_one(Input).focus()

    def _key(self) -> tuple[tuple[str, ...], bool]:
        return tuple(c.label for c in self.columns), self.query_one(Checkbox).value

    def _show_columns(self) -> None:
        key = self._key()
        known = self.estimates[1] if self.estimates and self.estimates[0] == key else None
        if self.estimate is not None and self.columns and known is None:
            self.run_worker(
                partial(self._estimate_columns, list(self.columns), key),
                thread=True,
                exclusive=True,
                group="compare-estimate",
                description="estimate the columns",
                exit_on_error=False,
            )
        if self.columns:
            extra = known[: len(known) - len(self.columns)] if known else []
            rows = [styled("[dim]$line[/dim]", line=line) for line in extra]
            for i, c in enumerate(self.columns):
                cost = known[len(extra) + i] if known else "estimating…"
                rows.append(
                    styled("$n. $label  [dim]$cost[/dim]", n=i + 1, label=c.label, cost=cost)
                )
            text = Content("Columns:\n") + Content("\n").join(rows)
        else:
            text = Content("Columns: none yet")
        need = MIN_COLUMNS - len(self.columns)
        if need > 0:
            text += styled("\n[dim]add $need more[/dim]", need=need)
        self.query_one("#compare-columns", Static).update(text)

    def _estimate_columns(self, columns: list[Column], key: tuple[tuple[str, ...], bool]) -> None:
        assert self.estimate is not None
        try:
            lines = self.estimate(columns, key[1])
        except Exception as exc:  # a plan that cannot be made: say why instead of a figure
            lines = [f"no estimate: {exc}"] * len(columns)
        if not get_current_worker().is_cancelled:
            self.post_message(ColumnEstimates(key, lines))

    @on(ColumnEstimates)
    def _estimated(self, message: ColumnEstimates) -> None:
        message.stop()
        if message.key == self._key():
            self.estimates = (message.key, message.lines)
            self._show_columns()

    @on(Checkbox.Changed)
    def _mode_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._show_columns()

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        words = text.split()
        needle = words[0].lower() if words else ""
        items: list[Option] = []
        if len(words) > 1 or (
            needle and needle not in {n.lower() for _, names in self.groups for n in names}
        ):
            items.append(Option(plain(f'use "{text.strip()}"'), id=f"spec:{text.strip()}"))
        items += model_options(self.groups, needle, "spec")
        options.add_options(items)
        if items:
            options.highlighted = 0

    @on(Input.Changed, "#compare-model")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    @on(Input.Submitted, "#compare-model")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.action_start()
            return
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self._add(options.get_option_at_index(options.highlighted).id or "")
        else:
            self._add(f"spec:{event.value.strip()}")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._add(event.option.id or "")

    def _add(self, option_id: str) -> None:
        spec = option_id.removeprefix("spec:")
        if not spec:
            return
        if len(self.columns) >= MAX_COLUMNS:
            self.notify(f"At most {MAX_COLUMNS} columns.", severity="warning")
            return
        try:
            self.columns.append(Column.parse(spec))
        except ColumnSpecError as exc:
            self.notify(str(exc), severity="error")
            return
        field = self.query_one(Input)
        field.value = ""
        self._show_columns()

    def action_remove_last(self) -> None:
        if self.columns:
            self.columns.pop()
            self._show_columns()

    def _chain_label(self, on: bool) -> Content:
        """The box says on or off in words: its mark looks the same both ways without colour."""
        if not self.downstream:
            return plain("chain mode: off (no prompt reads this one)")
        if on:
            return plain(f"chain mode: ON, also run {', '.join(self.downstream)}")
        return plain(f"chain mode: off (ctrl+t also runs {', '.join(self.downstream)})")

    @on(Checkbox.Changed, "#compare-chain")
    def _chain_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = self._chain_label(event.value)

    def action_toggle_chain(self) -> None:
        box = self.query_one(Checkbox)
        if not box.disabled:
            box.value = not box.value

    def action_start(self) -> None:
        if len(self.columns) < MIN_COLUMNS:
            self.notify(f"Add at least {MIN_COLUMNS} columns.", severity="warning")
            return
        self.dismiss(CompareChoice(list(self.columns), self.query_one(Checkbox).value))

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not options.option_count:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))


class PastComparisonsScreen(ModalScreen[str | None]):
    """The config's recent comparisons (from the history); enter reopens one."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows  # (group id, description)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Static("Past comparisons", classes="dialog-title")
            yield OptionList(
                *[Option(plain(text), id=group) for group, text in self.rows], id="past-options"
            )
            yield Static("enter: open   escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if options.option_count:
            options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
