from __future__ import annotations

import json

import pytest

from tests.helpers import chain
from tui_app.core.config import loads
from tui_app.core.errors import CycleError
from tui_app.core.graph import DependencyGraph


def graph_of(prompts, **meta):
    return DependencyGraph.build(loads(json.dumps(chain(prompts, **meta))))


def p(name, template, **metadata):
    metadata.setdefault("remember_chat_context", False)
    return {"name": name, "input": template, "metadata": metadata}


def test_fan_out_and_join_levels_and_closures():
    g = graph_of(
        [
            p("join", "{{a.output}} {{b.output}} {{c.output}}"),
            p("a", "{{root.output}}"),
            p("b", "{{root.output}}"),
            p("c", "x"),
            p("root", "{{topic}}"),
        ]
    )
    assert g.reads["join"] == ("a", "b", "c")
    assert g.order() == ["c", "root", "a", "b", "join"]
    assert g.levels() == [["c", "root"], ["a", "b"], ["join"]]
    assert g.upstream("join") == ["c", "root", "a", "b"]
    assert g.upstream("a") == ["root"]
    assert g.downstream("root") == ["a", "b", "join"]
    assert g.unknown == {"root": ["topic"]}


def test_reading_input_is_not_a_dependency_and_parameters_shadow_prompts():
    g = graph_of(
        [
            p("a", "x"),
            p("b", "{{a.input}}"),
            p("c", "{{a.output}}", parameters={"a": {"output": "fixed"}}),
        ]
    )
    assert g.deps["b"] == () and g.deps["c"] == ()


def test_chat_context_orders_same_model_prompts():
    g = graph_of(
        [
            {"name": "q1", "input": "one", "metadata": {"model": "m"}},
            {"name": "q2", "input": "two", "metadata": {"model": "n"}},
            {"name": "q3", "input": "three", "metadata": {"model": "m"}},
        ]
    )
    assert g.context == {"q1": (), "q2": (), "q3": ("q1",)}
    assert g.upstream("q3") == ["q1"]


def test_cycle_is_named():
    g = graph_of(
        [p("a", "{{c.output}}"), p("b", "{{a.output}}"), p("c", "{{b.output}}"), p("d", "free")]
    )
    assert g.cycle is not None and sorted(g.cycle) == ["a", "b", "c"]
    with pytest.raises(CycleError) as info:
        g.order()
    text = str(info.value)
    assert text.startswith("dependency cycle: ") and text.count("->") == 3


def test_self_reference_is_not_a_dependency():
    g = graph_of([p("a", "{{a.output}} again")])
    assert g.deps["a"] == () and g.cycle is None
