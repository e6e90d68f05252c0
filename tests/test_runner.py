"""The runner against a real OpenAI-compatible server on 127.0.0.1: proofs from its own records."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import keyring.backends.fail
import pytest

from tests.helpers import REPO, chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.core.config import load, loads
from tui_app.core.errors import MissingReferenceError
from tui_app.core.events import (
    Blocked,
    Cached,
    Cancelled,
    Delta,
    Failed,
    Finished,
    Queued,
    Refused,
    Retrying,
    RunDone,
    Started,
)
from tui_app.core.history import History
from tui_app.core.keys import KeyStore
from tui_app.core.workspace import Workspace


def served(server: OpenAIServer, prompts: list[dict], **meta) -> dict:
    """A config whose default model is the local server."""
    models = {
        "local": {"model": "openai/test-model", "api_base": server.base_url, "max_attempts": 3}
    }
    return chain(prompts, models=models, default_model="local", **meta)


def p(name: str, template: str, **metadata) -> dict:
    metadata.setdefault("remember_chat_context", False)
    return {"name": name, "input": template, "metadata": metadata}


FAN = [
    p("a", "alpha"),
    p("b", "beta"),
    p("c", "gamma"),
    p("d", "delta"),
    p("join", "{{a.output}} {{b.output}} {{c.output}} {{d.output}}"),
]


def workspace(config, *, history=None, keys=None, concurrency: int = 4) -> Workspace:
    return Workspace.for_document(
        config, history=history or False, keys=keys, concurrency=concurrency
    )


def request(target: str | None = None, mode: str = "with_deps", **kwargs) -> dict:
    return {"target": target, "mode": "all" if target is None else mode, **kwargs}


async def collect(ws: Workspace, req: dict) -> list:
    req = dict(req)
    run = ws.new_run(req.pop("target"), req.pop("mode"), **req)
    return [event async for event in ws.execute(run)]


def by_prompt(events: list, kind: type) -> dict[str, object]:
    return {e.prompt: e for e in events if isinstance(e, kind)}


@pytest.fixture
def history(tmp_path: Path):
    db = History(tmp_path / "history.sqlite3")
    yield db
    db.close()


async def test_fan_out_requests_overlap_and_join_sees_every_output(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.delay_per_request = 0.3
    config = load(write_config(tmp_path / "c.json", served(model_server, FAN)))
    events = await collect(workspace(config), request("join"))
    finished = by_prompt(events, Finished)
    assert set(finished) == {"a", "b", "c", "d", "join"}
    records = model_server.chat_requests
    assert len(records) == 5
    first_four, last = records[:4], records[4]
    # the four independent requests were all in flight at once...
    assert max(r.arrived for r in first_four) < min(r.ended for r in first_four)
    # ...and the join was sent only after all of them ended, with their answers in it
    assert last.arrived >= max(r.ended for r in first_four)
    assert last.body["messages"][-1]["content"] == "echo: alpha echo: beta echo: gamma echo: delta"
    assert finished["join"].text == "echo: echo: alpha echo: beta echo: gamma echo: delta"
    assert isinstance(events[-1], RunDone) and events[-1].counts == {"done": 5}
    assert [type(e) for e in events[:5]] == [Queued] * 5


async def test_concurrency_bound_is_respected(model_server: OpenAIServer, tmp_path: Path):
    model_server.delay_per_request = 0.2
    config = load(write_config(tmp_path / "c.json", served(model_server, FAN)))
    await collect(workspace(config, concurrency=2), request())
    records = model_server.chat_requests
    for record in records:  # never more than 2 in flight when any request arrived
        in_flight = [r for r in records if r.arrived <= record.arrived < (r.ended or 1e18)]
        assert len(in_flight) <= 2


async def test_unchanged_rerun_sends_nothing_even_after_restart(
    model_server: OpenAIServer, tmp_path: Path
):
    path = write_config(tmp_path / "c.json", served(model_server, FAN))
    db_path = tmp_path / "h.sqlite3"
    with History(db_path) as db:
        await collect(workspace(load(path), history=db), request("join"))
    assert len(model_server.chat_requests) == 5
    with History(db_path) as db:  # a new process: fresh runner, same history file
        events = await collect(workspace(load(path), history=db), request("join"))
    assert len(model_server.chat_requests) == 5  # nothing sent
    cached = by_prompt(events, Cached)
    assert set(cached) == {"a", "b", "c", "d", "join"}
    assert cached["join"].text.startswith("echo: echo: alpha")
    # force bypasses the cache
    with History(db_path) as db:
        await collect(workspace(load(path), history=db), request("a", mode="one", force=True))
    assert len(model_server.chat_requests) == 6


async def test_changed_parameter_reruns_only_what_changed(
    model_server: OpenAIServer, tmp_path: Path
):
    prompts = [p("a", "about {{topic}}"), p("b", "fixed"), p("join", "{{a.output}}+{{b.output}}")]
    config = load(
        write_config(tmp_path / "c.json", served(model_server, prompts, parameters={"topic": "x"}))
    )
    runner = workspace(config)
    await collect(runner, request("join"))
    assert runner.state("a").status.value == "done" and runner.state("join").status.value == "done"
    runner.set_param("topic", "y")
    assert runner.state("a").status.value == "stale"
    runner.set_param("topic", None)
    events = await collect(runner, request("join", params={"topic": "y"}))
    assert set(by_prompt(events, Cached)) == {"b"}
    assert set(by_prompt(events, Finished)) == {"a", "join"}
    assert (
        model_server.chat_requests[-1].body["messages"][-1]["content"]
        == "echo: about y+echo: fixed"
    )


async def test_429_then_ok_sends_two_requests(model_server: OpenAIServer, tmp_path: Path):
    model_server.enqueue(Fault.status(429, retry_after=0.05))
    config = load(write_config(tmp_path / "c.json", served(model_server, [p("a", "hi")])))
    events = await collect(workspace(config), request("a"))
    assert len(model_server.chat_requests) == 2
    (retry,) = [e for e in events if isinstance(e, Retrying)]
    assert retry.attempt == 1 and "429" in retry.reason
    assert by_prompt(events, Finished)["a"].attempts == 2


async def test_401_sends_one_request_and_blocks_downstream(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.enqueue(Fault.status(401))
    config = load(
        write_config(
            tmp_path / "c.json", served(model_server, [p("a", "hi"), p("b", "{{a.output}}")])
        )
    )
    events = await collect(workspace(config), request("b"))
    assert len(model_server.chat_requests) == 1
    failed = by_prompt(events, Failed)["a"]
    assert failed.http_status == 401
    blocked = by_prompt(events, Blocked)["b"]
    assert blocked.by == "a" and "failed" in blocked.reason
    assert config.prompt("a").latest_output is None  # a failure never becomes an output


async def test_drop_mid_stream_keeps_partial_text_and_blocks(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.reply_with("one two three four five six")
    model_server.enqueue(Fault.drop_after(2))
    config = load(
        write_config(
            tmp_path / "c.json", served(model_server, [p("a", "hi"), p("b", "{{a.output}}")])
        )
    )
    events = await collect(workspace(config), request("b"))
    failed = by_prompt(events, Failed)["a"]
    assert failed.partial_text.startswith("one two")
    assert "".join(e.text for e in events if isinstance(e, Delta)) == failed.partial_text
    assert len(model_server.chat_requests) == 1  # never retried after text
    assert by_prompt(events, Blocked)["b"].by == "a"


async def test_cancel_one_prompt_closes_its_connection(model_server: OpenAIServer, tmp_path: Path):
    model_server.tokens_per_response = 2000
    model_server.chunk_delay = 0.01
    config = load(
        write_config(
            tmp_path / "c.json",
            served(model_server, [p("slow", "hi"), p("after", "{{slow.output}}")]),
        )
    )
    runner = workspace(config)
    events = []
    async for event in runner.execute(runner.new_run("after")):
        events.append(event)
        if (
            isinstance(event, Delta)
            and len(events) < 10_000
            and not any(isinstance(e, Cancelled) for e in events)
        ):
            runner.cancel(prompt="slow")
    cancelled = by_prompt(events, Cancelled)["slow"]
    assert cancelled.partial_text
    assert model_server.wait_for(
        lambda rs: rs and rs[0].disconnected and not rs[0].completed, timeout=5
    )
    assert by_prompt(events, Blocked)["after"].reason == "'slow' cancelled"
    assert len(model_server.chat_requests) == 1


async def test_cancel_everything_by_closing_the_event_stream(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.tokens_per_response = 5000
    model_server.chunk_delay = 0.01
    config = load(
        write_config(tmp_path / "c.json", served(model_server, [p("a", "x"), p("b", "y")]))
    )
    runner = workspace(config)
    stream = runner.execute(runner.new_run(None))
    async for event in stream:
        if isinstance(event, Delta):
            break
    await stream.aclose()
    assert model_server.wait_for(
        lambda rs: len(rs) == 2 and all(r.disconnected for r in rs), timeout=60
    )  # a ceiling against a hang on a loaded machine, not a timing assertion
    assert not runner.runner.busy


async def test_history_rows_record_each_prompt_run(
    model_server: OpenAIServer, tmp_path: Path, history: History
):
    path = write_config(
        tmp_path / "c.json", served(model_server, [p("a", "hi"), p("b", "{{a.output}}")])
    )
    await collect(workspace(load(path), history=history), request("b"))
    rows = {row.prompt: row for row in history.runs(config_path=str(path))}
    assert set(rows) == {"a", "b"}
    a = rows["a"]
    assert a.status == "done" and a.output_text == "echo: hi" and a.model == "openai/test-model"
    assert a.messages == [{"content": "hi", "role": "user"}]
    assert a.tokens_in and a.tokens_out and a.latency is not None and a.ttft is not None
    assert a.run_id == rows["b"].run_id and a.attempts == 1
    assert a.started_at <= a.ended_at


async def test_outputs_are_aiconfig_execute_results_and_save(
    model_server: OpenAIServer, tmp_path: Path
):
    path = write_config(tmp_path / "c.json", served(model_server, [p("a", "hi")]))
    config = load(path)
    await collect(workspace(config), request("a"))
    config.save()
    saved = json.loads(path.read_text())["prompts"][0]["outputs"]
    assert saved[0]["output_type"] == "execute_result" and saved[0]["data"] == "echo: hi"
    meta = saved[0]["metadata"]
    assert meta["role"] == "assistant" and meta["finish_reason"] == "stop"
    assert meta["usage"]["completion_tokens"] == 2 and meta["model"]


async def test_missing_key_fails_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def no_network(*args, **kwargs):
        raise AssertionError("a request was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    config = loads(json.dumps(chain([p("a", "hi")], default_model="gpt-4o-mini")))
    keys = KeyStore(environ={}, backend=keyring.backends.fail.Keyring())
    events = await collect(workspace(config, keys=keys), request("a"))  # refused: nothing sent
    (refused,) = [e for e in events if isinstance(e, Refused)]
    assert refused.problems == (
        "No key for openai (prompt a): set OPENAI_API_KEY"
        "; or try it offline now: --model echo (no key, no network)",
    )
    assert not any(isinstance(e, Started) for e in events)


async def test_missing_parameters_refuse_the_run_listing_them(tmp_path: Path):
    config = loads(json.dumps(chain([p("a", "{{city}} {{month}}"), p("b", "{{a.output}} {{c}}")])))
    events = await collect(workspace(config), request("a"))
    (refused,) = [e for e in events if isinstance(e, Refused)]
    assert refused.problems == (str(MissingReferenceError("a", ["city", "month"])),)
    assert not any(isinstance(e, Started) for e in events)


async def test_offline_models_open_no_socket(monkeypatch: pytest.MonkeyPatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    config = loads(
        json.dumps(
            chain(
                [
                    p("a", "hello there", model={"name": "echo", "settings": {"delay": 0}}),
                    p(
                        "b",
                        "ignored",
                        model={
                            "name": "mock",
                            "settings": {"response": "fixed answer", "delay": 0},
                        },
                    ),
                    p(
                        "c",
                        "{{a.output}} / {{b.output}}",
                        model={"name": "echo", "settings": {"delay": 0}},
                    ),
                ]
            )
        )
    )
    events = await collect(workspace(config), request("c"))
    finished = by_prompt(events, Finished)
    assert finished["c"].text == "hello there / fixed answer"
    assert all(e.offline for e in finished.values())
    assert all(e.offline for e in events if isinstance(e, Started))


def test_offline_run_from_the_cli_never_imports_litellm(tmp_path: Path):
    code = (
        "import sys\nfrom tui_app.cli import main\n"
        "rc = main(['run', 'sample_configs/support_reply.aiconfig.yaml', '--force'])\n"
        "assert rc == 0, rc\nassert 'litellm' not in sys.modules\n"
    )
    env = {"PROMPT_TUI_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "yes: the refund covers a failed backup" in result.stdout


async def test_chat_context_prompts_run_in_order(model_server: OpenAIServer, tmp_path: Path):
    prompts = [{"name": "q1", "input": "first"}, {"name": "q2", "input": "second"}]
    config = load(write_config(tmp_path / "c.json", served(model_server, prompts)))
    await collect(workspace(config), request())
    first, second = model_server.chat_requests
    assert second.arrived >= first.ended
    assert second.body["messages"] == [
        {"content": "first", "role": "user"},
        {"content": "echo: first", "role": "assistant"},
        {"content": "second", "role": "user"},
    ]


async def test_runner_never_raises_on_a_template_error_mid_run(tmp_path: Path):
    config = loads(
        json.dumps(
            chain(
                [
                    p(
                        "a",
                        "{{ x.__class__ }}",
                        parameters={"x": 1},
                        model={"name": "echo", "settings": {"delay": 0}},
                    )
                ]
            )
        )
    )
    events = await collect(workspace(config), request("a"))
    assert "prompt 'a'" in by_prompt(events, Failed)["a"].error
    await asyncio.sleep(0)


async def test_a_run_cancelled_at_its_first_event_ends(model_server: OpenAIServer, tmp_path: Path):
    """Cancelling a run when it says its prompts are queued (before any has started) ends it
    with every prompt cancelled: a task cancelled before its first step never ran the code that
    reports it, and the run waited for that report forever."""
    config = load(write_config(tmp_path / "c.json", served(model_server, FAN)))
    runner = workspace(config)
    run = runner.new_run("join")
    events = []

    async def consume() -> None:
        async for event in runner.execute(run):
            events.append(event)
            if isinstance(event, Queued) and len(events) == 1:
                assert runner.cancel(run.id) == 5

    # a ceiling against a hang (the bug), not a timing assertion
    await asyncio.wait_for(consume(), timeout=60)
    assert isinstance(events[-1], RunDone)
    assert {e.prompt for e in events if isinstance(e, Cancelled)} == {"a", "b", "c", "d", "join"}
    assert run.counts() == {"cancelled": 5}
    assert model_server.chat_requests == []
    assert not runner.runner.busy
