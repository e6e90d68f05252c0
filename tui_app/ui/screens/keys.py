"""`k`: provider API keys. See where each key comes from, set, replace, delete and test them.

The providers the config uses come first (with the prompts that need them, and any keyring entry
or environment variable a model's settings name for a self-hosted server), then the common ones.
Keys show masked (last 4 characters). A key typed here goes from a password input straight to the
OS keyring, in a thread: nothing else keeps it and it is never written anywhere else.

Every keyring call (D-Bus: the first one can take seconds, a locked collection longer) runs in a
thread worker; the event loop only draws what the worker found.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from ...core import custom_keys
from ...core.display import plural
from ...core.errors import PromptTuiError
from ...core.keys import BackendStatus, KeyStore, KeyStoreError, backend_in_words, mask
from ...core.preflight import KeyNeed, common_key_needs, config_key_needs, find_key
from ..widgets.line_input import LineInput


@dataclass(frozen=True)
class KeyRow:
    """One line of the table: what a user may see (never the key itself)."""

    need: KeyNeed
    prompts: tuple[str, ...]
    source: str | None  # "keyring" | "environment" | "explicit" | None (missing)
    where: str  # "keyring", "environment (OPENAI_API_KEY)", "missing"
    masked: str

    @property
    def found(self) -> bool:
        return self.source is not None

    @property
    def title(self) -> str:
        if self.need.named and self.need.api_base:
            return f"{self.need.label} ({self.need.api_base})"
        return self.need.label


def key_store_of(app: Any) -> KeyStore:
    """The key store the app's runs use, so a key set here is the one the next run sends."""
    keys: KeyStore = app.workspace.keys
    return keys


def open_keys_screen(app: App[Any]) -> None:
    config = getattr(app, "config", None)
    app.push_screen(KeysScreen(key_store_of(app), config))


class KeyInputScreen(ModalScreen[str | None]):
    """A password input: the key shows as dots and is handed to the caller once, on enter."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield LineInput(password=True, placeholder="paste the key", id="key-input")
            yield Static(
                "enter: store in the OS keyring   escape: cancel",
                classes="dialog-hint",
                id="key-hint",
                markup=False,
            )

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        event.input.value = ""  # the widget does not keep the key once it is handed over
        if not value:
            hint = self.query_one("#key-hint", Static)
            hint.update("type or paste a key (escape cancels)")
            hint.add_class("dialog-error")
            return
        self.dismiss(value)


class KeysScreen(Screen[None]):
    HELP = """\
### Keys

