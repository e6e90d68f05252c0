"""The key preflight and key sources, against the real local model server.

A run whose prompts need keys nobody set is refused before its first request, naming every
missing key with the prompts that need it; a self-hosted server gets the key its model settings
name; a plain local server never gets a provider's real key; a 401 says where the key came from.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import keyring.backends.fail
import pytest

from tests.helpers import chain, write_config
from tests.support.memory_keyring import MemoryKeyring
from tests.support.openai_server import OpenAIServer
from tui_app.cli import main
from tui_app.core.config import AIConfig, load
from tui_app.core.events import Failed, Finished, Refused
from tui_app.core.keys import PROVIDER_ENV_VARS, SERVICE, KeyStore
from tui_app.core.providers.base import LOCAL_DUMMY_KEY
from tui_app.core.workspace import Workspace

SERVER_KEY = "sk-vllm-5a1d93be77c0f2e1b8-VLLM"
PROVIDER_KEY = "sk-proj-real-openai-0d9c8b7a6f-REAL"


def prompt(name: str, template: str, model: str) -> dict[str, Any]:
    return {
        "name": name,
        "input": template,
        "metadata": {"model": model, "remember_chat_context": False},
    }


def mixed_chain(server: OpenAIServer) -> dict[str, Any]:
    """a (local server) -> b (anthropic), c (gemini), d (anthropic, reads b)."""
    return chain(
        [
            prompt("a", "start", "local"),
            prompt("b", "{{a.output}} more", "anthropic/claude-3-5-haiku-latest"),
            prompt("c", "{{a.output}} other", "gemini/gemini-2.0-flash"),
            prompt("d", "{{b.output}} end", "anthropic/claude-3-5-haiku-latest"),
        ],
        models={"local": {"model": "openai/test-model", "api_base": server.base_url}},
    )


def no_keys() -> KeyStore:
    return KeyStore(environ={}, backend=MemoryKeyring())


def workspace(config: AIConfig, keys: KeyStore) -> Workspace:
    return Workspace.for_document(config, history=False, keys=keys)


async def collect(ws: Workspace, target: str | None) -> list[Any]:
    run = ws.new_run(target, "with_deps")
    return [event async for event in ws.execute(run)]


def refusal(events: list[Any]) -> tuple[str, ...]:
    """The problems of the run's refusal; nothing of it started."""
    (refused,) = [e for e in events if isinstance(e, Refused)]
    assert not any(e.kind == "started" for e in events)
    return refused.problems


async def test_two_missing_providers_are_named_at_once_and_nothing_is_sent(
    model_server: OpenAIServer, tmp_path: Path
):
    config = load(write_config(tmp_path / "c.json", mixed_chain(model_server)))
    ws = workspace(config, no_keys())
    assert refusal(await collect(ws, None)) == (
        "No key for anthropic (prompts b, d): run `prompt-tui keys set anthropic`, "
        "or set ANTHROPIC_API_KEY",
        "No key for gemini (prompt c): run `prompt-tui keys set gemini`, or set GEMINI_API_KEY"
        "; or try it offline now: --model echo (no key, no network)",
    )
    assert model_server.requests == []  # not even the local prompt a went out
    ws.runner.key_hint = "tui"  # how the TUI words it
    assert refusal(await collect(ws, None)) == (
        "No key for anthropic (prompts b, d): press k to add one, or set ANTHROPIC_API_KEY",
        "No key for gemini (prompt c): press k to add one, or set GEMINI_API_KEY"
        "; or try it offline now: m picks echo or mock (no key, no network)",
    )
    assert model_server.requests == []


