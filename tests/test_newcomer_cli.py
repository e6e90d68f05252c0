"""Issue 19 (tried as a new user), the CLI side: each test fails without its fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SAMPLES, chain, write_config
from tests.support.openai_server import OpenAIServer
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


def test_offline_settings_never_reach_a_real_provider(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_server: OpenAIServer
) -> None:
    """`delay` and `response` (the offline models' settings), from the model's globals or the
    prompt's own, are left out of a real provider's request with a note; echo still gets them."""
    data = chain(
        [
            {
                "name": "a",
                "input": "hi",
                "metadata": {
                    "model": {"name": "echo", "settings": {"response": "canned", "delay": 0}},
                    "remember_chat_context": False,
                },
            }
        ],
        models={"echo": {"delay": 0, "temperature": 0.3}},
    )
    path = write_config(tmp_path / "c.json", data)
    real = "--model=openai/test-model"
    code, out, err = run_cli(
        capsys, "run", str(path), "a", real, "--set", f"api_base={model_server.base_url}"
    )
    assert code == 0, err
    body = model_server.requests[-1].body
    assert "delay" not in body and "response" not in body
    code, out, err = run_cli(capsys, "resolve", str(path), "a", real, "--json")
    assert "delay" not in json.loads(out)["settings"]
    assert "response: a setting of the offline models (echo, mock), not sent to" in err
    code, out, err = run_cli(capsys, "resolve", str(path), "a", "--json")
    assert json.loads(out)["settings"] == {"delay": 0, "temperature": 0.3, "response": "canned"}
    assert "not sent" not in err


def test_the_wheel_ships_the_samples_by_name_not_exports_beside_them() -> None:
    import tomllib

    from tests.helpers import REPO

    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = data["tool"]["setuptools"]["package-data"]["tui_app.sample_configs"]
    tracked = subprocess.run(
        ["git", "ls-files", "sample_configs"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(listed) == sorted(str(Path(p).relative_to("sample_configs")) for p in tracked)
    assert all("*" not in name for name in listed)


def test_samples_copies_them_out_and_the_package_is_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_app.core import paths
    from tui_app.core.errors import PromptTuiError
    from tui_app.core.fileio import atomic_write

    code, out, err = run_cli(capsys, "samples", str(tmp_path / "mine"))
    assert code == 0
    copied = sorted(p.name for p in (tmp_path / "mine").rglob("*") if p.is_file())
    assert "travel_chain.aiconfig.json" in copied and len(copied) == len(out.split())
    configs = [name for name in copied if ".aiconfig." in name]
    assert f"{len(configs)} samples copied" in err and "prompt-tui " in err
    assert "get_weather.json" in copied  # what a sample reads comes along
    code, out, err = run_cli(capsys, "samples", str(tmp_path / "mine"))  # edits are kept
    assert code == 0 and out == "" and "0 samples copied" in err and "kept" in err
    # an installed package: whatever writes there (save, export, conflict copy) is refused
    package = tmp_path / "site-packages" / "tui_app"
    (package / "sample_configs").mkdir(parents=True)
    monkeypatch.setattr(paths, "PACKAGE_DIR", package)
    with pytest.raises(PromptTuiError, match="prompt-tui samples DIR"):
        atomic_write(package / "sample_configs" / "travel.run.json", "{}")
    assert not list((package / "sample_configs").iterdir())


def test_run_watch_json_reload_events_say_what_went_stale(tmp_path: Path) -> None:
    """`run --watch --json`: the reload event of a save names the prompts it made stale, those
    whose output came from the file (not this run) too."""
    import threading
    import time

    from tests.helpers import REPO

    no_context = {"remember_chat_context": False}
    path = write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "topic one",
                    "metadata": no_context,
                    "outputs": [{"output_type": "execute_result", "data": "topic one"}],
                },
                {"name": "b", "input": "about {{a.output}}", "metadata": no_context},
            ],
            models={"echo": {"delay": 0}},
        ),
    )
    env = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui_app.cli",
            "run",
            str(path),
            "b",
            "--no-deps",
            "--watch",
            "--json",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if '"event": "reload"' in line:
                seen.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        for _ in range(1500):  # waits for the first run to end; never a timing assertion
            if any('"event": "done"' in line for line in lines):
                break
            time.sleep(0.02)
        time.sleep(0.3)
        path.write_text(path.read_text().replace('"input": "topic one"', '"input": "topic two"'))
        assert seen.wait(30), "".join(lines)
    finally:
        process.send_signal(2)
        process.wait(30)
    reloads = [json.loads(line) for line in lines if '"event": "reload"' in line]
    assert reloads, "".join(lines)
    stale = reloads[0]["stale"]
    assert set(stale) == {"a", "b"}, reloads[0]


@pytest.mark.parametrize(
    ("sample", "hints"),
    [("support_chat.aiconfig.yaml", 0), ("openai_chat.aiconfig.json", 0)],
)
def test_validate_never_tells_a_chat_to_turn_off_its_chat_context(
    sample: str, hints: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "validate", str(SAMPLES / sample))
    assert code == 0 and (out + err).count("hint:") == hints, out + err


def test_validate_hints_where_chat_context_only_serializes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prompt that reads its data by name but also waits for another's chat context."""
    path = write_config(
        tmp_path / "c.json",
        chain(
            [
                {"name": "a", "input": "topic"},
                {"name": "b", "input": "other topic"},
                {"name": "c", "input": "about {{a.output}}"},
            ]
        ),
    )
    code, out, err = run_cli(capsys, "validate", str(path))
    text = out + err
    assert "prompt 'c': runs after 'b' only for chat context" in text
    assert "prompt 'b'" not in text  # a turn that reads nothing by name: chat on purpose


def test_cli_wording_papercuts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """history of a missing file, keys set without a provider, a cut JSON file, a template
    error named once, a mistyped prompt: one clear line each."""
    code, out, err = run_cli(capsys, "history", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err and "no matching runs" not in err
    code, out, err = run_cli(capsys, "keys", "set")
    assert code == 2 and "stray" not in err and "needs a provider" in err
    cut = tmp_path / "cut.json"
    cut.write_text('{"name": "t", "prompts": [{"name": "a",')
    code, out, err = run_cli(capsys, "validate", str(cut))
    assert code == 1 and "unexpected end of file" in out + err
    bad = write_config(tmp_path / "bad.json", chain([{"name": "weather", "input": "in {{ city"}]))
    code, out, err = run_cli(capsys, "validate", str(bad))
    assert (out + err).count("prompt 'weather'") == 1, out + err
    code, out, err = run_cli(capsys, "run", TRAVEL, "wether")
    assert code == 2 and "did you mean 'weather'?" in err and "known:" not in err


def test_history_groups_has_a_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "compare", TRAVEL, "weather", "-m", "echo", "-m", "echo delay=0", "-p", "month=June"
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, "history", "--groups")
    lines = out.splitlines()
    assert lines[0].split() == ["group", "time", "config", "prompts", "models"]
    assert len(lines) == 2 and "weather" in lines[1]


def test_a_broken_theme_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    from tui_app.ui.themes import ThemeFileError, read_theme_file

    broken = tmp_path / "broken.yaml"
    broken.write_text('name: broken\nprimary: "#ff0000\ndark: true\n')
    with pytest.raises(ThemeFileError) as caught:
        read_theme_file(broken)
    assert str(caught.value).startswith(f"{broken}:4:1: invalid YAML")
    assert "<unicode string>" not in str(caught.value)
