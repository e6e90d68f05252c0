"""`prompt-tui keys ...` and `prompt-tui history ...` end to end (in-process and as a subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import keyring.backend
import keyring.core
import keyring.errors
import pytest
from keyring.errors import PasswordDeleteError

from tui_app.cli import main
from tui_app.commands import keys as keys_command
from tui_app.core import paths
from tui_app.core.history import History, RunRecord, config_key
from tui_app.core.keys import PROVIDER_ENV_VARS, SERVICE

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-cli-2b7e151628aed2a6abf71588-LAST"
ENV_SECRET = "sk-ant-env-09cf4f3c762e71-ENVK"


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = -1  # below the fail backend: never picked by keyring's own discovery

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


@pytest.fixture
def memory(monkeypatch) -> MemoryKeyring:
    """Make `keyring.get_keyring()` return an in-memory backend (restored afterwards)."""
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    for var in PROVIDER_ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    return backend


def _stdin(monkeypatch, text: str, tty: bool = False) -> None:
    stream = io.StringIO(text)
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stream)


def _cli(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tui_app.cli", *args],
        env=full,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- keys --------------------------------------------------------------------------------------


def test_keys_list_shows_sources_masked(memory, monkeypatch, capsys):
    memory.items[(SERVICE, "openai")] = SECRET
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_SECRET)
    assert main(["keys", "list"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err and ENV_SECRET not in out + err
    lines = out.splitlines()
    assert lines[0].startswith("keyring: keys are stored in the OS keyring")
    table = {line.split()[0]: line for line in lines[1:]}
    assert "keyring" in table["openai"] and table["openai"].endswith("••••LAST")
    assert "environment (ANTHROPIC_API_KEY)" in table["anthropic"]
    assert table["anthropic"].endswith("••••ENVK")
    assert table["groq"].split()[1:] == ["none"]
    assert len(table) == 13  # the well-known providers; a --custom entry would be listed too


def test_keys_set_reads_one_line_from_piped_stdin(memory, monkeypatch, capsys):
    _stdin(monkeypatch, SECRET + "\nignored second line\n")
    assert main(["keys", "set", "openai"]) == 0
    assert memory.items == {(SERVICE, "openai"): SECRET}
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "••••LAST" in out


def test_keys_set_uses_getpass_on_a_terminal(memory, monkeypatch, capsys):
    _stdin(monkeypatch, "", tty=True)
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr(keys_command.getpass, "getpass", fake_getpass)
    assert main(["keys", "set", "Anthropic"]) == 0
    assert memory.items == {(SERVICE, "anthropic"): SECRET}
    assert prompts and "anthropic" in prompts[0]
    assert SECRET not in capsys.readouterr().out


def test_keys_set_refuses_a_key_on_the_command_line(memory, capsys):
    assert main(["keys", "set", "openai", SECRET]) == 2
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "stdin" in err
    assert memory.items == {}


def test_keys_set_unknown_provider_is_not_echoed(memory, monkeypatch, capsys):
    _stdin(monkeypatch, SECRET + "\n")
    assert main(["keys", "set", SECRET]) == 2  # a key pasted where the provider goes
    out, err = capsys.readouterr()
    assert SECRET not in out + err and "unknown provider" in err
    _stdin(monkeypatch, SECRET + "\n")
    assert main(["keys", "set", "--custom", "my-gateway"]) == 0
    assert memory.items == {(SERVICE, "my-gateway"): SECRET}


def test_keys_set_with_empty_input_fails(memory, monkeypatch, capsys):
    _stdin(monkeypatch, "\n")
    assert main(["keys", "set", "openai"]) == 1
    assert "no key given" in capsys.readouterr().err
    assert memory.items == {}


def test_keys_delete(memory, monkeypatch, capsys):
    memory.items[(SERVICE, "openai")] = SECRET
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    assert main(["keys", "delete", "openai"]) == 0
    out, _ = capsys.readouterr()
    assert "deleted" in out and "OPENAI_API_KEY is still set" in out and ENV_SECRET not in out
    assert memory.items == {}
    assert main(["keys", "delete", "openai"]) == 1
    assert "no key for openai" in capsys.readouterr().err


def test_keys_path_names_the_backend(memory, capsys):
    assert main(["keys", "path"]) == 0
    first, *words = capsys.readouterr().out.splitlines()
    assert first.startswith("keyring backend: ") and first.endswith("MemoryKeyring")
    assert "keys are stored in the OS keyring" in words[0]


def test_keys_usage_errors_exit_2():
    assert _cli("keys").returncode == 2
    assert _cli("keys", "frobnicate").returncode == 2
    assert _cli("keys", "delete").returncode == 2


def test_keys_without_a_keyring_backend():
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "XAI_API_KEY": ENV_SECRET}
    listed = _cli("keys", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == (
        "keyring: no OS keyring available (keyring backend 'fail'): "
        "keys are read from environment variables"
    )
    assert "environment (XAI_API_KEY)" in listed.stdout and ENV_SECRET not in listed.stdout

    stored = _cli("keys", "set", "openai", env=env, stdin=SECRET + "\n")
    assert stored.returncode == 1
    assert "cannot store a key: no OS keyring available" in stored.stderr
    assert "set OPENAI_API_KEY in the environment instead" in stored.stderr
    assert SECRET not in stored.stdout + stored.stderr

    assert _cli("keys", "delete", "openai", env=env).returncode == 1
    path = _cli("keys", "path", env=env)  # explains, and is not an error
    assert path.returncode == 0
    lines = path.stdout.splitlines()
    assert lines[0] == "keyring backend: keyring.backends.fail.Keyring"
    assert "no OS keyring available" in lines[1]
    assert "install gnome-keyring" in path.stdout and "OPENAI_API_KEY" in path.stdout


def test_keys_with_a_configured_backend_that_cannot_load():
    # SecretService asked for explicitly, with no D-Bus session: keyring raises RuntimeError.
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DBUS_")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(ROOT)
    listed = subprocess.run(
        [sys.executable, "-m", "tui_app.cli", "keys", "list"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    first = listed.stdout.splitlines()[0]
    assert first.startswith(
        "keyring: the configured keyring backend cannot be loaded (RuntimeError"
    )
    assert first.endswith("keys are read from environment variables")
    assert "Traceback" not in listed.stderr

    missing = _cli("keys", "list", env={"PYTHON_KEYRING_BACKEND": "no_such_module.Keyring"})
    assert missing.returncode == 0
    assert "cannot be loaded (ModuleNotFoundError" in missing.stdout


# -- history -----------------------------------------------------------------------------------


@pytest.fixture
def pt_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "pt-home"
    monkeypatch.setenv("PROMPT_TUI_HOME", str(home))
    return home


def _seed(config: Path) -> None:
    with History(paths.history_path()) as history:
        base = dict(run_id="r1", config_path=config_key(config), model="gpt-4o-mini")
        history.record(
            RunRecord(
                **base,
                prompt="summarize",
                status="done",
                ttft=0.412,
                latency=2.5,
                tokens_in=120,
                tokens_out=48,
                cost=0.000123,
                started_at=1_700_000_000.0,
                settings={"api_key": SECRET, "temperature": 0.1},
            )
        )
        history.record(
            RunRecord(**base, prompt="translate", status="cached", started_at=1_700_000_100.0)
        )
        history.record(
            RunRecord(
                **base,
                prompt="translate",
                status="failed",
                error="429 rate limited",
                attempts=3,
                started_at=1_700_000_200.0,
            )
        )
        history.record(
            RunRecord(
                run_id="r2",
                config_path=config_key(config.parent / "other.yaml"),
                prompt="summarize",
                model="echo",
                status="done",
                offline=True,
                started_at=1_700_000_300.0,
            )
        )


def test_history_without_a_database_creates_nothing(pt_home, capsys):
    assert main(["history"]) == 0
    assert "no runs recorded yet" in capsys.readouterr().err
    assert not pt_home.exists()


def test_history_table(pt_home, tmp_path, capsys):
    config = tmp_path / "chain.json"
    _seed(config)
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "time", "config", "prompt", "model", "status", "ttft", "latency", "tokens", "cost",
    ]  # fmt: skip
    assert len(lines) == 5
    assert "other.yaml" in lines[1] and "done (offline)" in lines[1]
    assert "failed" in lines[2]
    assert "cached" in lines[3]
    assert all(
        cell in lines[4] for cell in ("summarize", "412 ms", "2.50 s", "120/48", "$0.000123")
    )


def test_history_filters_by_config_and_prompt(pt_home, tmp_path, monkeypatch, capsys):
    config = tmp_path / "chain.json"
    _seed(config)
    monkeypatch.chdir(tmp_path)
    assert main(["history", "chain.json"]) == 0  # a relative path matches the stored absolute one
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "config" not in lines[0]
    assert main(["history", "chain.json", "--prompt", "translate", "--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "failed" in lines[1]
    # issue 19: a file that does not exist and has no runs is a typo, not "no matching runs"
    assert main(["history", "nothing.json"]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty.json").write_text("{}")
    assert main(["history", "empty.json"]) == 0
    assert "no matching runs" in capsys.readouterr().err


def test_history_json_lines(pt_home, tmp_path, capsys):
    _seed(tmp_path / "chain.json")
    assert main(["history", "--json", "--prompt", "summarize"]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["model"] for r in rows] == ["echo", "gpt-4o-mini"]
    assert rows[1]["settings"] == {"temperature": 0.1}  # the key was stripped on the way in
    assert rows[0]["offline"] is True
    assert SECRET not in out


def test_history_as_a_subprocess(pt_home, tmp_path):
    _seed(tmp_path / "chain.json")
    done = _cli("history", "--limit", "2", env={"PROMPT_TUI_HOME": str(pt_home)})
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    bad = _cli("history", "--limit", "-3", env={"PROMPT_TUI_HOME": str(pt_home)})
    assert bad.returncode == 2


def test_keys_list_reports_a_keyring_that_cannot_be_read(monkeypatch, capsys):
    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    monkeypatch.setattr(keyring.core, "_keyring_backend", Locked())
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    assert main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "could not be read (KeyringLocked" in lines[0]
    assert "environment (OPENAI_API_KEY)" in lines[1]
