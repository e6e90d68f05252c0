"""The headless commands as a user runs them: exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import COOKBOOK, SAMPLES, chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
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


def test_resolve_json_is_the_request(capsys):
    code, out, err = run_cli(capsys, "resolve", TRAVEL, "weather", "-p", "month=June", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == ["prompt", "model", "messages", "settings"]
    assert data["messages"] == [
        {
            "content": "What is the weather usually like in Lisbon in June? Two sentences.",
            "role": "user",
        }
    ]
    assert data["model"] == "echo" and data["settings"] == {"delay": 0.04}


def test_resolve_model_and_set_overrides_parse_json_scalars(capsys):
    code, out, _ = run_cli(
        capsys,
        "resolve",
        TRAVEL,
        "weather",
        "--model",
        "gpt-4o-mini",
        "--set",
        "temperature=0.2",
        "--set",
        "stop=END",
        "--set",
        "seed=7",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["model"] == "gpt-4o-mini"
    assert data["settings"] == {"temperature": 0.2, "max_tokens": 400, "stop": "END", "seed": 7}


def test_resolve_missing_is_an_error_unless_allowed(capsys):
    code, out, err = run_cli(capsys, "resolve", TRAVEL, "itinerary")
    assert code == 2 and out == ""
    assert err.strip() == (
        "prompt-tui: prompt 'itinerary': missing references: "
        "neighbourhoods.output (not run yet), weather.output (not run yet)"
    )
    code, out, err = run_cli(capsys, "resolve", TRAVEL, "itinerary", "--allow-missing", "--json")
    assert code == 0
    assert (
        "Using these neighbourhoods:\n\n\nand this weather:"
        in json.loads(out)["messages"][0]["content"]
    )
    assert err.count("warning") == 2 and "neighbourhoods.output" in err


def test_resolve_text_output_shows_roles_and_model(capsys):
    code, out, _ = run_cli(capsys, "resolve", str(SAMPLES / "openai_chat.aiconfig.json"), "explain")
    assert code == 0
    assert "model:    gpt-4o-mini" in out and "--- system" in out and "--- user" in out


def test_usage_and_config_errors_exit_2_with_one_line(capsys, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "metadata": {},}')
    for args in (
        ["resolve", str(bad), "a"],
        ["resolve", TRAVEL, "nope"],
        ["resolve", TRAVEL, "weather", "-p", "oops"],
        ["run", TRAVEL, "weather", "--all"],
    ):
        code, out, err = run_cli(capsys, *args)
        assert code == 2, args
        assert err.startswith("prompt-tui: ") and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run_cli(capsys, "resolve", str(bad), "a")
    assert f"{bad}:2:17: invalid JSON" in err
    with pytest.raises(SystemExit) as info:
        main(["resolve"])
    assert info.value.code == 2


def test_validate_reports_every_kind_of_problem(capsys, tmp_path: Path):
    cyclic = write_config(
        tmp_path / "cyclic.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "{{b.output}} {{typo}}",
                    "metadata": {"remember_chat_context": False},
                },
                {
                    "name": "b",
                    "input": "{{a.output}}",
                    "metadata": {"remember_chat_context": False},
                },
                {"name": "b", "input": "dup"},
            ]
        ),
    )
    shape = write_config(tmp_path / "shape.json", chain([{"name": "a", "input": 5}]))
    code, out, _ = run_cli(capsys, "validate", TRAVEL, str(cyclic), str(shape))
    assert code == 1
    lines = out.splitlines()
    assert f"{TRAVEL}: ok" in lines
    assert any("duplicate prompt name 'b'" in line and "prompts[2].name" in line for line in lines)
    assert any("dependency cycle: a -> b -> a" in line for line in lines)
    assert any(
        "warning" in line and "'typo' is neither a parameter nor a prompt" in line for line in lines
    )
    assert any(line.startswith(f"{shape}:") and "prompts[0].input" in line for line in lines)


def test_validate_json_and_strict(capsys, tmp_path: Path):
    warn_only = write_config(
        tmp_path / "w.json", chain([{"name": "a", "input": "{{runtime_param}}"}])
    )
    code, out, _ = run_cli(capsys, "validate", str(warn_only), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run_cli(capsys, "validate", str(warn_only), "--json", "--strict")
    assert code == 1 and json.loads(out)["problems"][0]["severity"] == "warning"


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="cookbook absent")
def test_validate_points_at_the_cookbook_trailing_comma(capsys):
    path = COOKBOOK / "cookbooks_RAG-with-MongoDB_rag.aiconfig.json"
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 1 and f"{path}:9:5: error: invalid JSON" in out


def test_run_streams_with_headers_and_summary(capsys, tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "hello world",
                    "metadata": {"model": {"name": "echo", "settings": {"delay": 0}}},
                },
                {
                    "name": "b",
                    "input": "{{a.output}}!",
                    "metadata": {
                        "model": {"name": "echo", "settings": {"delay": 0}},
                        "remember_chat_context": False,
                    },
                },
            ]
        ),
    )
    code, out, err = run_cli(capsys, "run", str(path), "b")
    assert code == 0
    assert out.splitlines() == [
        "── a · echo (offline) ".ljust(60, "─"),
        "hello world",
        "── b · echo (offline) ".ljust(60, "─"),
        "hello world!",
    ]
    header, *rows = [line for line in err.splitlines() if line]
    assert header.split() == [
        "prompt",
        "model",
        "status",
        "ttft",
        "latency",
        "tokens",
        "in/out",
        "cost",
    ]
    # offline models are labelled as such
    assert [r.split()[:4] for r in rows] == [
        ["a", "echo", "(offline)", "done"],
        ["b", "echo", "(offline)", "done"],
    ]
    code, out, err = run_cli(capsys, "run", str(path), "b")  # unchanged: cached
    assert [line.split()[2:4] for line in err.splitlines()[2:]] == [["(offline)", "cached"]] * 2


def test_run_json_events_save_and_exit_codes(capsys, tmp_path: Path, model_server: OpenAIServer):
    data = chain(
        [
            {"name": "a", "input": "hi", "metadata": {"remember_chat_context": False}},
            {"name": "b", "input": "{{a.output}}", "metadata": {"remember_chat_context": False}},
        ],
        models={"local": {"model": "openai/test-model", "api_base": model_server.base_url}},
        default_model="local",
    )
    path = write_config(tmp_path / "c.json", data)
    code, out, _ = run_cli(capsys, "run", str(path), "b", "--json", "--save")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert all({"event", "prompt", "t"} <= set(e) for e in events)
    a_events = [e for e in events if e["prompt"] == "a" and e["event"] != "delta"]
    assert [e["event"] for e in a_events] == ["enqueue", "start", "finish"]
    # each prompt event says the status it leaves the prompt in, in the app's one vocabulary
    assert [e["status"] for e in a_events] == ["queued", "running", "done"]
    assert events[-1]["event"] == "run_end"
    saved = json.loads(path.read_text())
    assert saved["prompts"][1]["outputs"][0]["data"] == "echo: echo: hi"
    model_server.enqueue(Fault.status(401))
    code, out, err = run_cli(capsys, "run", str(path), "a", "--force")
    assert code == 1 and "failed" in err and "401" in err


def test_history_lists_runs(capsys, tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "x",
                    "metadata": {
                        "model": {"name": "mock", "settings": {"response": "R", "delay": 0}}
                    },
                }
            ]
        ),
    )
    run_cli(capsys, "run", str(path))
    code, out, _ = run_cli(capsys, "history", str(path), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [(r["prompt"], r["status"], r["output_text"]) for r in rows] == [
        ("a", "done", "R")
    ]


def test_run_accepts_the_prompt_after_an_option(capsys):
    """`run cfg --model echo weather` (issue 13): options and the prompt in any order."""
    code = main(["run", str(TRAVEL), "--model", "echo", "weather", "--force"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "weather" in out.out


def test_unknown_word_is_no_such_command_or_file(capsys, tmp_path: Path):
    code = main([str(tmp_path / "bogus-cmd")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no such command or file" in err.splitlines()[0]
    assert len(err.splitlines()) == 1  # errors are one line (README), the usage is --help's
    code = main(["rnu", "cfg.json"])
    err = capsys.readouterr().err
    assert code == 2 and err == "prompt-tui: unknown command 'rnu' (did you mean 'run'?)\n"


def test_image_model_fails_at_once_with_a_plain_reason(capsys, tmp_path: Path):
    config = tmp_path / "img.aiconfig.json"
    config.write_text(
        json.dumps(
            {
                "name": "img",
                "metadata": {"parameters": {}, "models": {}},
                "prompts": [{"name": "pic", "input": "a cat", "metadata": {"model": "dall-e-3"}}],
            }
        )
    )
    code = main(["run", str(config)])
    out = capsys.readouterr()
    assert code == 1
    assert "image models are not supported" in out.err
    # the summary names the model of a prompt that failed before it started
    row = next(line for line in out.err.splitlines() if line.startswith("pic "))
    assert "dall-e-3" in row


def test_status_of_a_prompt_that_ran_but_was_not_saved(capsys, tmp_path: Path):
    """`run` without saving leaves the file without the output: status says it ran (from the
    history) instead of "never run"."""
    path = write_config(
        tmp_path / "c.json", chain([{"name": "a", "input": "hi"}, {"name": "b", "input": "yo"}])
    )
    code, _, _ = run_cli(capsys, "run", str(path), "a")
    assert code == 0
    code, out, _ = run_cli(capsys, "status", str(path))
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["a"].startswith("idle: not in the file: ran ") and "was not saved" in lines["a"]
    assert lines["b"] == "idle: never run"
