"""Round 3: a YAML alias bomb that multiplies string *size* is refused at load in every command, the
TUI and `run --watch`; a burst of saves is coalesced into a handful of runs of its last version
(real files, real watchfiles, requests counted at a real local server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.support.openai_server import OpenAIServer
from tests.test_watch_cli import Output
from tests.ui.helpers import make_app, wait_for
from tui_app.cli import main
from tui_app.core import limits

BOMB_WORDS = "YAML aliases expand to more than"


def alias_bomb() -> str:
    """~100 KB of YAML: ten aliases per level, five levels, to a 10,000-character string — a
    billion characters once expanded, but only ~111k values (under the value limit)."""
    lines = ['s0: &s0 "' + "x" * 10_000 + '"']
    for level in range(1, 6):
        lines.append(f"s{level}: &s{level} [" + ", ".join([f"*s{level - 1}"] * 10) + "]")
    lines += [
        "name: bomb",
        "schema_version: latest",
        "metadata:",
        "  default_model: echo",
        "  parameters:",
        "    big: *s5",
        "prompts:",
        "- name: a",
        "  input: '{{big}}'",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def test_the_bomb_is_small_and_under_the_value_limit() -> None:
    text = alias_bomb()
    assert len(text) < 100_000
    assert limits.MAX_EXPANDED_VALUES > 111_111  # the old check, counting values, let it in


@pytest.mark.parametrize(
    "args", [["validate"], ["resolve", "{path}", "a"], ["run"], ["status"], ["run", "--json"]]
)
def test_every_command_refuses_the_bomb_at_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    argv = [a.replace("{path}", str(path)) for a in args]
    if "{path}" not in args:
        argv.insert(1, str(path))
    code = main(argv)
    out, err = capsys.readouterr()
    assert code != 0
    assert BOMB_WORDS in out + err and "characters" in out + err
    assert f"{path}:2:" in out + err  # where: the first alias
    assert "MemoryError" not in out + err and "Traceback" not in err


async def test_the_tui_shows_the_bomb_on_its_load_error_screen(tmp_path: Path) -> None:
    from tui_app.ui.screens.load_error import LoadErrorScreen

    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoadErrorScreen), what="the error")
        await pilot.pause()
        assert BOMB_WORDS in app.export_screenshot().replace("&#160;", " ")


def _start_watch(path: Path, home: Path) -> tuple[subprocess.Popen[str], Output]:
    env = {**os.environ, "PROMPT_TUI_HOME": str(home), "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tui_app.cli", "run", str(path), "--all", "--watch"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    return process, Output(process.stdout)


def _one_prompt(base_url: str, version: int) -> str:
    data = {
        "name": "burst",
        "schema_version": "latest",
        "metadata": {
            "parameters": {},
            "models": {
                "local": {"model": "openai/test-model", "api_base": base_url, "max_attempts": 1}
            },
            "default_model": "local",
        },
        "prompts": [{"name": "a", "input": f"version {version}"}],
    }
    return json.dumps(data, indent=2)


def _sent_versions(server: OpenAIServer) -> list[str]:
    return [
        r.body["messages"][-1]["content"]
        for r in server.requests
        if isinstance(r.body, dict) and r.body.get("messages")
    ]


def test_run_watch_refuses_a_bomb_saved_over_the_file_and_keeps_watching(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_one_prompt(model_server.base_url, 0))  # JSON is valid YAML
    process, out = _start_watch(path, tmp_path / "home")
    try:
        out.wait_for("echo: version 0", "the first run")
        path.write_text(alias_bomb())
        out.wait_for(BOMB_WORDS, "the refusal")
        path.write_text(_one_prompt(model_server.base_url, 1))
        out.wait_for("echo: version 1", "the run after the fix")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "MemoryError" not in out.text and "Traceback" not in out.text
    finally:
        if process.poll() is None:
            process.kill()


SAVES = 200


def test_run_watch_coalesces_a_burst_of_saves(model_server: OpenAIServer, tmp_path: Path) -> None:
    """200 saves, one every 10 ms (an autosave or a script): a handful of requests, and the last
    one is the last version. Counted at the server, never timed."""
    path = tmp_path / "c.json"
    path.write_text(_one_prompt(model_server.base_url, 0))
    process, out = _start_watch(path, tmp_path / "home")
    try:
        out.wait_for("echo: version 0", "the first run")
        for version in range(1, SAVES + 1):
            path.write_text(_one_prompt(model_server.base_url, version))
            time.sleep(0.01)  # the rhythm of the burst, not a wait for an event
        last = f"version {SAVES}"
        assert model_server.wait_for(lambda rs: any(_has(r, last) for r in rs), timeout=30)
        out.wait_for(f"echo: {last}", "the last version's answer")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        sent = _sent_versions(model_server)
        assert sent[0] == "version 0" and sent[-1] == last
        assert len(sent) <= 6, sent  # the first run + a handful for the burst (was 73)
    finally:
        if process.poll() is None:
            process.kill()


def _has(record: object, text: str) -> bool:
    body = getattr(record, "body", None)
    return isinstance(body, dict) and any(
        m.get("content") == text for m in body.get("messages", []) if isinstance(m, dict)
    )


async def test_the_tui_coalesces_a_burst_of_saves(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    """The TUI's live reload uses the same watcher: 200 saves, a handful of requests, the last
    version last."""
    from tests.ui.helpers import status

    path = tmp_path / "c.json"
    path.write_text(_one_prompt(model_server.base_url, 0))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "engine_ready", False), what="ready")
        await wait_for(
            pilot, lambda: any(w.group == "watch" for w in app.screen.workers), what="the watcher"
        )
        await pilot.pause(0.2)  # its directory watch is in place
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", what="the first run")
        for version in range(1, SAVES + 1):
            path.write_text(_one_prompt(model_server.base_url, version))
            await pilot.pause(0.01)  # the rhythm of the burst; the app runs meanwhile
        last = f"version {SAVES}"
        await wait_for(
            pilot,
            lambda: (
                any(_has(r, last) for r in model_server.requests) and status(app, "a") == "done"
            ),
            timeout=30,
            what="the last version's run",
        )
        sent = _sent_versions(model_server)
        assert sent[0] == "version 0" and sent[-1] == last
        assert len(sent) <= 6, sent
