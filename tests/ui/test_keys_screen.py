"""The keys screen (`k`), driven like a user with Pilot, on an in-memory keyring backend.

A key typed into the screen goes to the keyring (never shown, never on disk), the next run sends
it to the server, replace and delete work, a missing backend is explained, every keyring call runs
off the event loop's thread, and after a full session the key is found nowhere.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import keyring.backends.fail
from textual.notifications import Notify
from textual.widgets import DataTable, Input

from tests.support.memory_keyring import MemoryKeyring
from tests.support.openai_server import OpenAIServer
from tui_app.core.keys import SERVICE, KeyStore
from tui_app.ui.screens.keys import KeyInputScreen, KeysScreen

from .conftest import chain
from .helpers import main_screen, make_app, ready, select, status, wait_for

# Letters and digits only: Pilot types it key by key.
KEY = "skvllm7f3a9c2e5b8d1f4a6c0e9b2d5SCRT"
NEW_KEY = "skvllm0a1b2c3d4e5f60718293a4b5cNEWK"


def config(write_config: Any, server: OpenAIServer) -> Path:
    """a: the local server, its key in keyring entry my-vllm; b: anthropic."""
    models = {
        "vllm": {
            "model": "openai/test-model",
            "api_base": server.base_url,
            "api_key_keyring": "my-vllm",
            "max_attempts": 1,
        },
        "echo": {"delay": 0},
    }
    prompts = [
        {"name": "a", "input": "hello", "metadata": {"model": "vllm"}},
        {"name": "b", "input": "{{a.output}}", "metadata": {"model": "anthropic/claude-3-5-haiku"}},
    ]
    return write_config(chain(prompts, models=models))  # type: ignore[no-any-return]


def app_with(path: Path, store: KeyStore) -> Any:
    """The app with ``store`` as its key store; history goes to the test's PROMPT_TUI_HOME."""
    return make_app(path, keys=store)


def keys_screen(app: Any) -> KeysScreen:
    screen = app.screen
    assert isinstance(screen, KeysScreen), f"expected the keys screen, got {screen!r}"
    return screen


def row_of(app: Any, label: str) -> Any:
    return next(r for r in keys_screen(app).rows if r.need.label == label)


def cells(app: Any, label: str) -> list[str]:
    table = keys_screen(app).query_one("#keys-table", DataTable)
    return [str(c) for c in table.get_row(label)]


async def open_keys(pilot: Any) -> None:
    await pilot.press("k")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, KeysScreen), what="keys screen")
    await wait_for(pilot, lambda: keys_screen(pilot.app).rows, what="keys read")


async def type_key(pilot: Any, key: str) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, KeyInputScreen), what="key input")
    await pilot.press(*key)
    shown = pilot.app.export_screenshot()
    assert key not in shown and key[-8:] not in shown  # dots on screen, never the key
    await pilot.press("enter")


async def test_set_replace_delete_and_the_next_run_uses_the_key(
    write_config: Any, model_server: OpenAIServer, ui_home: Path
) -> None:
    backend = MemoryKeyring()
    store = KeyStore(environ={}, backend=backend)
    model_server.required_key = KEY
    path = config(write_config, model_server)
    app = app_with(path, store)
    screenshots: list[str] = []
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        loop_thread = threading.current_thread().name
        await open_keys(pilot)
        labels = [r.need.label for r in keys_screen(app).rows]
        assert labels[:3] == ["my-vllm", "anthropic", "openai"]  # the config's first
        assert labels.count("anthropic") == 1
        assert cells(app, "my-vllm")[1:4] == ["none", "", "a"]  # issue 19: as `keys list` says it
        assert cells(app, "my-vllm")[0] == f"my-vllm ({model_server.base_url})"

        # set
        await pilot.press("s")
        await type_key(pilot, KEY)
        await wait_for(pilot, lambda: row_of(app, "my-vllm").source == "keyring", what="stored")
        assert backend.items[(SERVICE, "my-vllm")] == KEY
        assert cells(app, "my-vllm")[1:3] == ["keyring", "••••SCRT"]
        screenshots.append(app.export_screenshot())

        # test: one models request with the key, no tokens
        await pilot.press("t")
        await wait_for(pilot, lambda: cells(app, "my-vllm")[4] == "ok", what="test result")
        assert [(r.method, r.api_key) for r in model_server.requests] == [("GET", KEY)]

        # the next run sends it
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, KeysScreen), what="back")
        await select(pilot, "a")
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", timeout=30, what="run of a")
        assert [r.api_key for r in model_server.chat_requests] == [KEY]

        # replace
        await open_keys(pilot)
        await pilot.press("r")
        await type_key(pilot, NEW_KEY)
        await wait_for(pilot, lambda: row_of(app, "my-vllm").masked == "••••NEWK", what="replaced")
        assert backend.items[(SERVICE, "my-vllm")] == NEW_KEY

        # delete, after confirming
        await pilot.press("d")
        await wait_for(pilot, lambda: not isinstance(app.screen, KeysScreen), what="confirm")
        await pilot.press("enter")
        await wait_for(pilot, lambda: row_of(app, "my-vllm").source is None, what="deleted")
        assert (SERVICE, "my-vllm") not in backend.items
        screenshots.append(app.export_screenshot())
        await pilot.press("escape")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.session.dirty, what="saved")

    # every keyring call ran in a worker thread, never on the event loop
    assert backend.calls and all(thread != loop_thread for _, thread in backend.calls)
    # leak scan after the session: the config, the history DB, anything under both homes
    assert list(ui_home.rglob("history.sqlite3")), "the run was recorded: the scan covers it"
    for secret in (KEY, NEW_KEY):
        for shot in screenshots:
            assert secret not in shot
        for file in [*path.parent.rglob("*"), *ui_home.rglob("*")]:
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), f"{secret[-4:]} in {file}"


