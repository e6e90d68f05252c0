"""Command palette: every action of the main screen, and per-prompt commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.fuzzy import FuzzySearch

from .markup import escape_markup, plain
from .screens.main import MainScreen

# (title, action on the main screen, help). Every key binding's action is here too.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Run selected prompt", "run('one')", "r: run the selected prompt"),
    (
        "Run selected prompt with dependencies",
        "run('with_deps')",
        "R: run what it depends on, then it",
    ),
    ("Run all prompts", "run('all')", "a: run every prompt in dependency order"),
    (
        "Run selected prompt, force (ignore the cache)",
        "run('one', True)",
        "send the request even if an identical one was answered before",
    ),
    (
        "Run selected prompt with dependencies, force (ignore the cache)",
        "run('with_deps', True)",
        "send every request of the chain again, cached or not",
    ),
    (
        "Run all prompts, force (ignore the cache)",
        "run('all', True)",
        "send every request again, cached or not",
    ),
    ("Cancel selected run", "cancel", "escape: cancel the selected prompt's run"),
    ("Cancel all runs", "cancel_all", "cancel everything in flight"),
    ("Change model", "model", "m: pick the selected prompt's model"),
    ("Compare models", "compare", "c: run the selected prompt (or its chain) with 2-6 models"),
    ("Dataset matrix", "batch", "b: run the dataset's rows x models and check every answer"),
    ("Open a past comparison", "past_comparisons", "reopen a comparison from the history"),
    ("Edit template", "edit", "e: edit the selected prompt's template"),
    ("New prompt", "new", "n: add a prompt after the selected one"),
    ("Delete prompt", "delete", "d: delete the selected prompt (asks first)"),
    ("Find prompt", "find", "/: jump to a prompt by name"),
    ("Edit parameters", "focus_form", "p: move to the parameter form"),
    ("Show output", "tab('output')", "1: the output view"),
    ("Show resolved request", "tab('request')", "2: the exact messages sent"),
    ("Show request JSON", "tab('json')", "3: the request as JSON"),
    ("Show run info", "tab('info')", "4: model, ttft, latency, tokens, cost"),
    ("Show history", "tab('history')", "5: earlier outputs of this prompt"),
    ("Toggle raw / rendered output", "toggle_rendered", "v: Markdown or plain text"),
    ("Answer tool call", "answer_tool", "T: give the tool's result and continue the prompt"),
    ("Provider keys", "keys", "k: see, set, replace, delete and test API keys"),
    ("Export output as Markdown", "export('output-markdown')", "x: the selected prompt's output"),
    ("Export output as JSON", "export('output-json')", "x: the output with its request"),
    ("Export run as Markdown", "export('run-markdown')", "x: every prompt's request and output"),
    ("Export run as JSON", "export('run-json')", "x: requests, outputs and metrics"),
    ("Copy output to clipboard", "export('copy')", "x: copy (OSC 52 terminals)"),
    ("Reload from disk", "reload_from_disk", "read the config file again (asks if you have edits)"),
    ("Toggle auto-run on save", "toggle_autorun", "w: re-run the last run target on each save"),
)
APP_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Save", "save", "ctrl+s: write the config file (asks if it changed on disk)"),
    ("Next theme", "cycle_theme", "t: switch theme (kept for next time)"),
    ("Key map", "key_map", "?: every key of every pane"),
    ("Help", "help", "F1: help for the focused pane"),
    ("Quit", "quit", "q: quit (asks when there are unsaved changes)"),
)


class PromptCommands(Provider):
    """Knows the app's state: offers "Run <prompt>" and "Select <prompt>" for every prompt."""

    def _main(self) -> MainScreen | None:
        return next((s for s in self.app.screen_stack if isinstance(s, MainScreen)), None)

    def _palette_commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        app: Any = self.app
        main = self._main()
        if main is not None:
            for title, action, help_text in ACTIONS:
                yield title, partial(app.run_action, action, main), help_text
            for name in main.config.prompt_names:
                yield f"Select {name}", partial(main.select, name), f"show {name}"
                yield f"Run {name}", partial(main.run_prompt, name, "one"), f"run {name} only"
                yield (
                    f"Run {name} with dependencies",
                    partial(main.run_prompt, name, "with_deps"),
                    f"run what {name} reads, then {name}",
                )
        for title, action, help_text in APP_ACTIONS:
            if action == "cycle_theme":  # says which theme is on
                help_text = f"{help_text}; now {app.theme}"
            yield title, partial(app.run_action, action), help_text

    async def discover(self) -> Hits:
        for title, callback, help_text in self._palette_commands():
            yield DiscoveryHit(plain(title), callback, text=title, help=escape_markup(help_text))

    async def search(self, query: str) -> Hits:
        # Titles and help quote prompt names: never read as markup (Matcher.highlight reads
        # its candidate as markup, so the matched letters are styled here on plain text).
        search = FuzzySearch()
        for title, callback, help_text in self._palette_commands():
            score, offsets = search.match(query, title)
            if score > 0:
                shown = plain(title)
                if self.match_style is not None:
                    for offset in offsets:
                        shown = shown.stylize(self.match_style, offset, offset + 1)
                yield Hit(score, shown, callback, text=title, help=escape_markup(help_text))
