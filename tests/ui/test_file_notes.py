"""What loads but deserves a look is said in the TUI, as `validate` and `resolve` say it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.notifications import Notify
from textual.widgets import TextArea

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, wait_for


def notices(messages: list[Any]) -> list[str]:
    return [m.notification.message for m in messages if isinstance(m, Notify)]


async def test_a_key_written_twice_is_named_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "dup.aiconfig.json"
    text = json.dumps(chain([{"name": "a", "input": "one"}]), indent=2)
    text = text.replace('"input": "one"', '"input": "one",\n      "input": "two"')
    path.write_text(text)
    line = text.splitlines().index('      "input": "two"') + 1
    seen: list[Any] = []
    app = make_app(path)
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        said = [n for n in notices(seen) if "duplicate key 'input'" in n]
        assert said and f"{path}:{line}:7" in said[0] and "the last one is used" in said[0]
        assert app.config.prompt("a").template == "two"  # what the SDK's json.loads keeps


async def test_the_request_view_says_what_the_chat_history_leaves_out(tmp_path: Path) -> None:
    """A tool-call answer is left out of the next prompt's chat history (as the SDK does): the
    request view says so instead of leaving the user to wonder where it went."""
    call = {"kind": "tool_calls", "value": [{"id": "1", "type": "function"}]}
    prompts = [
        {
            "name": "lookup",
            "input": "find it",
            "outputs": [{"output_type": "execute_result", "data": call, "metadata": {}}],
        },
        {"name": "answer", "input": "now answer"},
    ]
    path = tmp_path / "calls.aiconfig.json"
    data = chain(prompts)
    data["prompts"][0]["outputs"][0]["metadata"] = {"role": "assistant"}
    path.write_text(json.dumps(data))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "answer")
        await pilot.press("2")
        view = main_screen(app).query_one("#request-view", TextArea)
        await wait_for(pilot, lambda: "now answer" in view.text, what="the request shown")
        assert "note: prompt 'lookup': its answer is a tool call, left out" in view.text
