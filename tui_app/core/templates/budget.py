"""Budgets that keep a template from hanging or eating memory: a template over budget fails at
once (well under a second) with a message naming the limit; the engine adds the prompt's name.

Limits, per render:

- the output: :data:`MAX_OUTPUT` characters;
- any one string an operation builds (``*``, ``+``, ``~``, ``%``, ``str.format``, ``center``,
  ``indent``, ``join``, ``replace``, ``ljust``...): :data:`MAX_STRING` characters, checked
  *before* the string is built (a ``'%999999999s'`` never allocates);
- all the strings built together: :data:`MAX_BUILT` characters (a loop that builds a large
  string many times is as slow as one that builds a huge one);
- loop iterations, nested loops included: :data:`MAX_ITERATIONS`;
- calls the template makes (macros, methods, functions; a macro that calls itself twice per
  level is 2^depth calls): :data:`MAX_CALLS`.

Work is counted, never timed, so a refusal is the same on a slow machine. Every count is also a
cooperative stopping point: :func:`tui_app.core.cancel.stop_renders` (quitting the app, Ctrl+C)
makes every render in progress raise :class:`RenderStopped` at its next call, iteration or
output piece, so no render outlives what asked for it (a thread still rendering would keep the
interpreter from exiting).

The per-render counters live in a thread-local :class:`Budget` that the sandbox's ``concat``
opens when a template starts rendering (see :mod:`.sandbox`); every check also works outside a
render, with the per-operation limits only.
"""

from __future__ import annotations

import functools
import re
import string
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2.exceptions import SecurityError

from .. import cancel

MAX_OUTPUT = 1_000_000  # characters a template may render
MAX_STRING = 1_000_000  # characters of any one string an operation builds
MAX_BUILT = 20_000_000  # characters built by checked operations in one render
MAX_ITERATIONS = 100_000  # loop iterations in one render, all loops together
# Calls in one render: macros, methods, functions (measured: ~0.2 s for 100k macro calls).
MAX_CALLS = 100_000
MAX_SEQUENCE = 1_000_000  # items of a list or tuple built with '*'
MAX_JSON_INDENT = 64


class BudgetExceeded(SecurityError):
    """A template went over one of its budgets (a SecurityError: the sandbox refuses it)."""


def _n(value: int) -> str:
    return f"{value:,}"


class RenderStopped(BudgetExceeded):
    """A render stopped from outside (:func:`stop_renders`): the app is quitting or the run
    that asked for it was cancelled."""


class Budget:
    """What one render has used so far."""

    __slots__ = ("built", "calls", "generation", "iterations", "output")

    def __init__(self) -> None:
        self.built = 0
        self.calls = 0
        self.iterations = 0
        self.output = 0
        self.generation = cancel.generation()

    def check_stopped(self) -> None:
        if self.generation != cancel.generation():
            raise RenderStopped("rendering was stopped (the app is quitting or was interrupted)")


_local = threading.local()


def current() -> Budget | None:
    return getattr(_local, "budget", None)


def start() -> Budget | None:
    """Open a budget for a render on this thread; returns the one it replaces (restore it with
    :func:`end`)."""
    previous = current()
    _local.budget = Budget()
    return previous


def end(previous: Budget | None) -> None:
    _local.budget = previous


def charge(size: int, what: str) -> None:
    """Refuse an operation that would build a string of ``size`` characters, or that would take
    this render over its total; ``what`` names the operation."""
    if size > MAX_STRING:
        raise BudgetExceeded(
            f"{what} would build a string of {_n(size)} characters (the limit is {_n(MAX_STRING)})"
        )
    budget = current()
    if budget is not None:
        budget.built += size
        if budget.built > MAX_BUILT:
            raise BudgetExceeded(
                f"the template built more than {_n(MAX_BUILT)} characters of text in all "
                f"(the limit for one render)"
            )


def count_call() -> None:
    """One call made by the template (a macro, a method, a function)."""
    budget = current()
    if budget is None:
        return
    budget.check_stopped()
    budget.calls += 1
    if budget.calls > MAX_CALLS:
        raise BudgetExceeded(
            f"the template made more than {_n(MAX_CALLS)} calls (macros, methods, functions: "
            f"the limit for one render); a macro that calls itself twice per level doubles "
            f"its calls with each level"
        )


def count_output(size: int) -> None:
    budget = current()
    if budget is None:
        return
    budget.check_stopped()
    budget.output += size
    if budget.output > MAX_OUTPUT:
        raise BudgetExceeded(
            f"the output is longer than {_n(MAX_OUTPUT)} characters (the limit for one prompt)"
        )


def iterate(iterable: Any) -> Iterator[Any]:
    """``iterable``, counting each item against the render's loop budget."""
    budget = current()
    for item in iterable:
        if budget is not None:
            budget.check_stopped()
            budget.iterations += 1
            if budget.iterations > MAX_ITERATIONS:
                raise BudgetExceeded(
                    f"the template's loops ran more than {_n(MAX_ITERATIONS)} iterations "
                    f"(the limit for one render)"
                )
        yield item


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(str(value))


def checked_join(pieces: Iterable[Any]) -> str:
    """``~``: join the pieces as text, within budget."""
    parts = [p if isinstance(p, str) else str(p) for p in pieces]
    charge(sum(len(p) for p in parts), "'~'")
    return "".join(parts)


# -- format specifications ---------------------------------------------------------------------

_NUMBER = re.compile(r"\d+")
# one %-conversion: flags, width (or *), precision (or *), length modifier, type
_PERCENT = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?[a-zA-Z%]"
)


