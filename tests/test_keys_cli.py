"""`prompt-tui keys` for scripts: set --stdin, list --json, test; --custom documented."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import keyring.core
import pytest

from tests.support.memory_keyring import MemoryKeyring
from tests.support.openai_server import OpenAIServer
from tui_app.cli import main
from tui_app.core.keys import PROVIDER_ENV_VARS, SERVICE

SECRET = "sk-script-8e1f0a2b3c4d5e6f7a8b-SCRP"
ENV_SECRET = "gsk_env-00112233445566778899-GROQ"


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    for var in PROVIDER_ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    return backend


def stdin(monkeypatch: pytest.MonkeyPatch, text: str, *, tty: bool) -> None:
    stream = io.StringIO(text)
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stream)


def test_set_with_stdin_never_prompts_even_on_a_terminal(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: Any
):
    def no_prompt(prompt: str) -> str:
        raise AssertionError("--stdin must not prompt")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    stdin(monkeypatch, SECRET + "\n", tty=True)
    assert main(["keys", "set", "openai", "--stdin"]) == 0
    out, err = capsys.readouterr()
    assert memory.items[(SERVICE, "openai")] == SECRET
    assert SECRET not in out + err and out.strip().endswith("••••SCRP")


def test_list_json_gives_provider_source_and_masked_key(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: Any
):
    memory.items[(SERVICE, "openai")] = SECRET
    monkeypatch.setenv("GROQ_API_KEY", ENV_SECRET)
    assert main(["keys", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err and ENV_SECRET not in out + err
    rows = {row["provider"]: row for row in json.loads(out)}
    assert rows["openai"] == {
        "provider": "openai",
        "source": "keyring",
        "env_var": "OPENAI_API_KEY",
        "masked": "••••SCRP",
    }
    assert rows["groq"]["source"] == "environment" and rows["groq"]["masked"] == "••••GROQ"
    assert rows["anthropic"]["source"] is None and rows["anthropic"]["masked"] is None
    assert list(rows) == list(PROVIDER_ENV_VARS)


def test_test_accepts_a_good_key_with_one_models_request(
    memory: MemoryKeyring, model_server: OpenAIServer, capsys: Any
):
    model_server.required_key = SECRET
    memory.items[(SERVICE, "my-vllm")] = SECRET
    code = main(["keys", "test", "my-vllm", "--custom", "--api-base", model_server.base_url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("my-vllm: the key ••••SCRP from the OS keyring (entry 'my-vllm'): ")
    assert "key accepted" in out and "(1 model listed)" in out  # issue 19: plurals
    (request,) = model_server.requests
    assert (request.method, request.path, request.api_key) == ("GET", "/v1/models", SECRET)
    assert model_server.chat_requests == []  # no tokens spent
    assert SECRET not in out + err


def test_test_reports_a_rejected_key(
    memory: MemoryKeyring, model_server: OpenAIServer, capsys: Any
):
    model_server.required_key = "sk-the-right-one-000000000000"
    memory.items[(SERVICE, "openai")] = SECRET
    assert main(["keys", "test", "openai", "--api-base", model_server.base_url]) == 1
    out, err = capsys.readouterr()
    assert "key rejected by" in err and "(401)" in err and SECRET not in out + err


def test_test_without_a_key_says_how_to_add_one(memory: MemoryKeyring, capsys: Any):
    assert main(["keys", "test", "anthropic"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "prompt-tui: no key for anthropic: run `prompt-tui keys set anthropic`, "
        "or set ANTHROPIC_API_KEY"
    )


def test_test_a_provider_without_a_models_endpoint_is_a_usage_error(
    memory: MemoryKeyring, capsys: Any
):
    assert main(["keys", "test", "azure"]) == 2
    assert "pass --api-base" in capsys.readouterr().err


def test_custom_is_documented_in_help(capsys: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps at hyphens otherwise
    with pytest.raises(SystemExit):
        main(["keys", "set", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--custom" in text and "api_key_keyring: my-vllm" in text
    assert "--stdin" in text
    with pytest.raises(SystemExit):
        main(["keys", "--help"])
    text = capsys.readouterr().out
    assert "prompt-tui keys set my-vllm --custom" in text and "api_key_env: VLLM_KEY" in text
