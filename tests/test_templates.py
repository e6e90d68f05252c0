"""Templates: Handlebars translation, references from the rendering parse, sandbox, caching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_app.core.errors import MissingReferenceError, TemplateError
from tui_app.core.templates import (
    CompiledTemplate,
    Reference,
    TemplateEngine,
    default_engine,
    references,
)
from tui_app.core.templates.quick import quick_references

COOKBOOK = Path(__file__).resolve().parents[2] / "shared" / "aiconfig-cookbook"


@pytest.fixture
def engine() -> TemplateEngine:
    return TemplateEngine()


def render(source: str, context: dict[str, Any], names: tuple[str, ...] = (), **kw: Any) -> str:
    return TemplateEngine().render(source, context, names, **kw)


def refs(source: str, names: tuple[str, ...] = ()) -> list[tuple[str, str | None]]:
    return [(r.root, r.attr) for r in TemplateEngine().compile(source, names).references]


# --------------------------------------------------------------------------------------------
# Handlebars constructs


@pytest.mark.parametrize(
    "source",
    ["Hi {{name}}!", "Hi {{ name }}!", "Hi {{{name}}}!", "Hi {{{ name }}}!", "Hi {{&name}}!"],
)
def test_simple_names_and_raw_forms(source: str) -> None:
    assert render(source, {"name": "Ada"}) == "Hi Ada!"


def test_attribute_access_on_prompt_values() -> None:
    ctx = {"router": {"input": "in", "output": "out"}}
    assert render("{{router.output}} / {{ router.input }}", ctx) == "out / in"
    assert refs("{{router.output}} {{router.input}}") == [("router", "output"), ("router", "input")]


def test_nested_attributes_read_keys_even_when_they_shadow_dict_methods() -> None:
    ctx = {"order": {"items": ["a", "b"], "meta": {"values": 3}}}
    assert render("{{order.meta.values}}", ctx) == "3"
    assert render("{{#each order.items}}{{this}}{{/each}}", ctx) == "ab"


def test_hyphenated_prompt_name() -> None:
    ctx = {"step-one": {"output": "first"}}
    assert render("{{step-one.output}}", ctx, ("step-one",)) == "first"
    assert refs("{{step-one.output}}", ("step-one",)) == [("step-one", "output")]


def test_prompt_name_with_dots_and_hyphens() -> None:
    names = ("gpt3.5-execution", "gpt4-execution")
    ctx = {"gpt3.5-execution": {"output": "A"}, "gpt4-execution": {"output": "B"}}
    source = "{{gpt3.5-execution.output }} vs {{ gpt4-execution.output }}"
    assert render(source, ctx, names) == "A vs B"
    compiled = TemplateEngine().compile(source, names)
    assert compiled.references == (
        Reference("gpt3.5-execution", "output", "gpt3.5-execution.output"),
        Reference("gpt4-execution", "output", "gpt4-execution.output"),
    )


def test_longest_known_prompt_name_wins() -> None:
    names = ("a-b", "a-b.c")
    assert refs("{{a-b.c.output}}", names) == [("a-b.c", "output")]
    assert refs("{{a-b.output}}", names) == [("a-b", "output")]


def test_bracket_segment_literals() -> None:
    ctx = {"my prompt": {"output": "O"}, "p": {"odd key": "K", "x.y": "D"}}
    assert render("{{[my prompt].output}}", ctx) == "O"
    assert render("{{p.[odd key]}} {{p.[x.y]}}", ctx) == "K D"
    compiled = TemplateEngine().compile("{{[my prompt].output}}")
    assert compiled.references == (Reference("my prompt", "output", "[my prompt].output"),)


def test_bracket_known_prompt_inside_jinja_expression() -> None:
    ctx = {"my prompt": {"output": "o"}}
    assert render("{{ [my prompt].output | upper }}", ctx, ("my prompt",)) == "O"


def test_array_indexes_handlebars_style() -> None:
    assert render("{{xs.0}} {{xs.[1]}} {{d.0}}", {"xs": ["a", "b"], "d": {"0": "z"}}) == "a b z"


def test_if_else() -> None:
    source = "{{#if flag}}yes{{else}}no{{/if}}"
    assert render(source, {"flag": True}) == "yes"
    for falsy in ("", [], 0, False, {}):
        assert render(source, {"flag": falsy}) == "no"


def test_if_else_if_chain() -> None:
    source = "{{#if a}}A{{else if b}}B{{else}}C{{/if}}"
    assert render(source, {"a": 1, "b": 1}) == "A"
    assert render(source, {"a": 0, "b": 1}) == "B"
    assert render(source, {"a": 0, "b": 0}) == "C"


def test_unless_else() -> None:
    source = "{{#unless done}}todo{{else}}done{{/unless}}"
    assert render(source, {"done": False}) == "todo"
    assert render(source, {"done": "yes"}) == "done"


def test_if_still_reads_its_argument() -> None:
    assert refs("{{#if flag}}x{{/if}}") == [("flag", None)]
    with pytest.raises(MissingReferenceError) as info:
        render("{{#if flag}}x{{/if}}", {})
    assert info.value.missing == ["flag"]


def test_if_argument_may_be_a_jinja_expression() -> None:
    assert render("{{#if n > 3}}big{{else}}small{{/if}}", {"n": 5}) == "big"


def test_each_this_fields_and_data_variables() -> None:
    ctx = {"docs": [{"title": "A", "n": 1}, {"title": "B", "n": 2}, {"title": "C", "n": 3}]}
    source = (
        "{{#each docs}}{{@index}}:{{title}}/{{this.n}}"
        "{{#if @first}}<first>{{/if}}{{#if @last}}<last>{{/if}};{{/each}}"
    )
    assert render(source, ctx) == "0:A/1<first>;1:B/2;2:C/3<last>;"
    assert refs(source) == [("docs", None)]  # title, n, this, @index... are loop-local


def test_each_over_plain_values_and_objects() -> None:
    assert render("{{#each xs}}[{{this}}]{{/each}}", {"xs": ["a", "b"]}) == "[a][b]"
    assert render("{{#each d}}{{@key}}={{this}} {{/each}}", {"d": {"k": 1, "j": 2}}) == "k=1 j=2 "


def test_each_else_on_empty() -> None:
    assert render("{{#each xs}}x{{else}}none{{/each}}", {"xs": []}) == "none"


def test_each_parent_scope_and_root() -> None:
    ctx = {
        "topic": "T",
        "groups": [{"name": "g1", "items": [1, 2]}, {"name": "g2", "items": [3]}],
    }
    source = (
        "{{#each groups}}{{#each items}}{{../name}}.{{this}}@{{../../topic}}"
        "|{{@root.topic}} {{/each}}{{/each}}"
    )
    assert render(source, ctx) == "g1.1@T|T g1.2@T|T g2.3@T|T "
    assert refs(source) == [("groups", None), ("topic", None)]


def test_each_block_params() -> None:
    ctx = {"xs": [{"n": "a"}, {"n": "b"}]}
    assert render("{{#each xs as |item i|}}{{i}}={{item.n}} {{/each}}", ctx) == "0=a 1=b "


def test_each_over_text_is_an_error() -> None:
    with pytest.raises(TemplateError, match="each"):
        render("{{#each xs}}{{this}}{{/each}}", {"xs": "abc"})


def test_each_item_missing_field_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="name"):
        render("{{#each xs}}{{name}}{{/each}}", {"xs": [{"title": 1}]})


def test_jinja_inside_each_sees_item_fields() -> None:
    ctx = {"xs": [{"name": "ada"}], "topic": "T"}
    assert render("{{#each xs}}{{ name | upper }} {{ ../topic | lower }}{{/each}}", ctx) == "ADA t"


def test_data_variables_outside_each_are_errors() -> None:
    with pytest.raises(TemplateError, match="@index"):
        TemplateEngine().compile("{{@index}}", prompt="p")


@pytest.mark.parametrize(
    "source", ["a{{! note }}b", "a{{!-- note with }} inside --}}b", "a{{!--\nmulti\nline\n--}}b"]
)
def test_comments_are_removed(source: str) -> None:
    assert render(source, {}) == "ab"
    assert refs(source) == []


def test_block_tag_alone_on_its_line_takes_the_line() -> None:
    source = (
        "Items:\n{{#each xs}}\n  - {{this}}\n{{/each}}\nEnd {{! c }}\n  {{! standalone }}\nDone"
    )
    assert render(source, {"xs": [1, 2]}) == "Items:\n  - 1\n  - 2\nEnd \nDone"


def test_whitespace_control() -> None:
    assert render("a   {{~x~}}   b", {"x": 1}) == "a1b"
    assert render("a \n {{~#if x~}} \n b {{~/if~}} \n c", {"x": 1}) == "abc"
    assert render("a   {{- x -}}   b", {"x": 1}) == "a1b"


def test_html_is_not_escaped() -> None:
    ctx = {"x": "<b>Tom & Jerry</b> \"'"}
    assert render("<p>{{x}}</p>&amp;", ctx) == "<p><b>Tom & Jerry</b> \"'</p>&amp;"
    assert render("{{{x}}}", ctx) == ctx["x"]


def test_text_is_kept_exactly() -> None:
    source = "  Line one\n\n\tLine {x} two ${#arr} {%  not a tag\n"
    assert render(source, {}) == source


def test_crlf_is_normalised() -> None:
    assert render("a\r\nb {{x}}\r\n", {"x": 1}) == "a\nb 1\n"


def test_unsupported_handlebars_is_a_clear_error() -> None:
    for source, words in [
        ("{{#with x}}{{/with}}", "#with"),
        ("{{> partial}}", "partial"),
        ("{{^x}}{{/x}}", "inverse"),
    ]:
        with pytest.raises(TemplateError, match=words):
            TemplateEngine().compile(source, prompt="p")


# --------------------------------------------------------------------------------------------
# Hyphens and subtraction


def test_subtraction_with_spaces_is_never_rewritten() -> None:
    names = ("a-b",)
    assert refs("{{ a - b }}", names) == [("a", None), ("b", None)]
    assert render("{{ a - b }}", {"a": 5, "b": 2}, names) == "3"


def test_unknown_hyphenated_name_stays_jinja() -> None:
    assert refs("{{x-y}}") == [("x", None), ("y", None)]
    assert render("{{x-y}}", {"x": 5, "y": 2}) == "3"


def test_known_prefix_of_a_longer_run_is_not_rewritten() -> None:
    # "step-one-x" is not a prompt: the whole run is Jinja (step - one - x)
    assert refs("{{step-one-x}}", ("step-one",)) == [("step", None), ("one", None), ("x", None)]


def test_prompt_names_inside_strings_are_untouched() -> None:
    ctx = {"step-one": {"output": "o"}}
    assert render("{{ 'step-one' ~ step-one.output }}", ctx, ("step-one",)) == "step-oneo"
    assert refs("{{ 'step-one' }}", ("step-one",)) == []


def test_hyphenated_names_in_jinja_statements() -> None:
    ctx = {"step-one": {"output": "yes"}}
    source = "{% if step-one.output %}{{ step-one.output | upper }}{% endif %}"
    assert render(source, ctx, ("step-one",)) == "YES"


# --------------------------------------------------------------------------------------------
# Jinja passthrough and references


def test_jinja_filters_and_loops_pass_through() -> None:
    source = (
        "{% set sep = ', ' %}{% for d in docs if d.ok %}{{ loop.index }}.{{ d.title | upper }}"
        "{{ sep if not loop.last }}{% endfor %} {{ topic | default('none') }}"
    )
    ctx = {"docs": [{"title": "a", "ok": 1}, {"title": "b", "ok": 0}, {"title": "c", "ok": 1}]}
    assert render(source, {**ctx, "topic": "T"}) == "1.A, 2.C T"
    assert refs(source) == [("docs", None), ("topic", None)]


def test_jinja_locals_are_not_references() -> None:
    source = (
        "{% macro row(item, n=limit) %}{{ item }}{{ n }}{% endmacro %}"
        "{% with z = zed %}{{ z }}{% endwith %}{% for a, b in pairs %}{{ a }}{{ b }}{% endfor %}"
        "{{ row(1) }}{% set ns = namespace(c=0) %}{{ ns.c }}{{ range(2) | list }}"
    )
    assert refs(source) == [("limit", None), ("zed", None), ("pairs", None)]


def test_references_unique_in_order_of_first_appearance() -> None:
    source = "{{b}} {{a.output}} {{b}} {{a.input}} {{a.output}} {{a}}"
    assert refs(source) == [("b", None), ("a", "output"), ("a", "input"), ("a", None)]


def test_method_calls_are_not_attributes() -> None:
    assert refs("{{ name.upper() }} {{ d.get('k') }}") == [("name", None), ("d", None)]


def test_subscript_references() -> None:
    assert refs("{{ p['output'] }} {{ xs[0] }}") == [("p", "output"), ("xs", None)]


def test_references_helper_uses_default_engine() -> None:
    assert references("{{step-one.output}}", ("step-one",)) == (
        Reference("step-one", "output", "step-one.output"),
    )
    assert default_engine() is default_engine()


def test_defined_and_default_guards_make_references_optional() -> None:
    source = "{% if x is defined %}{{ x }}{% else %}none{% endif %} {{ y | default('d') }}"
    compiled = TemplateEngine().compile(source)
    assert [r.root for r in compiled.references] == ["x", "y"]
    assert {r.root for r in compiled.guarded} == {"x", "y"}
    assert compiled.render({}) == "none d"
    assert compiled.render({"x": 1, "y": 2}) == "1 2"
    assert render("{{ p.output | default('n/a') }}", {}) == "n/a"


# --------------------------------------------------------------------------------------------
# Missing values


def test_missing_references_are_all_listed_with_the_prompt() -> None:
    compiled = TemplateEngine().compile("{{a}} {{b.output}} {{c}} {{a}} {{d.output}}")
    with pytest.raises(MissingReferenceError) as info:
        compiled.render({"c": "here", "d": {"output": "x"}}, prompt="summary")
    assert info.value.prompt == "summary"
    assert info.value.missing == ["a", "b"]
    assert "summary" in str(info.value)


def test_missing_without_a_prompt_name() -> None:
    with pytest.raises(MissingReferenceError) as info:
        render("{{a}}", {})
    assert info.value.prompt == "template"


def test_none_counts_as_missing() -> None:
    compiled = TemplateEngine().compile("{{a}} {{p.output}} {{q.output}}")
    with pytest.raises(MissingReferenceError) as info:
        compiled.render({"a": None, "p": {"output": None}, "q": {"input": "x"}})
    assert info.value.missing == ["a", "p.output", "q.output"]


def test_missing_ok_renders_empty_strings() -> None:
    compiled = TemplateEngine().compile("[{{a}}|{{p.output}}|{{q.output}}|{{r.output}}]")
    ctx = {"a": None, "p": {"output": None}, "q": {"output": "Q"}}
    assert compiled.render(ctx, missing_ok=True) == "[||Q|]"
    assert render("{{#each xs}}x{{/each}}{{#if y}}y{{/if}}", {}, missing_ok=True) == ""


def test_missing_lists_names_without_rendering() -> None:
    compiled = TemplateEngine().compile("{{a}} {{p.output}} {{ x | default(1) }}")
    assert compiled.missing({"p": {"output": "o"}}) == ["a"]
    assert compiled.missing({"a": 1, "p": {}}) == ["p.output"]
    assert compiled.missing({"a": 1, "p": {"output": ""}}) == []


def test_missing_check_happens_before_rendering() -> None:
    # The division would fail if rendering started: the missing name is reported first.
    with pytest.raises(MissingReferenceError):
        render("{{ 1 / 0 }}{{ later }}", {})


def test_deeper_none_is_refused_in_strict_mode() -> None:
    with pytest.raises(TemplateError, match="None"):
        render("{{#each xs}}{{this}}{{/each}}", {"xs": ["a", None]})
    assert render("{{#each xs}}{{this}}{{/each}}", {"xs": ["a", None]}, missing_ok=True) == "a"


# --------------------------------------------------------------------------------------------
# Errors and the sandbox


@pytest.mark.parametrize(
    "source",
    ["{{ x.__class__.__mro__ }}", "{{ x.__class__ }}", "{{ x.__init__.__globals__ }}"],
)
@pytest.mark.parametrize("missing_ok", [False, True])
def test_sandbox_refuses_dunder_access(source: str, missing_ok: bool) -> None:
    with pytest.raises(TemplateError) as info:
        TemplateEngine().compile(source, prompt="p").render(
            {"x": "s"}, prompt="p", missing_ok=missing_ok
        )
    assert info.value.prompt == "p"
    assert info.value.line == 1
    assert "unsafe" in str(info.value)


def test_sandbox_refuses_mutation_and_huge_results() -> None:
    for source in ["{{ d.update({'a': 1}) }}", "{{ 9 ** 9999999 }}", "{{ 'a' * 100000000 }}"]:
        with pytest.raises(TemplateError):
            render(source, {"d": {}})


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("ok\nok\n{{ a b }}", 3),
        ("x\n{{#if a}}\n{{/each}}", 3),
        ("x\n{{#if a}}\nnever closed", 2),
        ("{{/if}}", 1),
        ("x\n{{else}}", 2),
        ("\n\n\n{{ a | no_such_filter }}", 4),
        ("x\n{{ unclosed", 2),
        ("{{!-- a\nb --}}\n{% for %}", 3),
        ("{{#if a}}{{else}}{{else}}{{/if}}", 1),
        ("{{#each xs}}{{else if y}}{{/each}}", 1),
    ],
)
def test_syntax_errors_name_prompt_and_line(source: str, line: int) -> None:
    with pytest.raises(TemplateError) as info:
        TemplateEngine().compile(source, prompt="writer")
    assert info.value.prompt == "writer"
    assert info.value.line == line
    assert "writer" in str(info.value)


def test_runtime_errors_name_prompt_and_line() -> None:
    source = "{{!-- a\nb --}}\n{{#if go}}\n{{ 1 / x }}\n{{/if}}"
    with pytest.raises(TemplateError) as info:
        TemplateEngine().compile(source).render({"x": 0, "go": True}, prompt="calc")
    assert info.value.prompt == "calc"
    assert info.value.line == 4
    assert "ZeroDivisionError" in str(info.value)


def test_loading_other_templates_is_refused() -> None:
    for source in ["{% include 'x' %}", "{% extends 'x' %}", "{% import 'x' as y %}"]:
        with pytest.raises(TemplateError, match="cannot load"):
            TemplateEngine().compile(source, prompt="p")


@pytest.mark.parametrize("direct", [True, False])
def test_nesting_too_deep_is_a_compile_error(direct: bool) -> None:
    engine = TemplateEngine()
    engine._direct = direct
    source = "{{#each xs}}" * 17 + "{{this}}" + "{{/each}}" * 17
    with pytest.raises(TemplateError, match="nested"):
        engine.compile(source, prompt="p")
    jinja = "{% for a in xs %}" * 25 + "{% endfor %}" * 25
    with pytest.raises(TemplateError, match="nested"):
        engine.compile(jinja, prompt="p")


def test_reserved_prefix_is_refused() -> None:
    with pytest.raises(TemplateError, match="reserved"):
        TemplateEngine().compile("{{ __hb_each }}")


def test_non_text_template_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        TemplateEngine().compile(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Caching and engine behaviour


def test_cache_returns_the_same_compiled_object(engine: TemplateEngine) -> None:
    source = "{{topic}} and {{step-one.output}}"
    first = engine.compile(source, ["step-one", "other"])
    assert isinstance(first, CompiledTemplate)
    assert engine.compile(source, ("step-one", "unrelated", "x")) is first
    assert engine.compile(source, frozenset({"step-one"})) is first
    assert engine.compile("{{topic}} and {{step-one.output}}", {"step-one"}) is first


def test_cache_distinguishes_names_that_change_the_meaning(engine: TemplateEngine) -> None:
    source = "{{step-one.output}}"
    known = engine.compile(source, ["step-one"])
    unknown = engine.compile(source, [])
    assert known is not unknown
    assert [r.root for r in known.references] == ["step-one"]
    assert [r.root for r in unknown.references] == ["step", "one"]


def test_compiled_template_renders_many_times(engine: TemplateEngine) -> None:
    compiled = engine.compile("{{n}}")
    assert [compiled.render({"n": i}) for i in range(3)] == ["0", "1", "2"]
    assert compiled.render({}, missing_ok=True) == ""
    assert compiled.render({"n": 7}) == "7"


def test_many_distinct_prompts(engine: TemplateEngine) -> None:
    names = frozenset(f"step-{i}" for i in range(5000))
    sources = [f"About {{{{topic}}}} after {{{{step-{i}.output}}}}." for i in range(5000)]
    compiled = [engine.compile(s, names) for s in sources]
    assert compiled[4321].references[1] == Reference("step-4321", "output", "step-4321.output")
    assert all(engine.compile(s, names) is c for s, c in zip(sources, compiled, strict=True))


def test_module_has_no_import_time_side_effects() -> None:
    code = (
        "import sys, tui_app.core.templates as t\n"
        "assert t._default is None\n"
        "assert 'textual' not in sys.modules and 'litellm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# --------------------------------------------------------------------------------------------
# Direct AST (Handlebars-only sources) == Jinja's parse of the translated text

_LEAVES = [
    "text ",
    "\n",
    "  ",
    "{{x}}",
    "{{ y }}",
    "{{{x}}}",
    "{{step-one.output}}",
    "{{this}}",
    "{{@index}}",
    "{{@key}}",
    "{{../x}}",
    "{{!c}}",
    "{{!-- c --}}",
    "{{~x~}}",
    "{{name}}",
    "{{[my prompt].output}}",
    "{{this.name}}",
    "{{@root.y}}",
    " {{~!c}}\n",
    "{%",
    "{#",
]


def _block(parts: tuple[str, str, str | None, bool]) -> str:
    head, body, else_body, newline = parts
    helper = head.split()[0]
    nl = "\n" if newline else ""
    middle = "" if else_body is None else "{{else}}" + nl + else_body
    return "{{#" + head + "}}" + nl + body + middle + "{{/" + helper + "}}" + nl


_HANDLEBARS = st.recursive(
    st.sampled_from(_LEAVES),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map("".join),
        st.tuples(
            st.sampled_from(
                ["if flag", "unless flag", "each items", "if x", "each items as |it i|"]
            ),
            st.lists(inner, max_size=4).map("".join),
            st.none() | st.lists(inner, max_size=3).map("".join),
            st.booleans(),
        ).map(_block),
    ),
    max_leaves=25,
)

_CONTEXT = {
    "x": "X",
    "y": "Y",
    "flag": True,
    "items": [{"name": "n1"}, {"name": "n2"}],
    "step-one": {"output": "o"},
    "my prompt": {"output": "mp"},
}
_NAMES = ("step-one", "my prompt")


def _outcome(engine: TemplateEngine, source: str, context: dict[str, Any]) -> tuple[str, Any]:
    try:
        compiled = engine.compile(source, _NAMES)
    except TemplateError as exc:
        return ("compile", str(exc))
    out: list[Any] = [compiled.references]
    for missing_ok in (False, True):
        try:
            out.append(compiled.render(context, missing_ok=missing_ok))
        except (TemplateError, MissingReferenceError) as exc:
            out.append((type(exc).__name__, str(exc)))
    return ("ok", out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_HANDLEBARS, flag=st.booleans())
def test_direct_ast_matches_jinja_parse(source: str, flag: bool) -> None:
    direct, parsed = TemplateEngine(), TemplateEngine()
    parsed._direct = False
    context = {**_CONTEXT, "flag": flag}
    assert _outcome(direct, source, context) == _outcome(parsed, source, context)


# --------------------------------------------------------------------------------------------
# Robustness: any text either renders or fails with one of our errors

_FRAGMENTS = st.sampled_from(
    [
        "{{",
        "}}",
        "{{{",
        "}}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "#if ",
        "#each ",
        "#unless ",
        "/if",
        "/each",
        "else",
        "else if ",
        "this",
        "@index",
        "@root.",
        "../",
        "[",
        "]",
        ".",
        "-",
        "~",
        "!",
        "!--",
        "--",
        " ",
        "\n",
        "x",
        "y",
        "step-one",
        "gpt3.5-run",
        "'",
        '"',
        "|",
        "upper",
        "(",
        ")",
        "1",
        "0",
        "+",
        "*",
        "/",
        "**",
        "__class__",
        "as |a|",
        "for ",
        "in ",
        "endfor",
        "set ",
        "=",
        "is defined",
        "raw",
        "endraw",
        "&",
        ">",
        "^",
    ]
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.one_of(st.lists(_FRAGMENTS, max_size=30).map("".join), st.text(max_size=80)))
def test_random_text_only_raises_our_errors(source: str) -> None:
    engine = TemplateEngine()
    context = {"x": "X", "y": [1, 2], "step-one": {"output": "o"}, "gpt3.5-run": {"output": "g"}}
    try:
        compiled = engine.compile(source, ("step-one", "gpt3.5-run"), prompt="fuzz")
    except TemplateError:
        return
    for ctx in (context, {}):
        for missing_ok in (False, True):
            try:
                result = compiled.render(ctx, prompt="fuzz", missing_ok=missing_ok)
            except (TemplateError, MissingReferenceError):
                continue
            assert isinstance(result, str)


# --------------------------------------------------------------------------------------------
# The cache key (source + the prompt names that matter to it) never mixes up two meanings

_NAME_POOL = ["a-b", "a-b.c", "step-one", "gpt3.5-run", "my prompt", "x.y", "if", "b-c-d"]
_NAME_FRAGMENTS = st.sampled_from(
    [
        *_NAME_POOL,
        "{{",
        "}}",
        "{{ ",
        " }}",
        ".output",
        ".",
        "-",
        "[",
        "]",
        " ",
        "a",
        "b",
        "c",
        "{% if ",
        " %}",
        "{% endif %}",
        "../",
        "@root.",
        "'",
        "~",
        "#if ",
        "/if",
        "x",
        "y",
    ]
)
_SHARED = TemplateEngine()


def _meaning(engine: TemplateEngine, source: str, names: frozenset[str]) -> Any:
    try:
        compiled = engine.compile(source, names)
    except TemplateError as exc:
        return ("error", str(exc))
    context = {r.root: {"output": r.root.upper()} for r in compiled.references}
    try:
        rendered: Any = compiled.render(context)
    except (TemplateError, MissingReferenceError) as exc:
        rendered = (type(exc).__name__, str(exc))
    return compiled.references, rendered


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.lists(_NAME_FRAGMENTS, max_size=16).map("".join),
    first=st.frozensets(st.sampled_from(_NAME_POOL)),
    second=st.frozensets(st.sampled_from(_NAME_POOL)),
)
def test_cached_result_equals_fresh_result(
    source: str, first: frozenset[str], second: frozenset[str]
) -> None:
    _meaning(_SHARED, source, first)  # warm the shared cache with another name set
    assert _meaning(_SHARED, source, second) == _meaning(TemplateEngine(), source, second)


# --------------------------------------------------------------------------------------------
# The AIConfig cookbook: every prompt template there compiles


def _cookbook_templates() -> list[tuple[str, str, str, tuple[str, ...]]]:
    found = []
    for path in sorted([*COOKBOOK.glob("*.json"), *COOKBOOK.glob("*.yaml")]):
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            continue  # the corpus holds one deliberately invalid file
        prompts = [p for p in (doc or {}).get("prompts") or [] if isinstance(p, dict)]
        names = tuple(str(p.get("name")) for p in prompts)
        for prompt in prompts:
            value = prompt.get("input")
            sources = [value] if isinstance(value, str) else []
            if isinstance(value, dict):
                sources += [value[k] for k in ("data", "content") if isinstance(value.get(k), str)]
            found += [(path.name, str(prompt.get("name")), s, names) for s in sources]
    return found


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="AIConfig cookbook corpus not present")
def test_every_cookbook_template_compiles() -> None:
    engine = TemplateEngine()
    templates = _cookbook_templates()
    assert len(templates) > 50
    by_prompt: dict[str, list[Reference]] = {}
    for filename, prompt, source, names in templates:
        compiled = engine.compile(source, names, prompt=prompt)
        by_prompt[f"{filename}:{prompt}"] = list(compiled.references)
    evaluator = next(v for k, v in by_prompt.items() if k.endswith(":majority-evaluator"))
    assert [r.text for r in evaluator if r.attr == "output"] == [
        "gpt4-execution.output",
        "gpt3.5-execution.output",
        "palm-execution.output",
    ]


# --------------------------------------------------------------------------------------------
# The quick scan (the first frame's references, without Jinja2) == the engine's analysis


def _quick_agrees(source: str, names: frozenset[str]) -> bool:
    """Whether the quick scan answered, after checking its answer is the engine's."""
    quick = quick_references(source, names)
    if quick is None:
        return False
    compiled = TemplateEngine().compile(source, names)  # a quick answer: it must compile
    assert quick == compiled.references, source
    assert not compiled.guarded, source
    return True


