"""Structured answers, tool calls and attachments (issue 23), through the real local OpenAI
server and the offline models: what is sent, what is stored, what the user is told.

Hostile input included: a 50 MB attachment (refused from its size, never read), a schema whose
``$ref`` refers to itself, JSON nested deeper than Python's recursion limit.
"""

from __future__ import annotations

import base64
import json
import struct
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_server import Fault, OpenAIServer
from tui_app.cli import main
from tui_app.core.config import load
from tui_app.core.events import Delta, Failed, Refused, RunEvent
from tui_app.core.jsondiff import diff
from tui_app.core.resolve import resolve
from tui_app.core.runs import PromptStatus
from tui_app.core.structured import answer_of, check, parse_json
from tui_app.core.tool_answer import answer, pending_calls
from tui_app.core.toolcalls import calls_of
from tui_app.core.workspace import Workspace

SCHEMA = {
    "type": "object",
    "required": ["city", "day"],
    "properties": {"city": {"type": "string"}, "day": {"type": "string"}},
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def write_config(tmp_path: Path, prompts: list[dict[str, Any]], **metadata: Any) -> Path:
    path = tmp_path / "c.aiconfig.json"
    meta = {"default_model": "echo", **metadata}
    path.write_text(json.dumps({"name": "t", "metadata": meta, "prompts": prompts}))
    return path


def server_model(server: OpenAIServer, **settings: Any) -> dict[str, Any]:
    return {"name": "openai/test-model", "settings": {"api_base": server.base_url, **settings}}


async def run_events(workspace: Workspace, target: str | None = None, mode: str = "all"):
    run = workspace.new_run(target, mode)  # type: ignore[arg-type]
    events: list[RunEvent] = [e async for e in workspace.execute(run)]
    return run, events


# -- JSON answers -------------------------------------------------------------------------------


def test_a_schema_mismatch_names_the_path_and_what_was_expected() -> None:
    verdict = check({"city": 42, "day": "Friday"}, SCHEMA)
    assert not verdict.ok and verdict.path == "$.city"
    assert "is not of type 'string'" in verdict.expected
    assert check({"city": "Lisbon", "day": "Friday"}, SCHEMA).ok
    missing = check({"city": "Lisbon"}, SCHEMA)
    assert not missing.ok and "'day' is a required property" in missing.expected


def test_a_recursive_ref_schema_is_named_not_a_crash() -> None:
    endless = check({}, {"$ref": "#"})
    assert not endless.ok and "refers to itself" in endless.expected
    tree = {
        "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}},
        "$ref": "#/$defs/node",
    }
    assert check({"child": {"child": {}}}, tree).ok  # a legitimate recursive schema works
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(3000):
        node["child"] = {}
        node = node["child"]
    verdict = check(deep, tree)  # deeper than jsonschema's recursion can follow
    assert not verdict.ok and "deeper than" in verdict.expected


def test_json_nested_past_the_recursion_limit_is_text_not_a_crash() -> None:
    with pytest.raises(ValueError):
        parse_json("[" * 100_000 + "]" * 100_000)
    assert answer_of({}, None, "[" * 100_000 + "]" * 100_000) is None
    wanted = answer_of({"response_format": {"type": "json_object"}}, None, "[" * 50_000)
    assert wanted is not None and wanted.verdict is not None and not wanted.verdict.ok


def test_json_in_one_fence_is_json_and_prose_is_not() -> None:
    assert parse_json('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ValueError):
        parse_json('Here you go: {"a": 1}')
    with pytest.raises(ValueError):
        parse_json("42")  # a bare number is text


def test_two_json_answers_diff_by_path() -> None:
    before = {"city": "Lisbon", "tags": ["sun", "sea"], "meta": {"n": 1}}
    after = {"city": "Porto", "tags": ["sun"], "meta": {"n": 1.0, "new": True}}
    lines = diff(before, after).lines()
    assert '~ $.city: "Lisbon" -> "Porto"' in lines
    assert '- $.tags[1]: "sea"' in lines
    assert "+ $.meta.new: true" in lines
    assert not any("$.meta.n:" in line for line in lines)  # 1 and 1.0 are the same number
    assert diff({"a b": 1}, {"a b": 2}).changes[0].path == '$["a b"]'
    deep_a: list[Any] = []
    deep_b: list[Any] = []
    a, b = deep_a, deep_b
    for _ in range(20_000):  # no recursion whatever the depth
        a.append([])
        b.append([])
        a, b = a[0], b[0]
    b.append(1)
    assert diff(deep_a, deep_b).changes[0].kind == "added"
    many = diff(list(range(1000)), [-1] * 1000, limit=10)
    assert len(many.changes) == 10 and many.truncated
    from tui_app.core.jsondiff import diff_answers

    found = diff_answers('{"a": 1}', '```json\n{"a": 2}\n```')
    assert found is not None and found.lines() == ["~ $.a: 1 -> 2"]
    assert diff_answers('{"a": 1}', "plain words") is None


async def test_a_json_answer_is_parsed_checked_and_read_downstream(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    model_server.reply_with('{"city": "Lisbon", "day": "Friday"}')
    fmt = {"type": "json_schema", "json_schema": {"name": "trip", "schema": SCHEMA}}
    path = write_config(
        tmp_path,
        [
            {
                "name": "extract",
                "input": "where?",
                "metadata": {"model": server_model(model_server, response_format=fmt)},
            },
            {
                "name": "use",
                "input": "weather in {{extract.output.city}} on {{extract.output.day}}",
            },
        ],
    )
    workspace = Workspace.open(path, history=False)
    run, _ = await run_events(workspace)
    extract = run.result("extract")
    assert extract.status is PromptStatus.DONE
    assert extract.structured is not None and extract.structured.value["city"] == "Lisbon"
    assert extract.structured.verdict is not None and extract.structured.verdict.ok
    assert model_server.chat_requests[0].body["response_format"] == fmt
    assert run.result("use").text == "weather in Lisbon on Friday"


async def test_a_schema_mismatch_fails_the_prompt_and_blocks_what_reads_it(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    model_server.reply_with('{"city": 42}')
    fmt = {"type": "json_schema", "json_schema": {"name": "trip", "schema": SCHEMA}}
    path = write_config(
        tmp_path,
        [
            {
                "name": "extract",
                "input": "where?",
                "metadata": {"model": server_model(model_server, response_format=fmt)},
            },
            {"name": "use", "input": "weather in {{extract.output.city}}"},
        ],
    )
    workspace = Workspace.open(path, history=False)
    run, events = await run_events(workspace)
    failed = [e for e in events if isinstance(e, Failed)]
    assert failed and "does not match the schema at $: 'day' is a required property" in (
        failed[0].error
    )
    assert failed[0].partial_text == '{"city": 42}'  # the answer is kept and shown
    assert run.result("use").status is PromptStatus.BLOCKED
    assert workspace.document.prompt("extract").latest_output is None  # never adopted


async def test_a_missing_field_of_an_upstream_answer_is_named_before_sending(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    stored = {"output_type": "execute_result", "data": '{"town": "Lisbon"}', "metadata": {}}
    path = write_config(
        tmp_path,
        [
            {"name": "extract", "input": "where?", "outputs": [stored]},
            {
                "name": "use",
                "input": "weather in {{extract.output.city}}",
                "metadata": {"model": server_model(model_server)},
            },
        ],
    )
    config = load(path)
    request = resolve(config, "use", allow_missing=True)
    assert request.missing_why == {"extract.output.city": "no field 'city' in its JSON answer"}
    workspace = Workspace.open(path, history=False)
    _, events = await run_events(workspace, "use", "one")
    refused = [e for e in events if isinstance(e, Refused)]
    assert refused and "use" in refused[0].message and "extract.output.city" in refused[0].message
    assert model_server.chat_requests == []  # nothing was sent


def test_validate_marks_field_reads_as_an_extension(tmp_path: Path, capsys) -> None:
    path = write_config(
        tmp_path,
        [{"name": "extract", "input": "x"}, {"name": "use", "input": "{{extract.output.a.b}}"}],
    )
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "'{{extract.output.a.b}}' reads a field of extract's JSON answer" in out
    assert "extension the AIConfig SDK does not resolve" in out
    assert "'{{extract.output.a}}'" not in out  # the longest read says it once


def test_run_json_carries_the_parsed_value(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    path = write_config(
        tmp_path,
        [
            {
                "name": "extract",
                "input": "x",
                "metadata": {
                    "model": {
                        "name": "mock-json",
                        "settings": {
                            "delay": 0,
                            "response_format": {
                                "type": "json_schema",
                                "json_schema": {"name": "t", "schema": SCHEMA},
                            },
                        },
                    }
                },
            }
        ],
    )
    assert main(["run", str(path), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finished = next(e for e in events if e["event"] == "finish")
    assert finished["structured"]["value"] == {"city": "example city", "day": "example day"}
    assert finished["structured"]["verdict"]["ok"] is True


# -- tool calls ---------------------------------------------------------------------------------


async def test_streamed_tool_call_pieces_are_assembled_answered_and_continued(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    model_server.enqueue(Fault.tool_calls(("get_weather", '{"city": "Lisbon", "unit": "C"}')))
    model_server.reply_with("It is sunny in Lisbon.")
    path = write_config(
        tmp_path,
        [
            {
                "name": "lookup",
                "input": "weather in Lisbon?",
                "metadata": {"model": server_model(model_server, tools=[WEATHER_TOOL])},
            },
            {"name": "city", "input": "city: {{lookup.output.arguments.city}}"},
        ],
    )
    workspace = Workspace.open(path, history=False)
    run, events = await run_events(workspace)
    assert model_server.chat_requests[0].body["tools"] == [WEATHER_TOOL]
    shown = "".join(e.text for e in events if isinstance(e, Delta) and e.prompt == "lookup")
    assert shown.startswith("tool call: get_weather\n") and '"unit": "C"}' in shown
    pieces = [e for e in events if isinstance(e, Delta) and e.prompt == "lookup"]
    assert len(pieces) > 2  # streamed as it arrived, not at the end
    output = workspace.document.prompt("lookup").latest_output
    assert output is not None and output["data"]["kind"] == "tool_calls"
    call = output["data"]["value"][0]
    assert call["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Lisbon", "unit": "C"}',
    }
    assert run.result("city").text == "city: Lisbon"  # a downstream prompt reads the arguments

    assert pending_calls(workspace, "lookup") == [
        (call["id"], "get_weather", '{"city": "Lisbon", "unit": "C"}')
    ]
    assert answer(workspace, "lookup", {"get_weather": '{"forecast": "sunny"}'}) == []
    run, events = await run_events(workspace, "lookup", "one")
    sent = model_server.chat_requests[-1].body["messages"]
    assert sent[-2] == {"role": "assistant", "content": None, "tool_calls": [call]}
    assert sent[-1] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": '{"forecast": "sunny"}',
    }
    assert run.result("lookup").text == "It is sunny in Lisbon."
    final = workspace.document.prompt("lookup").latest_output
    assert final is not None and final["metadata"]["tool_exchange"] == sent[-2:]
    # resolved again it is the same request: not stale, same cache key
    assert resolve(workspace.document, "lookup").messages == sent


def test_answered_tool_calls_go_into_later_chat_history_in_the_provider_shape(
    tmp_path: Path,
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    answered = {
        "output_type": "execute_result",
        "data": {"kind": "tool_calls", "value": [call]},
        "metadata": {
            "role": "assistant",
            "tool_results": [{"tool_call_id": "c1", "name": "f", "content": "42"}],
        },
    }
    unanswered = json.loads(json.dumps(answered))
    del unanswered["metadata"]["tool_results"]
    for output, expected in (
        (
            answered,
            [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
        ),
        (unanswered, []),
    ):
        path = write_config(
            tmp_path,
            [{"name": "a", "input": "q1", "outputs": [output]}, {"name": "b", "input": "q2"}],
        )
        request = resolve(load(path), "b")
        assert request.messages == [
            {"content": "q1", "role": "user"},
            *expected,
            {"content": "q2", "role": "user"},
        ]
        assert bool(request.notes) is (output is unanswered)  # the unanswered call is named


def test_legacy_function_call_answers_keep_the_sdk_shape(tmp_path: Path) -> None:
    legacy = {
        "output_type": "execute_result",
        "data": {"role": "assistant", "function_call": {"name": "search", "arguments": "{}"}},
        "metadata": {"role": "assistant"},
    }
    calls, is_legacy = calls_of(legacy)
    assert is_legacy and calls[0]["function"]["name"] == "search"
    path = write_config(
        tmp_path,
        [{"name": "a", "input": "q1", "outputs": [legacy]}, {"name": "b", "input": "q2"}],
    )
    workspace = Workspace.open(path, history=False)
    answer(workspace, "a", {"search": "found it"})
    messages = resolve(workspace.document, "b").messages
    assert messages[1:3] == [
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "search", "arguments": "{}"},
        },
        {"role": "function", "name": "search", "content": "found it"},
    ]


def test_the_cli_answers_a_tool_call_from_a_file_and_continues(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    result = tmp_path / "weather.json"
    result.write_text('{"forecast": "sunny"}')
    path = write_config(
        tmp_path,
        [
            {
                "name": "lookup",
                "input": "weather?",
                "metadata": {
                    "model": {
                        "name": "mock-tool",
                        "settings": {"delay": 0, "tools": [WEATHER_TOOL]},
                    }
                },
            }
        ],
    )
    code = main(["run", str(path), "--tool-result", f"get_weather={result}", "--save"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "tool call: get_weather" in captured.out
    assert 'Using the tool results: {"forecast": "sunny"}' in captured.out
    saved = load(path).prompt("lookup").latest_output
    assert saved is not None and saved["metadata"]["tool_exchange"][1]["role"] == "tool"
    assert main(["run", str(path), "--tool-result", "get_weather"]) == 2  # NAME=FILE, said so
    assert "--tool-result expects NAME=FILE" in capsys.readouterr().err


# -- attachments --------------------------------------------------------------------------------


async def test_an_image_attachment_is_sent_as_an_image_url_part(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.png").write_bytes(png_bytes())
    inline = base64.b64encode(png_bytes()).decode()
    path = write_config(
        tmp_path,
        [
            {
                "name": "look",
                "input": {
                    "data": "what is in {{photo}}?",
                    "attachments": [
                        {"data": "{{photo}}"},
                        {"data": "https://example.com/dog.jpg"},
                        {"data": f"data:image/png;base64,{inline}"},
                    ],
                },
                "metadata": {
                    "model": server_model(model_server),
                    "parameters": {"photo": "photos/cat.png"},
                },
            }
        ],
    )
    request = resolve(load(path), "look")
    assert "base64" not in json.dumps(
        request.messages[0]["content"][1]
    )  # the request names the file
    workspace = Workspace.open(path, history=False)
    run, _ = await run_events(workspace)
    assert run.result("look").status is PromptStatus.DONE
    urls = model_server.chat_requests[0].image_urls
    assert urls[0] == "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert urls[1] == "https://example.com/dog.jpg"
    assert urls[2] == f"data:image/png;base64,{inline}"
    text = model_server.chat_requests[0].body["messages"][0]["content"][0]
    assert text == {"type": "text", "text": "what is in photos/cat.png?"}


async def test_a_model_that_cannot_see_gets_a_refusal_before_anything_is_sent(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    (tmp_path / "cat.png").write_bytes(png_bytes())
    path = write_config(
        tmp_path,
        [
            {
                "name": "look",
                "input": {"data": "see", "attachments": [{"data": "cat.png"}]},
                "metadata": {
                    "model": {
                        "name": "gpt-3.5-turbo",
                        "settings": {"api_base": model_server.base_url},
                    }
                },
            }
        ],
    )
    workspace = Workspace.open(path, history=False)
    _, events = await run_events(workspace)
    refused = [e for e in events if isinstance(e, Refused)]
    assert refused, events
    message = refused[0].message
    assert "prompt 'look', attachment 1: cat.png" in message and "cannot take images" in message
    assert "prompts[0].input.attachments[0]" in message
    assert model_server.chat_requests == []


async def test_a_50_mb_attachment_is_refused_without_being_read(
    tmp_path: Path, model_server: OpenAIServer
) -> None:
    big = tmp_path / "huge.png"
    with big.open("wb") as handle:  # sparse: 50 MB on paper, nothing on disk
        handle.truncate(50 * 1024 * 1024)
    path = write_config(
        tmp_path,
        [
            {
                "name": "look",
                "input": {"data": "see", "attachments": [{"data": "huge.png"}]},
                "metadata": {"model": server_model(model_server)},
            }
        ],
    )
    workspace = Workspace.open(path, history=False)
    tracemalloc.start()
    try:
        _, events = await run_events(workspace)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    refused = [e for e in events if isinstance(e, Refused)]
    assert refused and "huge.png is 50.0 MB, over the 20.0 MB limit" in refused[0].message
    assert peak < 10 * 1024 * 1024  # never read whole into memory
    assert model_server.chat_requests == []


@pytest.mark.parametrize(
    "attachment, said",
    [
        ({"data": "nope.png"}, "no such file: nope.png"),
        ({"data": "notes.txt"}, "unsupported type text/plain"),
        ({"data": "pics/nope-cat.png"}, "no such file"),
        ({"data": "QUJD" * 20}, "base64 data needs a mime_type"),
    ],
)
def test_bad_attachments_are_named_with_their_location(
    tmp_path: Path, attachment: dict[str, str], said: str
) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    path = write_config(
        tmp_path, [{"name": "p", "input": {"data": "x", "attachments": [attachment]}}]
    )
    from tui_app.core.attachments import AttachmentError

    with pytest.raises(AttachmentError) as info:
        resolve(load(path), "p")
    assert said in str(info.value)
    assert "prompts[0].input.attachments[0]" in str(info.value)
    assert "prompt 'p', attachment 1" in str(info.value)


def test_attachments_only_input_is_no_longer_refused(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(png_bytes())
    path = write_config(tmp_path, [{"name": "p", "input": {"attachments": [{"data": "cat.png"}]}}])
    request = resolve(load(path), "p")
    assert [part["type"] for part in request.messages[0]["content"]] == ["image_url"]


def test_the_trip_sample_runs_offline_extraction_tool_call_answer(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    sample = Path(__file__).parents[1] / "sample_configs"
    copy = tmp_path / "trip.aiconfig.yaml"
    copy.write_text((sample / "trip_tools.aiconfig.yaml").read_text())
    result = sample / "tool_results" / "get_weather.json"
    code = main(["run", str(copy), "--set", "delay=0", "--tool-result", f"get_weather={result}"])
    out = capsys.readouterr().out
    assert code == 0
    assert '"city": "Lisbon"' in out and "tool call: get_weather" in out
    assert "Packing advice for Lisbon on Friday" in out and "sunny" in out


@pytest.mark.parametrize("via", ["direct", "litellm"])
async def test_both_transports_assemble_tool_call_deltas(model_server: OpenAIServer, via: str):
    from tests.support.provider_calls import collect, make_request
    from tui_app.core.toolcalls import Assembler, ToolCallPiece

    model_server.enqueue(
        Fault.tool_calls(("get_weather", '{"city": "Lisbon"}'), ("get_time", '{"tz": "UTC"}'))
    )
    request = make_request(
        model_server.base_url, settings={"tools": [WEATHER_TOOL]}, via=via, max_attempts=1
    )
    items = await collect(request, api_key="sk-test-0123456789")
    pieces = [i for i in items if isinstance(i, ToolCallPiece)]
    assert len(pieces) > 4  # in pieces, as they came
    calls = Assembler()
    for piece in pieces:
        calls.feed(piece)
    assert [(c["function"]["name"], c["function"]["arguments"]) for c in calls.calls] == [
        ("get_weather", '{"city": "Lisbon"}'),
        ("get_time", '{"tz": "UTC"}'),
    ]
    assert calls.calls[0]["id"] == "call_0_x"
    assert model_server.chat_requests[0].body["tools"] == [WEATHER_TOOL]


async def test_a_native_clients_tool_call_is_stored_and_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anthropic streams a tool_use block (its input as input_json_delta pieces); the native
    client hands the call over whole at the end: the runner stores it like any other."""
    from tests.support.anthropic_server import AnthropicServer

    def frame(event: str, data: dict[str, Any]) -> str:
        return f"event: {event}\ndata: {json.dumps({'type': event, **data})}\n\n"

    message = {"id": "m1", "role": "assistant", "model": "claude-test", "content": []}
    body = "".join(
        [
            frame("message_start", {"message": {**message, "usage": {"input_tokens": 5}}}),
            frame(
                "content_block_start",
                {
                    "index": 0,
                    "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather"},
                },
            ),
            frame(
                "content_block_delta",
                {"index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
            ),
            frame(
                "content_block_delta",
                {"index": 0, "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'}},
            ),
            frame("content_block_stop", {"index": 0}),
            frame(
                "message_delta",
                {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
            ),
            frame("message_stop", {}),
        ]
    )
    with AnthropicServer() as server:
        server.enqueue(Fault.raw(body, content_type="text/event-stream"))
        model = {
            "name": "anthropic/claude-test",
            "settings": {"api_base": server.base_url, "tools": [WEATHER_TOOL], "max_tokens": 50},
        }
        path = write_config(
            tmp_path, [{"name": "lookup", "input": "weather?", "metadata": {"model": model}}]
        )
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
        workspace = Workspace.open(path, history=False)
        run, events = await run_events(workspace)
    assert run.result("lookup").status is PromptStatus.DONE, events
    output = workspace.document.prompt("lookup").latest_output
    calls, _ = calls_of(output)
    assert [(c["id"], c["function"]["name"]) for c in calls] == [("toolu_1", "get_weather")]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo"}
    assert pending_calls(workspace, "lookup")[0][1] == "get_weather"


def test_an_answer_that_is_no_json_says_so_in_plain_words() -> None:
    """ "the answer does not match the schema at $: the answer is Invalid control character at:
    line 1 column 11" said it twice and mid-sentence in capitals."""
    from tui_app.core.structured import answer_of

    settings = {"response_format": {"type": "json_object"}}
    bad = answer_of(settings, None, '{"city": "Li\tsbon"}')
    assert bad is not None and bad.verdict is not None
    assert bad.verdict.message == (
        "the answer is not valid JSON: invalid control character at line 1, column 13"
    )
    prose = answer_of(settings, None, "Lisbon, surely")
    assert prose is not None and prose.verdict is not None
    assert prose.verdict.message == "the answer is not JSON"
    empty = answer_of(settings, None, "")
    assert empty is not None and empty.verdict is not None
    assert empty.verdict.message == "the answer is empty: no JSON"
