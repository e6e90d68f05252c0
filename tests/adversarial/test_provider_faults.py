"""The provider-fault matrix: every fault the test server can inject, run through `prompt-tui run`
on a two-prompt chain (``b`` reads ``a``'s output), asserting what a user would see: the exit
code, how many requests were made, the failure message, the partial text kept and marked, the
downstream prompt blocked, the history row, and that a broken answer is never served from the
cache."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.cli import main
from tui_app.core.history import History

PROMPT = "one two three four five six"
REPLY = "alpha beta gamma delta epsilon zeta eta theta"


@dataclass
class Case:
    faults: list[Fault]
    code: int  # exit code of `prompt-tui run`
    requests: int  # chat requests the server saw
    a_status: str  # the status prompt a ends in
    error: str = ""  # in a's error message
    partial: str | None = None  # a's partial text ("" when none streamed)
    b_blocked: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    api_base: str | None = None


SSE_CHOICES_TEXT = 'data: {"choices": "oops"}\n\n'

CASES: dict[str, Case] = {
    "ok": Case([], 0, 2, "done"),
    "clean close mid-answer": Case(
        [Fault.end_after(3)],
        1,
        1,
        "failed",
        "the stream ended before the answer was complete",
        partial="alpha beta gamma ",
        b_blocked=True,
    ),
    "200 with no events, then ok": Case([Fault.end_after(0)], 0, 3, "done"),
    "200 with no events, every time": Case(
        [Fault.end_after(0), Fault.end_after(0)],
        1,
        2,
        "failed",
        "the stream ended before the answer was complete",
        partial="",
        b_blocked=True,
    ),
    "connection cut mid-answer": Case(
        [Fault.drop_after(2)],
        1,
        1,
        "failed",
        "closed before the answer finished",
        partial="alpha beta ",
        b_blocked=True,
    ),
    "connection cut before any text, then ok": Case([Fault.drop_after(0)], 0, 3, "done"),
    "500 then ok": Case([Fault.status(500)], 0, 3, "done"),
    "429 with Retry-After then ok": Case([Fault.status(429, retry_after=0)], 0, 3, "done"),
    "429 every time": Case(
        [Fault.status(429, retry_after=0)] * 2,
        1,
        2,
        "failed",
        "429 Too Many Requests: injected 429 Too Many Requests (gave up after 2 attempts)",
        partial="",
        b_blocked=True,
    ),
    "401": Case([Fault.status(401)], 1, 1, "failed", "401 Unauthorized", "", b_blocked=True),
    "choices is a string": Case(
        [Fault.raw('{"choices": "oops"}')], 1, 1, "failed", "choices is not a list", "", True
    ),
    "no choices": Case([Fault.raw('{"choices": []}')], 1, 1, "failed", "no choices", "", True),
    "choices is a string in a stream": Case(
        [Fault.raw(SSE_CHOICES_TEXT, content_type="text/event-stream")],
        1,
        1,
        "failed",
        "choices is not a list",
        "",
        True,
    ),
    "an HTML page": Case(
        [Fault.raw("<html><body>Bad gateway</body></html>", content_type="text/html")],
        1,
        1,
        "failed",
        "not JSON",
        "",
        True,
    ),
    "error object in the stream": Case(
        [
            Fault.raw(
                'data: {"error": {"message": "model overloaded", "code": "bad"}}\n\n',
                content_type="text/event-stream",
            )
        ],
        1,
        1,
        "failed",
        "model overloaded",
        "",
        True,
    ),
    "cut at max_tokens is a success": Case([], 0, 2, "done", settings={"max_tokens": 2}),
    "invalid port via litellm": Case(
        [],
        1,
        0,
        "failed",
        "invalid port 99999",
        "",
        True,
        settings={"transport": "litellm"},
        api_base="http://127.0.0.1:99999/v1",
    ),
    "invalid port": Case(
        [], 1, 0, "failed", "invalid port 99999", "", True, api_base="http://127.0.0.1:99999/v1"
    ),
}


def _config(tmp_path: Path, server: OpenAIServer, case: Case) -> Path:
    model = {
        "model": "openai/test-model",
        "api_base": case.api_base or server.base_url,
        "max_attempts": 2,
        **case.settings,
    }
    data = chain(
        [
            {"name": "a", "input": PROMPT, "metadata": {"remember_chat_context": False}},
            {"name": "b", "input": "{{a.output}}", "metadata": {"remember_chat_context": False}},
        ],
        models={"local": model},
        default_model="local",
    )
    return write_config(tmp_path / "chain.aiconfig.json", data)


def _run(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["run", str(path), "b", "--json"])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.mark.parametrize("name", list(CASES))
def test_fault(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    model_server: OpenAIServer,
) -> None:
    case = CASES[name]
    home = tmp_path / "home"
    monkeypatch.setenv("PROMPT_TUI_HOME", str(home))
    model_server.reply_with(lambda body: REPLY if PROMPT in str(body) else "downstream answer")
    model_server.enqueue(*case.faults)
    path = _config(tmp_path, model_server, case)

    code, events, err = _run(capsys, path)

    assert code == case.code, err
    assert "Error:" not in err and "Traceback" not in err and "internal error" not in err
    assert len(model_server.settle()) == case.requests
    ends = {e["prompt"]: e for e in events if e.get("status") not in (None, "queued", "running")}
    a = ends["a"]
    assert a["status"] == case.a_status
    with History(home / "history.sqlite3") as history:
        rows = {r.prompt: r for r in reversed(history.runs(limit=None))}  # the newest wins
    if case.a_status == "failed":
        assert case.error in a["error"]
        assert a["partial_text"] == case.partial
        assert rows["a"].status == "failed" or case.api_base  # refused before any request
        if case.partial:
            assert rows["a"].output_text == case.partial
            assert "partial answer is kept" in err
    else:
        assert rows["a"].status == "done"
        assert a["text"] == REPLY if not case.settings else a["text"] == "alpha beta "
    if case.b_blocked:
        assert ends["b"]["status"] == "blocked" and ends["b"]["by"] == "a"
        assert "b" not in rows or rows["b"].status != "done"
    else:
        assert ends["b"]["status"] == "done"
    if case.settings.get("max_tokens"):
        assert a["finish_reason"] == "length"
        assert "cut at max_tokens" in err

    if case.a_status == "failed" and case.requests:
        # a broken answer is never cached: the next run asks the server again
        before = len(model_server.settle())
        code, events, err = _run(capsys, path)
        assert code == 0, err
        assert len(model_server.settle()) == before + 2
        assert not any(e.get("status") == "cached" for e in events)
