"""Checks (issue 24): data in a prompt's metadata, templated like the prompt, each result saying
what it expected and what it saw; guarded regexes and schemas; validate locates bad ones."""

from __future__ import annotations

import json

from tests.helpers import chain, write_config
from tui_app.cli import main
from tui_app.core.checks import Check, all_checks, evaluate, evaluate_all, problems
from tui_app.core.config import loads
from tui_app.core.events import Usage
from tui_app.core.runs import PromptResult, PromptStatus


def config_with(checks, **prompt_meta):
    return loads(
        json.dumps(
            chain(
                [
                    {
                        "name": "answer",
                        "input": "{{q}}",
                        "metadata": {"checks": checks, **prompt_meta},
                    },
                    {"name": "grader", "input": "Grade: {{answer.output}}"},
                ],
                parameters={"lang": "en"},
            )
        )
    )


def done(text, **kw):
    return PromptResult(status=PromptStatus.DONE, text=text, **kw)


def run_checks(checks, text, params=None, grader=None, **result):
    config = config_with(checks)
    results = {"answer": done(text, **result)}
    if grader is not None:
        results["grader"] = grader
    return evaluate_all(config, all_checks(config), results, params or {})


def test_text_checks_read_row_columns_and_say_what_they_expected_and_saw():
    out = run_checks(
        [{"contains": "{{expected}}"}, {"not_contains": "sorry"}, {"equals": "Paris"}],
        "Paris\n",
        {"expected": "Par"},
    )
    assert [r.verdict for r in out] == ["pass", "pass", "pass"]
    out = run_checks([{"contains": "{{expected}} ({{lang}})"}], "Lyon", {"expected": "Paris"})
    assert out[0].verdict == "fail"
    assert out[0].expected == "contains 'Paris (en)'" and out[0].seen == "'Lyon'"


def test_a_check_reading_a_missing_column_is_an_error_not_a_pass():
    [result] = run_checks([{"contains": "{{expected}}"}], "x")
    assert result.verdict == "error" and "expected" in result.seen


def test_regex_and_its_guard_against_catastrophic_backtracking():
    assert run_checks([{"regex": r"^\d{3}$"}], "123")[0].verdict == "pass"
    assert run_checks([{"regex": r"^\d{3}$"}], "12a")[0].verdict == "fail"
    # (a+)+$ on "aaa...b" takes exponential time in a backtracking engine: the check gives up
    [slow] = run_checks([{"regex": r"(x+x+)+y"}], "x" * 5000)
    assert slow.verdict == "error" and "catastrophic backtracking" in slow.seen


def test_json_and_schema_checks_including_a_recursive_ref():
    schema = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}
    text = '```json\n{"title": "Hi"}\n```'
    assert [r.verdict for r in run_checks([{"is_json": True}, {"json_schema": schema}], text)] == [
        "pass",
        "pass",
    ]
    [bad] = run_checks([{"json_schema": schema}], '{"title": 3}')
    assert bad.verdict == "fail" and "title" in bad.seen and "not of type 'string'" in bad.seen
    [not_json] = run_checks([{"json_schema": schema}], "nope")
    assert not_json.verdict == "fail" and not_json.seen.startswith("not JSON")
    # a $ref to itself without end: an error result, never a crash
    [loop] = run_checks([{"json_schema": {"$ref": "#"}}], '{"a": 1}')
    assert loop.verdict == "error" and "refers to itself" in loop.seen
    # a legitimately recursive schema works
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": False}
    assert run_checks([{"json_schema": tree}], '{"child": {"child": {}}}')[0].verdict == "pass"
    assert run_checks([{"json_schema": tree}], '{"child": {"x": 1}}')[0].verdict == "fail"


