"""The parameter form for the selected prompt: its model, model settings and every parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.markup import escape
from textual.widgets import Input, Label, Static

from ...core.param_sources import ParamSource
from ..colors import theme_style
from ..messages import ParameterEdited, ParameterWriteRequested, SettingEdited
from ..values import (
    format_value,
    from_input_text,
    is_multiline,
    parse_parameter,
    parse_setting,
    short,
    to_input_text,
)


@dataclass
class ParamRow:
    name: str
    value: Any
    source: ParamSource
    file_value: Any = None  # the value without the run-time override (for "revert")
    of: str | None = None  # the prompt whose output or input it is
    empty: str = "(not run yet)"  # shown when an upstream output has no value (failed, running)

    @property
    def label(self) -> str:
        return f"{self.source.value} of {self.of}" if self.of else self.source.value

    @property
    def editable(self) -> bool:
        return self.source not in (ParamSource.OUTPUT, ParamSource.INPUT) and "." not in self.name


@dataclass
class FormData:
    prompt: str
    model: str | None
    model_source: str  # "prompt" | "default" | "none"
    offline: bool = False
    settings: list[tuple[str, Any, str]] = field(default_factory=list)  # key, value, source
    params: list[ParamRow] = field(default_factory=list)
    error: str | None = None


def _short_source(source: str) -> str:
    """Sources fit a narrow column: "output of summarize" -> "output"."""
    return source.split(" of ", 1)[0]


def _source_var(source: str) -> str:
    """The theme variable colouring a source."""
    short_source = _short_source(source)
    if short_source in ("output", "input"):
        return "source-output"
    if short_source == "model":
        return "source-global"
    if short_source in ("default", "none"):
        return "foreground-muted"
    return f"source-{short_source.replace(' ', '-')}"


class ParamForm(VerticalScroll):
    """Edits here are run-time overrides (parameters) or changes to the prompt (model settings)."""

    HELP = """\
### Parameters

Every value the selected prompt reads, with where it comes from: **global**, **prompt**,
**run-time** (typed here), an upstream **output**, or **missing** (running refuses until it has a
value).

Typing a value makes it a *run-time override* for the next runs and marks the prompts that read it
stale. `ctrl+o` writes it into the file as a prompt parameter, `ctrl+g` as a global parameter,
`ctrl+r` drops the override.

