"""Saving a document by editing only the parts of the file whose values changed.

Config files live in git next to the user's code, so a save must read as the edit it is: the old
text is kept, every value that did not change keeps its bytes (comments, block scalars, quoting,
key order, blank lines, indentation, escapes), and each changed mapping entry or sequence item is
replaced by a fresh rendering in the file's own style. An unchanged document saves byte-identical.

New YAML fragments are rendered by ruamel.yaml (multi-line text as ``|`` blocks, the file's
sequence indentation); new JSON fragments by :mod:`json` with the file's indent and non-ASCII
style. When a change cannot be placed in the old text (a flow collection at the top, an aliased
node), the whole document is rendered instead: ruamel's round-trip tree for YAML (comments kept),
the file's JSON style for JSON.
"""

from __future__ import annotations

import difflib
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from .spans import Span, SpanError, content_end, json_spans, yaml_document


class _Unplaceable(Exception):
    """This change cannot be written in place: the caller rewrites an enclosing node."""


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def same(a: Any, b: Any) -> bool:
    """Equality that tells 1 from 1.0 from true (Python's == does not)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def update_text(old_text: str, new: Any, fmt: str) -> str:
    """``old_text`` edited so that it reads as ``new``: only the values that differ are
    rewritten."""
    try:
        if fmt == "json":
            old, root = json.loads(old_text), json_spans(old_text)
        else:
            old, root = yaml_document(old_text)
    except Exception:  # the old text no longer parses: nothing to keep
        return render_document(new, fmt)
    if same(old, new):
        return old_text
    style = _Style.of(old_text, fmt)
    try:
        edits = _Planner(old_text, style).value(old, new, root)
    except (_Unplaceable, SpanError):
        return render_document(new, fmt, old_text)
    if fmt == "yaml":
        edits = [_keep_line_comment(old_text, edit) for edit in edits]
    edits = _clear_of_deletions(old_text, edits)
    # Applied from the end so offsets stay valid; edits at one offset keep the order they were
    # planned in (document order: a nested insertion before its parent's).
    ordered = sorted(enumerate(edits), key=lambda pair: (pair[1].start, pair[0]), reverse=True)
    text = old_text
    limit = len(old_text)
    for _, edit in ordered:
        if not edit.start <= edit.end <= limit:  # overlapping edits: a case the planner missed
            return render_document(new, fmt, old_text)
        text = text[: edit.start] + edit.text + text[edit.end :]
        limit = edit.start
    if not _reads_as(text, new, fmt):  # a case the planner does not know: never write it
        return render_document(new, fmt, old_text)
    return text


def _clear_of_deletions(text: str, edits: list[Edit]) -> list[Edit]:
    """An entry added after one whose last lines are deleted (``models.echo`` loses its last
    key while ``models`` gains one) is planned at the end of the old content, inside the
    deleted lines: move it to the end of the last line that stays."""
    deletions = [e for e in edits if not e.text and e.start < e.end]
    out = []
    for edit in edits:
        moved = True
        while moved and edit.start == edit.end and edit.text.startswith(("\n", "\r\n")):
            moved = False
            for gone in deletions:
                if gone.start < edit.start < gone.end and text[gone.start - 1 : gone.start] == "\n":
                    pos = gone.start - 1
                    pos -= text[pos - 1 : pos] == "\r"
                    edit, moved = Edit(pos, pos, edit.text), True
                    break
        out.append(edit)
    return out


_LINE_COMMENT = re.compile(r"[ \t]+#[^\n]*")


def _keep_line_comment(text: str, edit: Edit) -> Edit:
    """``key: value  # note`` rewritten as several lines: the comment moves to the end of the
    new first line (``key: |-  # note``), where it stays a comment rather than joining a block."""
    if "\n" not in edit.text:
        return edit
    comment = _LINE_COMMENT.match(text, edit.end)
    if comment is None:
        return edit
    end = comment.end()
    if end < len(text) and text[end] not in "\r\n":
        return edit
    first, newline, rest = edit.text.partition("\n")
    cr = "\r" if first.endswith("\r") else ""
    return Edit(edit.start, end, first.removesuffix("\r") + comment.group() + cr + newline + rest)


def _reads_as(text: str, data: Any, fmt: str) -> bool:
    try:
        if fmt == "json":
            return same(json.loads(text), data)
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return same(yaml.load(text, Loader=loader), data)  # noqa: S506 - a SafeLoader
    except Exception:
        return False


def render_document(data: Any, fmt: str, old_text: str | None = None) -> str:
    """The whole document in the old text's style (or the default style for a new file)."""
    style = _Style.of(old_text or "", fmt)
    if fmt == "json":
        return style.newline_fix(
            json.dumps(data, indent=style.unit, ensure_ascii=style.ascii) + style.final
        )
    yaml = style.ruamel()
    tree: Any = None
    if old_text:
        try:
            tree = yaml.load(old_text)
        except Exception:  # an unreadable old text: render from scratch
            tree = None
    tree = _assign(tree, data)
    out = io.StringIO()
    yaml.dump(tree, out)
    return style.newline_fix(out.getvalue())


def _assign(tree: Any, value: Any) -> Any:
    """``value`` written over ruamel's round-trip ``tree``, keeping what did not change."""
    if isinstance(value, dict) and isinstance(tree, dict):
        for key in [k for k in tree if k not in value]:
            del tree[key]
        for key, item in value.items():
            tree[key] = _assign(tree.get(key), item) if key in tree else _for_yaml(item)
        return tree
    if isinstance(value, list) and isinstance(tree, list) and len(tree) == len(value):
        for index, item in enumerate(value):
            tree[index] = _assign(tree[index], item)
        return tree
    if same(tree, value):
        return tree
    return _for_yaml(value)


def _for_yaml(value: Any, flow: bool = False) -> Any:
    """Multi-line text as a literal block (``|``) when it can be one, recursively; a collection
    in flow style (``{a: 1}``) when ``flow``."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    if flow and isinstance(value, dict | list):
        node: Any = CommentedMap(value) if isinstance(value, dict) else CommentedSeq(value)
        node.fa.set_flow_style()
        return node
    if isinstance(value, dict):
        return {k: _for_yaml(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_yaml(v) for v in value]
    if isinstance(value, str) and "\n" in value and _literal_safe(value):
        return LiteralScalarString(value)
    return value


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ufeff]")


def _literal_safe(text: str) -> bool:
    """Text that a ``|`` block reproduces exactly (else it is written double-quoted)."""
    if text.startswith((" ", "\t", "\n")) or _UNPRINTABLE.search(text) or "\r" in text:
        return False
    return all(line == line.rstrip(" \t") for line in text.split("\n"))


def _quoted(value: Any, quote: str) -> str | None:
    """``value`` as a one-line YAML scalar in ``quote`` style, or None when it cannot be one."""
    if not quote or not isinstance(value, str) or "\n" in value or _UNPRINTABLE.search(value):
        return None
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars


# --- the file's style ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    fmt: str
    indent: int  # YAML: mapping indent
    seq_offset: int  # YAML: columns from a key to its block sequence's dashes
    ascii: bool  # JSON: non-ASCII written as \\u escapes
    final: str  # the text after the document's last character ("\n" or "")
    crlf: bool
    unit: str = "  "  # JSON: the text one level of indentation adds ("  ", "    ", "\t")

    @classmethod
    def of(cls, text: str, fmt: str) -> _Style:
        crlf = "\r\n" in text
        final = "\n" if (text.endswith("\n") or not text) else ""
        if fmt == "json":
            match = re.search(r"[\[{][ \t]*\r?\n([ \t]+)\S", text)
            unit = match.group(1) if match else "  "
            escaped = re.search(r"\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])", text) is not None
            raw_non_ascii = any(ord(c) > 127 for c in text)
            return cls(fmt, 2, 0, escaped and not raw_non_ascii, final, crlf, unit)
        indent, offset = 2, 2
        match = re.search(r"^( *)[^\s#-][^\n]*:[ \t]*\r?\n( *)- ", text, re.MULTILINE)
        if match:
            offset = max(0, len(match.group(2)) - len(match.group(1)))
        match = re.search(r"^( *)[^\s#-][^\n]*:[ \t]*\r?\n( *)[^\s#-]", text, re.MULTILINE)
        if match and len(match.group(2)) > len(match.group(1)):
            indent = len(match.group(2)) - len(match.group(1))
        return cls(fmt, indent, offset, False, final, crlf)

    def newline_fix(self, text: str) -> str:
        return text.replace("\n", "\r\n") if self.crlf else text

    def ruamel(self) -> Any:
        from ruamel.yaml import YAML

        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096  # never fold long lines the user kept on one line
        yaml.allow_unicode = True
        yaml.indent(mapping=self.indent, sequence=self.seq_offset + 2, offset=self.seq_offset)
        return yaml

    # -- fragments
    def entry(self, key: Any, value: Any, column: int, flow: bool = False) -> str:
        """``key: value``, a YAML block entry starting at ``column`` (its value in flow style
        when ``flow``: the file wrote it as ``{a: 1}``)."""
        return self._yaml_fragment({key: _for_yaml(value, flow)}, column)

    def item(self, value: Any, column: int) -> str:
        """``- value``, a YAML block sequence item with its dash at ``column``."""
        return self._yaml_fragment([_for_yaml(value)], column, sequence=True)

    def json_member(self, key: Any, value: Any, pad: str) -> str:
        """``"key": value``, on a line indented by ``pad``."""
        return json.dumps(key, ensure_ascii=self.ascii) + ": " + self.json_value(value, pad)

    def json_value(self, value: Any, pad: str, multiline: bool = True) -> str:
        """A JSON value whose continuation lines are indented by ``pad`` plus the file's unit."""
        if not multiline:
            return json.dumps(value, ensure_ascii=self.ascii)
        text = json.dumps(value, indent=self.unit, ensure_ascii=self.ascii)
        return self.newline_fix(text.replace("\n", "\n" + pad))

    def _yaml_fragment(self, data: Any, column: int, sequence: bool = False) -> str:
        yaml = self.ruamel()
        if sequence:
            # a top-level sequence has its dashes at column 0 whatever the offset
            yaml.indent(mapping=self.indent, sequence=self.seq_offset + 2, offset=self.seq_offset)
        out = io.StringIO()
        yaml.dump(data, out)
        lines = out.getvalue().rstrip("\n").split("\n")
        if sequence and self.seq_offset and lines:
            lines = [
                line[self.seq_offset :] if line[: self.seq_offset].isspace() else line
                for line in lines
            ]
        # a blank line of a block scalar stays empty (indenting it left whitespace-only lines:
        # `git diff --check` complains, and a block scalar does not need them)
        pad = " " * column
        text = lines[0] + "".join("\n" + (pad + line if line.strip() else "") for line in lines[1:])
        return self.newline_fix(text)


# --- planning the edits --------------------------------------------------------------------------


class _Planner:
    def __init__(self, text: str, style: _Style) -> None:
        self.text = text
        self.style = style
        self.yaml = style.fmt == "yaml"
        self.nl = "\r\n" if style.crlf else "\n"

    def column(self, pos: int) -> int:
        return pos - (self.text.rfind("\n", 0, pos) + 1)

    def pad(self, pos: int) -> str:
        """The indentation of the line holding ``pos`` (JSON may indent with tabs)."""
        start = self.text.rfind("\n", 0, pos) + 1
        line = self.text[start:pos]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def value(self, old: Any, new: Any, span: Span) -> list[Edit]:
        """Edits that turn the node ``span`` (holding ``old``) into ``new``; raises _Unplaceable
        when the node itself must be rewritten by its parent."""
        if same(old, new):
            return []
        if span.shared:
            raise _Unplaceable
        if isinstance(old, dict) and isinstance(new, dict) and span.kind == "map":
            if self.yaml and span.flow:
                raise _Unplaceable
            return self.mapping(old, new, span)
        if isinstance(old, list) and isinstance(new, list) and span.kind == "seq":
            if self.yaml and span.flow:
                raise _Unplaceable
            return self.sequence(old, new, span)
        if not self.yaml:  # JSON: any value can be replaced where it stands
            multiline = "\n" in self.text[span.start : span.end] or span.kind == "scalar"
            text = self.style.json_value(new, self.pad(span.start), multiline)
            return [Edit(span.start, span.end, text)]
        quoted = _quoted(new, span.quote)
        if quoted is not None:  # keep the user's quoting: 'x' stays 'y', "x" stays "y"
            return [Edit(span.start, span.end, quoted)]
        raise _Unplaceable

    # -- mappings
    def mapping(self, old: dict[Any, Any], new: dict[Any, Any], span: Span) -> list[Edit]:
        if self.yaml and not new:
            raise _Unplaceable  # an empty block mapping is written `{}`, by the parent
        edits: list[Edit] = []
        placed = [key for key, _, _ in span.entries]
        if len(placed) != len(old) or set(old) != set(placed):
            raise _Unplaceable  # duplicate keys or merges: the text and the data disagree
        run_start: int | None = None
        for position, (key, key_start, value) in enumerate(span.entries):
            if key not in new:
                run_start = position if run_start is None else run_start
                continue
            if run_start is not None:
                edits.append(self.delete_run(span, run_start, position))
                run_start = None
            if not same(old[key], new[key]):
                try:
                    edits += self.value(old[key], new[key], value)
                except _Unplaceable:
                    end = content_end(value, self.text)
                    edits.append(
                        Edit(key_start, end, self.rewrite_entry(key, new[key], key_start, value))
                    )
        added = [(key, new[key]) for key in new if key not in old]
        survivors = [i for i, (key, _, _) in enumerate(span.entries) if key in new]
        if added:
            if span.entries and not survivors:
                raise _Unplaceable  # every key replaced: the parent rewrites the mapping
            # new keys go after the last entry that stays, before the trailing deletions
            # (planned first, so applied after them: both may start at one offset)
            edits.append(self.insert_entries(span, added, survivors[-1] if survivors else -1))
        if run_start is not None:
            edits.append(self.delete_run(span, run_start, len(span.entries)))
        return edits

    def rewrite_entry(self, key: Any, value: Any, key_start: int, old: Span) -> str:
        if not self.yaml:
            return self.style.json_member(key, value, self.pad(key_start))
        # a non-empty flow collection ({a: 1}, [x, y]) stays flow; others become block
        flow = old.flow and old.kind != "scalar" and bool(old.entries or old.items)
        return self.style.entry(key, value, self.column(key_start), flow=flow)

    def _members(self, span: Span) -> list[tuple[int, int]]:
        """(start, end) of each entry or item; YAML block items start at their dash."""
        if span.kind == "map":
            return [(k, content_end(v, self.text)) for _, k, v in span.entries]
        return [
            (self._dash(i) if self.yaml else i.start, content_end(i, self.text)) for i in span.items
        ]

    def delete_run(self, span: Span, first: int, stop: int) -> Edit:
        """Remove members ``first`` to ``stop - 1`` (with one separator, in JSON)."""
        members = self._members(span)
        start, end = members[first][0], members[stop - 1][1]
        if self.yaml:
            return self._delete_lines(start, end)
        if first > 0:
            return Edit(members[first - 1][1], end, "")
        if stop < len(members):
            return Edit(start, members[stop][0], "")
        return Edit(span.start + 1, span.end - 1, "")

    def insert_entries(self, span: Span, pairs: list[tuple[Any, Any]], after: int) -> Edit:
        """``pairs`` added after entry ``after`` (-1: the mapping is empty)."""
        if self.yaml:
            if not span.entries:
                raise _Unplaceable
            end = content_end(span.entries[after][2], self.text)
            column = self.column(span.entries[0][1])
            text = "".join(
                self.nl + " " * column + self.style.entry(k, v, column) for k, v in pairs
            )
            return Edit(end, end, text)
        if not span.entries:  # {} becomes a multi-line object, as json.dumps writes one
            outer = self.pad(span.start)
            inner = outer + self.style.unit
            body = ("," + self.nl).join(
                inner + self.style.json_member(k, v, inner) for k, v in pairs
            )
            return Edit(span.start, span.end, "{" + self.nl + body + self.nl + outer + "}")
        last_key_start = span.entries[after][1]
        end = content_end(span.entries[after][2], self.text)
        if self.text.rfind("\n", span.start, last_key_start) < 0:  # a one-line object
            text = "".join(
                ", "
                + json.dumps(k, ensure_ascii=self.style.ascii)
                + ": "
                + self.style.json_value(v, "", multiline=False)
                for k, v in pairs
            )
            return Edit(end, end, text)
        pad = self.pad(last_key_start)
        text = "".join("," + self.nl + pad + self.style.json_member(k, v, pad) for k, v in pairs)
        return Edit(end, end, text)

    # -- sequences
    def sequence(self, old: list[Any], new: list[Any], span: Span) -> list[Edit]:
        if self.yaml and not new:
            raise _Unplaceable  # an empty block sequence is written `[]`, by the parent
        if len(old) == len(new):
            edits: list[Edit] = []
            for index, item in enumerate(span.items):
                edits += self.item(old[index], new[index], item)
            return edits
        keys_old = [json.dumps(v, sort_keys=True, default=str) for v in old]
        keys_new = [json.dumps(v, sort_keys=True, default=str) for v in new]
        matcher = difflib.SequenceMatcher(a=keys_old, b=keys_new, autojunk=False)
        edits = []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            if op == "replace" and i2 - i1 == j2 - j1:
                for k in range(i2 - i1):
                    edits += self.item(old[i1 + k], new[j1 + k], span.items[i1 + k])
            elif i1 == i2:
                edits.append(self.insert_items(span, i1, new[j1:j2]))
            elif j1 == j2:
                edits.append(self.delete_run(span, i1, i2))
            else:  # some items replaced by a different number of items
                edits.append(self.replace_run(span, i1, i2, new[j1:j2]))
        return edits

    def replace_run(self, span: Span, first: int, stop: int, values: list[Any]) -> Edit:
        members = self._members(span)
        start, end = members[first][0], members[stop - 1][1]
        if self.yaml:
            column = self.column(start)
            rendered = [self.style.item(v, column) for v in values]
            return Edit(start, end, (self.nl + " " * column).join(rendered))
        pad = self.pad(start)
        one_line = "\n" not in self.text[span.start : span.end]
        sep = ", " if one_line else "," + self.nl + pad
        rendered = [self.style.json_value(v, pad, multiline=not one_line) for v in values]
        return Edit(start, end, sep.join(rendered))

    def item(self, old: Any, new: Any, span: Span) -> list[Edit]:
        try:
            return self.value(old, new, span)
        except _Unplaceable:
            if not self.yaml:
                one_line = "\n" not in self.text[span.start : span.end]
                text = self.style.json_value(new, self.pad(span.start), multiline=not one_line)
                return [Edit(span.start, span.end, text)]
            dash = self._dash(span)
            end = content_end(span, self.text)
            return [Edit(dash, end, self.style.item(new, self.column(dash)))]

    def _dash(self, span: Span) -> int:
        """The '- ' that introduces a block sequence item."""
        if span.shared:
            raise SpanError("an alias has no place of its own")
        dash = self.text.rfind("-", 0, span.start)
        if dash < 0 or self.text[dash + 1 : span.start].strip():
            raise _Unplaceable
        return dash

    def insert_items(self, span: Span, index: int, values: list[Any]) -> Edit:
        if self.yaml:
            if not span.items:
                raise _Unplaceable
            first = self._dash(span.items[0])
            column = self.column(first)
            rendered = [self.style.item(v, column) for v in values]
            if index == 0:
                text = "".join(r + self.nl + " " * column for r in rendered)
                return Edit(first, first, text)
            end = content_end(span.items[index - 1], self.text)
            return Edit(end, end, "".join(self.nl + " " * column + r for r in rendered))
        if not span.items:  # [] becomes a multi-line list, as json.dumps writes one
            outer = self.pad(span.start)
            inner = outer + self.style.unit
            body = ("," + self.nl).join(inner + self.style.json_value(v, inner) for v in values)
            return Edit(span.start, span.end, "[" + self.nl + body + self.nl + outer + "]")
        one_line = self.text.rfind("\n", span.start, span.items[-1].start) < 0
        pad = self.pad(span.items[0].start)
        sep = ", " if one_line else "," + self.nl + pad
        rendered = [self.style.json_value(v, pad, multiline=not one_line) for v in values]
        if index == 0:
            pos = span.items[0].start
            return Edit(pos, pos, "".join(r + sep for r in rendered))
        end = content_end(span.items[index - 1], self.text)
        return Edit(end, end, "".join(sep + r for r in rendered))

    # -- deleting text
    def _delete_lines(self, start: int, end: int) -> Edit:
        """Remove a block entry/item: from its line's start through its last line's newline."""
        line_start = self.text.rfind("\n", 0, start) + 1
        if self.text[line_start:start].strip(" "):
            raise _Unplaceable  # something else is on the line (an enclosing '- ')
        newline = self.text.find("\n", end)
        return Edit(line_start, len(self.text) if newline < 0 else newline + 1, "")
