"""Round 3, hangs and crashes of work without bound: a template's calls are budgeted and a render
can be stopped from outside; 10,000 {{#if}} blocks compile in linear work; a dependency cycle of
1,000+ prompts is reported, not a RecursionError; files that are not files are refused before any
read. Work is counted, never timed."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from jinja2 import idtracking

from tests.helpers import chain, write_config
from tests.ui.helpers import main_screen, make_app, ready, select, wait_for
from tui_app.cli import main
from tui_app.core import cancel
from tui_app.core.errors import TemplateError
from tui_app.core.templates import budget
from tui_app.core.templates.engine import TemplateEngine

# A macro that calls itself twice per level: 2^40 calls, no loop and no big string.
MACRO_BOMB = (
    "{% macro m(d) %}{% if d > 0 %}{{ m(d - 1) }}{{ m(d - 1) }}{% endif %}{% endmacro %}{{ m(40) }}"
)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- templates -----------------------------------------------------------------------------------


def test_a_macro_that_doubles_its_calls_is_refused_by_the_call_budget() -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateEngine().compile(MACRO_BOMB, set()).render({}, prompt="bomb")
    message = str(caught.value)
    assert "bomb" in message and f"{budget.MAX_CALLS:,} calls" in message


def test_resolve_refuses_the_macro_bomb_with_the_prompt_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_config(tmp_path / "c.json", chain([{"name": "bomb", "input": MACRO_BOMB}]))
    code, _, err = run_cli(capsys, "resolve", str(path), "bomb")
    assert code != 0 and "bomb" in err and "calls" in err and "Traceback" not in err


def test_stopping_renders_ends_a_render_in_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quitting or Ctrl+C stop a render at its next check, whatever its budget: the thread ends
    (a thread still rendering keeps the interpreter from exiting)."""
    monkeypatch.setattr(budget, "MAX_CALLS", 10**12)  # only the stop can end this render
    started = threading.Event()
    outcome: list[BaseException] = []
    compiled = TemplateEngine().compile("{% if started() %}{% endif %}" + MACRO_BOMB, {"started"})

    def render() -> None:
        try:
            compiled.render({"started": started.set}, prompt="bomb")
        except TemplateError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=render)
    worker.start()
    started.wait()
    cancel.stop_renders()
    worker.join()
    assert outcome and "rendering was stopped" in str(outcome[0])
    # a render started afterwards is not affected
    assert TemplateEngine().compile("{{ x }}", {"x"}).render({"x": "ok"}) == "ok"


def test_ten_thousand_if_blocks_compile_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jinja copies the enclosing frame's symbols into each branch of an if: counted here as
    the symbol entries copied, which grew with the square of the number of ifs (21 s)."""
    copied = [0]
    original = idtracking.Symbols.copy

    def counting_copy(self: idtracking.Symbols) -> idtracking.Symbols:
        copied[0] += len(self.loads) + len(self.refs)
        return original(self)

    monkeypatch.setattr(idtracking.Symbols, "copy", counting_copy)
    blocks = 4_000  # enough to tell n^2 (16,000,000) from n
    source = "".join(f"{{{{#if a{i}}}}}x{i}{{{{else}}}}y{{{{/if}}}}\n" for i in range(blocks))
    compiled = TemplateEngine().compile(source, set())
    out = compiled.render({f"a{i}": i % 2 for i in range(blocks)})
    assert out.startswith("y\nx1\ny\nx3\n") and out.count("\n") == blocks
    assert copied[0] < 20 * blocks  # quadratic was ~blocks^2 (10^8)


def test_an_if_that_sets_a_name_still_sets_it_for_the_rest_of_the_template() -> None:
    source = "{% if x %}{% set y = 'set' %}{% endif %}{{ y }}"
    assert TemplateEngine().compile(source, {"x", "y"}).render({"x": 1, "y": "unset"}) == "set"


# --- a dependency cycle of thousands of prompts --------------------------------------------------

CYCLE = 1_200  # over Python's default recursion limit (1,000)


def _cycle_config(tmp_path: Path) -> Path:
    prompts = [
        {
            "name": f"p{i}",
            "input": f"{{{{p{(i + 1) % CYCLE}.output}}}}",
            "metadata": {"remember_chat_context": False},
        }
        for i in range(CYCLE)
    ]
    return write_config(tmp_path / "cycle.json", chain(prompts))


@pytest.mark.parametrize("command", ["validate", "run", "status"])
def test_a_long_cycle_is_reported_by_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    code, out, err = run_cli(capsys, command, str(_cycle_config(tmp_path)))
    text = out + err
    assert code != 0 or command == "status"
    assert f"dependency cycle of {CYCLE:,} prompts: p0 -> p1" in text, text[-500:]
    assert "RecursionError" not in text and "Traceback" not in text


async def test_the_tui_opens_a_long_cycle(tmp_path: Path) -> None:
    app = make_app(_cycle_config(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert main_screen(app).selected is not None
        await pilot.press("r")
        await pilot.pause()
        assert app.is_running


# --- the Request tab renders off the event loop, within its budget --------------------------------


async def test_the_request_tab_shows_the_budget_error_and_quit_ends_the_app(
    tmp_path: Path,
) -> None:
    path = write_config(
        tmp_path / "c.json",
        chain([{"name": "plain", "input": "hi"}, {"name": "bomb", "input": MACRO_BOMB}]),
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "bomb")
        await pilot.press("2")
        view: Any = main_screen(app).output._view("request-view")
        await wait_for(pilot, lambda: "calls" in view.text, what="the budget error")
        assert f"{budget.MAX_CALLS:,} calls" in view.text
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to exit")


# --- files that are not files --------------------------------------------------------------------


def _odd_files(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    return {"a named pipe (FIFO)": fifo, "a character device": zero, "is a directory": folder}


@pytest.mark.parametrize("command", ["validate", "resolve", "run", "status"])
def test_fifos_devices_and_directories_are_refused_before_any_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    extra = ["a"] if command == "resolve" else []
    for words, path in _odd_files(tmp_path).items():
        code, out, err = run_cli(capsys, command, str(path), *extra)
        assert code != 0 and words in out + err, (words, out, err)
        assert "Traceback" not in err


def test_the_one_reader_caps_what_it_reads(tmp_path: Path) -> None:
    from tui_app.core import fileio

    big = tmp_path / "big.json"
    big.write_text(json.dumps({"x": "y" * 5000}))
    with pytest.raises(fileio.FileTooLarge):
        fileio.read_bytes(big, limit=1000)
    assert fileio.read_bytes(big, limit=10_000).startswith(b'{"x"')
    for path in _odd_files(tmp_path).values():
        with pytest.raises(OSError):
            fileio.read_bytes(path)


def test_the_watcher_reports_a_file_replaced_by_a_fifo_as_unreadable(tmp_path: Path) -> None:
    from tui_app.core.watch import ConfigWatcher, FileEventKind

    path = tmp_path / "c.json"
    path.write_text("{}")
    watcher = ConfigWatcher(path, known_digest=lambda: None)
    path.unlink()
    os.mkfifo(path)
    event = watcher.check()
    assert event is not None and event.kind is FileEventKind.UNREADABLE
    assert "FIFO" in (event.error or "")


def test_a_tool_result_file_that_is_a_fifo_or_a_device_is_refused(tmp_path: Path) -> None:
    from tui_app.core.errors import PromptTuiError
    from tui_app.core.tool_answer import read_result

    for words, path in _odd_files(tmp_path).items():
        with pytest.raises(PromptTuiError) as caught:
            read_result(path)
        assert words in str(caught.value)
