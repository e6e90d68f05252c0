"""What F1 and the key map show: the focused pane's help in words and every key by pane.

Titles come from each help text's first heading ("### Prompt tree"), never from class names.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

# The panes and dialogs whose keys the key map lists, in the order a user meets them.
KEY_MAP_SOURCES = (
    ("Everywhere", "tui_app.ui.app", "PromptTuiApp"),
    ("Main screen", "tui_app.ui.screens.main", "MainScreen"),
    ("Prompt tree", "tui_app.ui.widgets.prompt_tree", "PromptTree"),
    ("Parameters", "tui_app.ui.widgets.param_form", "ParamForm"),
    ("Find (/)", "tui_app.ui.widgets.find_bar", "FindBar"),
    ("Template editor", "tui_app.ui.screens.template_editor", "TemplateEditorScreen"),
    ("Model picker", "tui_app.ui.screens.model_picker", "ModelPickerScreen"),
    ("Compare setup (c)", "tui_app.ui.screens.compare_setup", "CompareSetupScreen"),
    ("Comparison", "tui_app.ui.screens.compare", "CompareScreen"),
    ("Past comparisons", "tui_app.ui.screens.compare_setup", "PastComparisonsScreen"),
    ("Keys (k)", "tui_app.ui.screens.keys", "KeysScreen"),
    ("History view (5)", "tui_app.ui.widgets.run_history", "RunHistoryTable"),
)
# Keys that are no binding of ours (a DataTable's enter): listed by hand after their pane.
EXTRA_ROWS = (
    ("History view (5)", "enter", "In the history view: that run's diff with the output"),
    ("Everywhere", "ctrl+p", "Command palette: every action by name"),
)


def help_title(help_text: str, fallback: str = "prompt-tui") -> str:
    """The first Markdown heading of a help text, in words."""
    for line in help_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip() or fallback
    return fallback


def focused_help(app: Any) -> tuple[str, str, list[tuple[str, str]]]:
    """(title, help text, keys) for the focused widget, else the screen."""
    widget: Any = app.screen.focused
    help_text = ""
    while widget is not None:
        text = getattr(type(widget), "HELP", None)
        if text:
            help_text = text
            break
        widget = widget.parent
    if not help_text:
        help_text = getattr(type(app.screen), "HELP", "") or ""
    shown: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for active in app.screen.active_bindings.values():
        binding = active.binding
        if binding.description and _ours(active.node, binding):
            row = (app.get_key_display(binding), binding.tooltip or binding.description)
            (shown if binding.show else others).append(row)
    return help_title(help_text), help_text, shown + others


# Textual's own keys worth listing beside ours (the rest, "Copy selected text", "Focus Next",
# a second "Quit", were noise between them).
TEXTUAL_KEYS = frozenset({"command_palette"})


def _ours(node: Any, binding: Binding) -> bool:
    """A binding one of prompt-tui's classes declares (or a Textual key worth knowing): by its
    id (the user's keymap may have moved its key), else by action and key (Textual's ctrl+q
    has our q's action)."""
    if binding.action in TEXTUAL_KEYS:
        return True
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("tui_app."):
            continue
        for declared in Binding.make_bindings(cls.__dict__.get("BINDINGS") or []):
            if binding.id is not None and declared.id == binding.id:
                return True
            if declared.action == binding.action and declared.key == binding.key:
                return True
    return False


def key_map(app: Any) -> list[tuple[str, str, str]]:
    """Every key of every pane as (where, key, what it does), with the user's remapping."""
    import importlib

    from textual.binding import Binding

    keymap = getattr(app, "user_keymap", {}) or {}
    rows: list[tuple[str, str, str]] = []
    for where, module_name, class_name in KEY_MAP_SOURCES:
        cls = getattr(importlib.import_module(module_name), class_name)
        for item in cls.BINDINGS:
            if not isinstance(item, Binding) or not item.description:
                continue
            keys = keymap.get(item.id, item.key) if item.id else item.key
            shown = ", ".join(app.get_key_display(Binding(k, item.action)) for k in keys.split(","))
            rows.append((where, shown, item.tooltip or item.description))
    for extra in EXTRA_ROWS:
        last = max((i for i, row in enumerate(rows) if row[0] == extra[0]), default=len(rows) - 1)
        rows.insert(last + 1, extra)
    return rows
