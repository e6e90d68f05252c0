"""The parameter form for the selected prompt: its model, model settings and every parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from ...core.param_sources import ParamSource
from ..colors import theme_style
from ..markup import plain, styled
from ..messages import ParameterEdited, ParameterWriteRequested, SettingEdited
from ..values import (
    from_input_text,
    is_multiline,
    parse_parameter,
    parse_setting,
    short,
    to_input_text,
)
from .form_slots import ParamSlot, SettingSlot, set_value


@dataclass
class ParamRow:
    name: str
    value: Any
    source: ParamSource
    file_value: Any = None  # the value without the run-time override (for "revert")
    of: str | None = None  # the prompt whose output or input it is
    empty: str = "(not run yet)"  # shown when an upstream output has no value (failed, running)
    meant: str = ""  # a missing parameter's likely spelling ("did you mean 'city'?")

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
    # the prompt's attachments, one line each: name (type, size), or what is wrong with it
    attachments: list[str] = field(default_factory=list)


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


GRID_WIDTH = 50  # a form this wide puts a row's head beside its value; narrower, above it
HEAD_COLUMN = 27  # the grid's head column (app.tcss: ParamForm.-grid grid-columns)
MODEL_HINT = "m: change"  # after the model, when its line has room


def form_title(name: str, width: int) -> str:
    """The form's border title: "Parameters · NAME", or the name alone when both do not fit
    (the name is what tells prompts apart: "Parameters · neighbourhoo…" cut it)."""
    full = f"Parameters · {name}"
    room = width - 6  # the corners and the spaces around the title
    return full if width <= 0 or len(full) <= room else name


class ParamForm(VerticalScroll):
    """Edits here are run-time overrides (parameters) or changes to the prompt (model settings)."""

    HELP = """\
### Parameters

Every value the selected prompt reads, with where it comes from: **global**, **prompt**,
**run-time** (typed here), an upstream **output**, or **missing** (running refuses until it has a
value).

