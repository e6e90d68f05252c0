"""Pick a model: the config's models, recently used ones, offline built-ins, or any typed name."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..markup import plain, styled
from ..widgets.line_input import LineInput


class ModelPickerScreen(ModalScreen[str | None]):
    HELP = """\
### Model picker

Type to filter, `↓`/`↑` to move, `enter` to choose. Anything typed can be used as a model name
(`openai/gpt-4o-mini`, `anthropic/claude-...`, `ollama/llama3`); offline models need no key.
Settings follow the name as `KEY=VALUE`: `openai/my-model api_base=http://localhost:8000/v1`
sends an OpenAI-compatible request to your own server.
"""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
    ]

    def __init__(
        self,
        prompt: str,
        current: str | None,
        *,
        config_models: list[str],
        recent: list[str],
        offline: list[str],
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.prompt = prompt
        self.current = current
        self.groups = [("config", config_models), ("recent", recent), ("offline", offline)]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Static(
                styled(
                    "Model for [b]$prompt[/b]  (now: $current)",
                    prompt=self.prompt,
                    current=self.current or "none",
                ),
                classes="dialog-title",
            )
            yield LineInput(
                placeholder="filter, or any model [KEY=VALUE]: openai/ID api_base=http://…/v1",
                id="model-filter",
            )
            yield OptionList(id="model-options")
            yield Static("enter: choose   escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        needle = text.strip().lower()
        items: list[Option] = []
        if needle and needle not in {n.lower() for _, names in self.groups for n in names}:
            items.append(Option(plain(f'use "{text.strip()}"'), id=f"model:{text.strip()}"))
        items += model_options(self.groups, needle, "model", self.current)
        options.add_options(items)
        if items:
            options.highlighted = 0

    @on(Input.Changed, "#model-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    @on(Input.Submitted, "#model-filter")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self._choose(options.get_option_at_index(options.highlighted).id)
        elif event.value.strip():
            self.dismiss(event.value.strip())

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        if option_id:
            self.dismiss(option_id.removeprefix("model:"))

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not options.option_count:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))


def model_options(
    groups: list[tuple[str, list[str]]], needle: str, prefix: str, current: str | None = None
) -> list[Option]:
    """The models of each group that contain ``needle``, each once, as picker options whose id
    is ``prefix:name`` (the model picker and the comparison's column picker share it)."""
    seen: set[str] = set()
    items: list[Option] = []
    for group, names in groups:
        for name in names:
            if name in seen or (needle and needle not in name.lower()):
                continue
            seen.add(name)
            mark = "  (current)" if current is not None and name == current else ""
            prompt = styled("$name  [dim]$group$mark[/dim]", name=name, group=group, mark=mark)
            items.append(Option(prompt, id=f"{prefix}:{name}"))
    return items
