"""Issue 19 (tried as a new user), the CLI side: each test fails without its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SAMPLES
from tui_app.cli import main

TRAVEL = str(SAMPLES / "travel_chain.aiconfig.json")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "--help"], ["--version"], ["validate", TRAVEL]],
    ids=["usage", "argparse-help", "version", "command"],
)
def test_a_reader_that_left_is_no_traceback(args: list[str], tmp_path: Path) -> None:
    """`prompt-tui --help | head -1`: whatever prints (our usage, argparse's help, a command),
    a closed pipe ends quietly (141, like other Unix tools), never a BrokenPipeError trace."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails
    env = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home")}
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from tui_app.cli import main; sys.exit(main())"]
            + args,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
    finally:
        os.close(write_end)
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode in (0, 141)  # argparse's own help swallows the error: 0


@pytest.mark.parametrize("kind", ["markdown", "directory", "no-suffix"])
def test_not_a_config_is_one_line_and_exit_2(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`prompt-tui README.md` or a directory: one line naming it, exit 2, no full screen."""
    target = {
        "markdown": tmp_path / "README.md",
        "directory": tmp_path / "configs",
        "no-suffix": tmp_path / "Makefile",
    }[kind]
    if kind == "directory":
        target.mkdir()
    else:
        target.write_text("# hello\n")
    code, out, err = run_cli(capsys, str(target))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(target) in err
    assert ("directory" in err) if kind == "directory" else (".json, .yaml or .yml" in err)
