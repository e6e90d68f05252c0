"""Authoring actions of the main screen: model, template, new and deleted prompts.

A mixin so the main screen stays readable; it uses the screen's ``config``, ``session``,
``selected`` and ``_structure_changed``.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import PromptTuiError
from ..view_models import offline_models


class AuthoringMixin:
    """Mixed into MainScreen, which provides notify(), app, config, session, selected and
    _structure_changed()."""

    config: Any
    session: Any
    selected: str | None
    app: Any
    notify: Any
    _structure_changed: Any

    def action_model(self) -> None:
        from ..recent import load_recent
        from .model_picker import ModelPickerScreen

        name = self.selected
        if name is None:
            return
        prompt = self.config.prompt(name)
        current = self.config.model_name_of(prompt)

        def chosen(model: str | None) -> None:
            if model and " " in model.strip():  # "openai/ID api_base=http://host:port/v1"
                self._set_model_spec(name, model)
            elif model == "mock" and not self._has_mock_response(name):
                self.ask_mock_response(name)
            elif model:
                self.set_model(name, model)

        self.app.push_screen(
            ModelPickerScreen(
                name,
                current,
                config_models=list(self.config.models),
                recent=load_recent(),
                offline=offline_models(),
            ),
            chosen,
        )

    def set_model(self, name: str, model: str, settings: dict[str, Any] | None = None) -> None:
        # "recent" remembers a model once a run with it succeeds (the app does), not when picked:
        # a mistyped id must not come back as a suggestion.
        if not self.session.workspace.set_model(name, model, settings):
            return
        self._structure_changed(select=name)
        just_asked = {"response"} if model == "mock" else set()  # typed a moment ago
        kept = [k for k in self.config.prompt(name).model_settings if k not in just_asked]
        more = f" (its settings kept: {', '.join(kept)})" if kept else ""
        self.notify(f"{name} now uses {model}{more}", timeout=3)

    def _set_model_spec(self, name: str, spec: str) -> None:
        """A model typed with settings, as a comparison column is (``MODEL KEY=VALUE...``):
        a custom ``openai/<id>`` needs its ``api_base`` or it goes to api.openai.com."""
        from ...core.compare import Column

        try:
            column = Column.parse(spec)
        except PromptTuiError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        own = dict(self.config.prompt(name).model_settings)
        self.set_model(name, column.model, {**own, **column.settings})

    def _has_mock_response(self, name: str) -> bool:
        prompt = self.config.prompt(name)
        own = prompt.model_settings if prompt.model_name == "mock" else {}
        merged = {**self.config.models.get("mock", {}), **own}
        return isinstance(merged.get("response"), str)

    def ask_mock_response(self, name: str) -> None:
        """The mock model answers with its ``response`` setting: ask for it when it has none."""
        from .ask_text import AskTextScreen

        def answered(text: str | None) -> None:
            if text is None:
                return
            own = dict(self.config.prompt(name).model_settings)  # kept, as for any model
            self.set_model(name, "mock", {**own, "response": text})

        self.app.push_screen(
            AskTextScreen(
                "The mock model answers with a fixed text: what should it say?",
                placeholder="e.g. Three sunny days, pack light.",
                value="A fixed answer from the mock model.",
            ),
            answered,
        )

    def action_edit(self) -> None:
        from .template_editor import TemplateEditorScreen

        name = self.selected
        if name is None:
            return
        prompt = self.config.prompt(name)
        if prompt.template is None:
            self.notify(
                "This prompt's input is not text (attachments): edit it in the file.",
                severity="warning",
            )
            return

        def saved(text: str | None) -> None:
            if text is None or text == prompt.template:
                return
            self.write_template(name, text)

        self.app.push_screen(
            TemplateEditorScreen(name, prompt.template, self.config.prompt_names), saved
        )

    def write_template(self, name: str, text: str) -> None:
        """The editor's ctrl+s: this template goes into the file, nothing else of the session."""
        workspace = self.session.workspace
        if self.config.changed_on_disk():
            workspace.set_template(name, text)
            self._structure_changed(select=name)
            self.notify(
                "The file changed on disk: the template is kept in this session "
                "(ctrl+s asks how to save it).",
                severity="warning",
            )
            return
        try:
            written = workspace.save_template(name, text)
        except (PromptTuiError, OSError) as exc:
            self._structure_changed(select=name)
            self.notify(str(exc), title="Save failed", severity="error")
            return
        self._structure_changed(select=name)
        self.notify(f"Template of {name} written to {written}", title="Saved", timeout=3)
        self._warn_cycle(name)

    def _warn_cycle(self, name: str) -> None:
        """A template that closes a loop of outputs saves (the file is the user's), never
        silently: no prompt of the loop can run until it is broken."""
        from ...core.errors import CycleError

        cycle = self.session.workspace.graph.cycle
        if cycle and name in cycle:
            self.notify(
                f"{CycleError(cycle)}: these prompts cannot run until a template breaks it",
                title="Dependency cycle",
                severity="warning",
                timeout=8,
                markup=False,
            )

    def action_new(self) -> None:
        from .ask_text import AskTextScreen

        names = set(self.config.prompt_names)

        def check(value: str) -> str | None:
            if not value:
                return "a prompt needs a name"
            if value in names:
                return f"a prompt named '{value}' already exists"
            return None

        def created(value: str | None) -> None:
            if not value:
                return
            try:
                note = self.session.workspace.add_prompt(value, "", after=self.selected)
            except PromptTuiError as exc:
                self.notify(str(exc), severity="error")
                return
            if note:
                self.notify(note, title="New prompt", timeout=6, markup=False)
            self._structure_changed(select=value)
            self.action_edit()

        self.app.push_screen(
            AskTextScreen("New prompt: its name", placeholder="e.g. summarize", check=check),
            created,
        )

    def action_delete(self) -> None:
        from .confirm import ConfirmScreen

        name = self.selected
        if name is None:
            return
        if self.session.state(name).status.active:
            self.notify(f"{name} is running: cancel it first (escape).", severity="warning")
            return
        extra = _what_depends_on(self.session, name)

        def answered(answer: str | None) -> None:
            if answer != "delete":
                return
            names = self.config.prompt_names
            index = names.index(name)
            self.session.workspace.delete_prompt(name)
            remaining = self.config.prompt_names
            after = remaining[min(index, len(remaining) - 1)] if remaining else None
            self.selected = None
            self._structure_changed(select=after)
            self.notify(f"Deleted {name} (u brings it back; ctrl+s writes the file)", timeout=4)

        self.app.push_screen(
            ConfirmScreen(
                "Delete prompt",
                f"Delete '{name}'?{extra}",
                [("delete", "Delete", "error"), ("cancel", "Cancel", "default")],
            ),
            answered,
        )

    def action_undo_delete(self) -> None:
        """u: the newest delete since the last save is undone (the file never had it)."""
        name = self.session.workspace.undo_delete()
        if name is None:
            pending = self.session.workspace.deleted
            why = f"a prompt named '{pending[-1]}' exists again" if pending else "no unsaved delete"
            self.notify(f"Nothing to undo: {why}.", severity="warning", markup=False)
            return
        self._structure_changed(select=name)
        self.notify(f"{name} is back", timeout=3, markup=False)


def _what_depends_on(session: Any, name: str) -> str:
    """The delete dialog's line on what would miss a prompt: the prompts that read its output,
    and apart from them the ones that depend on it only through others (or the chat history)."""
    dependents = session.with_downstream([name])[1:]
    if not dependents:
        return ""
    direct = [n for n in dependents if name in session.reads(n)]
    further = [n for n in dependents if n not in direct]
    parts = []
    if direct:
        parts.append(f"{', '.join(direct)} read{'s' if len(direct) == 1 else ''} its output")
    if further:
        how = "through them" if direct else "through the chat history"
        verb = "depends" if len(further) == 1 else "depend"
        parts.append(f"{', '.join(further)} {verb} on it {how}")
    return "\n" + "; ".join(parts) + "."
