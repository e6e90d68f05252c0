"""The TUI after a hostile session: a truncated answer is shown as a failure with its partial
text marked, and no screen (output, request, JSON, run info, history) shows a key or the password
inside an api_base, the parameter form included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.openai_server import Fault, OpenAIServer
from tests.ui.helpers import main_screen, make_app, ready, status, wait_for

KEY = "sk-proj-SCREENLEAKabcdefghijklmn5678"
PASSWORD = "screen-pass-0987654321"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return tmp_path / "home"


async def test_screens_show_no_secret_and_mark_partial_text(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    base = model_server.base_url.replace("http://", f"http://me:{PASSWORD}@")
    data = {
        "name": "screens",
        "schema_version": "latest",
        "metadata": {
            "parameters": {},
            "models": {"m": {"model": "openai/test-model", "api_base": base, "max_attempts": 1}},
            "default_model": "m",
        },
        "prompts": [{"name": "a", "input": "one two three four five"}],
    }
    path = tmp_path / "c.aiconfig.json"
    path.write_text(json.dumps(data))
    model_server.enqueue(Fault.end_after(2))
    app = make_app(path)
    screens: list[str] = []
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "failed", what="a failed")
        await pilot.pause()
        note = str(main_screen(app).query_one("#output-note").render())
        assert "the stream ended before the answer was complete" in note
        assert "partial answer is kept" in note
        assert main_screen(app).output.stream.text == "echo: one "  # the partial text stays
        # The parameter form shows api_base with its password masked (typing over the mask
        # is refused, so the mask is never written back); every pane is scanned.
        for key in ("1", "2", "3", "4", "5"):
            await pilot.press(key)
            await pilot.pause()
            screens.append(app.export_screenshot())
    for screen in screens:
        text = screen.replace("&#160;", " ")
        assert KEY not in text and PASSWORD not in text
        assert KEY[-12:] not in text and PASSWORD[-12:] not in text
