"""The one text diff of the project: a word diff whose cost is bounded whatever the input.

Model answers can be megabytes and two answers can differ everywhere; a textbook diff
(``difflib``, plain Myers) is quadratic there and would freeze the TUI or a CI job. This one:

1. cuts both texts into words (a word keeps the whitespace after it; words compare without it,
   so re-wrapping a paragraph is not a change);
2. trims the common prefix and suffix (linear; most edits of a long answer are local);
3. anchors on words that occur exactly once on each side (patience diff; when none is, on runs
   of 4 or 16 words that are): their longest increasing run, found in O(k log k), splits the rest
   into independent gaps, each trimmed and anchored again;
4. runs Myers' O(ND) diff on each gap that has no anchors, under one budget of operations for the
   whole diff. A gap that would exceed it is reported whole as replaced and :attr:`WordDiff.stopped`
   says so: the answer is still correct (it only marks more as changed than a full search would).

:attr:`WordDiff.operations` counts the work done (tokens scanned plus Myers steps): at most
``(2 + ANCHOR_PASSES) x words + budget`` plus one snake. Tests assert on it instead of
on wall-clock time.
"""

from __future__ import annotations

import bisect
import operator
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_BUDGET",
    "Fold",
    "Piece",
    "WordDiff",
    "diff_words",
    "pieces_of_other",
]

Tag = Literal["equal", "delete", "insert"]

# Myers steps allowed per diff: a few hundred milliseconds of Python at worst
DEFAULT_BUDGET = 400_000

# passes over each token the anchoring may make (its work stays linear in the text)
ANCHOR_PASSES = 4

_WORDS = re.compile(r"\S+\s*|\s+")


def tokenize(text: str) -> list[str]:
    """Words with their trailing whitespace; leading whitespace is a token of its own.
    ``"".join(tokenize(t)) == t``."""
    return _WORDS.findall(text)


@dataclass(frozen=True)
class Piece:
    """A run of words: kept (``equal``), only in the first text (``delete``) or only in the
    second (``insert``)."""

    tag: Tag
    text: str
    words: int


@dataclass(frozen=True)
class Fold:
    """Unchanged words left out of a rendering (``words`` of them)."""

    words: int


@dataclass
class WordDiff:
    a: list[str]
    b: list[str]
    # (tag, a_start, a_end, b_start, b_end), in order; a "replace" is a delete then an insert
    ops: list[tuple[Tag, int, int, int, int]] = field(default_factory=list)
    operations: int = 0  # every token scanned and every Myers step
    anchoring: int = 0  # tokens scanned looking for anchors (at most ANCHOR_PASSES per token)
    spent: int = 0  # Myers steps: at most the budget (then the diff stops refining)
    stopped: bool = False  # a gap went over the budget and was marked replaced whole

    @property
    def same(self) -> bool:
        return all(op[0] == "equal" for op in self.ops)

    @property
    def changed_words(self) -> tuple[int, int]:
        """(words deleted, words inserted)."""
        deleted = sum(i2 - i1 for t, i1, i2, _, _ in self.ops if t == "delete")
        inserted = sum(j2 - j1 for t, _, _, j1, j2 in self.ops if t == "insert")
        return deleted, inserted

    def pieces(self) -> list[Piece]:
        out: list[Piece] = []
        for tag, i1, i2, j1, j2 in self.ops:
            tokens = self.b[j1:j2] if tag == "insert" else self.a[i1:i2]
            out.append(Piece(tag, "".join(tokens), _count(tokens)))
        return out

    def folded(self, context: int = 8, *, max_changed_words: int = 400) -> list[Piece | Fold]:
        """The pieces a reader needs: changes with ``context`` words around them; longer unchanged
        stretches become a :class:`Fold`. A change longer than ``max_changed_words`` shows its
        start and a fold (a 2 MB rewrite is not printed whole)."""
        out: list[Piece | Fold] = []
        ops = self.ops
        for index, (tag, i1, i2, j1, j2) in enumerate(ops):
            if tag != "equal":
                words = self.b[j1:j2] if tag == "insert" else self.a[i1:i2]
                shown = words[:max_changed_words]
                out.append(Piece(tag, "".join(shown), len(shown)))
                if len(words) > len(shown):
                    out.append(Fold(len(words) - len(shown)))
                continue
            tokens = self.a[i1:i2]  # words, or whole unchanged lines (see diff_words)
            total = _count(tokens)
            first, last = index == 0, index == len(ops) - 1
            head = 0 if first else context  # words kept after the change before
            tail = 0 if last else context  # words kept before the change after
            if total <= head + tail + 1:
                out.append(Piece("equal", "".join(tokens), total))
                continue
            if head:
                out.append(Piece("equal", _first_words(tokens, head), head))
            out.append(Fold(total - head - tail))
            if tail:
                out.append(Piece("equal", _last_words(tokens, tail), tail))
        return out


