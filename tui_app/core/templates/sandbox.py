"""The Jinja sandbox templates render in, and the finalizers that decide what None renders as.

Two environments exist per engine: the strict one (a missing value or None is an error) and the
lenient one (AIConfig's behaviour: both render as ""). Both keep every render within the budgets
of :mod:`.budget` (output size, loop iterations, the size of any string an operation builds), so
a hostile template fails at once instead of hanging or eating memory, and both provide
``__hb_each``, the runtime half of ``{{#each}}``.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import budget
from .syntax import _EACH

_MAX_SEQUENCE = budget.MAX_SEQUENCE
_MAX_POW_BITS = 100_000
_BUDGET_ITER = "budget_iter"  # environment attribute every {% for %} iterates through


class _NoneValue(Exception):
    """Raised by the strict finalizer: an expression rendered None."""


def _strict_finalize(value: Any) -> Any:
    if value is None:
        raise _NoneValue("an expression in the template has no value (None)")
    return value


def _lenient_finalize(value: Any) -> Any:
    return "" if value is None else value


class _EachFrame:
    """One iteration of ``{{#each}}``: the item and its Handlebars data variables."""

    __slots__ = ("this", "key", "index", "first", "last")

    def __init__(self, this: Any, key: Any, index: int, first: bool, last: bool) -> None:
        self.this = this
        self.key = key
        self.index = index
        self.first = first
        self.last = last


def _hb_each(value: Any) -> list[_EachFrame]:
    if isinstance(value, Undefined):
        return list(value)  # StrictUndefined raises here; the lenient kind iterates nothing
    if value is None:
        return []
    if isinstance(value, str | bytes):
        raise TypeError("{{#each}} needs a list or an object, got text")
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        try:
            items = list(enumerate(value))
        except TypeError:
            raise TypeError(
                f"{{{{#each}}}} needs a list or an object, got {type(value).__name__}"
            ) from None
    last = len(items) - 1
    return [_EachFrame(v, k, i, i == 0, i == last) for i, (k, v) in enumerate(items)]


class _BudgetCodeGenerator(CodeGenerator):
    """Compiles ``~`` to a join that checks the size of what it builds."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.budget_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _count_loops(template: nodes.Template) -> None:
    """Make every ``{% for %}`` iterate through :meth:`_Environment.budget_iter`."""
    for loop in template.find_all(nodes.For):
        inner = loop.iter
        if (
            isinstance(inner, nodes.Call)
            and isinstance(inner.node, nodes.EnvironmentAttribute)
            and inner.node.name == _BUDGET_ITER
        ):
            continue  # already counted
        loop.iter = nodes.Call(
            nodes.EnvironmentAttribute(_BUDGET_ITER), [inner], [], None, None, lineno=loop.lineno
        )


# Statements that define a name the rest of the template may read: an {% if %} holding one must
# stay in its frame (Jinja lets a {% set %} inside an if be read after it).
_DEFINES = (nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.Import, nodes.FromImport)


def _scope_branches(template: nodes.Template) -> None:
    """Give each ``{% if %}`` (``{{#if}}``, ``{{#unless}}``) that defines no name a frame of its
    own. Jinja's code generator copies the enclosing frame's symbols into every branch of an
    if and merges them back: at the top level, where the symbols of every earlier if pile up,
    10,000 ifs reading distinct names cost 10,000^2/2 dict copies (21 s). In a frame of its own
    an if copies only what it reads, and the output is the same."""
    defines = next(iter(template.find_all(_DEFINES)), None) is not None
    todo: list[nodes.Node] = [template]
    while todo:
        node = todo.pop()
        for field in node.fields:
            value = getattr(node, field, None)
            if isinstance(value, nodes.Node):
                todo.append(value)
                continue
            if not isinstance(value, list):
                continue
            for index, child in enumerate(value):
                if not isinstance(child, nodes.Node):
                    continue
                todo.append(child)
                if (
                    isinstance(child, nodes.If)
                    and field in ("body", "else_")  # statement lists (an if's elif_ is not one)
                    and not isinstance(node, nodes.Scope)
                    and not (defines and next(iter(child.find_all(_DEFINES)), None))
                ):
                    value[index] = nodes.Scope([child], lineno=child.lineno)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, plus the budgets of :mod:`.budget` on everything that can exhaust memory or
    CPU: operators, ``~``, string methods, filters, loops and the output."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BudgetCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        budget.budget_filters(self.filters)

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        _count_loops(source)
        _scope_branches(source)
        return super()._generate(source, *args, **kwargs)

    def concat(self, pieces: Iterable[str]) -> str:
        """Joins a render's output (a generator: the whole template, within the output budget,
        with a fresh per-render budget) or a block's buffer (a list: a macro, {% set %})."""
        if isinstance(pieces, types.GeneratorType):
            previous = budget.start()
            try:
                out = []
                for piece in pieces:
                    budget.count_output(len(piece))
                    out.append(piece)
                return "".join(out)
            finally:
                pieces.close()
                budget.end(previous)
        parts = list(pieces)
        budget.charge(sum(len(p) for p in parts), "a block")
        return "".join(parts)

    @staticmethod
    def budget_join(pieces: Iterable[Any]) -> str:
        return budget.checked_join(pieces)

    @staticmethod
    def budget_iter(iterable: Any) -> Iterator[Any]:
        return budget.iterate(iterable)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        budget.count_call()
        target = getattr(__obj, "__wrapped__", __obj)  # str.format arrives wrapped
        if isinstance(target, types.BuiltinMethodType | types.MethodType):
            args = budget.check_str_method(target, args, kwargs)
        result = __context.call(__obj, *args, **kwargs)
        if isinstance(result, str) and isinstance(getattr(target, "__self__", None), str):
            budget.charge(len(result), f"str.{getattr(target, '__name__', 'method')}")
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and left.bit_length() * right > _MAX_POW_BITS
            ):
                raise SecurityError("the result of '**' would be too large")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
                    if len(seq) * count > _MAX_SEQUENCE:
                        raise SecurityError("the result of '*' would be too large")
                    if isinstance(seq, str):
                        budget.charge(len(seq) * max(count, 0), "'*'")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                budget.charge(len(left) + len(right), "'+'")
            elif (
                isinstance(left, list | tuple)
                and isinstance(right, list | tuple)
                and len(left) + len(right) > _MAX_SEQUENCE
            ):
                raise SecurityError("the result of '+' would be too large")
        elif operator == "%" and isinstance(left, str):
            budget.check_percent(left, right)
            result = super().call_binop(context, operator, left, right)
            budget.charge(len(result), "'%'")
            return result
        return super().call_binop(context, operator, left, right)

    def getitem(self, obj: Any, argument: Any) -> Any:
        # Handlebars keys are strings: {{xs.[1]}} indexes a list, {{d.0}} reads key "0".
        if isinstance(argument, str) and argument.isdigit() and isinstance(obj, list | tuple):
            argument = int(argument)
        elif (
            isinstance(argument, int)
            and isinstance(obj, Mapping)
            and argument not in obj
            and str(argument) in obj
        ):
            argument = str(argument)
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # The default returns an Undefined, which a lenient Undefined would render as "".
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )


def _make_environment(lenient: bool) -> _Environment:
    env = _Environment(
        autoescape=False,
        undefined=ChainableUndefined if lenient else StrictUndefined,
        finalize=_lenient_finalize if lenient else _strict_finalize,
        keep_trailing_newline=True,
    )
    env.globals[_EACH] = _hb_each
    return env
