"""Templates: Jinja2 in a sandbox, after translating the Handlebars subset AIConfig files use.

One parse serves both questions a template answers: *what does it read* (``references``, which
drives the dependency graph and the parameter form) and *what does it say* (``render``). The
source is translated to Jinja (or, for the common "text and ``{{paths}}``" case, straight to a
Jinja AST), the AST is walked once to resolve Handlebars scoping and collect references, and that
same AST is compiled to render.

Handlebars supported: ``{{name}}``, ``{{a.b}}``, ``{{{raw}}}``, ``{{&raw}}``, prompt names with
hyphens or dots (``{{step-one.output}}``, ``{{gpt3.5-run.output}}`` when such a prompt exists),
``{{[any name].output}}``, ``{{#if}}/{{#unless}}`` with ``{{else}}``/``{{else if x}}``,
``{{#each xs}}`` (``this``, bare item fields, ``@index @key @first @last``, ``../x``,
``@root.x``, ``as |item i|``), comments, ``~`` whitespace control, and pybars' removal of lines
holding only a block tag. Real Jinja (filters, ``{% for %}``, ``{% if %}``...) passes through.

Rules worth knowing:
- a name with ``-`` or ``.`` is a prompt reference only when that exact prompt exists;
  ``{{x-y}}`` without a prompt ``x-y`` is Jinja subtraction (it reads ``x`` and ``y``);
- inside ``{{#each}}`` a bare name is a field of the item (Handlebars): use ``../name`` or
  ``@root.name`` for outer values; names bound by Jinja (``{% set %}``, loop variables) win;
- values are never HTML-escaped; a missing value or ``None`` is an error unless the caller
  asks for AIConfig's behaviour (``missing_ok=True``: rendered as "").
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Undefined, nodes
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import MissingReferenceError, TemplateError

__all__ = [
    "CompiledTemplate",
    "Reference",
    "TemplateEngine",
    "default_engine",
    "references",
]


@dataclass(frozen=True)
class Reference:
    """A top-level value a template reads.

    ``root`` is a parameter or prompt name in its original spelling (``step-one``, ``my prompt``);
    ``attr`` the first attribute read from it (``output`` in ``{{p.output}}``) or None;
    ``text`` a canonical spelling of the two (``step-one.output``, ``[my prompt].output``).
    """

    root: str
    attr: str | None
    text: str


# --------------------------------------------------------------------------------------------
# Environment

_RESERVED = "__hb_"  # prefix of every name the translation invents
_EACH = "__hb_each"
_FRAME_RE = re.compile(r"__hb_f\d+\Z")
# Words the Jinja parser does not read as variable names.
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"}
)
_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined"})
_MAX_SEQUENCE = 1_000_000
_MAX_BLOCK_DEPTH = 16  # Python refuses more than 20 nested loops in the generated code
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


# --------------------------------------------------------------------------------------------
# Lexical helpers

_NL = re.compile(r"\r\n|\r|\n")
_TAG_START = re.compile(r"\{[{%#]")
_RUN = re.compile(r"[\w\-]+(?:\.[\w\-]+)*")  # a name-like run: words, hyphens, inner dots
# A maximal run of word characters, hyphens and dots that holds a hyphen or a dot (linear time).
_SPECIAL_RUN = re.compile(r"(?<![\w\-.])\w*+(?:[\-.][\w\-.]*+)+")
_IDENT = re.compile(r"[^\W\d]\w*")
_SEGMENT = re.compile(r"\d+(?!\w)|[^\W\d]\w*")
_AT = re.compile(r"@(index|key|first|last)(?![\w.])")
_BRACKETS = re.compile(r"(?=\[([^\]]*)\])")
_LONG_COMMENT_END = re.compile(r"--(~?)\}\}")
_RAW_BEGIN = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_RAW_END = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_BLOCK_OPEN = re.compile(r"#\s*([^\s}]*)\s*(.*)\Z", re.S)
_BLOCK_PARAMS = re.compile(r"(.*?)\s+as\s+\|([^|]*)\|\s*\Z", re.S)
_ELSE = re.compile(r"else(?:\s+(if|unless)\s+(.*))?\Z", re.S)


def _is_plain(name: str) -> bool:
    """A name Jinja reads as a variable as it is (no alias needed)."""
    return name.isidentifier() and name not in _KEYWORDS


def _jinja_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _string_end(text: str, i: int) -> int:
    """Index after the string literal starting at ``i``, or -1 when it never ends."""
    quote = text[i]
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
        elif c == quote:
            return j + 1
        else:
            j += 1
    return -1


def _scan_close(text: str, i: int, close: str) -> int:
    """Where ``close`` ends a Jinja tag started before ``i`` (strings and brackets skipped)."""
    depth = 0
    n = len(text)
    while i < n:
        if depth == 0 and text.startswith(close, i):
            return i
        c = text[i]
        if c == '"' or c == "'":
            i = _string_end(text, i)
            if i < 0:
                return -1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}" and depth:
            depth -= 1
        i += 1
    return -1


def _candidates(source: str) -> frozenset[str]:
    """Every string the translation could look up as a prompt name needing an alias.

    A superset: runs of word characters, hyphens and dots that hold a hyphen or a dot (cut at
    dots and after hyphens/dots), and bracket contents. Plain identifiers need no alias.
    """
    found: set[str] = set()
    for run in set(_SPECIAL_RUN.findall(source)):
        seps = [i for i, c in enumerate(run) if c == "-" or c == "."]
        starts = [0, *(i + 1 for i in seps)]
        ends = [*(i for i in seps if run[i] == "."), len(run)]
        if run[-1] == "-":
            ends.append(len(run.rstrip("-")))
        for s in starts:
            for e in ends:
                if e > s:
                    cand = run[s:e]
                    if not _is_plain(cand):
                        found.add(cand)
    if "[" in source:
        found.update(_BRACKETS.findall(source))
    return frozenset(found)


# --------------------------------------------------------------------------------------------
# Translation: Handlebars + Jinja text -> Jinja text (or directly a Jinja AST)


class _CompileError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class _Piece:
    kind: str  # text | lit | expr | block | comment | verbatim
    text: str = ""  # data, or the Jinja text inside the tag
    lctl: str = ""
    rctl: str = ""
    pad: int = 0  # newlines to keep inside the tag so Jinja line numbers match the source
    path: tuple[str, tuple[str | int, ...]] | None = None  # a Handlebars path (expr, block arg)
    line: int = 1
    op: str = ""  # blocks: if, unless, elif, elif_not, else, each, set, end
    frame: str = ""  # each/set: the loop variable; set: (name, attribute) in params
    params: tuple[str, str] = ("", "")


class _Translator:
    def __init__(self, source: str, special: frozenset[str]) -> None:
        self.src = source
        self.special = special  # prompt names that need an alias (only those this source uses)
        self.pieces: list[_Piece] = []
        self.simple = True  # only text, {{paths}} and comments: build the AST directly
        self.stack: list[list[Any]] = []  # open blocks: [helper, line, seen_else]
        self.aliases: dict[str, str] = {}  # original name -> identifier in the Jinja source
        self.symbols: dict[str, tuple[Any, ...]] = {}  # invented identifier -> meaning
        self._sym_ids: dict[tuple[Any, ...], str] = {}
        self._newlines: list[int] | None = None
        self._paths: dict[str, tuple[str, tuple[str | int, ...]] | None] = {}

    # -- positions
    def line(self, pos: int) -> int:
        if self._newlines is None:
            self._newlines = [m.start() for m in _NL.finditer(self.src)]
        return bisect_left(self._newlines, pos) + 1

    def newlines(self, start: int, end: int) -> int:
        return len(_NL.findall(self.src, start, end))

    # -- names
    def alias(self, name: str) -> str:
        if _is_plain(name):
            return name
        ident = self.aliases.get(name)
        if ident is None:
            ident = f"{_RESERVED}n{len(self.aliases)}"
            self.aliases[name] = ident
            self.symbols[ident] = ("name", name)
        return ident

    def symbol(self, meaning: tuple[Any, ...]) -> str:
        ident = self._sym_ids.get(meaning)
        if ident is None:
            ident = f"{_RESERVED}s{len(self._sym_ids)}"
            self._sym_ids[meaning] = ident
            self.symbols[ident] = meaning
        return ident

    def match_special(self, run: str) -> str | None:
        """The longest known prompt name the run starts with, ending at a dot or the run's end."""
        if not self.special:
            return None
        cuts = [len(run)] + [i for i in range(len(run) - 1, 0, -1) if run[i] == "."]
        for cut in cuts:
            if run[:cut] in self.special:
                return run[:cut]
        return None

    @property
    def each_depth(self) -> int:
        return sum(1 for entry in self.stack if entry[0] == "each")

    # -- main loop
    def run(self) -> None:
        src = self.src
        pos = 0
        while True:
            m = _TAG_START.search(src, pos)
            if m is None:
                self.text(src[pos:])
                break
            start = m.start()
            self.text(src[pos:start])
            kind = src[start + 1]
            if kind == "{":
                pos = self.mustache(start)
            elif kind == "%":
                pos = self.jinja_block(start)
            else:
                pos = self.jinja_comment(start)
        if self.stack:
            helper, line, _ = self.stack[-1]
            raise _CompileError(f"{{{{#{helper}}}}} is never closed (add {{{{/{helper}}}}})", line)

    def text(self, data: str) -> None:
        if data:
            self.pieces.append(_Piece("text", data))

    def check_reserved(self, start: int, end: int) -> None:
        if _RESERVED in self.src[start:end]:
            raise _CompileError(f"names starting with {_RESERVED!r} are reserved", self.line(start))

    def standalone(self, start: int, end: int) -> int:
        """pybars/Handlebars: a block tag alone on its line takes the whole line with it.

        Returns the new scan position; strips the indentation already emitted.
        """
        src = self.src
        line_start = max(src.rfind("\n", 0, start), src.rfind("\r", 0, start)) + 1
        before = src[line_start:start]
        if before.strip(" \t"):
            return end
        m = _NL.search(src, end)
        after_end = m.start() if m else len(src)
        if src[end:after_end].strip(" \t"):
            return end
        if before:
            last = self.pieces[-1] if self.pieces else None
            if last is None or last.kind != "text" or not last.text.endswith(before):
                return end
            last.text = last.text[: -len(before)]
        return m.end() if m else len(src)

    # -- {% ... %} and {# ... #}
    def jinja_block(self, start: int) -> int:
        src = self.src
        m = _RAW_BEGIN.match(src, start)
        if m:
            e = _RAW_END.search(src, m.end())
            end = e.end() if e else len(src)  # unclosed: Jinja reports it
            self.simple = False
            self.pieces.append(_Piece("verbatim", src[start:end]))
            return end
        if src.find("%}", start + 2) < 0:
            self.pieces.append(_Piece("lit", "{%"))  # never closed: plain text, as Handlebars
            return start + 2
        end = _scan_close(src, start + 2, "%}")
        if end < 0:
            end = src.find("%}", start + 2)
        self.check_reserved(start, end)
        self.simple = False
        self.pieces.append(_Piece("verbatim", "{%" + self.rewrite(src[start + 2 : end]) + "%}"))
        return end + 2

    def jinja_comment(self, start: int) -> int:
        end = self.src.find("#}", start + 2)
        if end < 0:
            self.pieces.append(_Piece("lit", "{#"))
            return start + 2
        body = self.src[start : end + 2]
        lctl = "-" if body.startswith("{#-") else ""
        rctl = "-" if body.endswith("-#}") and len(body) > 4 else ""
        self.pieces.append(_Piece("comment", "", lctl, rctl, self.newlines(start, end + 2)))
        return end + 2

    # -- {{ ... }}
    def mustache(self, start: int) -> int:
        src = self.src
        line = self.line(start)
        if src.startswith("{{{", start):
            end = src.find("}}}", start + 3)
            if end >= 0:
                inner = src[start + 3 : end]
                lctl, body, rctl = self.split_ctl(inner)
                if "{" not in inner and "}" not in inner:
                    self.check_reserved(start, end)
                    self.expression(start, end + 3, lctl, body.strip(), rctl, line)
                    return end + 3
        p = start + 2
        lctl = ""
        if p < len(src) and src[p] in "~-":
            lctl = "-"
            p += 1
        q = p
        while q < len(src) and src[q].isspace():
            q += 1
        if src.startswith("!--", q):
            m = _LONG_COMMENT_END.search(src, q + 3)
            if m is None:
                raise _CompileError("comment '{{!--' is never closed (end it with '--}}')", line)
            return self.comment(start, m.end(), lctl, "-" if m.group(1) else "")
        if src.startswith("!", q):
            end = src.find("}}", q)
            if end < 0:
                raise _CompileError("comment '{{!' is never closed (end it with '}}')", line)
            return self.comment(start, end + 2, lctl, "-" if src[end - 1] == "~" else "")
        end = src.find("}}", p)
        if end < 0:
            raise _CompileError("'{{' is never closed (end it with '}}')", line)
        body, rctl = self.strip_rctl(src[p:end])
        body = body.strip()
        if not self.reads_as_handlebars(body):
            # A Jinja expression may hold '}}' inside a string or brackets: find its real end.
            aware = _scan_close(src, p, "}}")
            if aware > end:
                end = aware
                body, rctl = self.strip_rctl(src[p:end])
                body = body.strip()
        self.check_reserved(start, end)
        if body.startswith("#"):
            return self.open_block(start, end + 2, lctl, body, rctl, line)
        if body.startswith("/"):
            return self.close_block(start, end + 2, lctl, body, rctl, line)
        if body == "^" or _ELSE.match(body):
            return self.else_block(start, end + 2, lctl, body, rctl, line)
        if body.startswith(">"):
            raise _CompileError("Handlebars partials ({{> name}}) are not supported", line)
        if body.startswith("^"):
            raise _CompileError(
                "inverse sections ({{^name}}) are not supported: use {{#unless}}", line
            )
        if body.startswith("&"):
            body = body[1:].strip()
        self.expression(start, end + 2, lctl, body, rctl, line)
        return end + 2

    def reads_as_handlebars(self, body: str) -> bool:
        """True when the tag body, cut at the first '}}', is Handlebars with a path argument."""
        if body.startswith("#"):
            m = _BLOCK_OPEN.match(body)
            args = m.group(2).strip() if m else ""
            bp = _BLOCK_PARAMS.match(args)
            arg: str | None = bp.group(1).strip() if bp else args
        elif body.startswith(("/", "^", ">")):
            return True
        elif _ELSE.match(body):
            m = _ELSE.match(body)
            arg = m.group(2).strip() if m and m.group(1) else None
        else:
            arg = body[1:].strip() if body.startswith("&") else body
        return arg is None or self.path(arg) is not None

    @staticmethod
    def split_ctl(inner: str) -> tuple[str, str, str]:
        lctl = ""
        if inner[:1] in ("~", "-"):
            lctl, inner = "-", inner[1:]
        body, rctl = _Translator.strip_rctl(inner)
        return lctl, body, rctl

    @staticmethod
    def strip_rctl(inner: str) -> tuple[str, str]:
        if inner.endswith(("~", "-")):
            return inner[:-1], "-"
        return inner, ""

    def expression(self, start: int, end: int, lctl: str, body: str, rctl: str, line: int) -> None:
        path = self.path(body)
        pad = self.newlines(start, end)
        if path is not None:
            text = self.path_text(path)
        else:
            if not body:
                raise _CompileError("empty '{{ }}'", line)
            text = self.rewrite(body)
            self.simple = False
        self.pieces.append(_Piece("expr", text, lctl, rctl, pad, path, line))

    def comment(self, start: int, end: int, lctl: str, rctl: str) -> int:
        pad = self.newlines(start, end)
        new_end = self.standalone(start, end)
        pad += self.newlines(end, new_end)
        self.pieces.append(_Piece("comment", "", lctl, rctl, pad))
        return new_end

    def block_piece(
        self,
        start: int,
        end: int,
        lctl: str,
        text: str,
        rctl: str,
        op: str,
        path: tuple[str, tuple[str | int, ...]] | None,
        line: int,
        frame: str = "",
    ) -> int:
        pad = self.newlines(start, end)
        new_end = self.standalone(start, end)
        pad += self.newlines(end, new_end)
        self.pieces.append(_Piece("block", text, lctl, rctl, pad, path, line, op, frame))
        return new_end

    def argument(
        self, args: str, line: int, what: str
    ) -> tuple[str, tuple[str, tuple[str | int, ...]] | None]:
        """A block argument: its Jinja text, and its path when it is a Handlebars path."""
        if not args:
            raise _CompileError(f"{what} needs an argument", line)
        path = self.path(args)
        if path is None:
            self.simple = False
            return self.rewrite(args), None
        return self.path_text(path), path

    def open_block(self, start: int, end: int, lctl: str, body: str, rctl: str, line: int) -> int:
        m = _BLOCK_OPEN.match(body)
        helper, args = (m.group(1), m.group(2).strip()) if m else ("", "")
        if helper not in ("if", "unless", "each"):
            shown = "{{#" + helper + "}}"
            raise _CompileError(
                f"unsupported Handlebars block helper {shown} (supported: #if, #unless, #each)",
                line,
            )
        params: list[str] = []
        if helper == "each":
            bp = _BLOCK_PARAMS.match(args)
            if bp:
                args = bp.group(1).strip()
                params = bp.group(2).split()
                if not 1 <= len(params) <= 2 or not all(_is_plain(x) for x in params):
                    raise _CompileError("block parameters must be one or two plain names", line)
        expr, path = self.argument(args, line, "{{#" + helper + "}}")
        if helper == "each":
            frame = f"{_RESERVED}f{self.each_depth + 1}"
            text = f"for {frame} in {_EACH}(({expr}))"
            # With block parameters, the closing '~' belongs after the last {% set %}.
            new_end = self.block_piece(
                start, end, lctl, text, "" if params else rctl, "each", path, line, frame
            )
            for i, (name, attr) in enumerate(zip(params, ("this", "key"), strict=False)):
                piece = _Piece("block", f"set {name} = {frame}.{attr}", op="set", frame=frame)
                piece.params = (name, attr)
                piece.rctl = rctl if i == len(params) - 1 else ""
                piece.line = line
                self.pieces.append(piece)
        else:
            text = f"if ({expr})" if helper == "if" else f"if not ({expr})"
            new_end = self.block_piece(start, end, lctl, text, rctl, helper, path, line)
        self.stack.append([helper, line, False])
        if len(self.stack) > _MAX_BLOCK_DEPTH:
            raise _CompileError(f"blocks are nested more than {_MAX_BLOCK_DEPTH} deep", line)
        return new_end

    def else_block(self, start: int, end: int, lctl: str, body: str, rctl: str, line: int) -> int:
        if not self.stack:
            raise _CompileError("{{else}} outside {{#if}}, {{#unless}} or {{#each}}", line)
        entry = self.stack[-1]
        if entry[2]:
            raise _CompileError(f"a second {{{{else}}}} in {{{{#{entry[0]}}}}}", line)
        m = _ELSE.match(body)
        if m and m.group(1):
            if entry[0] == "each":
                raise _CompileError("{{else if}} is not allowed in {{#each}}", line)
            kind = m.group(1)
            expr, path = self.argument(m.group(2).strip(), line, "{{else " + kind + "}}")
            text = f"elif ({expr})" if kind == "if" else f"elif not ({expr})"
            op = "elif" if kind == "if" else "elif_not"
            return self.block_piece(start, end, lctl, text, rctl, op, path, line)
        entry[2] = True
        return self.block_piece(start, end, lctl, "else", rctl, "else", None, line)

    def close_block(self, start: int, end: int, lctl: str, body: str, rctl: str, line: int) -> int:
        helper = body[1:].strip()
        if not self.stack:
            raise _CompileError(f"{{{{/{helper}}}}} closes nothing", line)
        open_helper, open_line, _ = self.stack[-1]
        if helper != open_helper:
            raise _CompileError(
                f"{{{{/{helper}}}}} does not match {{{{#{open_helper}}}}} opened on line {open_line}",
                line,
            )
        self.stack.pop()
        text = "endfor" if helper == "each" else "endif"
        return self.block_piece(start, end, lctl, text, rctl, "end", None, line)

    # -- Handlebars paths
    def path(self, text: str) -> tuple[str, tuple[str | int, ...]] | None:
        """Parse a Handlebars path (``a.b``, ``[x y].out``, ``../x``, ``this.f``, ``@index``).

        Returns (identifier, segments) or None when ``text`` is not a path (it is then Jinja).
        """
        key = f"{self.each_depth}:{text}"
        if key not in self._paths:
            self._paths[key] = self._path(text)
        return self._paths[key]

    def _path(self, text: str) -> tuple[str, tuple[str | int, ...]] | None:
        if not text or text[0] in "\"'" or text[0].isdigit():
            return None
        n = len(text)
        i = 0
        mode = "plain"
        ups = 0
        if text[0] == "@":
            m = _AT.match(text)
            if m and m.end() == n:
                return self.symbol(("at", m.group(1))), ()
            if text.startswith("@root.") and n > 6:
                mode, i = "root", 6
            else:
                return None
        else:
            while text.startswith("../", i):
                ups += 1
                i += 3
            if ups:
                mode = "up"
            elif text.startswith("./"):
                text = "this." + text[2:]
                n = len(text)
        head: str | None
        if text.startswith("this", i) and (i + 4 == n or text[i + 4] == "."):
            if mode == "root":
                return None
            head = None
            i += 4
        elif i < n and text[i] == "[":
            j = text.find("]", i + 1)
            if j < 0:
                return None
            head = text[i + 1 : j]
            i = j + 1
        else:
            m = _RUN.match(text, i)
            if m is None:
                return None
            head = self.match_special(m.group())
            if head is None:
                m = _IDENT.match(text, i)
                if m is None:
                    return None
                head = m.group()
                if head in _KEYWORDS:
                    return None
            i += len(head)
        segs: list[str | int] = []
        while i < n:
            if text[i] != "." or i + 1 >= n:
                return None
            i += 1
            if text[i] == "[":
                j = text.find("]", i + 1)
                if j < 0:
                    return None
                segs.append(text[i + 1 : j])
                i = j + 1
            else:
                m = _SEGMENT.match(text, i)
                if m is None:
                    return None
                seg = m.group()
                segs.append(int(seg) if seg.isdigit() else seg)
                i = m.end()
        if mode == "up":
            ident = self.symbol(("up", ups, head, None if head is None else self.alias(head)))
        elif mode == "root":
            assert head is not None
            ident = self.symbol(("root", head, self.alias(head)))
        elif head is None:  # this / this.x
            if self.each_depth == 0 and segs and isinstance(segs[0], str):
                ident = self.alias(str(segs.pop(0)))  # at the top, this.x is x
            else:
                ident = "this"
        else:
            ident = self.alias(head)
        return ident, tuple(segs)

    @staticmethod
    def path_text(path: tuple[str, tuple[str | int, ...]]) -> str:
        ident, segs = path
        return ident + "".join(
            f"[{seg}]" if isinstance(seg, int) else f"[{_jinja_string(seg)}]" for seg in segs
        )

    # -- Jinja expressions
    def rewrite(self, text: str) -> str:
        """Jinja expression text with prompt names aliased and Handlebars markers translated."""
        out: list[str] = []
        i = 0
        n = len(text)
        prev = ""  # previous non-space character of the original text
        while i < n:
            c = text[i]
            if c == '"' or c == "'":
                j = _string_end(text, i)
                j = n if j < 0 else j
                out.append(text[i:j])
                prev = c
                i = j
                continue
            at_start = not prev or not (prev.isalnum() or prev in "_)]}.")
            if c == "@":
                m = _AT.match(text, i)
                if m:
                    out.append(self.symbol(("at", m.group(1))))
                    prev, i = "a", m.end()
                    continue
                if text.startswith("@root.", i):
                    head, j = self.head_name(text, i + 6)
                    if head is not None:
                        out.append(self.symbol(("root", head, self.alias(head))))
                        prev, i = "a", j
                        continue
            elif c == "." and text.startswith("../", i) and at_start:
                ups = 0
                j = i
                while text.startswith("../", j):
                    ups += 1
                    j += 3
                if text.startswith("this", j) and not (
                    text[j + 4 : j + 5].isalnum() or text[j + 4 : j + 5] == "_"
                ):
                    out.append(self.symbol(("up", ups, None, None)))
                    prev, i = "a", j + 4
                    continue
                head, k = self.head_name(text, j)
                if head is not None:
                    out.append(self.symbol(("up", ups, head, self.alias(head))))
                    prev, i = "a", k
                    continue
            elif c == "." and text.startswith(".[", i):
                j = text.find("]", i + 2)
                if j >= 0:
                    out.append("[" + _jinja_string(text[i + 2 : j]) + "]")
                    prev, i = "]", j + 1
                    continue
            elif c == "[" and at_start:
                j = text.find("]", i + 1)
                if j >= 0 and text[i + 1 : j] in self.special:
                    out.append(self.alias(text[i + 1 : j]))
                    prev, i = "a", j + 1
                    continue
            elif (c.isalnum() or c == "_") and not (
                i and (text[i - 1].isalnum() or text[i - 1] in "_.-")
            ):
                m = _RUN.match(text, i)
                assert m is not None
                run = m.group()
                name = self.match_special(run)
                if name is not None:
                    out.append(self.alias(name))
                    prev, i = "a", i + len(name)
                else:
                    out.append(run)
                    prev, i = run[-1], m.end()
                continue
            out.append(c)
            if not c.isspace():
                prev = c
            i += 1
        return "".join(out)

    def head_name(self, text: str, i: int) -> tuple[str | None, int]:
        """A name at ``i`` (bracketed, a known prompt name, or an identifier) and where it ends."""
        if text.startswith("[", i):
            j = text.find("]", i + 1)
            return (text[i + 1 : j], j + 1) if j >= 0 else (None, i)
        m = _RUN.match(text, i)
        if m is None:
            return None, i
        name = self.match_special(m.group())
        if name is not None:
            return name, i + len(name)
        m = _IDENT.match(text, i)
        if m is None or m.group() in _KEYWORDS:
            return None, i
        return m.group(), m.end()

    # -- output
    def jinja_source(self) -> str:
        parts: list[str] = []
        for piece in self.pieces:
            pad = "\n" * piece.pad
            if piece.kind == "text":
                parts.append(piece.text)
            elif piece.kind == "lit":
                parts.append("{{ " + _jinja_string(piece.text) + " }}")
            elif piece.kind == "expr":
                parts.append("{{" + piece.lctl + " " + piece.text + " " + pad + piece.rctl + "}}")
            elif piece.kind == "block":
                parts.append("{%" + piece.lctl + " " + piece.text + " " + pad + piece.rctl + "%}")
            elif piece.kind == "comment":
                parts.append("{#" + piece.lctl + " " + pad + piece.rctl + "#}")
            else:
                parts.append(piece.text)
        return "".join(parts)

    def apply_whitespace_control(self) -> None:
        """What Jinja's lexer does for '-' (Handlebars '~'): strip the whitespace beside a tag."""
        pieces = self.pieces
        for i, piece in enumerate(pieces):
            if piece.kind == "text":
                continue
            if piece.lctl and i and pieces[i - 1].kind == "text":
                pieces[i - 1].text = pieces[i - 1].text.rstrip()
            if piece.rctl and i + 1 < len(pieces) and pieces[i + 1].kind == "text":
                pieces[i + 1].text = pieces[i + 1].text.lstrip()

    @staticmethod
    def path_node(piece: _Piece) -> nodes.Expr:
        assert piece.path is not None
        ident, segs = piece.path
        node: nodes.Expr = nodes.Name(ident, "load", lineno=piece.line)
        for seg in segs:
            node = nodes.Getitem(
                node, nodes.Const(seg, lineno=piece.line), "load", lineno=piece.line
            )
        return node

    def direct_ast(self) -> nodes.Template:
        """The AST Jinja's parser would build from ``jinja_source()`` (Handlebars-only sources)."""
        self.apply_whitespace_control()
        root: list[nodes.Node] = []
        bodies: list[list[nodes.Node]] = [root]
        blocks: list[Any] = []  # the open If / For nodes
        output: list[nodes.Expr] = []
        data: list[str] = []

        def flush_data() -> None:
            if data:
                text = "".join(data)
                if "\r" in text:
                    text = _NL.sub("\n", text)
                if text:
                    output.append(nodes.TemplateData(text, lineno=1))
                data.clear()

        def flush() -> None:
            flush_data()
            if output:
                bodies[-1].append(nodes.Output(list(output), lineno=1))
                output.clear()

        for piece in self.pieces:
            if piece.kind in ("text", "lit"):
                data.append(piece.text)
            elif piece.kind == "expr":
                flush_data()
                output.append(self.path_node(piece))
            elif piece.kind == "block":
                flush()
                op, line = piece.op, piece.line
                if op in ("if", "unless", "elif", "elif_not"):
                    test = self.path_node(piece)
                    if op in ("unless", "elif_not"):
                        test = nodes.Not(test, lineno=line)
                    node = nodes.If(test, [], [], [], lineno=line)
                    if op in ("if", "unless"):
                        bodies[-1].append(node)
                        blocks.append(node)
                        bodies.append(node.body)
                    else:
                        blocks[-1].elif_.append(node)
                        bodies[-1] = node.body
                elif op == "else":
                    bodies[-1] = blocks[-1].else_
                elif op == "each":
                    each = nodes.Name(_EACH, "load", lineno=line)
                    call = nodes.Call(each, [self.path_node(piece)], [], None, None, lineno=line)
                    target = nodes.Name(piece.frame, "store", lineno=line)
                    node = nodes.For(target, call, [], [], None, False, lineno=line)
                    bodies[-1].append(node)
                    blocks.append(node)
                    bodies.append(node.body)
                elif op == "set":
                    name, attr = piece.params
                    frame = nodes.Name(piece.frame, "load", lineno=line)
                    value = nodes.Getattr(frame, attr, "load", lineno=line)
                    target = nodes.Name(name, "store", lineno=line)
                    bodies[-1].append(nodes.Assign(target, value, lineno=line))
                else:  # end
                    blocks.pop()
                    bodies.pop()
        flush()
        return nodes.Template(root, lineno=1)


