"""A key never lands in a config file, the history DB, an error message or CLI output,
even when the provider echoes it back in an error body."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.cli import main

KEY = "sk-proj-SECRETabcdefghijklmnopqrstuv9876"


def test_key_echoed_by_the_provider_is_never_stored_or_printed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    model_server: OpenAIServer,
):
    home = tmp_path / "home"
    monkeypatch.setenv("PROMPT_TUI_HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # Local servers normally get a placeholder key (the user's real key never goes to them): treat
    # this one as remote so the real key is sent, and echoed back in the 401 body.
    from tui_app.core.providers import base, routing

    monkeypatch.setattr(routing, "is_local_url", lambda url: False)
    monkeypatch.setattr(base, "is_local_url", lambda url: False, raising=False)
    data = chain(
        [{"name": "a", "input": "hi", "metadata": {"remember_chat_context": False}}],
        models={"m": {"model": "openai/test-model", "api_base": model_server.base_url}},
        default_model="m",
    )
    path = write_config(tmp_path / "c.json", data)
    model_server.enqueue(Fault.status(401, message=f"Incorrect API key provided: {KEY}"))
    code = main(["run", str(path), "--save", "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert model_server.chat_requests[0].api_key == KEY  # the key really went out
    failed = [
        json.loads(line) for line in out.splitlines() if json.loads(line).get("status") == "failed"
    ]
    assert failed and "401" in failed[0]["error"]
    assert KEY not in out and KEY not in err
    assert KEY not in path.read_text()
    db = home.rglob("*.sqlite3")
    for db_path in db:
        for table_dump in sqlite3.connect(db_path).iterdump():
            assert KEY not in table_dump
        assert KEY.encode() not in db_path.read_bytes()
