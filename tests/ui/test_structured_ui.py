"""JSON answers as a tree, tool calls answered in the app, attachments in the form (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static, TextArea

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tui_app.ui.screens.tool_answer import ToolAnswerScreen
from tui_app.ui.widgets.json_tree import MAX_CHILDREN, JsonTree

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def stored(text: str) -> list[dict[str, Any]]:
    return [
        {
            "output_type": "execute_result",
            "data": text,
            "metadata": {"role": "assistant", "model": "echo"},
        }
    ]


def labels(tree: JsonTree) -> list[str]:
    out = []
    stack = [tree.root]
    while stack:
        node = stack.pop()
        out.append(str(node.label))
        if node.is_expanded:
            stack.extend(reversed(node.children))
    return out


async def test_a_json_answer_is_a_folded_tree_and_v_shows_the_raw_text(tmp_path: Path) -> None:
    answer = {
        "city": "Lisbon",
        "days": [{"day": "Fri", "sky": "\x1b[2Jsun"}],
        "deep": {"a": {"b": {"c": 1}}},
    }
    path = tmp_path / "json.aiconfig.json"
    path.write_text(
        json.dumps(
            chain([{"name": "extract", "input": "x", "outputs": stored(json.dumps(answer))}])
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        tree = screen.output.query_one(JsonTree)
        await wait_for(pilot, lambda: tree.display, what="the JSON tree")
        shown = labels(tree)
        assert 'city: "Lisbon"' in shown and "days: [] 1 item" in shown
        assert 'sky: "\\u001b[2Jsun"' in shown  # model text stays inert
        assert "c: 1" not in shown  # folded below the first levels
        deep = next(n for n in tree.root.children if str(n.label).startswith("deep"))
        b_node = deep.children[0].children[0]
        assert not b_node.children  # not even built until it is opened
        tree.focus()
        tree.move_cursor(b_node)
        await pilot.press("enter")  # unfold: its children are added now
        await wait_for(pilot, lambda: "c: 1" in labels(tree), what="the node unfolded")
        assert screen.output.border_subtitle == "$.deep.a.b"
        await pilot.press("v")
        await wait_for(pilot, lambda: not tree.display, what="raw text")
        assert screen.output.stream.text == json.dumps(answer)


async def test_deep_and_wide_json_renders_bounded(tmp_path: Path) -> None:
    deep = '{"k": ' * 400 + "1" + "}" * 400  # a tree that is built only as far as it is opened
    hostile = "[" * 5000 + "]" * 5000  # deeper than Python's recursion limit: raw text
    wide = json.dumps(list(range(5 * MAX_CHILDREN)))
    prompts = [
        {"name": "deep", "input": "x", "outputs": stored(deep)},
        {"name": "hostile", "input": "x", "outputs": stored(hostile)},
        {"name": "wide", "input": "x", "outputs": stored(wide)},
    ]
    path = tmp_path / "deep.aiconfig.json"
    path.write_text(json.dumps(chain(prompts)))
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        output = main_screen(app).output
        tree = output.query_one(JsonTree)
        await wait_for(pilot, lambda: tree.display, what="the JSON tree")
        assert len(labels(tree)) <= 4  # the first levels only, not 400 nodes
        await select(pilot, "hostile")
        await wait_for(pilot, lambda: output.stream.display, what="raw text")
        assert output.stream.text == hostile
        await select(pilot, "wide")
        await wait_for(pilot, lambda: tree.display, what="the wide tree")
        shown = labels(tree)
        assert len(shown) == MAX_CHILDREN + 2  # the root, the first items, "… N more"
        assert f"… {4 * MAX_CHILDREN} more (raw text: v)" in shown


async def test_a_tool_call_is_answered_in_the_app_and_the_prompt_goes_on(tmp_path: Path) -> None:
    result_file = tmp_path / "weather.json"
    result_file.write_text('{"forecast": "rain"}')
    prompts = [
        {
            "name": "lookup",
            "input": "weather?",
            "metadata": {
                "model": {
                    "name": "mock-tool",
                    "settings": {
                        "delay": 0,
                        "tools": [WEATHER_TOOL],
                        "arguments": {"city": "Oslo"},
                    },
                }
            },
        }
    ]
    path = tmp_path / "tool.aiconfig.json"
    path.write_text(json.dumps(chain(prompts)))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "lookup")
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "lookup") == "done", what="the tool call")
        screen = main_screen(app)
        await wait_for(
            pilot,
            lambda: "tool call: get_weather" in screen.output.stream.text,
            what="the call shown",
        )
        assert '"city": "Oslo"' in screen.output.stream.text  # pretty arguments
        note = screen.output.query_one("#output-note", Static)
        assert "T answers it" in str(note.render())
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolAnswerScreen), what="the form")
        await pilot.press("ctrl+s")  # nothing typed: said, not sent
        hint = app.screen.query_one("#tool-hint", Static)
        assert "get_weather: type its result or give a file" in str(hint.render())
        app.screen.query_one("#tool-file-0", Input).value = str(result_file)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ToolAnswerScreen), what="closed")
        await wait_for(
            pilot,
            lambda: "Using the tool results" in main_screen(app).output.stream.text,
            what="the conversation continued",
        )
        assert '{"forecast": "rain"}' in main_screen(app).output.stream.text
        await pilot.press("2")
        view = main_screen(app).query_one("#request-view", TextArea)
        await wait_for(pilot, lambda: "── tool" in view.text, what="the request with the result")
        assert "tool call: get_weather" in view.text


async def test_the_form_and_info_show_attachments(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    prompts = [
        {
            "name": "look",
            "input": {"data": "what is it?", "attachments": [{"data": "{{photo}}"}]},
            "metadata": {"parameters": {"photo": "cat.png"}},
        }
    ]
    path = tmp_path / "att.aiconfig.json"
    path.write_text(json.dumps(chain(prompts)))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        assert screen.form.data is not None
        assert screen.form.data.attachments == ["cat.png (image/png, 108 bytes)"]
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "look") == "done", what="the run")
        await pilot.press("4")
        info = screen.output.query_one("#info-view", Static)
        await wait_for(pilot, lambda: "attachment" in str(info.render()), what="info")
        assert "cat.png (image/png, 108 bytes)" in str(info.render())
        await pilot.press("2")
        view = screen.query_one("#request-view", TextArea)
        await wait_for(pilot, lambda: "image_url" in view.text, what="the request")
        assert "cat.png (image/png, 108 bytes) sent inline as base64" in view.text
        assert "base64," not in view.text