async def test_no_keyring_backend_is_explained_and_points_to_the_environment(
    write_config: Any, model_server: OpenAIServer
) -> None:
    store = KeyStore(environ={}, backend=keyring.backends.fail.Keyring())
    app = app_with(config(write_config, model_server), store)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        await open_keys(pilot)
        note = str(keys_screen(app).query_one("#keys-note").render())
        assert "No OS keyring available" in note
        assert "gnome-keyring" in note and "Keychain" in note
        assert keys_screen(app).query_one("#keys-note").display
        table = keys_screen(app).query_one("#keys-table", DataTable)
        table.move_cursor(row=1)  # anthropic
        # issue 19: Set/Replace/Delete cannot work without a keyring: not offered at all
        await pilot.pause()
        offered = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not offered & {"set_key", "delete_key"}, offered
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)  # no input for a key that cannot be kept


async def test_a_run_missing_a_key_is_refused_with_the_tui_hint(
    write_config: Any, model_server: OpenAIServer
) -> None:
    store = KeyStore(environ={}, backend=MemoryKeyring())
    app = app_with(config(write_config, model_server), store)
    notes: list[str] = []
    hook = lambda m: notes.append(str(m.notification.message)) if isinstance(m, Notify) else None  # noqa: E731
    async with app.run_test(size=(140, 40), message_hook=hook) as pilot:
        await ready(pilot)
        await select(pilot, "b")
        await pilot.press("R")  # b with its dependency a: both keys are missing
        await wait_for(pilot, lambda: any("No key" in n for n in notes), what="refusal")
        refusal = next(n for n in notes if "No key" in n)
        assert refusal == (
            "No key for my-vllm (prompt a): press k to add one; "
            "No key for anthropic (prompt b): press k to add one, or set ANTHROPIC_API_KEY"
            "; or try it offline now: m picks echo or mock (no key, no network)"
        )
        assert model_server.requests == []
        assert main_screen(app).selected == "b"


async def test_the_palette_opens_the_keys_screen(
    write_config: Any, model_server: OpenAIServer
) -> None:
    store = KeyStore(environ={}, backend=MemoryKeyring())
    app = app_with(config(write_config, model_server), store)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"Provider keys", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysScreen), what="keys screen")
        assert isinstance(app.screen.query_one("#keys-table"), DataTable)
        assert not app.screen.query(Input)


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        import keyring.errors

        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


async def test_a_locked_keyring_says_to_unlock_it(
    write_config: Any, model_server: OpenAIServer
) -> None:
    store = KeyStore(
        environ={"ANTHROPIC_API_KEY": "sk-ant-env-1234567890-ENVK"}, backend=LockedKeyring()
    )
    app = app_with(config(write_config, model_server), store)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        await open_keys(pilot)
        note = str(keys_screen(app).query_one("#keys-note").render())
        assert "could not be read (KeyringLocked" in note and "Unlock the keyring" in note
        assert cells(app, "anthropic")[1:3] == ["environment (ANTHROPIC_API_KEY)", "••••ENVK"]