# --------------------------------------------------------------------------------------------
# Analysis: resolve Handlebars scoping in the AST and collect references


class _Scope:
    __slots__ = ("bound", "frames")

    def __init__(self, bound: set[str], frames: tuple[str, ...]) -> None:
        self.bound = bound
        self.frames = frames

    def child(self, extra: Iterable[str] = (), frame: str | None = None) -> _Scope:
        frames = self.frames + (frame,) if frame else self.frames
        return _Scope(self.bound | set(extra), frames)


def _target_names(node: nodes.Node) -> set[str]:
    return {n.name for n in node.find_all(nodes.Name)} | (
        {node.name} if isinstance(node, nodes.Name) else set()
    )


def _ref_text(root: str, attr: str | None) -> str:
    head = root if _RUN.fullmatch(root) else f"[{root}]"
    return f"{head}.{attr}" if attr is not None else head


class _Analyzer:
    def __init__(self, env: _Environment, symbols: Mapping[str, tuple[Any, ...]]) -> None:
        self.env = env
        self.symbols = symbols
        self.refs: dict[tuple[str, str | None], Reference] = {}
        self.required: set[tuple[str, str | None]] = set()
        self.idents: dict[str, str] = {}  # original root name -> identifier in the template
        self.guards: list[frozenset[str]] = []  # roots tested with `is defined` around here

    def run(self, template: nodes.Template) -> None:
        scope = _Scope(set(), ())
        template.body = [self.visit(n, scope) for n in template.body]

    # -- generic
    def visit(self, node: nodes.Node, scope: _Scope) -> nodes.Node:
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is not None:
            return method(node, scope)
        self.generic(node, scope)
        return node

    def generic(self, node: nodes.Node, scope: _Scope) -> None:
        for field in node.fields:
            value = getattr(node, field, None)
            if isinstance(value, nodes.Node):
                setattr(node, field, self.visit(value, scope))
            elif isinstance(value, list):
                value[:] = [self.visit(v, scope) if isinstance(v, nodes.Node) else v for v in value]

    def body(self, items: list[nodes.Node], scope: _Scope) -> list[nodes.Node]:
        return [self.visit(n, scope) for n in items]

    # -- expressions
    def expr(
        self, node: nodes.Node, scope: _Scope, *, called: bool = False, guarded: bool = False
    ) -> nodes.Node:
        if isinstance(node, nodes.Name):
            return self.name(node, scope, None, called, guarded)
        if isinstance(node, nodes.Getattr):
            return self.v_Getattr(node, scope, called=called, guarded=guarded)
        if isinstance(node, nodes.Getitem):
            return self.v_Getitem(node, scope, guarded=guarded)
        return self.visit(node, scope)

    def v_Name(self, node: nodes.Name, scope: _Scope) -> nodes.Node:
        return self.name(node, scope, None, False, False)

    def v_Getattr(
        self, node: nodes.Getattr, scope: _Scope, *, called: bool = False, guarded: bool = False
    ) -> nodes.Node:
        if isinstance(node.node, nodes.Name):
            attr = None if called else node.attr
            node.node = self.name(node.node, scope, attr, False, guarded)
        else:
            node.node = self.expr(node.node, scope, guarded=guarded)
        return node

    def v_Getitem(self, node: nodes.Getitem, scope: _Scope, *, guarded: bool = False) -> nodes.Node:
        if isinstance(node.node, nodes.Name):
            arg = node.arg
            attr = (
                arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None
            )
            node.node = self.name(node.node, scope, attr, False, guarded)
        else:
            node.node = self.expr(node.node, scope, guarded=guarded)
        node.arg = self.visit(node.arg, scope)
        return node

    def v_Call(self, node: nodes.Call, scope: _Scope) -> nodes.Node:
        node.node = self.expr(node.node, scope, called=True)
        node.args = [self.visit(a, scope) for a in node.args]
        node.kwargs = [self.visit(a, scope) for a in node.kwargs]
        if node.dyn_args is not None:
            node.dyn_args = self.visit(node.dyn_args, scope)
        if node.dyn_kwargs is not None:
            node.dyn_kwargs = self.visit(node.dyn_kwargs, scope)
        return node

    def v_Filter(self, node: nodes.Filter, scope: _Scope) -> nodes.Node:
        if node.name not in self.env.filters:
            raise _CompileError(f"no filter named '{node.name}'", node.lineno)
        if node.node is not None:
            node.node = self.expr(node.node, scope, guarded=node.name in _GUARD_FILTERS)
        self.call_args(node, scope)
        return node

    def v_Test(self, node: nodes.Test, scope: _Scope) -> nodes.Node:
        if node.name not in self.env.tests:
            raise _CompileError(f"no test named '{node.name}'", node.lineno)
        node.node = self.expr(node.node, scope, guarded=node.name in _GUARD_TESTS)
        self.call_args(node, scope)
        return node

    def call_args(self, node: nodes.Filter | nodes.Test, scope: _Scope) -> None:
        node.args = [self.visit(a, scope) for a in node.args]
        node.kwargs = [self.visit(a, scope) for a in node.kwargs]
        if node.dyn_args is not None:
            node.dyn_args = self.visit(node.dyn_args, scope)
        if node.dyn_kwargs is not None:
            node.dyn_kwargs = self.visit(node.dyn_kwargs, scope)

    def v_CondExpr(self, node: nodes.CondExpr, scope: _Scope) -> nodes.Node:
        self.guards.append(self.guard_roots(node.test))
        node.expr1 = self.visit(node.expr1, scope)  # source order: a if test else b
        node.test = self.visit(node.test, scope)
        if node.expr2 is not None:
            node.expr2 = self.visit(node.expr2, scope)
        self.guards.pop()
        return node

    def v_If(self, node: nodes.If, scope: _Scope) -> nodes.Node:
        # `{% if x is defined %}...{{ x }}...{% endif %}`: x is optional throughout the block.
        self.guards.append(self.guard_roots(node.test))
        self.generic(node, scope)
        self.guards.pop()
        return node

    def guard_roots(self, test: nodes.Node) -> frozenset[str]:
        roots: set[str] = set()
        tests = [test] if isinstance(test, nodes.Test) else []
        for t in [*tests, *test.find_all(nodes.Test)]:
            if t.name in _GUARD_TESTS:
                target = t.node
                while isinstance(target, nodes.Getattr | nodes.Getitem):
                    target = target.node
                if isinstance(target, nodes.Name):
                    meaning = self.symbols.get(target.name)
                    if meaning is None:
                        roots.add(target.name)
                    elif meaning[0] == "name":
                        roots.add(meaning[1])
                    elif meaning[0] in ("up", "root") and meaning[-2] is not None:
                        roots.add(meaning[-2])
        return frozenset(roots)

    # -- statements that bind names
    def v_For(self, node: nodes.For, scope: _Scope) -> nodes.Node:
        node.iter = self.visit(node.iter, scope)
        names = _target_names(node.target)
        frame = None
        if isinstance(node.target, nodes.Name) and _FRAME_RE.match(node.target.name):
            frame = node.target.name
        inner = scope.child(names | {"loop"}, frame)
        if node.test is not None:
            node.test = self.visit(node.test, inner)
        node.body = self.body(node.body, inner)
        node.else_ = self.body(node.else_, scope.child())
        return node

    def v_Assign(self, node: nodes.Assign, scope: _Scope) -> nodes.Node:
        node.node = self.visit(node.node, scope)
        if not isinstance(node.target, nodes.NSRef):
            scope.bound |= _target_names(node.target)
        return node

    def v_AssignBlock(self, node: nodes.AssignBlock, scope: _Scope) -> nodes.Node:
        node.body = self.body(node.body, scope.child())
        if node.filter is not None:
            node.filter = self.visit(node.filter, scope)
        if not isinstance(node.target, nodes.NSRef):
            scope.bound |= _target_names(node.target)
        return node

    def v_Macro(self, node: nodes.Macro, scope: _Scope) -> nodes.Node:
        scope.bound.add(node.name)
        node.defaults = [self.visit(d, scope) for d in node.defaults]
        names = {a.name for a in node.args} | {"varargs", "kwargs", "caller"}
        node.body = self.body(node.body, scope.child(names))
        return node

    def v_CallBlock(self, node: nodes.CallBlock, scope: _Scope) -> nodes.Node:
        node.call = self.visit(node.call, scope)
        node.defaults = [self.visit(d, scope) for d in node.defaults]
        names = {a.name for a in node.args} | {"varargs", "kwargs", "caller"}
        node.body = self.body(node.body, scope.child(names))
        return node

    def v_With(self, node: nodes.With, scope: _Scope) -> nodes.Node:
        node.values = [self.visit(v, scope) for v in node.values]
        names: set[str] = set()
        for target in node.targets:
            names |= _target_names(target)
        node.body = self.body(node.body, scope.child(names))
        return node

    def no_loading(self, node: nodes.Node, scope: _Scope) -> nodes.Node:
        tag = {nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import"}.get(
            type(node), "from ... import"
        )
        raise _CompileError(
            f"{{% {tag} %}} is not available: a prompt template cannot load other templates",
            node.lineno,
        )

    v_Extends = v_Include = v_Import = v_FromImport = no_loading

    # -- names
    def name(
        self, node: nodes.Name, scope: _Scope, attr: str | None, called: bool, guarded: bool
    ) -> nodes.Node:
        if node.ctx != "load":
            scope.bound.add(node.name)
            return node
        ident = node.name
        meaning = self.symbols.get(ident)
        kind = meaning[0] if meaning else "plain"
        if kind in ("plain", "name"):
            root = meaning[1] if meaning else ident
            if ident in scope.bound:
                return node
            if called and kind == "plain" and ident in self.env.globals:
                return node
            if scope.frames:
                if ident == "this" and kind == "plain":
                    return self.frame_attr(scope.frames[-1], "this", node)
                return self.item(scope.frames[-1], root, node)
            self.reference(root, ident, attr, guarded)
            return node
        if kind == "at":
            if not scope.frames:
                raise _CompileError(
                    f"@{meaning[1]} is only valid inside {{{{#each}}}}", node.lineno
                )
            return self.frame_attr(scope.frames[-1], meaning[1], node)
        if kind == "up":
            _, ups, root, root_ident = meaning
            target = len(scope.frames) - ups
            if target >= 1:
                frame = scope.frames[target - 1]
                if root is None:
                    return self.frame_attr(frame, "this", node)
                return self.item(frame, root, node)
            if root is None:
                root, root_ident = "this", "this"
        else:  # root
            _, root, root_ident = meaning
        self.reference(root, root_ident, attr, guarded)
        return nodes.Name(root_ident, "load", lineno=node.lineno)

    def reference(self, root: str, ident: str, attr: str | None, guarded: bool) -> None:
        key = (root, attr)
        if key not in self.refs:
            self.refs[key] = Reference(root, attr, _ref_text(root, attr))
        if not guarded and not any(root in g for g in self.guards):
            self.required.add(key)
        self.idents.setdefault(root, ident)

    @staticmethod
    def frame_attr(frame: str, attr: str, node: nodes.Node) -> nodes.Node:
        return nodes.Getattr(nodes.Name(frame, "load"), attr, "load").set_lineno(node.lineno)

    @staticmethod
    def item(frame: str, key: str, node: nodes.Node) -> nodes.Node:
        this = nodes.Getattr(nodes.Name(frame, "load"), "this", "load")
        return nodes.Getitem(this, nodes.Const(key), "load").set_lineno(node.lineno)