Typing a value makes it a *run-time override* for the next runs and marks the prompts that read it
stale. `ctrl+o` writes it into the file as a prompt parameter, `ctrl+g` as a global parameter,
`ctrl+r` drops the override. `f2` edits the value in a multi-line editor (a value with line
breaks shows them as \\n in its one-line field).

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
        Binding(
            "f2",  # ctrl+e is the input's own "end of line"
            "edit_value",
            "Editor",
            id="param.editor",
            tooltip="Edit this value in a multi-line editor (a diff, a document)",
        ),
        Binding("escape", "leave", "Back", show=False),
    ]

    def __init__(
        self,
        *,
        id: str | None = None,
        classes: str | None = None,
        data: FormData | None = None,
        width: int = 0,
    ) -> None:
        """``data``: compose straight into a prompt's form (the first frame shows it);
        ``width``: the pane's width when known before it is laid out (its final shape at once)."""
        super().__init__(id=id, classes=classes)
        self.data: FormData | None = data
        self._rows: dict[str, ParamRow] = {}  # input id -> row
        self._settings: dict[str, str] = {}  # input id -> setting key
        self._texts: dict[str, str] = {}  # input id -> the text last drawn or reported
        self._inputs: dict[str, Input] = {}  # input id -> the input showing it now
        self._multiline: set[str] = set()  # inputs whose value has line breaks (written \\n)
        # (prompt, setting) -> (text, why) typed but not valid: shown again, and a run refused,
        # until it is fixed (leaving the field used to put the old value back without a word)
        self.invalid: dict[tuple[str, str], tuple[str, str]] = {}
        # Widgets are reused from one prompt to the next (a recompose of the form was most of
        # what a selection cost): rows are filled in place, extra ones hidden.
        self._param_slots: list[ParamSlot] = []
        self._setting_slots: list[SettingSlot] = []
        self._params_head = Label("Parameters", classes="form-section")
        # the prompt's error, else "reads no parameters": one widget for either
        self._note = Static("", classes="form-empty", markup=False)
        self._attachments_head = Label("Attachments", classes="form-section")
        self._attachments = Static("", classes="form-attachments", markup=False)
        self._model_head = Label("Model", classes="form-section")
        self._model_label = Label("", classes="form-head")
        self._model_button = Static("", id="model-button", classes="model-button")
        self._shown: dict[int, str | Text | Content] = {}  # id(widget) -> the content it shows
        self._mounting = 0  # rows added for this prompt and not mounted yet
        self._focus_request: str | None = None
        self._names = (15, 7)  # (longest name, widest source) of the form's heads
        # each head drawn: its widget -> (name, source, error), redrawn when the room changes
        self._heads: dict[int, tuple[Static, str, str, bool]] = {}
        self._width = width
        self.set_class(width >= GRID_WIDTH, "-grid")
        self.can_focus = False
        self._fill(data)
        self._retitle()

    def fit(self, width: int) -> None:
        """The form's shape and title follow its own width, never the screen's: a form of the
        same width looks the same at 80 and at 200 columns (rows flipped between a head over
        its value and a head beside it with the screen's breakpoint)."""
        if width == self._width:
            return
        self._width = width
        self.set_class(width >= GRID_WIDTH, "-grid")
        self._retitle()
        for widget, name, source, error in list(self._heads.values()):
            self._put_head(widget, name, source, error)
        if self.data is not None:
            self._put_model_button(self.data)

    def on_resize(self) -> None:
        self.fit(self.outer_size.width)
        if self.data is not None:  # a scrollbar came or went: the model line's room changed
            self._put_model_button(self.data)

    def _retitle(self) -> None:
        data = self.data
        self.border_title = plain(form_title(data.prompt, self._width) if data else "Parameters")

    @property
    def drawn(self) -> bool:
        """A prompt's form is on screen (not mid-update)."""
        return self.data is not None and not self._mounting

    def compose(self) -> ComposeResult:
        yield self._params_head
        yield self._note
        for param in self._param_slots:
            yield from param.widgets
        yield self._attachments_head
        yield self._attachments
        yield self._model_head
        yield self._model_label
        yield self._model_button
        for setting in self._setting_slots:
            yield from setting.widgets

    def show(self, data: FormData | None, *, focus: str | None = None) -> None:
        """Show a prompt's form (``None``: no prompt); ``focus``: a parameter to focus."""
        self.data = data
        self._fill(data)
        self._retitle()
        self.scroll_home(animate=False)
        focused = self.screen.focused
        in_form = isinstance(focused, Input) and focused in self.query(Input)
        if in_form and focused not in self._inputs.values():  # its row went with the prompt
            self._to_tree()
        if focus is not None:
            self.request_focus(focus)

    def _fill(self, data: FormData | None) -> None:
        """Put ``data`` into the form's widgets, adding rows it lacks and hiding the rest."""
        self._rows, self._settings, self._texts, self._inputs = {}, {}, {}, {}
        self._multiline = set()
        params = data.params if data is not None else []
        settings = data.settings if data is not None else []
        # one column for every head's source, so they line up whatever a name's length
        names = ["model", *(row.name for row in params), *(key for key, _, _ in settings)]
        sources = [_short_source(row.label) for row in params] + ["invalid", "default"]
        self._names = max(len(n) for n in names), max(len(s) for s in sources)
        self._params_head.display = self._model_head.display = data is not None
        self._model_label.display = self._model_button.display = data is not None
        error = data.error if data is not None else None
        self._note.display = bool(error) or not params
        self._note.set_class(bool(error), "form-error")
        self._note.set_class(not error, "form-empty")
        if error:
            self._put(self._note, error, fixed=False)
        else:
            self._put(
                self._note,
                "This prompt reads no parameters." if data else "No prompt selected.",
                fixed=False,
            )
        added: list[Widget] = []
        while len(self._param_slots) < len(params):
            needs = params[len(self._param_slots)]
            param = ParamSlot(len(self._param_slots), readonly=not needs.editable)
            self._param_slots.append(param)
            added += param.widgets
        self._mount_rows(added, before=self._attachments_head)
        attached = data.attachments if data is not None else []
        self._attachments_head.display = self._attachments.display = bool(attached)
        self._put(self._attachments, "\n".join(attached), fixed=False)
        added = []
        while len(self._setting_slots) < len(settings):
            setting = SettingSlot(len(self._setting_slots))
            self._setting_slots.append(setting)
            added += setting.widgets
        self._mount_rows(added)
        for index, param in enumerate(self._param_slots):
            row = params[index] if index < len(params) else None
            if row is not None:
                self._fill_param(param, row)
            else:  # a hidden row keeps nothing of the prompt it showed last
                param.show(False)
                param.head.set_class(False, "missing")
                set_value(param.field, "")
                if param.readonly is not None:
                    self._put(param.readonly, "")
        if data is not None:
            self._put_head(self._model_label, "model", data.model_source)
            self._put_model_button(data)
        if data is not None:  # a setting the prompt no longer has (another model) is gone
            keys = {key for key, _, _ in settings}
            for prompt, key in [k for k in self.invalid if k[0] == data.prompt]:
                if key not in keys:
                    del self.invalid[(prompt, key)]
        for index, setting in enumerate(self._setting_slots):
            shown = index < len(settings)
            setting.show(shown)
            if setting.error is not None:
                self._put(setting.error, "", fixed=False)
            setting.field.set_class(False, "-invalid")
            if not shown:
                set_value(setting.field, "")
                continue
            key, value, source = settings[index]
            input_id = setting.field.id or ""
            self._settings[input_id] = key
            self._inputs[input_id] = setting.field
            if is_multiline(value):  # a mock's response, a stop sequence: "\n" on one line
                self._multiline.add(input_id)
            invalid = self.invalid.get((data.prompt, key)) if data is not None else None
            text = invalid[0] if invalid else to_input_text(value)
            self._texts[input_id] = text
            set_value(setting.field, text)
            if invalid:
                self._show_setting_error(setting, key, invalid[1])
            else:
                self._put_head(setting.head, key, source)

    def _fill_param(self, param: ParamSlot, row: ParamRow) -> None:
        input_id = param.field.id or ""
        self._rows[input_id] = row
        self._texts[input_id] = to_input_text(row.value)
        param.head.set_class(row.source == ParamSource.MISSING, "missing")
        self._put_head(param.head, row.name, row.label)
        param.show(True, editable=row.editable)
        if row.editable:
            self._inputs[input_id] = param.field
            set_value(param.field, to_input_text(row.value))
            placeholder = (
                (f"missing: {row.meant} Or type a value" if row.meant else "missing: type a value")
                if row.source == "missing"
                else ""
            )
            if param.field.placeholder != placeholder:
                param.field.placeholder = placeholder
            multiline = is_multiline(row.value)
            if multiline:
                self._multiline.add(input_id)
            tooltip = "Several lines: \\n stands for a line break" if multiline else None
            if param.field.tooltip != tooltip:
                param.field.tooltip = tooltip
            if param.readonly is not None:
                self._put(param.readonly, "")
        else:
            set_value(param.field, "")
            view = param.readonly_view(self)
            note = row.value is None  # why there is no value: shown whole, on several lines
            view.set_class(note, "-note")
            text = short(row.value, 200) if row.value is not None else row.empty
            self._put(view, text, fixed=not note)

    def _put(self, widget: Static, content: str | Text | Content, *, fixed: bool = True) -> None:
        """Update a widget only when its content changed: every update repaints it, and a
        layout (``fixed``: one line whatever its text, so no layout) reflows the screen."""
        if self._shown.get(id(widget)) == content:
            return
        self._shown[id(widget)] = content
        widget.update(content, layout=not fixed)

    def _mount_rows(self, widgets: list[Widget], before: Widget | None = None) -> None:
        """Mount rows added after the first frame; focus requests wait until they are in."""
        if not widgets or not self.is_mounted:
            return  # not mounted yet: compose yields them
        self._mounting += 1
        self.mount(*widgets, before=before)
        self.call_after_refresh(self._mounted_rows)

    def _mounted_rows(self) -> None:
        self._mounting -= 1
        if self._mounting:
            return
        request, self._focus_request = self._focus_request, None
        if request is not None:
            self._focus_now(request)

    def request_focus(self, name: str = "") -> None:
        """Focus a parameter's input (``""``: the first input) once the form is drawn.

        While rows are being added, their inputs are not in the screen yet: focusing then would
        drop the focus, and the keys typed next, on another pane.
        """
        if self._mounting:
            self._focus_request = name
            return
        self._focus_now(name)

    def _focus_now(self, name: str) -> None:
        found = self.focus_parameter(name) if name else self.focus_first_input()
        if not found and not name:
            self.notify("This prompt has nothing to edit here.", timeout=2)

    def _put_head(self, widget: Static, name: str, source: str, error: bool = False) -> None:
        self._heads[id(widget)] = (widget, name, source, error)
        self._put(widget, self._head(name, source, error))

    def _put_model_button(self, data: FormData) -> None:
        """The model, and "m: change" when the line has room for both (the model is what
        counts: "thread-0  (offline)  m: cha…" cut the hint for nothing)."""
        model = data.model or "(none: set a model)"
        note = "  (offline)" if data.offline else ""
        room = self._value_cells()
        fits = not room or len(f"{model}{note}  {MODEL_HINT}") <= room
        hint = f"  [dim]{MODEL_HINT}[/dim]" if fits else ""
        self._put(
            self._model_button,
            styled(f"[@click=screen.model][b]$model[/b]$note{hint}[/]", model=model, note=note),
        )

    def _value_cells(self) -> int:
        """The cells a value has (0: not known yet): the grid's value column, else the pane's
        inside."""
        # borders, padding and the scrollbar a long form shows ("(offlin…" beside it)
        inside = max(0, self._width - 4 - self.scrollbar_size_vertical)
        return max(0, inside - HEAD_COLUMN) if self.has_class("-grid") else inside

    def _head_cells(self) -> int:
        """The cells a head has: the grid's head column, else the pane inside its borders,
        padding and scrollbar (0: not known yet)."""
        if self.has_class("-grid"):
            return HEAD_COLUMN - 1  # its padding keeps it off the value
        return max(0, self._width - 5)

    def _head(self, name: str, source: str, error: bool = False) -> Text:
        """``name  source`` on one line, the source in its colour (run-time, global, missing...).
        A head too long for its room cuts the name, never the source: "missing" or "output"
        says what the row is ("neighbourhoods.output  mi…" said nothing)."""
        key = "source-missing" if error else _source_var(source)
        style = theme_style(self.app, key, "foreground-muted")
        text = Text(no_wrap=True, overflow="ellipsis")
        missing = source == "missing"
        shown = source if error else _short_source(source)
        # Sources start in one column (names padded to the longest, at least 14 cells, and
        # two spaces): a name too long for the head's room is cut so that its source fits.
        longest, widest_source = self._names
        column = max(16, longest + 2)
        cells = self._head_cells()
        if cells:
            column = max(6, min(column, cells - max(widest_source, len(shown))))
        if len(name) > column - 2:
            name = name[: column - 3] + "…"
        head = name.ljust(column)
        text.append(head, theme_style(self.app, key, bold=True) if missing else Style())
        text.append(shown, style)
        return text

    # --- events -------------------------------------------------------------------------------
    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        input_id = event.input.id or ""
        if self._inputs.get(input_id) is not event.input or event.value != event.input.value:
            # Queued before the input was filled for another prompt (or no longer shown): an
            # edit of what was on screen then, never of this prompt.
            return
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
            text = from_input_text(event.value) if input_id in self._multiline else event.value
            value, error = parse_setting(key, text)
            slot = next(s for s in self._setting_slots if s.field is event.input)
            if error:
                self.invalid[(self.data.prompt, key)] = (event.value, error)
                self._show_setting_error(slot, key, error)
                return
            self.invalid.pop((self.data.prompt, key), None)
            event.input.set_class(False, "-invalid")
            if slot.error is not None:
                slot.error.display = False
            self._put_head(slot.head, key, "prompt" if value is not None else "default")
            self.post_message(SettingEdited(self.data.prompt, key, value))

    def _show_setting_error(self, slot: SettingSlot, key: str, error: str) -> None:
        slot.field.set_class(True, "-invalid")
        error_line = slot.error_view(self)
        self._put(error_line, error, fixed=False)
        error_line.display = True
        self._put_head(slot.head, key, "invalid", error=True)

    def invalid_settings(self, prompts: list[str]) -> list[str]:
        """What was typed into these prompts' settings and is not valid, one line each."""
        return [
            f"{prompt}: {key} = {text!r}: {why}"
            for (prompt, key), (text, why) in self.invalid.items()
            if prompt in prompts
        ]

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    def _set_source(self, input_id: str, source: str) -> None:
        row = self._rows.get(input_id)
        for label in self.query(f"#{input_id}-src").results(Label):
            self._put_head(label, row.name if row else "", source)
            if source != "missing":
                label.remove_class("missing")

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

    def action_edit_value(self) -> None:
        """f2: the focused parameter in a TextArea; what it keeps is typed into the field
        (so it is the same run-time override as typing, with the same checks)."""
        from ..screens.value_editor import ValueEditorScreen

        found = self._focused_row()
        if found is None:
            self.notify("Put the cursor on a parameter first.", severity="warning")
            return
        input_id, row = found
        field = self._inputs.get(input_id)
        if field is None:
            return
        current = from_input_text(field.value) if input_id in self._multiline else field.value

        def kept(text: str | None) -> None:
            if text is None or text == current or self._inputs.get(input_id) is not field:
                return
            if "\n" in text:
                self._multiline.add(input_id)
            field.value = to_input_text(text) if input_id in self._multiline else text
            field.focus()

        self.app.push_screen(ValueEditorScreen(row.name, current), kept)

    def action_revert(self) -> None:
        found = self._focused_row()
        if found is None:
            return
        input_id, row = found
        if row.source != "run-time":
            return
        self.post_message(ParameterEdited(row.name, None))

    def action_leave(self) -> None:
        """escape: back to the tree. Never a cancel: a user leaving a field means to leave it,
        not to stop the chain (cancel is the tree's escape and ctrl+x)."""
        self._to_tree()

    def _to_tree(self) -> None:
        screen: Any = self.screen
        if hasattr(screen, "action_focus_tree"):
            screen.action_focus_tree()

    def focus_first_input(self) -> bool:
        """Focus the first parameter's input, else the first setting's."""
        for input_id in (*self._rows, *self._settings):
            field = self._inputs.get(input_id)
            if field is not None:
                field.focus()
                return True
        return False

    def focus_parameter(self, name: str) -> bool:
        for input_id, row in self._rows.items():
            field = self._inputs.get(input_id)
            if row.name == name and field is not None:
                field.focus()
                return True
        return False
