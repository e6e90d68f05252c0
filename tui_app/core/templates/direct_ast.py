"""Building the Jinja AST straight from a Handlebars-only template's pieces.

Most AIConfig templates are text, ``{{paths}}`` and Handlebars blocks. For those, building the
AST here skips writing Jinja text and running Jinja's lexer and parser over it, which is most of
the compile time. The result must equal what Jinja's parser builds from ``jinja_source()``; a
property test compares the two (``TemplateEngine._direct = False`` turns this path off).
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

from .syntax import _EACH, _NL
from .translate import _Piece


def _apply_whitespace_control(pieces: list[_Piece]) -> None:
    """What Jinja's lexer does for '-' (Handlebars '~'): strip the whitespace beside a tag."""
    for i, piece in enumerate(pieces):
        if piece.kind == "text":
            continue
        if piece.lctl and i and pieces[i - 1].kind == "text":
            pieces[i - 1].text = pieces[i - 1].text.rstrip()
        if piece.rctl and i + 1 < len(pieces) and pieces[i + 1].kind == "text":
            pieces[i + 1].text = pieces[i + 1].text.lstrip()


def _path_node(piece: _Piece) -> nodes.Expr:
    assert piece.path is not None
    ident, segs = piece.path
    node: nodes.Expr = nodes.Name(ident, "load", lineno=piece.line)
    for seg in segs:
        node = nodes.Getitem(node, nodes.Const(seg, lineno=piece.line), "load", lineno=piece.line)
    return node


def _direct_ast(pieces: list[_Piece]) -> nodes.Template:
    """The AST Jinja's parser would build from ``_Translator.jinja_source()`` (Handlebars-only)."""
    _apply_whitespace_control(pieces)
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

    for piece in pieces:
        if piece.kind in ("text", "lit"):
            data.append(piece.text)
        elif piece.kind == "expr":
            flush_data()
            output.append(_path_node(piece))
        elif piece.kind == "block":
            flush()
            op, line = piece.op, piece.line
            if op in ("if", "unless", "elif", "elif_not"):
                test = _path_node(piece)
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
                call = nodes.Call(each, [_path_node(piece)], [], None, None, lineno=line)
                target = nodes.Name(piece.frame, "store", lineno=line)
                loop = nodes.For(target, call, [], [], None, False, lineno=line)
                bodies[-1].append(loop)
                blocks.append(loop)
                bodies.append(loop.body)
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
