"""The reusable rows of the parameter form: one slot per parameter or model setting.

The form fills the same widgets for whichever prompt is selected (a recompose per selection was
most of what a selection cost: bench/selection.py). Widgets a row seldom needs (a read-only
value, a validation message) are made the first time they are needed: each widget costs time
before the first frame.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input, Label, Static

from .line_input import LineInput


def set_value(field: Input, text: str) -> None:
    """Set an input's text unless it already shows it (each change repaints and posts Changed).

    A field the user is not in shows the start of its new text: an input keeps its cursor, and
    with it its view, from the text it showed before (the middle of another prompt's value)."""
    if field.value != text:
        field.value = text
        if not field.has_focus:
            field.cursor_position = 0


def _mount_into(parent: Widget, child: Widget, after: Widget | None = None) -> None:
    """Mount now when ``parent`` is in the DOM, else as soon as it is."""
    if parent.is_attached:
        parent.mount(child, after=after)
    else:
        parent.call_later(parent.mount, child, after=after)


class ParamSlot:
    """One parameter: a head ("name  source") and an input, or a read-only value (another
    prompt's output). Reused for whatever parameter sits at its index. The widgets are the
    form's own children (no row container: a widget fewer per row)."""

    def __init__(self, index: int, *, readonly: bool) -> None:
        input_id = f"param-{index}"
        self.head = Label("", id=f"{input_id}-src", classes="form-head")
        self.field = LineInput("", id=input_id, compact=True, classes="form-input")
        self.readonly: Static | None = _readonly() if readonly else None
        self.editable = not readonly

    @property
    def widgets(self) -> list[Widget]:
        return [self.head, self.field, *([self.readonly] if self.readonly is not None else [])]

    def show(self, shown: bool, *, editable: bool = True) -> None:
        """Shown with its input (``editable``) or its read-only value; or hidden."""
        self.editable = editable
        self.head.display = shown
        self.field.display = shown and editable
        if self.readonly is not None:
            self.readonly.display = shown and not editable

    def readonly_view(self, form: Widget) -> Static:
        if self.readonly is None:
            self.readonly = _readonly()
            _mount_into(form, self.readonly, after=self.field)
        return self.readonly


def _readonly() -> Static:
    return Static("", classes="form-readonly", markup=False)


class SettingSlot:
    """One model setting: head and input; its validation message goes on lines of its own under
    them (a head of one line cut it to "temperature must")."""

    def __init__(self, index: int) -> None:
        self.input_id = f"setting-{index}"
        self.head = Label("", id=f"{self.input_id}-src", classes="form-head")
        self.field = LineInput(
            "", id=self.input_id, placeholder="unset", compact=True, classes="form-input"
        )
        self.error: Static | None = None

    @property
    def widgets(self) -> list[Widget]:
        return [self.head, self.field, *([self.error] if self.error is not None else [])]

    def show(self, shown: bool) -> None:
        self.head.display = self.field.display = shown
        if self.error is not None:
            self.error.display = False

    def error_view(self, form: Widget) -> Static:
        if self.error is None:
            self.error = Static("", id=f"{self.input_id}-err", classes="form-error", markup=False)
            self.error.display = False
            _mount_into(form, self.error, after=self.field)
        return self.error
