"""Resolution follows the AIConfig SDK's semantics (DESIGN.md), minus its bugs."""

from __future__ import annotations

import json

import pytest

from tests.helpers import chain
from tui_app.core.config import loads
from tui_app.core.errors import ConfigError, MissingReferenceError
from tui_app.core.resolve import parameter_table, resolve


def cfg(prompts, **meta):
    return loads(json.dumps(chain(prompts, **meta)))


def answered(name, template, text, **metadata):
    return {
        "name": name,
        "input": template,
        "metadata": metadata,
        "outputs": [
            {"output_type": "execute_result", "data": text, "metadata": {"role": "assistant"}}
        ],
    }


def test_settings_merge_global_then_prompt_then_runtime_and_model_id():
    config = cfg(
        [
            {
                "name": "a",
                "input": "hi",
                "metadata": {
                    "model": {"name": "gpt", "settings": {"temperature": 0.9, "top_p": 0.5}}
                },
            }
        ],
        models={"gpt": {"model": "gpt-4o-mini", "temperature": 0.1, "max_tokens": 10}},
    )
    request = resolve(config, "a", settings={"top_p": 0.2})
    assert request.model == "gpt-4o-mini" and request.model_name == "gpt"
    assert request.settings == {"temperature": 0.9, "max_tokens": 10, "top_p": 0.2}


def test_model_name_is_the_id_without_settings_model_and_default_model_applies():
    config = cfg([{"name": "a", "input": "hi"}], default_model="claude-3-haiku")
    assert resolve(config, "a").model == "claude-3-haiku"


def test_no_model_anywhere_is_an_error_with_location():
    config = cfg([{"name": "a", "input": "hi"}], default_model=None)
    with pytest.raises(ConfigError) as info:
        resolve(config, "a")
    assert info.value.location == "prompts[0].metadata.model"


def test_runtime_model_override_keeps_prompt_settings_but_not_its_model_id():
    config = cfg(
        [
            {
                "name": "a",
                "input": "hi",
                "metadata": {
                    "model": {"name": "gpt", "settings": {"model": "gpt-4", "temperature": 0.3}}
                },
            }
        ],
        models={"other": {"max_tokens": 5}},
    )
    request = resolve(config, "a", model="other")
    assert request.model == "other"
    assert request.settings == {"max_tokens": 5, "temperature": 0.3}


def test_system_prompt_string_or_message_is_first_and_templated_with_prompt_params():
    for system in ("You help {{who}}.", {"role": "system", "content": "You help {{who}}."}):
        config = cfg(
            [
                {
                    "name": "a",
                    "input": "hi",
                    "metadata": {"model": "m", "parameters": {"who": "cats"}},
                }
            ],
            models={"m": {"system_prompt": system}},
        )
        request = resolve(config, "a")
        assert request.messages[0] == {"content": "You help cats.", "role": "system"}
        assert "system_prompt" not in request.settings


def test_chat_context_adds_same_model_history_with_assistant_answers_only():
    config = cfg(
        [
            answered("q1", "first {{x}}", "answer one", model="m"),
            answered("other", "other model", "nope", model="n"),
            {
                "name": "q2",
                "input": {"role": "user", "content": "second"},
                "metadata": {"model": "m"},
                "outputs": [{"output_type": "execute_result", "data": "no role", "metadata": {}}],
            },
            {"name": "q3", "input": "third {{x}}", "metadata": {"model": "m"}},
        ],
        parameters={"x": "X"},
    )
    request = resolve(config, "q3")
    assert request.messages == [
        {"content": "first X", "role": "user"},
        {"content": "answer one", "role": "assistant"},
        {"content": "second", "role": "user"},  # its output has no assistant role: not sent
        {"content": "third X", "role": "user"},
    ]


def test_remember_chat_context_false_sends_only_the_prompt():
    config = cfg(
        [
            answered("q1", "one", "ans", model="m"),
            {
                "name": "q2",
                "input": "two",
                "metadata": {"model": "m", "remember_chat_context": False},
            },
        ]
    )
    assert resolve(config, "q2").messages == [{"content": "two", "role": "user"}]


def test_current_prompt_answer_is_not_sent_back():
    config = cfg([answered("q1", "one", "old answer", model="m")])
    assert resolve(config, "q1").messages == [{"content": "one", "role": "user"}]


def test_parameter_precedence_prompt_ref_lt_global_lt_prompt_lt_runtime():
    config = cfg(
        [
            answered("p", "raw {{v}}", "p-out"),
            {
                "name": "a",
                "input": "{{p.output}}|{{p.input}}|{{g}}|{{v}}|{{r}}",
                "metadata": {
                    "parameters": {"v": "prompt", "r": "prompt"},
                    "remember_chat_context": False,
                },
            },
        ],
        parameters={"g": "global", "v": "global", "r": "global"},
    )
    request = resolve(config, "a", params={"r": "runtime"})
    assert request.messages[-1]["content"] == "p-out|raw {{v}}|global|prompt|runtime"