Model settings (temperature, max_tokens, ...) are validated as you type and change the prompt
itself (saved with `ctrl+s`). `m` or the model button picks another model.
"""

    BINDINGS = [
        Binding(
            "ctrl+o",
            "write('prompt')",
            "→prompt",
            id="param.write_prompt",
            tooltip="Write this value into the file as a parameter of the prompt",
        ),
        Binding(
            "ctrl+g",
            "write('global')",
            "→global",
            id="param.write_global",
            tooltip="Write this value into the file as a global parameter",
        ),
        Binding(
            "ctrl+r",
            "revert",
            "Revert",
            id="param.revert",
            tooltip="Drop the run-time override of this parameter",
        ),
        Binding("escape", "leave", "Back", show=False),
    ]

    def __init__(
        self,
        *,
        id: str | None = None,
        classes: str | None = None,
        pending: bool = False,
        data: FormData | None = None,
    ) -> None:
        """``pending``: compose straight into the placeholder :meth:`show_pending` draws;
        ``data``: compose straight into a prompt's form."""
        super().__init__(id=id, classes=classes)
        self.data: FormData | None = data
        self._rows: dict[str, ParamRow] = {}  # input id -> row
        self._settings: dict[str, str] = {}  # input id -> setting key
        self._texts: dict[str, str] = {}  # input id -> the text last drawn or reported
        # the inputs of the latest drawing: a Changed event from an input of an earlier one
        # (queued while the form was redrawn for another prompt) must not edit this prompt
        self._inputs: dict[str, Input] = {}
        self._multiline: set[str] = set()  # inputs whose value has line breaks (written \\n)
        self._pending = pending
        self._recomposing = False
        self._focus_request: str | None = None
        self.can_focus = False

    @property
    def drawn(self) -> bool:
        """A prompt's form is on screen (not the placeholder, not mid-recompose)."""
        return self.data is not None and not self._recomposing

    def show_pending(self) -> None:
        """Before the first frame the template engine is not loaded yet: the form comes next."""
        if self._pending and self.data is None:
            return  # the placeholder is already there (or on its way): no recompose
        self.data = None
        self._pending = True
        self._recomposing = True
        self.refresh(recompose=True)

    def show(self, data: FormData | None, *, focus: str | None = None) -> None:
        """Draw the form for a prompt (rebuilds the widgets); ``focus``: a parameter to focus."""
        self.data = data
        self._pending = False
        self._rows = {}
        self._settings = {}
        self._texts = {}
        self._inputs = {}
        self._multiline = set()
        self._recomposing = True
        self.refresh(recompose=True)
        if focus is not None:
            self.request_focus(focus)

    def request_focus(self, name: str = "") -> None:
        """Focus a parameter's input (``""``: the first input) once the form is drawn.

        While the form recomposes, its old inputs are about to go: focusing one would drop the
        focus, and the keys typed next, on another pane.
        """
        if self._recomposing:
            self._focus_request = name
            return
        self._focus_now(name)

    def _focus_now(self, name: str) -> None:
        found = self.focus_parameter(name) if name else self.focus_first_input()
        if not found and not name:
            self.notify("This prompt has nothing to edit here.", timeout=2)

    def _composed(self) -> None:
        self._recomposing = False
        request, self._focus_request = self._focus_request, None
        if request is not None:
            self._focus_now(request)

    def compose(self) -> ComposeResult:
        self.call_after_refresh(self._composed)  # runs once the new widgets are mounted
        data = self.data
        if data is None:
            yield Static("…" if self._pending else "No prompt selected.", classes="form-empty")
            return
        yield Label("Parameters", classes="form-section")
        if data.error:
            yield Static(data.error, classes="form-error")
        if not data.params:
            yield Static("This prompt reads no parameters.", classes="form-empty")
        for index, row in enumerate(data.params):
            input_id = f"param-{index}"
            self._rows[input_id] = row
            self._texts[input_id] = to_input_text(row.value)
            with Container(classes="form-row" + (" missing" if row.source == "missing" else "")):
                yield Label(
                    self._head(row.name, row.label), id=f"{input_id}-src", classes="form-head"
                )
                if row.editable:
                    field = Input(
                        to_input_text(row.value),
                        id=input_id,
                        compact=True,
                        classes="form-input",
                        placeholder="missing: type a value" if row.source == "missing" else "",
                    )
                    self._inputs[input_id] = field
                    if is_multiline(row.value):
                        self._multiline.add(input_id)
                        field.tooltip = "Several lines: \\n stands for a line break"
                    yield field
                else:
                    yield Static(
                        short(row.value, 200) if row.value is not None else row.empty,
                        classes="form-readonly",
                        markup=False,
                    )
        yield Label("Model", classes="form-section")
        with Container(classes="form-row model-row"):
            yield Label(self._head("model", data.model_source), classes="form-head")
            model = escape(data.model or "(none: set a model)")
            note = "  (offline)" if data.offline else ""
            yield Static(
                f"[@click=screen.model][b]{model}[/b]{note}  [dim]m: change[/dim][/]",
                id="model-button",
                classes="model-button",
            )
        for index, (key, value, source) in enumerate(data.settings):
            input_id = f"setting-{index}"
            self._settings[input_id] = key
            self._texts[input_id] = format_value(value)
            with Container(classes="form-row"):
                yield Label(self._head(key, source), id=f"{input_id}-src", classes="form-head")
                self._inputs[input_id] = Input(
                    format_value(value),
                    id=input_id,
                    placeholder="unset",
                    compact=True,
                    classes="form-input",
                )
                yield self._inputs[input_id]
            # The whole message on its own lines (a head of one line cut it: "temperature must")
            error_line = Static("", id=f"{input_id}-err", classes="form-error", markup=False)
            error_line.display = False
            yield error_line

    def _head(self, name: str, source: str, error: bool = False) -> Text:
        """``name  source`` on one line, the source in its colour (run-time, global, missing...)."""
        key = "source-missing" if error else _source_var(source)
        style = theme_style(self.app, key, "foreground-muted")
        text = Text(no_wrap=True, overflow="ellipsis")
        missing = source == "missing"
        text.append(f"{name:<15} ", theme_style(self.app, key, bold=True) if missing else Style())
        text.append(source if error else _short_source(source), style)
        return text

    # --- events -------------------------------------------------------------------------------
    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        input_id = event.input.id or ""
        if self._inputs.get(input_id) is not event.input:
            return  # an input of an earlier drawing (another prompt's form): not an edit here
        if self._texts.get(input_id) == event.value:
            return  # not an edit: the form was just drawn
        self._texts[input_id] = event.value
        if input_id in self._rows:
            row = self._rows[input_id]
            text = from_input_text(event.value) if input_id in self._multiline else event.value
            value = parse_parameter(text, row.file_value)
            row.source, row.of = ParamSource.RUNTIME, None
            row.value = value
            self._set_source(input_id, "run-time")
            self.post_message(ParameterEdited(row.name, value))
        elif input_id in self._settings and self.data is not None:
            key = self._settings[input_id]
            value, error = parse_setting(key, event.value)
            label = self.query_one(f"#{input_id}-src", Label)
            event.input.set_class(error is not None, "-invalid")
            error_line = self.query_one(f"#{input_id}-err", Static)
            error_line.update(error or "")
            error_line.display = error is not None
            if error:
                label.update(self._head(key, "invalid", error=True))
                return
            label.update(self._head(key, "prompt" if value is not None else "default"))
            self.post_message(SettingEdited(self.data.prompt, key, value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    def _set_source(self, input_id: str, source: str) -> None:
        row = self._rows.get(input_id)
        for label in self.query(f"#{input_id}-src").results(Label):
            label.update(self._head(row.name if row else "", source))
            parent = label.parent
            if parent is not None and source != "missing":
                parent.remove_class("missing")

    def _focused_row(self) -> tuple[str, ParamRow] | None:
        focused = self.screen.focused
        if isinstance(focused, Input) and focused.id in self._rows:
            return focused.id, self._rows[focused.id]
        return None

    def action_write(self, scope: str) -> None:
        found = self._focused_row()
        if found is None:
            self.notify("Put the cursor on a parameter first.", severity="warning")
            return
        self.post_message(ParameterWriteRequested(found[1].name, scope))

    def action_revert(self) -> None:
        found = self._focused_row()
        if found is None:
            return
        input_id, row = found
        if row.source != "run-time":
            return
        self.post_message(ParameterEdited(row.name, None))

    def action_leave(self) -> None:
        """escape: cancels a run in flight (as everywhere), else goes back to the tree."""
        screen: Any = self.screen
        if getattr(self.app, "has_active_run", False) and hasattr(screen, "action_cancel"):
            screen.action_cancel()
        elif hasattr(screen, "action_focus_tree"):
            screen.action_focus_tree()

    def focus_first_input(self) -> bool:
        for widget in self.query(Input):
            if widget.id in self._rows:
                widget.focus()
                return True
        for widget in self.query(Input):
            widget.focus()
            return True
        return False

    def focus_parameter(self, name: str) -> bool:
        for input_id, row in self._rows.items():
            if row.name == name:
                self.query_one(f"#{input_id}", Input).focus()
                return True
        return False
