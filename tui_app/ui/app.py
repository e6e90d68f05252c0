"""The Textual app: a thin client of the engine.

It loads the config, owns the engine objects (runner, history) and runs the runner in workers,
recording its events in the :class:`~.state.Session` and telling the main screen to redraw.
Everything visible lives in ``screens/`` and ``widgets/``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import get_current_worker

from ..core.cancel import stop_renders
from ..core.config import AIConfig
from ..core.errors import PromptTuiError
from ..core.keys import KeyStore
from ..core.runs import Run, RunMode
from ..core.workspace import Workspace
from .inert_lines import InertLines
from .messages import AppReady, FileSaved, RunFinished, RunUpdate
from .screens.main import MainScreen
from .state import Session
from .themes import APP_VARIABLES, DEFAULT_DARK, load_themes, theme_cycle

# Yield to the event loop at least this often while draining a fast stream (keys stay responsive).
YIELD_EVERY = 0.02


def _prompt_commands() -> Any:
    """The palette's provider, imported when the palette first opens (textual.command is slow to
    import: bench/startup.py)."""
    from .commands import PromptCommands

    return PromptCommands


class PromptTuiApp(App[int]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "prompt-tui"
    COMMANDS = App.COMMANDS | {_prompt_commands}
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (80, "-narrow"), (120, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="app.save",
            tooltip="Write outputs, parameters and edits to the config file (atomic)",
        ),
        Binding(
            "f1", "help", "Help", id="app.help", tooltip="Help for the focused pane and its keys"
        ),
        Binding(
            "question_mark",
            "key_map",
            "Keys",
            id="app.key_map",
            show=False,
            tooltip="Every key of every pane",
        ),
        Binding(
            "q", "quit", "Quit", id="app.quit", tooltip="Quit (asks when there are unsaved changes)"
        ),
        Binding(
            "t",
            "cycle_theme",
            "Theme",
            id="app.theme",
            show=False,
            tooltip="Switch to the next theme",
        ),
    ]

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from .system_commands import system_commands  # the palette's, named the app's way

        return system_commands(self, screen)

    def __init__(
        self,
        path: str | Path,
        *,
        preload: bool = True,
        history: bool = True,
        keys: KeyStore | None = None,
    ) -> None:
        # Everything imported so far (Textual, Rich, the app's modules) lives as long as the
        # process: move it out of the collector's sight. Without this, the first full garbage
        # collection lands between mount and the first frame and walks all of it.
        gc.freeze()
        super().__init__()
        self.config_path = str(path)
        self._inert_lines = InertLines()  # every rendered line: control characters shown
        self.workspace: Workspace | None = None  # once the file loads
        self.session: Session | None = None
        self.main_screen: MainScreen | None = None  # the app talks to it with messages only
        self.load_error: Exception | None = None
        self._preload = preload
        self._use_history = history
        self._keys = keys
        self.ready_at: float | None = None  # perf_counter() at the first frame (bench/startup.py)
        self._gc_was_enabled = False  # on_load() paused the collector until the first frame
        from ..core import settings as user_settings

        self.settings = user_settings.load()
        themes, self.theme_problems = load_themes()
        for theme in themes:
            self.register_theme(theme)
        self.theme_cycle = theme_cycle(theme.name for theme in themes)
        wanted = self.settings.theme
        if wanted and wanted not in self.available_themes:
            self.theme_problems.append(f"theme '{wanted}' (settings file) is not installed")
            wanted = None
        self._set_initial_theme(wanted or DEFAULT_DARK)
        self.user_keymap = dict(self.settings.keymap)  # binding id -> keys (the key map shows it)
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
            from ..core.paths import settings_path
            from .keymap_check import keymap_problem  # a typo'd id did nothing, silently

            typo = keymap_problem(self.user_keymap, str(settings_path()))
            if typo:
                self.settings.problem = "\n".join(filter(None, [self.settings.problem, typo]))
        self._theme_saved = self.theme
        self._load()

    def _set_initial_theme(self, name: str) -> None:
        """Start with theme ``name`` before anything is parsed or mounted.

        Assigning ``self.theme`` runs Textual's theme watcher, which queues a full re-parse of
        every stylesheet and a restyle of the app after startup. Before the first
        parse that work is unneeded when the new theme is as dark, and as ANSI, as the starting
        one (same line filters): then set the value without watchers, do what the watcher does
        for a screen that does not exist yet (theme classes, CSS variables) and skip the rest.
        """
        current, wanted = self.current_theme, self.get_theme(name)
        if wanted is None or (current.dark, current.ansi) != (wanted.dark, wanted.ansi):
            self.theme = name
            return
        self.set_reactive(App.theme, name)
        classes = {c: False for c in self.classes if c.startswith("-theme-")}
        classes[f"-theme-{name}"] = True
        classes["-dark-mode"] = wanted.dark
        classes["-light-mode"] = not wanted.dark
        self.update_classes(classes, update=False)
        self.stylesheet.set_variables(self.get_css_variables())

    # --- loading ------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            self.workspace = Workspace.open(
                self.config_path,
                history=self._use_history,
                keys=self._keys,
                surface="tui",  # a missing key: "press k to add one"
                on_warning=self._engine_warning,
            )
        except PromptTuiError as exc:
            self.workspace, self.session, self.load_error = None, None, exc
            return
        except Exception as exc:  # an engine bug must not become a traceback on screen
            self.workspace, self.session = None, None
            self.load_error = PromptTuiError(f"{self.config_path}: {type(exc).__name__}: {exc}")
            return
        try:
            self.session = Session(self.workspace)
        except Exception as exc:  # an engine bug shows as a load error, never a traceback
            self.session = None
            self.load_error = PromptTuiError(f"{self.config_path}: {type(exc).__name__}: {exc}")
            return
        self.load_error = None

    @property
    def config(self) -> AIConfig | None:
        """The document now (a reload from disk replaces it): None when the file never loaded."""
        return self.workspace.document if self.workspace is not None else None

    def _engine_warning(self, message: str) -> None:
        """The engine's one channel for problems that must not stop the app (any thread)."""
        if not self.is_running:
            return
        try:
            self.call_from_thread(self.notify, message, severity="warning")
        except RuntimeError:  # already on the app's thread
            self.notify(message, severity="warning")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text: messages quote names, values, paths and errors,
        and Textual reads a message as markup (``[2`` crashed it, ``[b]`` vanished, ``[@click]``
        ran an action). ``markup`` is accepted for Textual's own callers and ignored; screens'
        ``notify`` comes here too."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def get_css_variables(self) -> dict[str, str]:
        """Textual's variables plus the app's own, derived from the theme when it lacks them."""
        variables = super().get_css_variables()
        for name, base in APP_VARIABLES.items():
            if name not in variables and base in variables:
                variables[name] = variables[base]
        self.theme_variables = variables
        return variables

    def get_default_screen(self) -> Screen[Any]:
        """The first screen: the main screen, or the load error (no empty screen in between)."""
        if self.session is None:
            from .screens.load_error import LoadErrorScreen

            return LoadErrorScreen(self.config_path, self.load_error or Exception("?"))
        self.main_screen = MainScreen(self.session, self.config_path)
        return self.main_screen

    def on_load(self) -> None:
        # Startup allocates a lot and frees little: no collections until the first frame is
        # painted.
        self._gc_was_enabled = gc.isenabled()
        gc.disable()

    def _restore_gc(self) -> None:
        if self._gc_was_enabled:
            self._gc_was_enabled = False
            gc.enable()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the one that keeps every widget's text inert (see
        :mod:`.inert_lines`)."""
        return [*super().get_line_filters(), self._inert_lines]

    def on_unmount(self) -> None:
        self._restore_gc()  # an exit before the first frame
        stop_renders()  # a render in a worker thread would keep the process alive after exit

    def on_ready(self) -> None:
        self._restore_gc()
        self.ready_at = time.perf_counter()
        if self.main_screen is not None:
            self.main_screen.post_message(AppReady())
        if self.theme_problems:  # one notification naming every skipped theme
            self.notify(
                "\n".join(self.theme_problems),
                title="Themes skipped" if len(self.theme_problems) > 1 else "Theme skipped",
                severity="warning",
                timeout=10,
            )
        if self.settings.problem:
            self.notify(self.settings.problem, title="Settings file", severity="warning")

    @work(thread=True, exclusive=True, group="preload", description="prepare the file's providers")
    def _preload_providers(self) -> None:
        """Prepare the providers the file's models use, off the event loop. litellm (~3 s of CPU,
        memory) is imported only when the file names a model it serves; an offline or
        OpenAI-compatible file never loads it (a prompt that needs it later loads it then)."""
        from textual.widgets import Markdown  # noqa: F401 - slow to import, needed for output

        try:
            from ..core import providers
        except Exception:  # pragma: no cover - the providers package is optional at startup
            return
        if self.workspace is None:
            return
        if providers.preload_for(self.model_ids()):
            # litellm leaves ~1.5 million long-lived objects: every full garbage collection then
            # walks them all, a visible freeze of the UI (bench/stream.py). Move everything
            # alive now out of the collector's sight; later garbage is collected as usual.
            gc.freeze()

    def engine_loaded(self) -> None:
        """The main screen is usable (form, graph): prepare the providers now, not while the
        screen is still being built (the thread would compete with it for the interpreter)."""
        if self._preload:
            self._preload_providers()

    def model_ids(self) -> list[str]:
        """Every model id the document's prompts would send (settings.model, else the name)."""
        config = self.config
        if config is None:
            return []
        ids: list[str] = []
        for prompt in config.prompts:
            name = config.model_name_of(prompt) or ""
            settings = {**config.models.get(name, {}), **prompt.model_settings}
            model_id = str(settings.get("model") or name)
            if model_id and model_id not in ids:
                ids.append(model_id)
        return ids

    def action_reload(self) -> None:
        """Load the file again (from the load error screen: `r`, or a save seen by its watcher)."""
        self._load()
        if self.session is None:
            screen: Any = self.screen
            if hasattr(screen, "show_error"):
                screen.show_error(self.load_error or Exception("?"))
            self.notify(str(self.load_error), title="Still cannot load", severity="error")
            return
        # on top of the error screen, which stops watching the file when it is covered
        self.main_screen = MainScreen(self.session, self.config_path)
        self.push_screen(self.main_screen)
        self.notify(f"Loaded {self.config_path}")

    # --- runs ---------------------------------------------------------------------------------
    @property
    def has_active_run(self) -> bool:
        return bool(self.workspace and self.workspace.active_runs()) or any(
            w.group == "run" and not w.is_finished for w in self.workers
        )

    def start_run(
        self, target: str | None, mode: RunMode, *, force: bool = False, **overrides: Any
    ) -> Run:
        """Start a run worker: ``mode`` is "one", "with_deps" or "all"; returns the Run."""
        assert self.workspace is not None
        run = self.workspace.new_run(target, mode, force=force, **overrides)
        self._run_worker(run)
        return run

    def start_run_of(self, run: Run) -> None:
        """Start a run the workspace made (a re-run after a reload)."""
        self._run_worker(run)

    @work(group="run", exclusive=False, description="run prompts")
    async def _run_worker(self, run: Run) -> None:
        from ..core.events import Blocked, Cancelled, Delta, Refused  # with the first run

        worker = get_current_worker()
        session, workspace = self.session, self.workspace
        if worker.is_cancelled or session is None or workspace is None:
            return
        error: str | None = None
        main = self.main_screen
        try:
            last_yield = time.monotonic()
            async for event in workspace.execute(run):
                if run.superseded and isinstance(event, Cancelled | Blocked):
                    continue  # the re-run that took over this prompt tells its story
                session.apply(event, run)
                if isinstance(event, Refused):
                    error = event.message
                # a delta only marks the stream dirty: the screen draws it on its next tick
                if not isinstance(event, Delta) and main is not None:
                    main.post_message(RunUpdate(event))
                now = time.monotonic()
                if now - last_yield > YIELD_EVERY:
                    await asyncio.sleep(0)
                    last_yield = time.monotonic()
        except asyncio.CancelledError:
            workspace.cancel(run.id)
            raise
        except Exception as exc:  # the app never dies of a run: one place catches them all
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            if main is not None:
                main.post_message(RunFinished(run, error, refused=run.refusal is not None))

    def cancel_runs(self, run_id: str | None = None, prompt: str | None = None) -> int:
        if self.workspace is None:
            return 0
        return int(self.workspace.cancel(run_id, prompt))

    # --- saving -------------------------------------------------------------------------------
    def action_save(self) -> None:
        self.save_config()

    def save_config(self, then: Callable[[], None] | None = None) -> None:
        """Save the document; asks first when the file changed on disk since it was loaded."""
        if self.config is None:
            return
        if self.config.changed_on_disk():
            from .screens.confirm import ConfirmScreen

            def answered(answer: str | None) -> None:
                if answer == "overwrite":
                    self._write(then=then)
                elif answer == "copy":
                    self._write(copy=True, then=then)

            self.push_screen(
                ConfirmScreen(
                    "The file changed on disk",
                    f"{self.config_path} was changed by another program since it was loaded.\n"
                    "Overwrite it with this session's version, or save this version beside it?",
                    [
                        ("overwrite", "Overwrite", "error"),
                        ("copy", "Save as a copy", "primary"),
                        ("cancel", "Cancel", "default"),
                    ],
                ),
                answered,
            )
            return
        self._write(then=then)

    def save_copy(self, then: Callable[[], None] | None = None) -> None:
        """Write this session's version beside the file (``NAME.mine-STAMP.json``)."""
        self._write(copy=True, then=then)

    @work(thread=True, group="save", exclusive=False, description="save the config")
    def _write(self, *, copy: bool = False, then: Callable[[], None] | None = None) -> None:
        """Write the file in a thread (an fsync can take a while), then report on the loop."""
        assert self.workspace is not None
        try:
            if copy:
                path = Path(self.config_path)
                stamp = time.strftime("%Y%m%d-%H%M%S")
                target = path.with_name(f"{path.name.split('.')[0]}.mine-{stamp}{_suffixes(path)}")
                self.workspace.save(target)
                message = f"a copy: {target}"  # the title says "Saved"
            else:
                self.workspace.save()
                message = str(self.config_path)
        except (PromptTuiError, OSError) as exc:
            self.call_from_thread(self.notify, str(exc), title="Save failed", severity="error")
            return
        except Exception as exc:  # the app never dies of a save
            error = f"internal error: {type(exc).__name__}: {exc}"
            self.call_from_thread(self.notify, error, title="Save failed", severity="error")
            return
        self.call_from_thread(self._saved, message, then)

    def _saved(self, message: str, then: Callable[[], None] | None) -> None:
        self.notify(message, title="Saved")
        if self.main_screen is not None:
            self.main_screen.post_message(FileSaved())
        if then is not None:
            then()

    # --- quitting, help, theme ----------------------------------------------------------------
    async def action_quit(self) -> None:
        if self.session is not None and self.session.dirty:
            from .screens.confirm import ConfirmScreen

            def answered(answer: str | None) -> None:
                if answer == "save":
                    self.save_config(then=self._quit_now)
                elif answer == "discard":
                    self._quit_now()

            self.push_screen(
                ConfirmScreen(
                    "Unsaved changes",
                    "This session changed the config (outputs or edits) and has not saved it.",
                    [
                        ("save", "Save and quit", "primary"),
                        ("discard", "Quit without saving", "error"),
                        ("cancel", "Cancel", "default"),
                    ],
                ),
                answered,
            )
            return
        self._quit_now()

    def _quit_now(self) -> None:
        stop_renders()  # a template still rendering in a worker stops now, not after its budget
        self.cancel_runs()
        self.exit(0 if self.session is not None else 1)  # 1: the config never loaded

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.session is not None  # nothing to save on the load error screen
        return True

    def action_help(self) -> None:
        from .help_text import focused_help
        from .screens.help import HelpScreen

        title, help_text, keys = focused_help(self)
        self.clear_notifications()  # a toast must not cover the help
        self.push_screen(HelpScreen(title, help_text, keys))

    def action_key_map(self) -> None:
        from .help_text import key_map
        from .screens.help import KeyMapScreen

        self.clear_notifications()
        self.push_screen(KeyMapScreen(key_map(self)))

    def action_cycle_theme(self) -> None:
        names = self.theme_cycle if len(self.theme_cycle) > 1 else sorted(self.available_themes)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        where = f"{names.index(self.theme) + 1} of {len(names)}"  # which one is on, and how many
        self.notify(f"Theme: {self.theme} ({where}; kept for next time)", timeout=3)

    def watch_theme(self, theme: str) -> None:
        if not self.is_running:
            return  # no screen to redraw yet
        if theme != self._theme_saved:  # `t`, the palette's theme picker: kept for next time
            self._theme_saved = theme
            self._save_theme(theme)

    @work(thread=True, exclusive=True, group="settings", description="save the theme choice")
    def _save_theme(self, theme: str) -> None:
        from ..core import settings as user_settings

        problem = user_settings.remember_theme(theme)
        if problem:
            self.call_from_thread(self.notify, problem, severity="warning")


def _suffixes(path: Path) -> str:
    parts = path.name.split(".")
    return "." + ".".join(parts[1:]) if len(parts) > 1 else ""