# --------------------------------------------------------------------------------------------
# Public API


def _error_line(exc: BaseException) -> int | None:
    """The template line of the innermost template frame in the traceback."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class CompiledTemplate:
    """A parsed template: what it reads (``references``) and how to render it."""

    def __init__(
        self,
        engine: TemplateEngine,
        source: str,
        ast: nodes.Template,
        analyzer: _Analyzer,
    ) -> None:
        self.source = source
        self.references: tuple[Reference, ...] = tuple(analyzer.refs.values())
        # References read only under `is defined` / `| default(...)`: absent is not an error.
        self.guarded: frozenset[Reference] = frozenset(
            ref for key, ref in analyzer.refs.items() if key not in analyzer.required
        )
        self._roots: tuple[tuple[str, str], ...] = tuple(analyzer.idents.items())
        required_roots = {root for root, _ in analyzer.required}
        self._optional_roots = frozenset(analyzer.idents) - required_roots
        self._engine = engine
        self._ast: nodes.Template | None = ast
        self._code: Any = None
        self._strict: Any = None
        self._lenient: Any = None

    def __repr__(self) -> str:
        shown = self.source if len(self.source) <= 40 else self.source[:37] + "..."
        return f"CompiledTemplate({shown!r})"

    def missing(self, context: Mapping[str, Any]) -> list[str]:
        """Names the template needs that ``context`` lacks (or holds as None), in order.

        A missing root is listed by its name (``topic``, ``step-one``); a root that is there
        but whose attribute is absent or None is listed as ``root.attr`` (``step-one.output``).
        """
        out: list[str] = []
        missing_roots: set[str] = set()
        for ref in self.references:
            if ref in self.guarded or ref.root in missing_roots:
                continue
            value = context.get(ref.root)
            if value is None:
                missing_roots.add(ref.root)
                out.append(ref.root)
            elif (
                ref.attr is not None
                and isinstance(value, Mapping)
                and value.get(ref.attr) is None
                and f"{ref.root}.{ref.attr}" not in out
            ):
                out.append(f"{ref.root}.{ref.attr}")
        return out

    def render(
        self, context: Mapping[str, Any], *, prompt: str | None = None, missing_ok: bool = False
    ) -> str:
        """Render with ``context`` keyed by original names (``step-one``, ``my prompt``).

        Raises MissingReferenceError naming every missing reference, or TemplateError for a
        sandbox refusal or any other error while rendering. With ``missing_ok`` (AIConfig's
        behaviour), missing and None values render as "".
        """
        if not missing_ok:
            missing = self.missing(context)
            if missing:
                raise MissingReferenceError(prompt or "template", missing)
        values: dict[str, Any] = {}
        for root, ident in self._roots:
            value = context.get(root)
            if value is None:
                if root in self._optional_roots:
                    # Read only under `is defined` / `default`: let those see it as undefined.
                    values[ident] = ChainableUndefined(name=root)
                continue
            if isinstance(value, Mapping) and any(v is None for v in value.values()):
                value = {k: v for k, v in value.items() if v is not None}
            values[ident] = value
        template = self._template(missing_ok, prompt)
        try:
            return template.render(values)
        except SecurityError as exc:
            raise TemplateError(
                f"refused by the sandbox: {exc}", prompt=prompt, line=_error_line(exc)
            ) from None
        except UndefinedError as exc:
            absent = [
                r.root for r in self.references if r in self.guarded and context.get(r.root) is None
            ]
            if absent:
                raise MissingReferenceError(
                    prompt or "template", list(dict.fromkeys(absent))
                ) from None
            raise TemplateError(
                f"undefined value: {exc.message}", prompt=prompt, line=_error_line(exc)
            ) from None
        except _NoneValue as exc:
            raise TemplateError(str(exc), prompt=prompt, line=_error_line(exc)) from None
        except JinjaTemplateError as exc:
            raise TemplateError(
                exc.message or type(exc).__name__, prompt=prompt, line=_error_line(exc)
            ) from None
        except Exception as exc:  # the template's own errors: 1/0, "a" + 1, deep recursion...
            raise TemplateError(
                f"{type(exc).__name__}: {exc}", prompt=prompt, line=_error_line(exc)
            ) from None

    def _compile(self, prompt: str | None) -> Any:
        with self._engine._lock:
            if self._code is None:
                assert self._ast is not None
                self._ast.set_environment(self._engine._env)
                try:
                    self._code = self._engine._env.compile(self._ast)
                except TemplateSyntaxError as exc:
                    raise TemplateError(
                        exc.message or "invalid template", prompt=prompt, line=exc.lineno
                    ) from None
                except (SyntaxError, RecursionError) as exc:  # Python's own nesting limits
                    raise TemplateError("the template is nested too deeply", prompt=prompt) from exc
                self._ast = None
            return self._code

    def _template(self, lenient: bool, prompt: str | None) -> Any:
        cached = self._lenient if lenient else self._strict
        if cached is not None:
            return cached
        code = self._compile(prompt)
        env = self._engine._lenient_env() if lenient else self._engine._env
        template = env.template_class.from_code(env, code, env.make_globals(None))
        if lenient:
            self._lenient = template
        else:
            self._strict = template
        return template


class _SourceEntry:
    __slots__ = ("candidates", "compiled")

    def __init__(self, candidates: frozenset[str]) -> None:
        self.candidates = candidates
        self.compiled: dict[frozenset[str], CompiledTemplate] = {}


_EMPTY: frozenset[str] = frozenset()


class TemplateEngine:
    """Compiles templates once per distinct (source, relevant prompt names) and renders them."""

    def __init__(self, *, cache_size: int = 20_000) -> None:
        self._env = _make_environment(lenient=False)
        self._lenient: _Environment | None = None
        self._cache: OrderedDict[str, _SourceEntry] = OrderedDict()
        self._cache_size = cache_size
        self._names: OrderedDict[tuple[str, ...], frozenset[str]] = OrderedDict()
        self._lock = threading.RLock()
        # Build Handlebars-only templates' AST directly (tests turn it off to compare with the
        # AST Jinja's parser builds from the translated text).
        self._direct = True

    def _name_set(self, prompt_names: Iterable[str]) -> Set[str]:
        """The names as a set; lists are remembered by content (a tuple is ~20x cheaper to
        hash than a set is to build, and callers pass the same names over and over)."""
        if isinstance(prompt_names, set | frozenset):
            return prompt_names
        key = prompt_names if isinstance(prompt_names, tuple) else tuple(prompt_names)
        with self._lock:
            found = self._names.get(key)
            if found is None:
                found = frozenset(key)
                self._names[key] = found
                if len(self._names) > 8:
                    self._names.popitem(last=False)
            return found

    def _lenient_env(self) -> _Environment:
        if self._lenient is None:
            self._lenient = _make_environment(lenient=True)
        return self._lenient

    def compile(
        self, source: str, prompt_names: Iterable[str] = (), *, prompt: str | None = None
    ) -> CompiledTemplate:
        """Parse ``source`` (cached). Syntax errors raise TemplateError naming prompt and line.

        ``prompt_names`` are the config's prompt names: a name with a hyphen or a dot is read as
        one name only when it is one of these. Passing a set or frozenset is fastest.
        """
        if not isinstance(source, str):
            raise TypeError(f"a template is text, not {type(source).__name__}")
        with self._lock:
            entry = self._cache.get(source)
            if entry is None:
                entry = _SourceEntry(_candidates(source) if "{" in source else _EMPTY)
                self._cache[source] = entry
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(source)
        relevant = _EMPTY
        if entry.candidates:
            names = self._name_set(prompt_names)
            relevant = frozenset(c for c in entry.candidates if c in names)
        compiled = entry.compiled.get(relevant)
        if compiled is None:
            compiled = self._build(source, relevant, prompt)
            with self._lock:
                compiled = entry.compiled.setdefault(relevant, compiled)
        return compiled

    def render(
        self,
        source: str,
        context: Mapping[str, Any],
        prompt_names: Iterable[str] = (),
        *,
        prompt: str | None = None,
        missing_ok: bool = False,
    ) -> str:
        compiled = self.compile(source, prompt_names, prompt=prompt)
        return compiled.render(context, prompt=prompt, missing_ok=missing_ok)

    def _build(self, source: str, special: frozenset[str], prompt: str | None) -> CompiledTemplate:
        translator = _Translator(source, special)
        try:
            translator.run()
            if translator.simple and self._direct:
                ast = translator.direct_ast()
            else:
                ast = self._env.parse(translator.jinja_source())
            analyzer = _Analyzer(self._env, translator.symbols)
            analyzer.run(ast)
        except _CompileError as exc:
            raise TemplateError(exc.message, prompt=prompt, line=exc.line) from None
        except TemplateSyntaxError as exc:
            raise TemplateError(
                exc.message or "invalid template", prompt=prompt, line=exc.lineno
            ) from None
        except RecursionError:
            raise TemplateError("the template is nested too deeply", prompt=prompt) from None
        compiled = CompiledTemplate(self, source, ast, analyzer)
        if not translator.simple:
            compiled._compile(prompt)  # report Jinja's compile-time errors now, not at render
        return compiled


_default: TemplateEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> TemplateEngine:
    """The process-wide engine (created on first use, never at import)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = TemplateEngine()
    return _default


def references(source: str, prompt_names: Iterable[str] = ()) -> tuple[Reference, ...]:
    """What ``source`` reads, using the default engine."""
    return default_engine().compile(source, prompt_names).references
