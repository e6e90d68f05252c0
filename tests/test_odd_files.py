"""Real files that are odd (dotted names, function calls, duplicates) and hostile ones."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from tests.helpers import COOKBOOK, chain, write_config
from tests.ui.helpers import make_app
from tui_app.cli import main
from tui_app.core.config import load
from tui_app.core.errors import ConfigError
from tui_app.ui.screens.load_error import LoadErrorScreen

PROMPT_TUI_HOME = "PROMPT_TUI_HOME"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROMPT_TUI_HOME, str(tmp_path / "home"))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- dotted prompt names ------------------------------------------------------------------------

DOTTED = chain(
    [
        {"name": "gpt3.5-execution", "input": "one {{q}}"},
        {"name": "v1.2.summary", "input": "two", "metadata": {"remember_chat_context": False}},
        {
            "name": "judge",
            "input": "{{ gpt3.5-execution.output }} / {{v1.2.summary.output}} / {{[gpt3.5-execution].input}}",
        },
    ],
    parameters={"q": "why?"},
)


def test_dotted_prompt_names_run_resolve_and_validate(capsys, tmp_path: Path):
    path = write_config(tmp_path / "dotted.aiconfig.json", DOTTED)
    code, out, err = run_cli(capsys, "validate", str(path))
    assert code == 0, out
    code, out, err = run_cli(capsys, "run", str(path), "judge", "--json")
    assert code == 0, err
    code, out, err = run_cli(capsys, "run", str(path), "judge", "--save")
    assert code == 0, err
    judge = load(path).prompt("judge").output_text
    assert judge is not None and "one why?" in judge and "/ two /" in judge
    code, out, err = run_cli(capsys, "resolve", str(path), "judge", "--json")
    assert code == 0, err
    assert "one why? / two / one {{q}}" in json.loads(out)["messages"][-1]["content"]


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="cookbook absent")
def test_the_multi_llm_cookbook_runs_its_dotted_chain(capsys, tmp_path: Path):
    source = COOKBOOK / "cookbooks_Multi-LLM-Consistency_Multi-LLM_Consistency_aiconfig.json"
    path = tmp_path / source.name
    shutil.copy(source, path)
    args = ["-p", "input_question=q", "-p", "few_shot_prompting_examples=e", "--model", "echo"]
    code, _, err = run_cli(capsys, "run", str(path), "majority-evaluator", *args)
    assert code == 0, err
    assert "missing" not in err


def test_validate_flags_a_reference_to_a_prompt_that_does_not_exist(capsys, tmp_path: Path):
    data = chain(
        [
            {"name": "gpt4-execution", "input": "one"},
            {"name": "b", "input": "{{gpt3.5-execution.output}} {{gpt4-executon.output}} {{rt}}"},
        ]
    )
    path = write_config(tmp_path / "typo.aiconfig.json", data)
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 1
    lines = out.splitlines()
    assert any(
        "error" in line
        and "'gpt3.5-execution.output' reads a prompt that does not exist" in line
        and "did you mean 'gpt4-execution'" in line
        for line in lines
    ), out
    assert any("error" in line and "'gpt4-executon'" in line for line in lines)
    assert any("warning" in line and "'rt' is neither" in line for line in lines)
    assert not any("'gpt3'" in line for line in lines)  # not the pieces of the misspelt name


# --- function calls -------------------------------------------------------------------------------

CALL_OUTPUT = {
    "output_type": "execute_result",
    "execution_count": 0,
    "data": {
        "function_call": {"arguments": '{"name": "Dune"}', "name": "search"},
        "role": "assistant",
    },
    "metadata": {"finish_reason": "function_call"},
}


@pytest.mark.parametrize(
    "output",
    [
        CALL_OUTPUT,
        {
            "output_type": "execute_result",
            "data": {"kind": "tool_calls", "value": [{"id": "c1", "function": {"name": "f"}}]},
            "metadata": {"role": "assistant"},
        },
        {
            "output_type": "execute_result",
            "data": {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
            "metadata": {},
        },
    ],
    ids=["function_call", "tool_calls_value", "tool_calls_message"],
)
def test_a_function_call_answer_is_never_sent_as_json_text(capsys, tmp_path: Path, output):
    data = chain(
        [
            {"name": "recommend", "input": "recommend a book", "outputs": [output]},
            {
                "name": "summary",
                "input": "summarise {{info}}",
                "metadata": {"parameters": {"info": "x"}},
            },
        ]
    )
    path = write_config(tmp_path / "calls.aiconfig.json", data)
    code, out, err = run_cli(capsys, "resolve", str(path), "summary", "--json")
    assert code == 0, err
    messages = json.loads(out)["messages"]
    assert messages == [
        {"content": "recommend a book", "role": "user"},
        {"content": "summarise x", "role": "user"},
    ]
    assert "note: prompt 'recommend': its answer is a" in err and "left out" in err


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="cookbook absent")
def test_the_function_calling_cookbook_resolves_like_the_sdk(capsys):
    # The SDK adds an earlier answer only when its metadata says role "assistant"; this file's
    # function call has none, so the SDK sends the two user messages and nothing else.
    path = COOKBOOK / "cookbooks_Function-Calling-OpenAI_function-call.aiconfig.json"
    code, out, err = run_cli(
        capsys, "resolve", str(path), "gen_summary", "-p", "book_info=B", "--json"
    )
    assert code == 0, err
    messages = json.loads(out)["messages"]
    assert [m["role"] for m in messages] == ["user", "user"]
    assert not any("function_call" in str(m["content"]) for m in messages)


# --- duplicates -----------------------------------------------------------------------------------

DUP_KEYS_JSON = '{\n  "name": "x",\n  "metadata": {"default_model": "echo"},\n  "prompts": [{"name": "a", "input": "hi", "input": "again"}],\n  "name": "y"\n}\n'
DUP_KEYS_YAML = "name: x\nmetadata:\n  default_model: echo\nprompts:\n  - name: a\n    input: hi\n    input: again\nname: y\n"


@pytest.mark.parametrize("suffix,text", [("json", DUP_KEYS_JSON), ("yaml", DUP_KEYS_YAML)])
def test_duplicate_keys_are_warnings_with_both_locations(capsys, tmp_path: Path, suffix, text):
    path = tmp_path / f"dup.aiconfig.{suffix}"
    path.write_text(text)
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 0
    second_input, second_name = ("4:44", "5:3") if suffix == "json" else ("7:5", "8:1")
    first_input, first_name = ("4:29", "2:3") if suffix == "json" else ("6:5", "1:1")
    assert (
        f"{path}:{second_input}: warning: prompts[0]: duplicate key 'input': also at line"
        f" {first_input}; the last one is used"
    ) in out
    assert f"{path}:{second_name}: warning: duplicate key 'name': also at line {first_name}" in out
    code, _, _ = run_cli(capsys, "validate", "--strict", str(path))
    assert code == 1
    assert load(path).prompt("a").template == "again"


def test_duplicate_prompt_names_are_reported_as_such_never_as_a_cycle(capsys, tmp_path: Path):
    data = chain(
        [
            {"name": "a", "input": "one"},
            {"name": "a", "input": "two"},
            {"name": "b", "input": "{{a.output}}"},
        ]
    )
    path = write_config(tmp_path / "dup.aiconfig.json", data)
    for args in (["validate"], ["run"], ["run", "--all"], ["resolve"], ["status"]):
        extra = ["b"] if args == ["resolve"] else []
        code, out, err = run_cli(capsys, *args, str(path), *extra)
        text = out + err
        assert code in (1, 2), args
        assert "duplicate prompt name 'a'" in text, args
        assert "cycle" not in text, args


# --- hostile and odd files --------------------------------------------------------------------

ALIAS_BOMB = (
    "name: bomb\nmetadata:\n  parameters:\n"
    '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"    {chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n"
        for i in range(8)
    )
    + "prompts:\n  - name: p\n    input: '{{i}}'\n"
)

ODD_FILES = {
    "empty.aiconfig.json": ("", "empty file", None),
    "blank.aiconfig.yaml": ("  \n\n", "empty file", None),
    "comments.aiconfig.yaml": ("# nothing here\n", "empty file", None),
    "tabs.aiconfig.yaml": (
        "name: x\nmetadata:\n\tdefault_model: echo\nprompts: []\n",
        "tab character in indentation",
        "3:1",
    ),
    "number.aiconfig.json": (
        '{"name": "x", "metadata": {}, "prompts": [], "n": ' + "9" * 5000 + "}",
        "a number with 5,000 digits",
        "1:51",
    ),
    "number.aiconfig.yaml": (
        "name: x\nmetadata: {}\nprompts: []\nn: " + "9" * 5000 + "\n",
        "a number with 5,000 digits",
        "4:4",
    ),
    "bomb.aiconfig.yaml": (ALIAS_BOMB, "YAML aliases expand to more than", "5:12"),
    "loop.aiconfig.yaml": (
        "name: x\nmetadata: &m\n  parameters:\n    self: *m\nprompts: []\n",
        "an alias that contains itself",
        "4:11",
    ),
}


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_odd_files_are_refused_with_a_located_message(capsys, tmp_path: Path, name: str):
    text, message, where = ODD_FILES[name]
    path = tmp_path / name
    path.write_text(text)
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 1 and message in out, out
    if where:
        assert out.startswith(f"{path}:{where}: error: "), out
    for args in (["resolve", str(path), "p"], ["run", str(path)]):
        code, out, err = run_cli(capsys, *args)
        assert code == 2, args
        assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_an_alias_bomb_is_refused_within_a_memory_budget(tmp_path: Path):
    path = tmp_path / "bomb.aiconfig.yaml"
    path.write_text(ALIAS_BOMB)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="alias bomb"):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # expanding it would take gigabytes


def test_an_oversized_value_is_refused(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tui_app.core import limits

    monkeypatch.setattr(limits, "MAX_VALUE_CHARS", 1000)
    data = chain([{"name": "a", "input": "x" * 2000}])
    path = write_config(tmp_path / "big.aiconfig.json", data)
    code, _, err = run_cli(capsys, "resolve", str(path), "a")
    assert code == 2
    assert "value too large: 2,000 characters (limit 1,000)" in err
    assert "prompts[0].input" in err and f"{path}:" in err


def test_a_file_over_the_size_limit_is_refused(capsys, tmp_path: Path, monkeypatch):
    from tui_app.core import limits

    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    path = write_config(tmp_path / "big.aiconfig.json", chain([{"name": "a", "input": "x" * 200}]))
    code, _, err = run_cli(capsys, "run", str(path))
    assert code == 2 and "file too large" in err


@pytest.mark.parametrize(
    "name", ["bomb.aiconfig.yaml", "tabs.aiconfig.yaml", "empty.aiconfig.json"]
)
async def test_the_tui_shows_odd_files_on_its_load_error_screen(tmp_path: Path, name: str):
    text, message, _ = ODD_FILES[name]
    path = tmp_path / name
    path.write_text(text)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoadErrorScreen)
        shown = str(app.screen.query_one("#load-error-message").render())
        assert message in shown and str(path) in shown