def test_missing_parameters_and_outputs_are_one_error_naming_all():
    config = cfg(
        [
            {"name": "up", "input": "x"},
            {
                "name": "a",
                "input": "{{up.output}} {{city}} {{month}}",
                "metadata": {"remember_chat_context": False},
            },
        ]
    )
    with pytest.raises(MissingReferenceError) as info:
        resolve(config, "a")
    message = str(info.value)
    assert "prompt 'a'" in message
    for name in ("up.output", "city", "month"):
        assert name in message
    assert "not run yet" in message


def test_allow_missing_renders_empty_and_reports_them():
    config = cfg([{"name": "a", "input": "[{{city}}]"}])
    request = resolve(config, "a", allow_missing=True)
    assert request.messages[-1]["content"] == "[]"
    assert request.missing == ["city"]


def test_html_is_never_escaped():
    config = cfg([{"name": "a", "input": "{{x}}"}], parameters={"x": "<b>&\"'</b>"})
    assert resolve(config, "a").messages[-1]["content"] == "<b>&\"'</b>"


def test_later_prompt_output_can_be_read_and_hyphen_dot_names_work():
    config = cfg(
        [
            {
                "name": "use",
                "input": "{{step-one.output}} / {{gpt3.5-run.output}}",
                "metadata": {"remember_chat_context": False},
            },
            answered("step-one", "s", "S1"),
            answered("gpt3.5-run", "g", "G"),
        ]
    )
    assert resolve(config, "use").messages[-1]["content"] == "S1 / G"


def test_call_options_are_not_model_parameters():
    config = cfg(
        [
            {
                "name": "a",
                "input": "hi",
                "metadata": {
                    "model": {
                        "name": "openai/x",
                        "settings": {
                            "api_base": "http://127.0.0.1:1/v1",
                            "timeout": 5,
                            "temperature": 0,
                        },
                    }
                },
            }
        ]
    )
    request = resolve(config, "a")
    assert request.settings == {"temperature": 0}
    assert request.call_options == {"api_base": "http://127.0.0.1:1/v1", "timeout": 5}


def test_cache_key_changes_with_what_is_sent_only():
    config = cfg([{"name": "a", "input": "hi {{x}}"}], parameters={"x": "1"})
    base = resolve(config, "a").cache_key
    assert resolve(config, "a").cache_key == base
    assert resolve(config, "a", params={"x": "2"}).cache_key != base
    assert resolve(config, "a", settings={"temperature": 1}).cache_key != base


def test_settings_messages_path_resolves_each_and_skips_history():
    config = cfg(
        [
            answered("q1", "one", "ans", model="m"),
            {
                "name": "q2",
                "input": "now {{x}}",
                "metadata": {
                    "model": {
                        "name": "m",
                        "settings": {"messages": [{"role": "system", "content": "sys {{x}}"}]},
                    }
                },
            },
        ],
        parameters={"x": "X"},
    )
    assert resolve(config, "q2").messages == [
        {"role": "system", "content": "sys X"},
        {"content": "now X", "role": "user"},
    ]


def test_parameter_table_says_where_each_value_comes_from():
    config = cfg(
        [
            answered("up", "x", "UP"),
            {
                "name": "a",
                "input": "{{up.output}} {{g}} {{p}} {{r}} {{nope}}",
                "metadata": {"parameters": {"p": 1}},
            },
        ],
        parameters={"g": "G"},
    )
    rows = {row.name: row for row in parameter_table(config, "a", {"r": "R"})}
    assert rows["up.output"].source_label == "output of up" and rows["up.output"].value == "UP"
    assert (rows["g"].source, rows["p"].source, rows["r"].source) == (
        "global",
        "prompt",
        "run-time",
    )
    assert rows["nope"].missing


def test_guarded_optional_values_are_not_missing():
    config = cfg(
        [
            {
                "name": "a",
                "input": "{{ tone | default('plain') }}{% if extra is defined %} {{extra}}{% endif %}",
            }
        ]
    )
    assert resolve(config, "a").messages[-1]["content"] == "plain"
    assert (
        resolve(config, "a", params={"tone": "warm", "extra": "!"}).messages[-1]["content"]
        == "warm !"
    )
    rows = {row.name: row for row in parameter_table(config, "a")}
    assert rows["tone"].source == "optional" and not rows["tone"].missing