def _count(tokens: list[str]) -> int:
    """Words in tokens that are words or whole lines."""
    return sum(len(token.split()) for token in tokens)


def _first_words(tokens: list[str], n: int) -> str:
    out: list[str] = []
    for token in tokens:
        for word in tokenize(token):
            if n <= 0:
                return "".join(out)
            out.append(word)
            n -= 1 if word.strip() else 0
    return "".join(out)


def _last_words(tokens: list[str], n: int) -> str:
    out: list[str] = []
    for token in reversed(tokens):
        for word in reversed(tokenize(token)):
            if n <= 0:
                return "".join(reversed(out))
            out.append(word)
            n -= 1 if word.strip() else 0
    return "".join(reversed(out))


def diff_words(a_text: str, b_text: str, *, budget: int = DEFAULT_BUDGET) -> WordDiff:
    """The word diff of two texts (see the module's notes for the bounds).

    Lines first: unchanged lines (the same words, whatever the spaces around them) are matched
    by the same trimming and anchoring without being cut into words, and only the stretches of
    changed lines are diffed word by word. In :attr:`WordDiff.a`/``b`` an unchanged line is
    then one token: ``"".join`` of the tokens is still the text."""
    lines_a = a_text.splitlines(keepends=True)
    lines_b = b_text.splitlines(keepends=True)
    result = WordDiff([], [], operations=len(lines_a) + len(lines_b))
    line_ops = _merge(
        _diff(
            [line.strip() for line in lines_a],
            [line.strip() for line in lines_b],
            result,
            budget,
            refine=False,
        )
    )
    ops: list[_Op] = []
    a: list[str] = []
    b: list[str] = []
    index = 0
    while index < len(line_ops):
        tag, i1, i2, j1, j2 = line_ops[index]
        if tag == "equal":
            ops.append(("equal", len(a), len(a) + i2 - i1, len(b), len(b) + j2 - j1))
            a += lines_a[i1:i2]
            b += lines_b[j1:j2]
            index += 1
            continue
        old: list[str] = []
        new: list[str] = []
        while index < len(line_ops) and line_ops[index][0] != "equal":
            tag, i1, i2, j1, j2 = line_ops[index]
            old += lines_a[i1:i2] if tag == "delete" else []
            new += lines_b[j1:j2] if tag == "insert" else []
            index += 1
        words_a, words_b = tokenize("".join(old)), tokenize("".join(new))
        result.operations += len(words_a) + len(words_b)
        keys_a = [w.strip() for w in words_a]
        keys_b = [w.strip() for w in words_b]
        pa, pb = len(a), len(b)
        for tag, x1, x2, y1, y2 in _diff(keys_a, keys_b, result, budget):
            ops.append((tag, x1 + pa, x2 + pa, y1 + pb, y2 + pb))
        a += words_a
        b += words_b
    result.a, result.b, result.ops = a, b, _merge(ops)
    return result


def pieces_of_other(base: str, other: str) -> list[tuple[str, bool]]:
    """``other`` as (text, differs-from-``base``) pieces: the comparison view's highlighting."""
    out: list[tuple[str, bool]] = []
    diff = diff_words(base, other)
    for tag, _i1, _i2, j1, j2 in diff.ops:
        if tag == "delete" or j1 == j2:
            continue
        piece = "".join(diff.b[j1:j2])
        changed = tag == "insert"
        if out and out[-1][1] == changed:
            out[-1] = (out[-1][0] + piece, changed)
        else:
            out.append((piece, changed))
    return out


# --- the algorithm --------------------------------------------------------------------------

_Op = tuple[Tag, int, int, int, int]