def _too_big(number: str) -> bool:
    return len(number) > 7 or int(number) > MAX_STRING


def _big_int_in(values: Iterable[Any]) -> bool:
    return any(
        isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_STRING for v in values
    )


def check_percent(template: str, args: Any, what: str = "'%'") -> None:
    """Refuse ``'%999999999s' % x`` and ``'%*s' % (999999999, x)`` before formatting."""
    star = False
    for match in _PERCENT.finditer(template):
        for part in (match.group("width"), match.group("precision")):
            if part == "*":
                star = True
            elif part and _too_big(part):
                raise BudgetExceeded(
                    f"{what}: a field width of {part} is over the limit of {_n(MAX_STRING)}"
                )
    if star:
        values = args if isinstance(args, tuple) else (args,)
        if _big_int_in(values):
            raise BudgetExceeded(f"{what}: a '*' field width is over the limit of {_n(MAX_STRING)}")


def check_format(template: str, args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """Refuse ``'{:999999999}'.format(x)`` (and widths given as ``{:{w}}``) before formatting."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format reports the malformed template itself
    for _, _, spec, _ in fields:
        if not spec:
            continue
        for number in _NUMBER.findall(spec):
            if _too_big(number):
                raise BudgetExceeded(
                    f"str.format: a field width of {number} is over the limit of {_n(MAX_STRING)}"
                )
        if "{" in spec and _big_int_in([*args, *kwargs.values()]):
            raise BudgetExceeded(
                f"str.format: a nested field width is over the limit of {_n(MAX_STRING)}"
            )


# -- str methods called from a template --------------------------------------------------------


def check_str_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a ``str`` method call that would build an over-budget string. Returns the args to
    call it with (an iterable given to ``join`` is read once, here)."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return args
    what = f"str.{name}"
    if name in ("center", "ljust", "rjust", "zfill") and args:
        width = args[0]
        if isinstance(width, int):
            charge(max(width, len(owner)), what)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            charge(len(owner) + max(size, 0) * owner.count("\t"), what)
    elif name == "join" and args:
        items = list(args[0])
        charge(sum(_length(i) for i in items) + len(owner) * max(len(items) - 1, 0), what)
        return (items, *args[1:])
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            hits = owner.count(old) if old else len(owner) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                hits = min(hits, args[2])
            charge(len(owner) + hits * (len(new) - len(old)), what)
    elif name in ("format", "format_map"):
        mapping = kwargs if name == "format" else (args[0] if args else {})
        check_format(owner, args if name == "format" else (), dict(mapping or {}))
    return args


# -- filters -----------------------------------------------------------------------------------


def _budgeted(original: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    """A filter that runs ``check`` with the filter's own arguments first. Keeps Jinja's
    pass_context/pass_eval_ctx marks (``functools.wraps`` copies them)."""

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check(*_value_after_ctx(args), **kwargs)
        result = original(*args, **kwargs)
        if isinstance(result, str):
            charge(len(result), f"the '{original.__name__.removeprefix('do_')}' filter")
        return result

    return wrapper


def _value_after_ctx(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Filters marked pass_eval_ctx/pass_context get it first: skip it."""
    if args and type(args[0]).__name__ in ("EvalContext", "Context"):
        return args[1:]
    return args


def _check_center(value: Any = "", width: Any = 80, *_: Any, **__: Any) -> None:
    if isinstance(width, int):
        charge(max(width, _length(value)), "the 'center' filter")


def _check_indent(value: Any = "", width: Any = 4, *_: Any, **kwargs: Any) -> None:
    width = kwargs.get("width", width)
    unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    text = str(value)
    charge(len(text) + max(unit, 0) * (text.count("\n") + 1), "the 'indent' filter")


def _check_format(value: Any = "", *args: Any, **kwargs: Any) -> None:
    check_percent(str(value), kwargs or args, "the 'format' filter")


def _check_join(value: Any = (), *args: Any, **kwargs: Any) -> None:
    sep = args[0] if args else kwargs.get("d", "")
    if isinstance(value, list | tuple):
        size = sum(_length(v) for v in value) + len(str(sep)) * max(len(value) - 1, 0)
        charge(size, "the 'join' filter")


def _check_replace(*args: Any, **kwargs: Any) -> None:
    if len(args) < 3:
        return
    value, old, new = str(args[0]), str(args[1]), str(args[2])
    hits = value.count(old) if old else len(value) + 1
    count = args[3] if len(args) > 3 else kwargs.get("count")
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    charge(len(value) + hits * (len(new) - len(old)), "the 'replace' filter")


def _check_slice(value: Any = (), slices: Any = 1, *_: Any, **__: Any) -> None:
    if isinstance(slices, int) and slices > MAX_SEQUENCE:
        raise BudgetExceeded(f"the 'slice' filter: {_n(slices)} slices is over the limit")


def _check_tojson(*args: Any, **kwargs: Any) -> None:
    indent = args[1] if len(args) > 1 else kwargs.get("indent")
    if isinstance(indent, int) and indent > MAX_JSON_INDENT:
        raise BudgetExceeded(
            f"the 'tojson' filter: an indent of {indent} is over the limit of {MAX_JSON_INDENT}"
        )


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "format": _check_format,
    "join": _check_join,
    "replace": _check_replace,
    "slice": _check_slice,
    "tojson": _check_tojson,
}


def budget_filters(filters: dict[str, Callable[..., Any]]) -> None:
    """Replace the filters that can build large strings with checked versions, in place."""
    for name, check in _FILTER_CHECKS.items():
        if name in filters:
            filters[name] = _budgeted(filters[name], check)
