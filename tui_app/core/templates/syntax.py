"""The vocabulary the translator, the analyzer and the engine share.

The names the translation invents (and the words it must never invent), the regexes that scan
template text, small string helpers, and the compile-time error every stage raises. Kept apart
so each stage can import it without importing the others.
"""

from __future__ import annotations

import re

# Names the translation invents. The sandbox installs ``__hb_each``; the analyzer recognises
# ``{{#each}}`` loops by their ``__hb_f<depth>`` loop variable.
_RESERVED = "__hb_"  # prefix of every name the translation invents
_EACH = "__hb_each"
_FRAME_RE = re.compile(r"__hb_f\d+\Z")
# Words the Jinja parser does not read as variable names.
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"}
)

# Scanning template text.
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


class _CompileError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
