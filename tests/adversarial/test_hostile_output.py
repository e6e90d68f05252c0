"""A model's answer or a prompt's name cannot take over the terminal: on a TTY `run` shows control
sequences instead of executing them (a pipe gets the text as is); the TUI widgets show control
characters as visible placeholders; the summary table keeps its layout."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from rich.text import Text

from tests.helpers import REPO, chain, write_config
from tests.support.hostile_text import HOSTILE  # the one payload list every surface is tested with
from tui_app.cli import main
from tui_app.core.inert import visible, visible_name


def _config(tmp_path: Path, name: str = "a") -> Path:
    data = chain(
        [
            {
                "name": name,
                "input": "hi",
                "metadata": {"model": {"name": "mock", "settings": {"response": HOSTILE}}},
            }
        ],
        default_model="mock",
    )
    for model in ("mock",):
        data["metadata"]["models"][model] = {"delay": 0}
    return write_config(tmp_path / "c.json", data)


def test_visible_replaces_every_control_character() -> None:
    shown = visible(HOSTILE + "\ttab\r\nnext\x00\x7f")
    assert not any(c in shown for c in "\x1b\x07\x9b\u202e\x00\x7f\r")
    assert "␛]0;pwned␇" in shown and "␛[2J" in shown
    assert "\ttab\nnext" in shown  # text layout is kept
    assert visible_name("a\nb\tc\x1b") == "a␊b␉c␛"


def _run_on_a_tty(path: Path, home: Path) -> bytes:
    master, slave = pty.openpty()
    env = {**os.environ, "PROMPT_TUI_HOME": str(home), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_app.cli", "run", str(path)],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env=env,
    )
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return out


def test_run_on_a_terminal_shows_escape_sequences(tmp_path: Path) -> None:
    out = _run_on_a_tty(_config(tmp_path), tmp_path / "home").decode("utf-8", "replace")
    assert "\x1b]0;" not in out and "\x1b[2J" not in out and "\x07" not in out
    assert "\u202e" not in out
    assert "␛]0;pwned␇" in out and "␛[2J" in out


def test_run_to_a_pipe_prints_the_text_as_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    assert main(["run", str(_config(tmp_path))]) == 0
    assert HOSTILE in capsys.readouterr().out


def test_control_characters_in_names_keep_the_summary_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    assert main(["run", str(_config(tmp_path, name="evil\x1b[2J\nname"))]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err
    [row] = [line for line in err.splitlines() if "evil" in line]
    assert "evil␛[2J␊name" in row and "done" in row
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if "evil" in line]
    assert "evil␛[2J␊name" in row and "done" in row and "\x1b" not in out


async def test_tui_widgets_show_placeholders() -> None:
    from textual.app import App, ComposeResult

    from tui_app.ui.widgets.prompt_tree import PromptTree
    from tui_app.ui.widgets.stream_view import _clean

    name = "bad\x1b]0;x\x07\nname"

    class TreeApp(App[None]):
        def compose(self) -> ComposeResult:
            yield PromptTree(id="tree")

    app = TreeApp()
    async with app.run_test():
        tree = app.query_one(PromptTree)
        tree.configure(status=lambda n: "idle", model=lambda n: "m\x1b[31m", deps=lambda n: [])
        tree.rebuild([name])
        label = tree.label_for(name)
    assert isinstance(label, Text)
    assert "\n" not in label.plain and "\x1b" not in label.plain and "\x07" not in label.plain
    assert "bad␛]0;x␇␊name" in label.plain and "m␛[31m" in label.plain
    shown = _clean(HOSTILE)
    assert "\x1b" not in shown and "␛[2J" in shown