def _merge(ops: list[_Op]) -> list[_Op]:
    """Adjacent ops of one kind joined; in a changed stretch the deletes come before the
    inserts (one "replace" reads as old then new)."""
    out: list[_Op] = []
    pending_del: list[int] | None = None
    pending_ins: list[int] | None = None

    def flush() -> None:
        nonlocal pending_del, pending_ins
        if pending_del is not None:
            out.append(("delete", pending_del[0], pending_del[1], pending_del[2], pending_del[2]))
        if pending_ins is not None:
            out.append(("insert", pending_ins[2], pending_ins[2], pending_ins[0], pending_ins[1]))
        pending_del = pending_ins = None

    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            if i1 == i2:
                continue
            flush()
            if out and out[-1][0] == "equal" and out[-1][2] == i1:
                prev = out[-1]
                out[-1] = ("equal", prev[1], i2, prev[3], j2)
            else:
                out.append(("equal", i1, i2, j1, j2))
        elif tag == "delete" and i1 < i2:
            if pending_del is None:
                pending_del = [i1, i2, j1]
            else:
                pending_del[1] = i2
        elif tag == "insert" and j1 < j2:
            if pending_ins is None:
                pending_ins = [j1, j2, i1]
            else:
                pending_ins[1] = j2
    flush()
    return out


def _diff(
    ka: list[str], kb: list[str], result: WordDiff, budget: int, *, refine: bool = True
) -> list[_Op]:
    """Opcodes for ``ka`` -> ``kb``. Work items sit on an explicit stack (no recursion limit),
    pushed in reverse so they come off in text order: a gap to diff, or an op to emit.
    ``refine`` False (the line pass): a gap without anchors is left replaced whole, for the
    word pass to refine."""
    out: list[_Op] = []
    allowance = result.anchoring + ANCHOR_PASSES * (len(ka) + len(kb))
    stack: list[_Gap | _Op] = [("gap", 0, len(ka), 0, len(kb))]
    while stack:
        item = stack.pop()
        if item[0] != "gap":
            out.append(item)
            continue
        _, a0, a1, b0, b1 = item
        start_a, start_b = a0, b0
        while a0 < a1 and b0 < b1 and ka[a0] == kb[b0]:  # common prefix
            a0 += 1
            b0 += 1
        end_a, end_b = a1, b1
        while a1 > a0 and b1 > b0 and ka[a1 - 1] == kb[b1 - 1]:  # common suffix
            a1 -= 1
            b1 -= 1
        result.operations += (a0 - start_a) + (end_a - a1)
        if a0 > start_a:
            out.append(("equal", start_a, a0, start_b, b0))
        if a1 < end_a:
            stack.append(("equal", a1, end_a, b1, end_b))
        if a0 == a1 or b0 == b1:
            if a0 < a1:
                out.append(("delete", a0, a1, b0, b0))
            if b0 < b1:
                out.append(("insert", a1, a1, b0, b1))
            continue
        # anchoring a gap scans it again: a few passes over the whole text at most
        anchors = _anchors(ka, kb, a0, a1, b0, b1, result) if result.anchoring <= allowance else []
        if not anchors:
            if refine:
                out.extend(_myers(ka, kb, a0, a1, b0, b1, result, budget))
            else:
                out += [("delete", a0, a1, b0, b0), ("insert", a1, a1, b0, b1)]
            continue
        parts: list[_Gap | _Op] = []
        pa, pb = a0, b0
        for ia, ib, length in anchors:
            parts.append(("gap", pa, ia, pb, ib))
            parts.append(("equal", ia, ia + length, ib, ib + length))
            pa, pb = ia + length, ib + length
        parts.append(("gap", pa, a1, pb, b1))
        stack.extend(reversed(parts))
    return out


_Gap = tuple[Literal["gap"], int, int, int, int]


def _anchors(
    ka: list[str], kb: list[str], a0: int, a1: int, b0: int, b1: int, result: WordDiff
) -> list[tuple[int, int, int]]:
    """Runs (i, j, length) that occur once in each range, in their longest common order: single
    words first; when no word is unique on both sides (a long answer repeats its words), runs of
    4 and then 16 words."""
    for k in _ANCHOR_LENGTHS:
        if a1 - a0 < k or b1 - b0 < k:
            break
        found = _unique_runs(ka, kb, a0, a1, b0, b1, k, result)
        if found:
            return found
    return []


_ANCHOR_LENGTHS = (1, 4, 16)