def test_limits_use_the_result_figures():
    usage = Usage(10, 50, 60)
    out = run_checks(
        [{"max_tokens": 40}, {"max_seconds": 2}, {"max_cost": 0.01}, {"finish_reason": "stop"}],
        "x",
        usage=usage,
        latency=1.5,
        cost=0.02,
        finish_reason="length",
    )
    assert [r.verdict for r in out] == ["fail", "pass", "fail", "fail"]
    assert out[0].seen == "50" and out[2].seen == "$0.0200" and out[3].seen == "'length'"
    unknown = run_checks([{"max_cost": 1}], "x", cost=None)[0]
    assert unknown.verdict == "fail" and unknown.seen == "unknown"
    assert run_checks([{"max_cost": 0}], "x", offline=True)[0].verdict == "pass"


def test_judge_rules():
    graded = done("Score: 8/10. PASS")
    judge = {"judge": {"prompt": "grader", "pass": "PASS"}}
    assert run_checks([judge], "a", grader=graded)[0].verdict == "pass"
    score = {"judge": {"prompt": "grader", "pass": {"min_score": 9}}}
    [low] = run_checks([score], "a", grader=graded)
    assert low.verdict == "fail" and low.seen == "score 8" and "a score >= 9" in low.expected
    failed = PromptResult(status=PromptStatus.FAILED, error="HTTP 500")
    [broken] = run_checks([judge], "a", grader=failed)
    assert broken.verdict == "error" and "HTTP 500" in broken.seen


def test_checks_are_never_code():
    """A template in a check renders in the sandbox: reaching for Python internals is refused."""
    [result] = run_checks([{"contains": "{{ ''.__class__.__mro__ }}"}], "x")
    assert result.verdict == "error" and "sandbox" in result.seen


def test_problems_are_located():
    config = config_with(
        [
            {"contain": "x"},
            {"regex": "(unclosed"},
            {"json_schema": {"type": 12}},
            {"judge": {"prompt": "nobody"}},
            {"max_cost": "lots"},
            {"contains": "{{ unclosed"},
            "just text",
        ]
    )
    found = {
        where[-2] if isinstance(where[-1], str) else where[-1]: msg
        for _, where, msg in problems(config)
    }
    assert "did you mean 'contains'" in found[0]
    assert "bad regex" in found[1]
    assert "bad schema" in found[2]
    assert "no prompt is named 'nobody'" in found[3]
    assert "expects a number" in found[4]
    assert "bad template" in found[5]
    assert "one key" in found[6]


def test_validate_prints_bad_checks_with_file_line_and_location(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nmetadata:\n  default_model: echo\nprompts:\n  - name: a\n    input: hi\n"
        "    metadata:\n      checks:\n        - regex: '(x'\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:9:" in out and "prompts[0].metadata.checks[0].regex: bad regex" in out


def test_an_evaluated_check_knows_its_position():
    config = config_with([{"contains": "a"}, {"contains": "b"}])
    checks = all_checks(config)["answer"]
    assert [c.location for c in checks] == [
        "prompts[0].metadata.checks[0]",
        "prompts[0].metadata.checks[1]",
    ]
    result = evaluate(
        Check("answer", 1, 0, "contains", "b"), done("abc"), config=config, context={}, results={}
    )
    assert result.index == 1 and result.passed


def test_config_with_checks_roundtrips(tmp_path):
    path = write_config(
        tmp_path / "c.json",
        chain([{"name": "a", "input": "x", "metadata": {"checks": [{"contains": "x"}]}}]),
    )
    from tui_app.core.config import load

    config = load(path)
    config.prompt("a").set_template("y")
    config.save()
    assert load(path).prompt("a").metadata["checks"] == [{"contains": "x"}]


def test_a_judge_whose_grader_does_not_read_the_answer_is_a_problem():
    config = loads(
        json.dumps(
            chain(
                [
                    {
                        "name": "answer",
                        "input": "{{q}}",
                        "metadata": {"checks": [{"judge": {"prompt": "grader", "pass": "PASS"}}]},
                    },
                    {"name": "grader", "input": "Say PASS"},
                ]
            )
        )
    )
    [(prompt, where, message)] = problems(config)
    assert prompt == "answer" and where[-1] == "judge"
    assert "does not read this prompt's answer: write {{answer.output}}" in message