Where each provider's key comes from: the OS keyring, an environment variable, or nowhere yet.
The providers this config uses come first. `s` sets (or `r` replaces) the selected key in the OS
keyring, `d` deletes it (asks first), `t` tests it with one cheap request (listing models; no
tokens spent). A key set here is used by the next run. `escape` goes back.
"""

    DEFAULT_CSS = """
    KeysScreen { layout: vertical; }
    KeysScreen #keys-title { text-style: bold; padding: 0 1; }
    KeysScreen #keys-note { padding: 0 1; margin: 0 0 1 0; color: $warning; display: none; }
    KeysScreen #keys-note.-shown { display: block; }
    KeysScreen #keys-table { height: 1fr; }
    KeysScreen #keys-status { padding: 0 1; height: auto; min-height: 1; }
    KeysScreen #keys-status.-error { color: $error; }
    """

    BINDINGS = [
        Binding("escape", "close", "Back", id="keys.close"),
        Binding("s", "set_key", "Set", id="keys.set", tooltip="Store a key in the OS keyring"),
        Binding(
            "r",
            "set_key",
            "Replace",
            id="keys.replace",
            tooltip="Replace the key in the OS keyring",
        ),
        Binding("d", "delete_key", "Delete", id="keys.delete", tooltip="Delete from the keyring"),
        Binding("t", "test_key", "Test", id="keys.test", tooltip="One cheap request with the key"),
    ]

    def __init__(self, store: KeyStore, config: Any = None) -> None:
        super().__init__(id="keys")
        self.store = store
        self.config = config
        self.rows: list[KeyRow] = []
        self.keyring_usable: bool | None = None  # None until the worker has asked
        self.backend_message = ""
        self.test_results: dict[str, str] = {}  # label -> last test result (one line)
        self._needs = self._wanted_needs()

    def _wanted_needs(self) -> list[tuple[KeyNeed, tuple[str, ...]]]:
        used = config_key_needs(self.config) if self.config is not None else []
        listed = {(n.entry, n.env_var) for n, _ in used}
        common = [(n, ()) for n in common_key_needs() if (n.entry, n.env_var) not in listed]
        entries = {n.entry for n, _ in [*used, *common]}
        custom = [  # entries stored with `keys set NAME --custom` (their names are remembered)
            (KeyNeed(name, name, name, None, True), ())
            for name in custom_keys.names()
            if name not in entries
        ]
        return [*used, *common, *custom]

    def compose(self) -> ComposeResult:
        yield Static("Provider API keys", id="keys-title")
        yield Static("", id="keys-note", markup=False)
        table: DataTable[str] = DataTable(id="keys-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("Reading keys…", id="keys-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#keys-table", DataTable)
        table.add_columns("provider", "source", "key", "used by", "test")
        table.focus()
        self.reload()

    # --- reading (thread) ---------------------------------------------------------------------
    @work(
        thread=True,
        exit_on_error=False,
        group="keys-read",
        exclusive=True,
        description="read the keys",
    )
    def reload(self) -> None:
        """Ask the keyring (and the environment) for every row, off the event loop."""
        self.store.refresh()  # another program may have changed the keyring
        rows = []
        for need, prompts in self._needs:
            try:
                hit = find_key(self.store, need)
            except PromptTuiError as exc:  # an entry name the keyring refuses: say, go on
                self.app.call_from_thread(self._say, str(exc), True)
                continue
            if hit.source == "environment":
                where = f"environment ({hit.env_var})"
            else:
                where = hit.source or "none"  # as `keys list` says it
            rows.append(KeyRow(need, prompts, hit.source, where, hit.masked()))
        status = self.store.backend_status()  # after the reads: a read that failed shows here
        self.app.call_from_thread(self._show, rows, status)

    def _show(self, rows: list[KeyRow], status: BackendStatus) -> None:
        self.rows = rows
        if self.keyring_usable != status.usable:
            self.call_after_refresh(self.refresh_bindings)  # Set/Delete come or go
        self.keyring_usable = usable = status.usable
        self.backend_message = message = status.message
        note = self.query_one("#keys-note", Static)
        if usable:
            note.update("")
            note.remove_class("-shown")
        else:
            words = backend_in_words(status)
            note.update(words[:1].upper() + words[1:])
            note.add_class("-shown")
        table = self.query_one("#keys-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            cells = (row.title, row.where, row.masked, ", ".join(row.prompts))
            table.add_row(
                *(Text(cell) for cell in cells),  # a str cell is read as Rich markup
                self.test_results.get(row.need.label, ""),
                key=row.need.label,
            )
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
        self._say(f"{plural(len(rows), 'provider')}; {message}")

    def _say(self, text: str, error: bool = False) -> None:
        status = self.query_one("#keys-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    def selected_row(self) -> KeyRow | None:
        if not self.rows:
            return None
        index = self.query_one("#keys-table", DataTable).cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    # --- actions ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without a usable keyring, Set/Replace/Delete cannot work: not offered (the note at
        the top says why and what to do instead)."""
        return not (action in ("set_key", "delete_key") and self.keyring_usable is False)

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_set_key(self) -> None:
        row = self.selected_row()
        if row is None or self.keyring_usable is None:
            return
        need = row.need
        if need.entry is None:
            self._say(
                f"{need.label} is read from the environment variable {need.env_var} "
                "(the model's api_key_env setting): set it in your shell.",
                error=True,
            )
            return
        if not self.keyring_usable:
            instead = f": set {need.env_var} in your environment" if need.env_var else ""
            self._say(f"No OS keyring to store the key in{instead}.", error=True)
            return
        verb = "Replace" if row.source == "keyring" else "Set"
        now = f" (now {row.masked})" if row.source == "keyring" else ""
        title = f"{verb} the key for {need.label}{now}"
        if row.source == "environment":
            title += f"\nStored in the OS keyring, it is used instead of {row.need.env_var}."

        def entered(value: str | None) -> None:
            if value:
                self._store_key(need.entry or need.label, value)

        self.app.push_screen(KeyInputScreen(title), entered)

    @work(
        thread=True,
        exit_on_error=False,
        group="keys-write",
        description="store a key in the OS keyring",
    )
    def _store_key(self, entry: str, value: str) -> None:
        try:
            self.store.set(entry, value)
        except KeyStoreError as exc:  # its text never holds the key
            self.app.call_from_thread(self._say, str(exc), True)
            return
        self.app.call_from_thread(self._say, f"Stored the key for {entry}: {mask(value)}")
        self.app.call_from_thread(self.reload)

    def action_delete_key(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if row.source != "keyring":
            if row.source == "environment":
                why = f"it comes from {row.where.removeprefix('environment ')}: unset it in your shell"
            else:
                why = "there is none in the OS keyring"
            self._say(f"Nothing to delete for {row.need.label}: {why}.", error=True)
            return
        from .confirm import ConfirmScreen

        entry = row.need.entry or row.need.label

        def answered(answer: str | None) -> None:
            if answer == "delete":
                self._delete_key(entry)

        self.app.push_screen(
            ConfirmScreen(
                "Delete key",
                f"Delete the key for {row.need.label} ({row.masked}) from the OS keyring?",
                [("delete", "Delete", "error"), ("cancel", "Cancel", "default")],
            ),
            answered,
        )

    @work(
        thread=True,
        exit_on_error=False,
        group="keys-write",
        description="delete a key from the OS keyring",
    )
    def _delete_key(self, entry: str) -> None:
        try:
            deleted = self.store.delete(entry)
        except KeyStoreError as exc:
            self.app.call_from_thread(self._say, str(exc), True)
            return
        text = f"Deleted the key for {entry}" if deleted else f"No key for {entry} to delete"
        self.app.call_from_thread(self._say, text)
        self.app.call_from_thread(self.reload)

    def action_test_key(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if not row.found:
            self._say(f"No key for {row.need.label} to test: s sets one.", error=True)
            return
        self._say(f"Testing the key for {row.need.label}…")
        self._test_key(row.need)

    @work(
        thread=True,
        exit_on_error=False,
        group="keys-test",
        exclusive=True,
        description="test a key",
    )
    def _test_key(self, need: KeyNeed) -> None:
        from ...core.key_probe import probe_key

        hit = find_key(self.store, need)
        if hit.value is None:
            result_text, ok = "no key", False
        else:
            result = probe_key(need.provider, hit.value, api_base=need.api_base)
            result_text, ok = result.message, result.ok
        self.app.call_from_thread(self._tested, need.label, result_text, ok)

    def _tested(self, label: str, text: str, ok: bool) -> None:
        self.test_results[label] = "ok" if ok else "failed"
        table = self.query_one("#keys-table", DataTable)
        with contextlib.suppress(CellDoesNotExist, RowDoesNotExist):  # reloaded meanwhile
            table.update_cell(label, table.ordered_columns[4].key, self.test_results[label])
        self._say(f"{label}: {text}", error=not ok)
