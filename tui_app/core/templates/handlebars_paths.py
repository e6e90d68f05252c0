"""Handlebars names and paths -> Jinja identifiers.

A Handlebars name may not be a Jinja identifier (``step-one``, ``[my prompt]``), and a path's
meaning depends on where it stands (``../x``, ``@index``, ``this`` inside ``{{#each}}``). This
base class of the translator gives each such name an invented identifier and records what it
means in ``symbols``; the analyzer reads ``symbols`` to resolve scoping and name references by
their original spelling.
"""

from __future__ import annotations

from typing import Any

from .syntax import (
    _AT,
    _IDENT,
    _KEYWORDS,
    _RESERVED,
    _RUN,
    _SEGMENT,
    _is_plain,
    _jinja_string,
    _string_end,
)


class _PathTranslator:
    """Names, paths and Jinja expression text; the tag scanner (``_Translator``) extends it."""

    def __init__(self, special: frozenset[str]) -> None:
        self.special = special  # prompt names that need an alias (only those this source uses)
        self.aliases: dict[str, str] = {}  # original name -> identifier in the Jinja source
        self.symbols: dict[str, tuple[Any, ...]] = {}  # invented identifier -> meaning
        self._sym_ids: dict[tuple[Any, ...], str] = {}
        self._paths: dict[str, tuple[str, tuple[str | int, ...]] | None] = {}

    @property
    def each_depth(self) -> int:
        """How many ``{{#each}}`` blocks enclose the scan position (the scanner tracks blocks)."""
        raise NotImplementedError

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
