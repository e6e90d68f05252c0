"""Round 3, keys: a keyring that never answers does not hang `run` (the environment's key is used
without waiting on it), `keys list` says it did not answer, and the process exits; a key with a
line break or a non-ASCII character is refused with a message that never quotes it; passwords
and tokens inside URLs are masked by the one scrubber, `keys test --api-base` included."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.support.openai_server import OpenAIServer
from tui_app.cli import main
from tui_app.core.secrets import scrub_text

HANGING = "tests.support.hanging_keyring.Keyring"
SECRET_TAIL = "NEWLINESECRETPART9876"


def _config(path: Path, base_url: str) -> Path:
    data = {
        "name": "k",
        "schema_version": "latest",
        "metadata": {
            "parameters": {},
            "models": {
                "local": {
                    "model": "openai/test-model",
                    "api_base": base_url,
                    "max_attempts": 1,
                    "api_key_keyring": "local",
                    "api_key_env": "LOCAL_KEY",
                }
            },
            "default_model": "local",
        },
        "prompts": [{"name": "a", "input": "hi"}],
    }
    path.write_text(json.dumps(data))
    return path


def _cli(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
        "PROMPT_TUI_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        **env,
    }
    # timeout: a guard against a hang that would stall the suite, not a timing assertion
    return subprocess.run(
        [sys.executable, "-m", "tui_app.cli", *args],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_uses_the_environment_key_when_the_keyring_never_answers(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    path = _config(tmp_path / "c.json", model_server.base_url)
    env = {"PYTHON_KEYRING_BACKEND": HANGING, "LOCAL_KEY": "local-key-1234567890"}
    done = _cli(tmp_path, "run", str(path), env=env)
    assert done.returncode == 0, done.stderr
    assert "echo: hi" in done.stdout
    assert [r.api_key for r in model_server.requests] == ["local-key-1234567890"]


def test_run_without_a_key_says_the_keyring_did_not_answer_and_exits(tmp_path: Path) -> None:
    path = _config(tmp_path / "c.json", "http://127.0.0.1:9/v1")
    done = _cli(tmp_path, "run", str(path), env={"PYTHON_KEYRING_BACKEND": HANGING})
    assert done.returncode != 0
    assert "did not answer within" in done.stderr and "set LOCAL_KEY" in done.stderr


def test_keys_list_with_a_hanging_keyring_says_so(tmp_path: Path) -> None:
    env = {"PYTHON_KEYRING_BACKEND": HANGING, "OPENAI_API_KEY": "sk-envkey-abcdefgh1234"}
    done = _cli(tmp_path, "keys", "list", env=env)
    assert done.returncode == 0, done.stderr
    assert "did not answer within" in done.stdout
    assert "environment (OPENAI_API_KEY)" in done.stdout and "••••1234" in done.stdout


def test_a_key_with_a_line_break_is_never_sent_nor_shown(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    path = _config(tmp_path / "c.json", model_server.base_url)
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "LOCAL_KEY": f"sk-abc\n{SECRET_TAIL}",
    }
    done = _cli(tmp_path, "run", str(path), "--json", env=env)
    assert done.returncode != 0
    assert "the key in LOCAL_KEY is not usable: it contains a line break" in done.stderr
    assert SECRET_TAIL not in done.stdout + done.stderr
    assert model_server.requests == []
    for file in (tmp_path / "home").rglob("*"):
        if file.is_file():
            assert SECRET_TAIL.encode() not in file.read_bytes(), file
    history = tmp_path / "home" / "history.sqlite3"
    if history.exists():
        dump = "\n".join(sqlite3.connect(history).iterdump())
        assert SECRET_TAIL not in dump


@pytest.mark.parametrize(
    ("key", "words"),
    [("sk-\u00e9t\u00e9-SECRET12345", "non-ASCII"), ("sk-one two-SECRET12345", "space")],
)
def test_keys_set_refuses_a_key_it_could_never_send(tmp_path: Path, key: str, words: str) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "tests.support.memory_keyring.MemoryKeyring"}
    full = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "tui_app.cli", "keys", "set", "openai", "--stdin"],
        cwd=REPO,
        env={**full, **env},
        input=key + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "was not stored" in done.stderr and words in done.stderr
    assert "SECRET12345" not in done.stdout + done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


# --- URLs -----------------------------------------------------------------------------------------

PASS = "p@ss-w0rd-XYZ"


@pytest.mark.parametrize(
    ("url", "hidden", "shown"),
    [
        ("http://u:PASSWORD123@host/v1", "PASSWORD123", "http://u:••••@host/v1"),
        (f"http://u:{PASS}@host:8080/v1", "w0rd-XYZ", "http://u:••••@host:8080/v1"),
        ("https://ghp_TOKEN0123456789@host/v1", "TOKEN0123456789", "https://••••@host/v1"),
        ("http://u:pa:ss:WORD99@h/x", "WORD99", "http://u:••••@h/x"),
    ],
)
def test_the_scrubber_masks_every_credential_in_a_url(url: str, hidden: str, shown: str) -> None:
    text = scrub_text(f"calling {url} failed")
    assert hidden not in text and shown in text


def test_an_at_sign_after_the_host_is_not_a_credential() -> None:
    assert scrub_text("https://host/v1?mail=a@b.c") == "https://host/v1?mail=a@b.c"


@pytest.mark.parametrize(
    "userinfo", ["me:PASSWORD-ONE-42", f"me:{PASS}", "TOKEN-AS-USER-0042"], ids=str
)
def test_keys_test_masks_the_credentials_of_its_api_base(
    capsys: pytest.CaptureFixture[str],
    model_server: OpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    userinfo: str,
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-abcdefgh5678")
    base = model_server.base_url.replace("http://", f"http://{userinfo}@")
    main(["keys", "test", "openai", "--api-base", base])
    out, err = capsys.readouterr()
    secret = userinfo.split(":", 1)[-1]
    assert secret[-8:] not in out + err and secret not in out + err
    assert "••••@127.0.0.1" in out + err