async def test_without_a_keyring_the_hint_is_the_environment_variable_only(
    model_server: OpenAIServer, tmp_path: Path
):
    config = load(write_config(tmp_path / "c.json", mixed_chain(model_server)))
    ws = workspace(config, KeyStore(environ={}, backend=keyring.backends.fail.Keyring()))
    only_env = "No key for anthropic (prompt b): set ANTHROPIC_API_KEY"
    assert refusal(await collect(ws, "b")) == (
        only_env + "; or try it offline now: --model echo (no key, no network)",
    )
    ws.runner.key_hint = "tui"
    assert refusal(await collect(ws, "b")) == (
        only_env + "; or try it offline now: m picks echo or mock (no key, no network)",
    )
    assert model_server.requests == []


def test_cli_run_is_refused_with_the_cli_hint(
    model_server: OpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
):
    for var in PROVIDER_ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(keyring.core, "_keyring_backend", MemoryKeyring())
    path = write_config(tmp_path / "c.json", mixed_chain(model_server))
    assert main(["run", str(path), "d"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "prompt-tui: No key for anthropic (prompts b, d): run `prompt-tui keys set anthropic`, "
        "or set ANTHROPIC_API_KEY; or try it offline now: --model echo (no key, no network)"
    )
    assert model_server.requests == []


async def test_only_the_keys_still_missing_are_named(model_server: OpenAIServer, tmp_path: Path):
    # anthropic's key is in the keyring: of a run of everything only gemini's is missing
    backend = MemoryKeyring()
    backend.items[(SERVICE, "anthropic")] = "sk-ant-0123456789abcdef-AAAA"
    config = load(write_config(tmp_path / "c.json", mixed_chain(model_server)))
    ws = workspace(config, KeyStore(environ={}, backend=backend))
    problems = refusal(await collect(ws, None))
    assert [p.split(" (")[0] for p in problems] == ["No key for gemini"]


def served_with(server: OpenAIServer, **settings: Any) -> dict[str, Any]:
    models = {"local": {"model": "openai/test-model", "api_base": server.base_url, **settings}}
    return chain([prompt("a", "hello", "local")], models=models)


async def test_a_self_hosted_server_gets_the_keyring_entry_its_settings_name(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.required_key = SERVER_KEY
    backend = MemoryKeyring()
    backend.items[(SERVICE, "my-vllm")] = SERVER_KEY
    backend.items[(SERVICE, "openai")] = PROVIDER_KEY
    data = served_with(model_server, api_key_keyring="my-vllm", temperature=0.5)
    config = load(write_config(tmp_path / "c.json", data))
    keys = KeyStore(environ={"OPENAI_API_KEY": PROVIDER_KEY}, backend=backend)
    events = await collect(workspace(config, keys), "a")
    assert [type(e) for e in events if isinstance(e, Finished | Failed)] == [Finished]
    (sent,) = model_server.chat_requests
    assert sent.api_key == SERVER_KEY
    assert "api_key_keyring" not in sent.body and sent.body["temperature"] == 0.5


async def test_a_self_hosted_server_gets_the_environment_variable_its_settings_name(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.required_key = SERVER_KEY
    data = served_with(model_server, api_key_env="VLLM_KEY")
    config = load(write_config(tmp_path / "c.json", data))
    keys = KeyStore(environ={"VLLM_KEY": SERVER_KEY, "OPENAI_API_KEY": PROVIDER_KEY})
    await collect(workspace(config, keys), "a")
    assert [r.api_key for r in model_server.chat_requests] == [SERVER_KEY]
    assert "api_key_env" not in model_server.chat_requests[0].body


async def test_a_named_key_that_is_missing_refuses_the_run(
    model_server: OpenAIServer, tmp_path: Path
):
    data = served_with(model_server, api_key_keyring="my-vllm", api_key_env="VLLM_KEY")
    config = load(write_config(tmp_path / "c.json", data))
    keys = KeyStore(environ={"OPENAI_API_KEY": PROVIDER_KEY}, backend=MemoryKeyring())
    assert refusal(await collect(workspace(config, keys), "a")) == (
        "No key for my-vllm (prompt a): run `prompt-tui keys set my-vllm --custom`, "
        "or set VLLM_KEY"
        "; or try it offline now: --model echo (no key, no network)",
    )
    assert model_server.requests == []


async def test_a_plain_local_server_never_gets_a_providers_real_key(
    model_server: OpenAIServer, tmp_path: Path
):
    backend = MemoryKeyring()
    backend.items[(SERVICE, "openai")] = PROVIDER_KEY
    config = load(write_config(tmp_path / "c.json", served_with(model_server)))
    keys = KeyStore(environ={"OPENAI_API_KEY": PROVIDER_KEY}, backend=backend)
    await collect(workspace(config, keys), "a")
    assert [r.api_key for r in model_server.chat_requests] == [LOCAL_DUMMY_KEY]


@pytest.mark.parametrize(
    ("settings", "environ", "stored", "where"),
    [
        ({"api_key_keyring": "my-vllm"}, {}, True, "the OS keyring (entry 'my-vllm')"),
        ({"api_key_env": "VLLM_KEY"}, {"VLLM_KEY": "sk-wrong-4c3b2a1908f7e6d5-BADK"}, False,
         "the environment variable VLLM_KEY"),
    ],
)  # fmt: skip
async def test_an_auth_failure_names_where_the_key_came_from(
    model_server: OpenAIServer,
    tmp_path: Path,
    settings: dict[str, str],
    environ: dict[str, str],
    stored: bool,
    where: str,
):
    model_server.required_key = SERVER_KEY  # the key we send is not this one: 401
    wrong = "sk-wrong-4c3b2a1908f7e6d5-BADK"
    backend = MemoryKeyring()
    if stored:
        backend.items[(SERVICE, "my-vllm")] = wrong
    config = load(write_config(tmp_path / "c.json", served_with(model_server, **settings)))
    keys = KeyStore(environ=environ, backend=backend)
    events = await collect(workspace(config, keys), "a")
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert failed.http_status == 401
    assert f"the key sent (••••BADK) came from {where}: check or replace it" in failed.error
    assert "check OPENAI_API_KEY" not in failed.error and wrong not in failed.error


def test_keyring_reads_of_the_preflight_run_off_the_event_loop(
    model_server: OpenAIServer, tmp_path: Path
):
    backend = MemoryKeyring()
    backend.items[(SERVICE, "my-vllm")] = SERVER_KEY
    config = load(
        write_config(tmp_path / "c.json", served_with(model_server, api_key_keyring="my-vllm"))
    )
    ws = workspace(config, KeyStore(environ={}, backend=backend))

    async def go() -> str:
        import threading

        await collect(ws, "a")
        return threading.current_thread().name

    loop_thread = asyncio.run(go())
    assert backend.calls and all(thread != loop_thread for _, thread in backend.calls)


def test_the_config_file_keeps_names_not_keys(model_server: OpenAIServer, tmp_path: Path):
    data = served_with(model_server, api_key_env="VLLM_KEY")
    path = write_config(tmp_path / "c.json", data)
    config = load(path)
    keys = KeyStore(environ={"VLLM_KEY": SERVER_KEY})
    asyncio.run(collect(workspace(config, keys), "a"))
    config.save()
    text = path.read_text()
    assert SERVER_KEY not in text
    assert json.loads(text)["metadata"]["models"]["local"]["api_key_env"] == "VLLM_KEY"


@pytest.mark.parametrize("option", ["api_key_env", "api_key_keyring"])
async def test_a_key_pasted_where_a_name_belongs_is_refused_without_showing_it(
    model_server: OpenAIServer, tmp_path: Path, option: str
):
    pasted = "sk-proj-Zx81kQ0pL3vB7nM2cD5fG9hJ"
    config = load(write_config(tmp_path / "c.json", served_with(model_server, **{option: pasted})))
    (message,) = refusal(await collect(workspace(config, no_keys()), "a"))
    assert message.startswith(f"prompt 'a': setting {option} must be the name of")
    assert pasted not in message and pasted[-4:] not in message
    assert model_server.requests == []
