"""Scanning: Handlebars + Jinja text -> a list of pieces, and the pieces -> Jinja text.

The scanner walks the source tag by tag, translating Handlebars tags and passing Jinja through
(with prompt names aliased). Each piece remembers enough to be written back as Jinja text
(``jinja_source``) or, when the source was only text, ``{{paths}}`` and Handlebars blocks
(``simple``), to be built straight into a Jinja AST (``direct_ast``) without Jinja's lexer.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from .handlebars_paths import _PathTranslator
from .syntax import (
    _BLOCK_OPEN,
    _BLOCK_PARAMS,
    _EACH,
    _ELSE,
    _LONG_COMMENT_END,
    _NL,
    _RAW_BEGIN,
    _RAW_END,
    _RESERVED,
    _TAG_START,
    _CompileError,
    _is_plain,
    _jinja_string,
    _scan_close,
)

_MAX_BLOCK_DEPTH = 16  # Python refuses more than 20 nested loops in the generated code


@dataclass
class _Piece:
    """One run of text or one tag, with what both outputs (Jinja text, direct AST) need."""

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


class _Translator(_PathTranslator):
    """Scans one source into ``pieces``; ``simple`` says whether ``direct_ast`` can take them."""

    def __init__(self, source: str, special: frozenset[str]) -> None:
        super().__init__(special)
        self.src = source
        self.pieces: list[_Piece] = []
        self.simple = True  # only text, {{paths}} and comments: build the AST directly
        self.stack: list[list[Any]] = []  # open blocks: [helper, line, seen_else]
        self._newlines: list[int] | None = None

    # -- positions
    def line(self, pos: int) -> int:
        if self._newlines is None:
            self._newlines = [m.start() for m in _NL.finditer(self.src)]
        return bisect_left(self._newlines, pos) + 1

    def newlines(self, start: int, end: int) -> int:
        return len(_NL.findall(self.src, start, end))

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
