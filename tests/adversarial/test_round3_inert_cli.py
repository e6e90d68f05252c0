"""Round 3, the CLI: every command's output and error lines on a terminal (a real pseudo-terminal)
show the shared payload list instead of executing it — compare, run --watch, resolve, status,
validate, history, keys, the "no prompt named X" line and the error lines. A pipe still gets the
text as is (scripts)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.support.hostile_text import HOSTILE, HOSTILE_NAME, raw_controls
from tui_app.cli import main

SHOWN = "\u241b"  # ␛


def _config(tmp_path: Path, *, names: tuple[str, ...] = ("a", HOSTILE_NAME)) -> Path:
    prompts = [
        {
            "name": name,
            "input": "say: " + HOSTILE,
            "metadata": {"model": {"name": "mock", "settings": {"response": HOSTILE}}},
        }
        for name in names
    ]
    data = {
        "name": "hostile",
        "schema_version": "latest",
        "metadata": {"parameters": {}, "models": {"mock": {"delay": 0}}, "default_model": "mock"},
        "prompts": prompts,
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    return path


def on_a_tty(
    tmp_path: Path, *args: str, stop_when: str | None = None, env: dict[str, str] | None = None
) -> str:
    """Run ``prompt-tui ARGS`` with stdout and stderr on a pseudo-terminal; what it wrote.
    ``stop_when``: send SIGINT once this text was written (a watch)."""
    master, slave = pty.openpty()
    full = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    full["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_app.cli", *args],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env={**full, **(env or {})},
    )
    os.close(slave)
    out = b""
    stopped = False
    while True:
        ready, _, _ = select.select([master], [], [], 30)  # a guard against a hang
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
        if stop_when and not stopped and stop_when.encode() in out:
            stopped = True
            proc.send_signal(signal.SIGINT)
    os.close(master)
    proc.wait(timeout=60)
    return out.decode("utf-8", "replace")


def _check(text: str, what: str, *, shown: bool = True) -> None:
    assert raw_controls(text, tty=True) == [], f"{what}: raw control characters\n{text!r}"
    if shown:  # JSON output escapes control characters itself
        assert SHOWN in text, f"{what}: the hostile text was not shown\n{text!r}"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def test_compare(tmp_path: Path) -> None:
    path = _config(tmp_path)
    _check(on_a_tty(tmp_path, "compare", str(path), "a", "-m", "mock", "-m", "echo"), "compare")


def test_resolve(tmp_path: Path) -> None:
    _check(on_a_tty(tmp_path, "resolve", str(_config(tmp_path)), "a"), "resolve")


def test_run_and_history_and_status(tmp_path: Path) -> None:
    path = _config(tmp_path)
    _check(on_a_tty(tmp_path, "run", str(path)), "run")
    _check(on_a_tty(tmp_path, "history", str(path)), "history")
    _check(on_a_tty(tmp_path, "history", str(path), "--json"), "history --json", shown=False)
    _check(on_a_tty(tmp_path, "status", str(path)), "status")


def test_run_watch(tmp_path: Path) -> None:
    path = _config(tmp_path)
    _check(on_a_tty(tmp_path, "run", str(path), "--watch", stop_when="end"), "run --watch")


def test_validate(tmp_path: Path) -> None:
    path = _config(tmp_path, names=(HOSTILE_NAME, HOSTILE_NAME))  # a duplicated name
    _check(on_a_tty(tmp_path, "validate", str(path)), "validate")


def test_the_no_prompt_named_line(tmp_path: Path) -> None:
    path = _config(tmp_path)
    _check(on_a_tty(tmp_path, "run", str(path), HOSTILE_NAME + "x"), "no prompt named")


def test_error_lines(tmp_path: Path) -> None:
    missing = tmp_path / ("gone" + HOSTILE_NAME + ".json")
    _check(on_a_tty(tmp_path, "validate", str(missing)), "file not found")
    _check(on_a_tty(tmp_path, HOSTILE_NAME), "no such command or file")


def test_keys(tmp_path: Path) -> None:
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.support.memory_keyring.MemoryKeyring",
        "PYTHONPATH": str(REPO),
    }
    _check(on_a_tty(tmp_path, "keys", "delete", HOSTILE_NAME, env=env), "keys delete")


def test_a_pipe_gets_the_text_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(_config(tmp_path, names=("a",)))]) == 0
    assert HOSTILE in capsys.readouterr().out


def test_every_json_printer_escapes_what_a_terminal_would_run(tmp_path: Path) -> None:
    """JSON for people and scripts alike: DEL, C1 and bidi controls in a model's answer were
    printed raw (json.dumps(ensure_ascii=False) escapes only C0); now ``\\uXXXX``, the same
    JSON value."""
    path = _config(tmp_path)
    printed = on_a_tty(tmp_path, "run", str(path), "--json")
    _check(printed, "run --json", shown=False)
    assert "\\u202e" in printed  # the answer's bidi override, escaped
    for args in (
        ("status", str(path), "--json"),
        ("resolve", str(path), "a", "--json"),
        ("compare", str(path), "a", "-m", "mock", "-m", "echo", "--json"),
    ):
        _check(on_a_tty(tmp_path, *args), " ".join(args[:1] + args[2:]), shown=False)


def test_batch_redraws_its_progress_line_in_place_on_a_terminal(tmp_path: Path) -> None:
    """The terminal boundary makes text from elsewhere inert, not prompt-tui's own control: the
    progress line's carriage return and erase were printed as "␍␛[2K" and the bar never
    redrew in place."""
    sample = REPO / "sample_configs" / "faq_checks.aiconfig.yaml"
    printed = on_a_tty(tmp_path, "batch", str(sample))
    assert "\x1b[2K" in printed and "␛[2K" not in printed and "␍" not in printed
    assert "rows" in printed
