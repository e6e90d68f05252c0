"""The main screen's key bindings, in one list (the footer, F1, the key map and the user's
keymap from the settings file all read it through Textual)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MAIN_BINDINGS: list[BindingType] = [
    Binding("r", "run('one')", "Run", id="main.run", tooltip="Run the selected prompt"),
    Binding(
        "R",
        "run('with_deps')",
        "+deps",
        id="main.run_deps",
        tooltip="Run the selected prompt after everything it depends on",
    ),
    Binding("a", "run('all')", "All", id="main.run_all", tooltip="Run every prompt"),
    Binding(
        "escape",
        "cancel",
        "Cancel",
        id="main.cancel",
        tooltip="Cancel the whole run the selected prompt is in (or all runs)",
    ),
    Binding(
        "ctrl+x",
        "cancel_prompt",
        "Cancel prompt",
        id="main.cancel_prompt",
        show=False,
        tooltip="Cancel the selected prompt only (its run goes on, dependents blocked)",
    ),
    Binding("m", "model", "Model", id="main.model", tooltip="Change the selected prompt's model"),
    Binding(
        "c",
        "compare",
        "Compare",
        id="main.compare",
        show=False,  # the 80-column footer has no room left; F1 and the palette list it
        tooltip="Compare models side by side on the selected prompt (or its chain)",
    ),
    Binding("e", "edit", "Edit", id="main.edit", tooltip="Edit the selected prompt's template"),
    Binding(
        "n",
        "new",
        "New",
        id="main.new",
        show=False,
        tooltip="Add a prompt after the selected one",
    ),
    Binding(
        "d",
        "delete",
        "Delete",
        id="main.delete",
        show=False,
        tooltip="Delete the selected prompt",
    ),
    Binding("slash", "find", "Find", id="main.find", show=False, tooltip="Find a prompt by name"),
    Binding(
        "x",
        "export",
        "Export",
        id="main.export",
        show=False,
        tooltip="Export the output or the whole run (Markdown, JSON), or copy it",
    ),
    Binding(
        "p",
        "focus_form",
        "Params",
        id="main.params",
        show=False,
        tooltip="Edit the selected prompt's parameters",
    ),
    Binding(
        "v",
        "toggle_rendered",
        "Raw/MD",
        id="main.rendered",
        show=False,
        tooltip="Toggle raw text / rendered Markdown",
    ),
    Binding(
        "k",
        "keys",
        "Keys",
        id="main.keys",
        show=False,
        tooltip="Provider API keys: see, set, test",
    ),
    Binding(
        "w",
        "toggle_autorun",
        "Auto-run",
        id="main.autorun",
        show=False,
        tooltip="Toggle auto-run: re-run the last run target when the file is saved",
    ),
    Binding(
        "b",
        "batch",
        "Matrix",
        id="main.matrix",
        show=False,
        tooltip="Dataset matrix: every row x model, checked",
    ),
    Binding("1", "tab('output')", "Output", show=False, id="main.tab_output"),
    Binding("2", "tab('request')", "Request", show=False, id="main.tab_request"),
    Binding("3", "tab('json')", "JSON", show=False, id="main.tab_json"),
    Binding("4", "tab('info')", "Info", show=False, id="main.tab_info"),
    Binding("5", "tab('history')", "History", show=False, id="main.tab_history"),
]