def _keys(words: list[str], start: int, end: int, k: int) -> list[str]:
    """The word (k = 1) or the run of k words starting at each position of ``words[start:end]``
    (joined: a string caches its hash, a tuple would hash its k words at every look-up)."""
    if k == 1:
        return words[start:end]
    runs = zip(*(words[start + s : end - k + 1 + s] for s in range(k)), strict=True)
    return list(map("\x00".join, runs))


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of ``pairs`` (sorted by a position) whose b positions increase
    (patience sorting, O(k log k))."""
    tails: list[int] = []  # the smallest b position ending a run of each length
    tail_index: list[int] = []
    back = [-1] * len(pairs)
    for index, (_i, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_index.append(index)
        else:
            tails[pos] = j
            tail_index[pos] = index
        back[index] = tail_index[pos - 1] if pos else -1
    chain: list[tuple[int, int]] = []
    index = tail_index[-1]
    while index >= 0:
        chain.append(pairs[index])
        index = back[index]
    chain.reverse()
    return chain


def _unique_runs(
    ka: list[str], kb: list[str], a0: int, a1: int, b0: int, b1: int, k: int, result: WordDiff
) -> list[tuple[int, int, int]]:
    scanned = (a1 - a0) + (b1 - b0)
    result.operations += scanned
    result.anchoring += scanned
    keys_a = _keys(ka, a0, a1, k)
    keys_b = _keys(kb, b0, b1, k)
    count_a, count_b = Counter(keys_a), Counter(keys_b)  # counted in C: the hot part
    where_a = dict(zip(keys_a, range(a0, a1), strict=False))
    where_b = dict(zip(keys_b, range(b0, b1), strict=False))
    once_b = {key for key, n in count_b.items() if n == 1}
    pairs = sorted(
        [(where_a[key], where_b[key]) for key, n in count_a.items() if n == 1 and key in once_b]
    )
    if not pairs:
        return []
    result.operations += len(pairs)
    result.anchoring += len(pairs)
    positions_b = [j for _i, j in pairs]
    if all(map(operator.lt, positions_b, positions_b[1:])):
        chain = pairs  # already in one order (a few local edits): no search needed
    else:
        chain = _longest_increasing(pairs)
    runs: list[tuple[int, int, int]] = []
    end_a = end_b = -1
    for i, j in chain:  # runs of k words may overlap: keep those that do not
        if i >= end_a and j >= end_b:
            runs.append((i, j, k))
            end_a, end_b = i + k, j + k
    return runs


def _myers(
    ka: list[str],
    kb: list[str],
    a0: int,
    a1: int,
    b0: int,
    b1: int,
    result: WordDiff,
    budget: int,
) -> list[_Op]:
    """Myers' greedy O(ND) diff of one gap within what is left of the budget; over it, the gap
    is reported replaced whole."""
    n, m = a1 - a0, b1 - b0
    max_d = n + m
    off = max_d + 1
    v = [0] * (2 * max_d + 3)
    trace: list[list[int]] = []  # after step d: x on diagonals -d..d
    steps = 0
    left = budget - result.spent
    found = -1
    for d in range(max_d + 1):
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[off + k - 1] < v[off + k + 1]):
                x = v[off + k + 1]
            else:
                x = v[off + k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and ka[a0 + x] == kb[b0 + y]:
                x += 1
                y += 1
            steps += 1 + x - start
            v[off + k] = x
            if x >= n and y >= m:
                found = d
                break
            if steps > left:  # checked per diagonal: one round can be long
                break
        trace.append(v[off - d : off + d + 1])
        if found >= 0:
            break
        steps += 2 * d + 1  # the copy kept for the walk back
        if steps > left:
            break
    result.operations += steps
    result.spent += steps
    if found < 0:
        result.stopped = True
        return [("delete", a0, a1, b0, b0), ("insert", a1, a1, b0, b1)]
    ops: list[_Op] = []
    x, y = n, m
    for d in range(found, 0, -1):
        before = trace[d - 1]  # diagonals -(d-1)..(d-1)

        def at(diag: int, before: list[int] = before, d: int = d) -> int:
            return before[diag + d - 1]

        k = x - y
        down = k == -d or (k != d and at(k - 1) < at(k + 1))
        prev_k = k + 1 if down else k - 1
        prev_x = at(prev_k)
        prev_y = prev_x - prev_k
        mid_x = prev_x if down else prev_x + 1
        while x > mid_x:  # the snake after this edit
            x -= 1
            y -= 1
            ops.append(("equal", a0 + x, a0 + x + 1, b0 + y, b0 + y + 1))
        if down:
            ops.append(("insert", a0 + prev_x, a0 + prev_x, b0 + prev_y, b0 + prev_y + 1))
        else:
            ops.append(("delete", a0 + prev_x, a0 + prev_x + 1, b0 + prev_y, b0 + prev_y))
        x, y = prev_x, prev_y
    while x > 0:
        x -= 1
        y -= 1
        ops.append(("equal", a0 + x, a0 + x + 1, b0 + y, b0 + y + 1))
    ops.reverse()
    return ops