_QUICK_NAMES = frozenset({"step-one", "my prompt", "gpt3.5-run", "a-b.c"})
_QUICK_LEAVES = st.sampled_from(
    [
        *_LEAVES,
        *_NAME_POOL,
        "{{gpt3.5-run.output}}",
        "{{a-b.c.output.x}}",
        "{{x.0}}",
        "{{x.[0]}}",
        "{{x.y.z}}",
        "{{ x-y }}",
        "{{[a b]}}",
        "{{x.output}}{{x.output}}",
        "{{x}}{{x.output}}",
        "}}",
        "{{{",
        "{",
        "{{ x | upper }}",
        "{{x is defined}}",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.one_of(
        st.lists(_QUICK_LEAVES, max_size=12).map("".join),
        _HANDLEBARS,
        st.lists(_FRAGMENTS, max_size=20).map("".join),
    )
)
def test_quick_scan_equals_the_engines_references(source: str) -> None:
    _quick_agrees(source, _QUICK_NAMES)


def test_quick_scan_answers_the_common_templates_and_declines_the_rest() -> None:
    answered = [
        "plain text",
        "Using {{neighbourhoods.output}} and {{ weather.output }} for {{city}}.",
        "{{step-one.output}} {{[my prompt].output}} {{{raw}}} {{&raw}} {{! note }}",
        "{{~x~}} {{x.y.z}} {{x.[0]}}",
    ]
    declined = [
        "{{#if x}}y{{/if}}",
        "{{ x | upper }}",
        "{% for i in xs %}{{ i }}{% endfor %}",
        "{{@index}}",
        "{{../x}}",
        "{{@root.x}}",
        "{{x is defined}}",
        "{{",
    ]
    assert all(_quick_agrees(s, _QUICK_NAMES) for s in answered)
    assert not any(quick_references(s, _QUICK_NAMES) is not None for s in declined)


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="AIConfig cookbook corpus not present")
def test_quick_scan_equals_the_engine_on_the_cookbook() -> None:
    templates = _cookbook_templates()
    answered = sum(_quick_agrees(source, frozenset(names)) for _, _, source, names in templates)
    assert answered > len(templates) // 2  # most real templates are text and paths


def test_reads_uses_the_engine_once_it_exists() -> None:
    """Before any engine (a fresh process), `reads` answers without importing Jinja2; the
    answer is the engine's either way."""
    code = (
        "import sys\n"
        "from tui_app.core.templates import reads\n"
        "names = frozenset({'step-one'})\n"
        "before = reads('{{step-one.output}} {{city}}', names)\n"
        "assert 'jinja2' not in sys.modules\n"
        "reads('{{#if x}}y{{/if}}', names)\n"
        "assert 'jinja2' in sys.modules\n"
        "assert reads('{{step-one.output}} {{city}}', names) == before\n"
        "print([r.text for r in before[0]])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert out.stdout.strip() == "['step-one.output', 'city']"
