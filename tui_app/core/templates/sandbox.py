"""The Jinja sandbox templates render in, and the finalizers that decide what None renders as.

Two environments exist per engine: the strict one (a missing value or None is an error) and the
lenient one (AIConfig's behaviour: both render as ""). Both refuse ``*`` and ``**`` results
large enough to exhaust memory or CPU, and both provide ``__hb_each``, the runtime half of
``{{#each}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .syntax import _EACH

_MAX_SEQUENCE = 1_000_000
_MAX_POW_BITS = 100_000


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


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits on the two operators that can exhaust memory or CPU."""

    intercepted_binops = frozenset({"*", "**"})

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
                if (
                    isinstance(seq, str | bytes | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > _MAX_SEQUENCE
                ):
                    raise SecurityError("the result of '*' would be too large")
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
