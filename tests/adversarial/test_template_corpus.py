"""Hostile templates: server-side template injection never reaches Python internals, and templates
built to hang or eat memory are refused by a budget (a message naming the prompt and the limit)
before they build anything large. Budgets are counted, never timed: a refusal happens before the
big string exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tui_app.cli import main
from tui_app.core.errors import MissingReferenceError, TemplateError
from tui_app.core.templates import budget
from tui_app.core.templates.engine import TemplateEngine

# (template, words the refusal names)
DOS = {
    "nested range loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "100,000 iterations",
    ),
    "center a huge width": ("{{ 'a'|center(2000000000) }}", "'center' filter"),
    "double with ~ in a loop": (
        "{% set ns = namespace(s='a') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "'~' would build",
    ),
    "double with + in a loop": (
        "{% set ns = namespace(s='a') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
        "'+' would build",
    ),
    "indent a huge width": ("{{ 'a\nb\nc'|indent(999999999) }}", "'indent' filter"),
    "percent width": ("{{ '%999999999s' % 'x' }}", "field width of 999999999"),
    "percent star via format": ("{{ '%*s'|format(999999999, 'x') }}", "'*' field width"),
    "str.format width": ("{{ '{:999999999}'.format('x') }}", "field width of 999999999"),
    "str.format nested width": ("{{ '{:{w}}'.format('x', w=999999999) }}", "nested field"),
    "str.format precision": ("{{ '{:.999999999f}'.format(1.5) }}", "field width"),
    "ljust": ("{{ 'x'.ljust(999999999) }}", "str.ljust"),
    "zfill": ("{{ '1'.zfill(999999999) }}", "str.zfill"),
    "expandtabs": ("{{ ('\t' * 100000).expandtabs(100000) }}", "str.expandtabs"),
    "join big pieces": ("{{ ['a' * 900000, 'b' * 900000]|join }}", "'join' filter"),
    "str.join big pieces": ("{{ ''.join(['a' * 900000, 'b' * 900000]) }}", "str.join"),
    "replace blows up": ("{{ ('a' * 100000)|replace('a', 'b' * 50) }}", "'replace' filter"),
    "str.replace blows up": ("{{ ('a' * 100000).replace('a', 'b' * 50) }}", "str.replace"),
    "many medium strings": (
        "{% for i in range(100000) %}{% set x = 'a' * 1000000 %}{% endfor %}",
        "20,000,000 characters",
    ),
    "huge output": ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", "1,000,000"),
    "tojson indent": ("{{ {'a': [1, 2]}|tojson(indent=999999999) }}", "indent of 999999999"),
    "slice into a billion": ("{{ [1]|slice(1000000000)|list }}", "slices"),
    "set block of repeats": (
        "{% set s %}{% for i in range(99999) %}{{ 'y' * 500 }}{% endfor %}{% endset %}{{ s }}",
        "characters",
    ),
    "power": ("{{ 9 ** 9999999 }}", "'**'"),
    "list repeat": ("{{ [1] * 100000000 }}", "'*'"),
}

SSTI = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ ''['__cla' ~ 'ss__'] }}",
    "{{ (1).__class__ }}",
    "{{ [].append(1) }}",
    "{{ {}.update(a=1) }}",
    "{{ 'x'.format.__globals__ }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '%s'|format(''.__class__) }}",
    "{{ config }}",
    "{{ request }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("name", list(DOS))
def test_dos_template_is_refused_by_a_budget(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, words = DOS[name]
    path = write_config(tmp_path / "c.json", chain([{"name": "hostile", "input": template}]))
    code = main(["resolve", str(path), "hostile"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "prompt 'hostile'" in err
    assert words in err


def test_budgets_leave_ordinary_templates_alone() -> None:
    engine = TemplateEngine()
    items = [f"item {i}" for i in range(5000)]
    source = (
        "{% for x in items %}{{ loop.index }}. {{ x|center(12) }}{{ '%-4s' % '|' }}\n{% endfor %}"
        "{{ items|join(', ')|length }} {{ '{:>6}'.format('ok') }} {{ ('ab' * 1000)|length }}"
        "{{ 'a b'|replace(' ', '-') }} {{ 'x'.ljust(3) }}|"
    )
    out = engine.render(source, {"items": items}, prompt="p")
    assert out.count("\n") == 5000 and out.endswith("    ok 2000a-b x  |")


def test_budget_is_per_render() -> None:
    engine = TemplateEngine()
    source = "{% for i in range(60000) %}.{% endfor %}"
    for _ in range(3):  # 180,000 iterations across renders, each render within its budget
        assert len(engine.render(source, {}, prompt="p")) == 60000
    assert budget.current() is None


@pytest.mark.parametrize("template", SSTI)
def test_ssti_never_reaches_python_internals(template: str) -> None:
    engine = TemplateEngine()
    try:
        out = engine.render(template, {}, prompt="p", missing_ok=True)
    except (TemplateError, MissingReferenceError):
        return
    for leak in ("<class", "<module", "uid=", "root:", "__globals__", "function"):
        assert leak not in out
