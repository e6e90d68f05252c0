"""Did my edit make it better? Two recorded runs compared prompt by prompt.

For each prompt: the status change, a word diff of the output (:mod:`.textdiff`, folded), the
change in tokens, cost, latency and time to first token (worded by :mod:`.display`), the request
changes that explain it (the engine's own "what changed" words: :func:`.staleness.reasons` over
the two rows' provenance) and the ratings given to either side. Prompts present on one side only
are listed. Ids and timestamps never count as differences, and "cached" is "done": how an answer
was obtained is not what it says.

Runs are named by id (or a unique start of one), ``last``, ``previous``, ``baseline``, or a git
revision (the newest run made from the file as committed there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import display
from .changes import Change, ChangeKind
from .errors import PromptTuiError, did_you_mean
from .history import History, Rating, RunOrigin, RunRecord, config_key
from .inert import visible, visible_name
from .runs import PromptStatus
from .secrets import scrub_text
from .staleness import Provenance, reasons
from .textdiff import Fold, WordDiff, diff_words

NAMED = ("last", "previous", "baseline")


class RunNotFound(PromptTuiError):
    """A run named on the command line is not in the history."""


@dataclass
class RunSide:
    """One run as recorded: its newest row per prompt, where it came from, its ratings."""

    run_id: str
    rows: dict[str, RunRecord]
    origin: RunOrigin | None = None
    ratings: dict[str, Rating] = field(default_factory=dict)
    name: str = ""  # how it was asked for ("baseline", "last", a ref...)

    @property
    def config_path(self) -> str:
        return next(iter(self.rows.values())).config_path if self.rows else ""

    @property
    def started_at(self) -> float | None:
        return min((r.started_at for r in self.rows.values()), default=None)

    @property
    def label(self) -> str:
        where = self.origin.revision if self.origin is not None else "revision unknown"
        tags = f" [{', '.join(self.origin.tags)}]" if self.origin and self.origin.tags else ""
        named = f"{self.name}: " if self.name and self.name != self.run_id else ""
        return f"{named}{self.run_id} ({where}){tags}"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "name": self.name or None,
            "config": self.config_path,
            "started_at": self.started_at,
            "origin": self.origin.to_json() if self.origin is not None else None,
        }


def load_side(history: History, run_id: str, name: str = "") -> RunSide:
    rows: dict[str, RunRecord] = {}
    for row in history.runs(run_id=run_id, limit=None):  # newest first: keep the first seen
        rows.setdefault(row.prompt, row)
    if not rows:
        raise RunNotFound(f"no run '{run_id}' in the history ({history.path})")
    ordered = dict(sorted(rows.items(), key=lambda item: item[1].id or 0))
    origin = history.origins([run_id]).get(run_id)
    ratings = {p: r for (rid, p), r in history.ratings([run_id]).items() if rid == run_id}
    return RunSide(run_id, ordered, origin, ratings, name)


def resolve_run(
    history: History, spec: str, config_path: str | None, *, ref_commit: str | None = None
) -> str:
    """The run id ``spec`` names: an id or a unique start of one, ``last``, ``previous`` (of the
    config, else of the whole history), ``baseline`` (of the config). ``ref_commit``: the newest
    run made from the file exactly as committed at that commit."""
    if ref_commit is not None:
        if config_path is None:
            raise RunNotFound("--ref needs the CONFIG whose runs to look at")
        found = history.run_ids_matching(config_path=config_path, ref=ref_commit, clean=True)
        plain = set(history.run_ids(config_path))  # a comparison's column is an experiment
        found = [i for i in found if i in plain] or found
        if not found:
            raise RunNotFound(
                f"no run of {config_path} made from revision {spec} ({ref_commit[:10]}); "
                f"`prompt-tui run {config_path} --ref {spec}` makes one"
            )
        return found[0]
    if spec == "baseline":
        if config_path is None:
            raise RunNotFound("'baseline' needs the CONFIG it belongs to")
        baseline = history.baseline(config_path)
        if baseline is None:
            raise RunNotFound(
                f"{config_path} has no baseline: `prompt-tui baseline set RUN` marks one"
            )
        return baseline[0]
    if spec in ("last", "previous"):
        if config_path is not None:
            ids = history.run_ids(config_path, limit=2)
        else:
            rows = history.runs(limit=200)
            ids = list(dict.fromkeys(r.run_id for r in rows if r.group_id is None))[:2]
        index = 0 if spec == "last" else 1
        if len(ids) <= index:
            where = f" of {config_path}" if config_path else ""
            raise RunNotFound(f"there is no {spec} run{where} in the history")
        return ids[index]
    matches = history.run_id_prefix(spec)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise RunNotFound(f"'{spec}' starts {len(matches)} run ids: give more of it")
    recent = list(dict.fromkeys(r.run_id for r in history.runs(limit=200)))
    hint = did_you_mean(spec, [*recent, *NAMED], n=1)
    raise RunNotFound(f"no run '{spec}' in the history" + (f" ({hint})" if hint else ""))


# --- the diff ---------------------------------------------------------------------------------


def _status(row: RunRecord | None) -> PromptStatus | None:
    if row is None:
        return None
    status = row.prompt_status
    return PromptStatus.DONE if status is PromptStatus.CACHED else status


@dataclass(frozen=True)
class Delta:
    """A figure on both sides, and how to word it."""

    kind: str  # "tokens_in" | "tokens_out" | "cost" | "latency" | "ttft"
    a: float | None
    b: float | None
    offline: tuple[bool, bool] = (False, False)

    def _fmt(self, value: float | None, offline: bool) -> str:
        if self.kind == "cost":
            return display.cost(value, offline=offline)
        if self.kind in ("latency", "ttft"):
            return display.seconds(value)
        return display.count(None if value is None else int(value))

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def shown(self) -> bool:
        """Worth a line: the two sides read differently."""
        return self._fmt(self.a, self.offline[0]) != self._fmt(self.b, self.offline[1])

    def __str__(self) -> str:
        before, after = self._fmt(self.a, self.offline[0]), self._fmt(self.b, self.offline[1])
        change = self.change
        if before == after or change is None or change == 0:
            return before if before == after else f"{before} → {after}"
        sign = "+" if change > 0 else "−"
        return f"{before} → {after} ({sign}{self._fmt(abs(change), False)})"

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "change": self.change}


@dataclass
class PromptDiff:
    prompt: str
    a: RunRecord | None
    b: RunRecord | None
    output: WordDiff | None = None
    reasons: list[Change] = field(default_factory=list)
    rating_a: Rating | None = None
    rating_b: Rating | None = None

    @property
    def only(self) -> str | None:
        if self.a is None:
            return "b"
        if self.b is None:
            return "a"
        return None

    @property
    def status_changed(self) -> bool:
        return _status(self.a) != _status(self.b)

    @property
    def output_same(self) -> bool:
        if self.a is None or self.b is None:
            return False
        return (self.a.output_text or "") == (self.b.output_text or "")

    @property
    def same(self) -> bool:
        return self.only is None and not self.status_changed and self.output_same

    def deltas(self) -> list[Delta]:
        a, b = self.a, self.b
        if a is None or b is None:
            return []
        return [
            Delta("tokens_in", a.tokens_in, b.tokens_in),
            Delta("tokens_out", a.tokens_out, b.tokens_out),
            Delta("cost", a.cost, b.cost, (a.offline, b.offline)),
            Delta("latency", a.latency, b.latency),
            Delta("ttft", a.ttft, b.ttft),
        ]


@dataclass
class RunDiff:
    a: RunSide
    b: RunSide
    prompts: list[PromptDiff]
    context: int = 8

    @property
    def same(self) -> bool:
        return all(p.same for p in self.prompts)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "same": self.same,
            "prompts": [_prompt_json(p, self.context) for p in self.prompts],
        }

    def render(self, *, inert: bool = True) -> str:
        """The diff for people; every model text inert (``inert``: for a terminal)."""
        lines = [f"--- a: {self.a.label}", f"+++ b: {self.b.label}"]
        for p in self.prompts:
            lines += _render_prompt(p, self.context, inert)
        same = sum(p.same for p in self.prompts)
        differ = len(self.prompts) - same
        lines.append("")
        lines.append(
            f"{differ} of {display.plural(len(self.prompts), 'prompt')} differ"
            if not self.same
            else f"the same: {display.plural(len(self.prompts), 'prompt')}"
        )
        return scrub_text("\n".join(lines))


def diff_runs(a: RunSide, b: RunSide, *, context: int = 8) -> RunDiff:
    names = list(a.rows) + [n for n in b.rows if n not in a.rows]
    prompts: list[PromptDiff] = []
    for name in names:
        row_a, row_b = a.rows.get(name), b.rows.get(name)
        diff = PromptDiff(name, row_a, row_b, None, [], a.ratings.get(name), b.ratings.get(name))
        if row_a is not None and row_b is not None:
            if not diff.output_same:
                diff.output = diff_words(row_a.output_text or "", row_b.output_text or "")
            diff.reasons = request_changes(row_a, row_b)
        prompts.append(diff)
    return RunDiff(a, b, prompts, context)


def request_changes(a: RunRecord, b: RunRecord) -> list[Change]:
    """What changed in the request between two rows, in the engine's words ([]: nothing)."""
    before = Provenance.from_json(a.provenance) if a.provenance else None
    after = Provenance.from_json(b.provenance) if b.provenance else None
    if before is not None and after is not None:
        return reasons(before, after)
    if a.cache_key and a.cache_key == b.cache_key:
        return []
    out: list[Change] = []
    if a.model != b.model:
        out.append(Change(ChangeKind.MODEL, "", a.model, b.model))
    if a.cache_key != b.cache_key:
        out.append(Change(ChangeKind.REQUEST))
    return out


# --- rendering ----------------------------------------------------------------------------------


def _word(status: PromptStatus | None) -> str:
    return "absent" if status is None else status.value


def _render_prompt(p: PromptDiff, context: int, inert: bool) -> list[str]:
    lines = [""]
    name = visible_name(p.prompt)
    if p.only == "a":
        lines.append(f"@@ {name}: only in a ({_word(_status(p.a))})")
        return lines
    if p.only == "b":
        lines.append(f"@@ {name}: only in b ({_word(_status(p.b))})")
        return lines
    status = _word(_status(p.a))
    if p.status_changed:
        status = f"{status} → {_word(_status(p.b))}"
    verdict = "same output" if p.output_same else "output differs"
    lines.append(f"@@ {name}: {status}, {verdict}")
    if p.reasons:
        lines.append("   request: " + "; ".join(str(r) for r in p.reasons))
    for delta in p.deltas():
        if delta.shown:
            lines.append(f"   {_DELTA_WORDS[delta.kind]}: {delta}")
    for side, rating in (("a", p.rating_a), ("b", p.rating_b)):
        if rating is not None:
            lines.append(f"   rated ({side}): {rating_words(rating)}")
    if p.a is not None and p.b is not None and p.a.error != p.b.error:
        for side, row in (("a", p.a), ("b", p.b)):
            if row.error:
                lines.append(f"   error ({side}): {visible_name(row.error)}")
    if p.output is not None:
        lines += ["   " + line for line in render_words(p.output, context, inert)]
    return lines


def render_words(diff: WordDiff, context: int = 8, inert: bool = True) -> list[str]:
    """A word diff as lines for people: ``[-old-]`` / ``{+new+}`` with ``context`` words around
    each change, longer unchanged stretches folded; model text inert when ``inert``."""
    show = visible if inert else _same
    body: list[str] = []
    for part in diff.folded(context):
        if isinstance(part, Fold):
            piece = f"… {display.plural(part.words, 'unchanged word')} … "
        elif part.tag == "equal":
            piece = show(part.text)
        elif part.tag == "delete":
            piece = "[-" + show(part.text.rstrip()) + "-]" + _trailing(part.text)
        else:
            piece = "{+" + show(part.text.rstrip()) + "+}" + _trailing(part.text)
        if body and body[-1] and not body[-1][-1].isspace():
            body.append(" ")  # words compare without their spaces: keep them apart
        body.append(piece)
    lines = "".join(body).splitlines() or [""]
    if diff.stopped:
        lines.append("(long and different throughout: parts are shown replaced whole)")
    return lines


def _same(text: str) -> str:
    return text


def _trailing(text: str) -> str:
    return text[len(text.rstrip()) :]


_DELTA_WORDS = {
    "tokens_in": "tokens in",
    "tokens_out": "tokens out",
    "cost": "cost",
    "latency": "latency",
    "ttft": "time to first token",
}


def rating_words(rating: Rating) -> str:
    parts = [rating.thumb or "no score"]
    if rating.comment:
        parts.append(f"“{visible_name(rating.comment)}”")
    if rating.expected:
        expected = visible_name(rating.expected)
        parts.append(f"expected: {expected[:60]}{'…' if len(expected) > 60 else ''}")
    return " · ".join(parts)


def _status_value(row: RunRecord | None) -> str | None:
    status = _status(row)
    return None if status is None else status.value


def _prompt_json(p: PromptDiff, context: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": p.prompt,
        "only": p.only,
        "same": p.same,
        "status": {
            "a": _status_value(p.a),
            "b": _status_value(p.b),
            "changed": p.status_changed,
        },
        "ratings": {
            "a": p.rating_a.to_json() if p.rating_a else None,
            "b": p.rating_b.to_json() if p.rating_b else None,
        },
    }
    if p.only is not None:
        return data
    output: dict[str, Any] = {"same": p.output_same}
    if p.output is not None:
        deleted, inserted = p.output.changed_words
        output.update(
            words_deleted=deleted,
            words_inserted=inserted,
            stopped=p.output.stopped,
            pieces=[
                {"fold": part.words}
                if isinstance(part, Fold)
                else {"tag": part.tag, "text": part.text}
                for part in p.output.folded(context)
            ],
        )
    data["output"] = output
    data["request_changes"] = [r.to_json() for r in p.reasons]
    data.update({d.kind: d.to_json() for d in p.deltas()})
    return data


def same_config(a: RunSide, b: RunSide) -> bool:
    return config_key(a.config_path) == config_key(b.config_path)


# --- for the TUI: a prompt's earlier runs, the run behind an output, baseline marks ----------


@dataclass(frozen=True)
class PromptRun:
    """One earlier run of a prompt with its run-level labels (the history tab's row)."""

    record: RunRecord
    origin: RunOrigin | None
    rating: Rating | None

    @property
    def revision(self) -> str:
        return self.origin.revision if self.origin is not None else ""

    @property
    def tags(self) -> str:
        return ",".join(self.origin.tags) if self.origin is not None else ""

    @property
    def score(self) -> str:
        return self.rating.thumb if self.rating is not None else ""


def prompt_runs(
    history: History, config_path: str, prompt: str, limit: int = 100
) -> list[PromptRun]:
    """The prompt's earlier runs, newest first, with revision, tags and rating (SQLite: call it
    in a thread)."""
    records = history.runs(config_path=config_path, prompt=prompt, limit=limit)
    ids = [r.run_id for r in records]
    origins = history.origins(ids)
    ratings = history.ratings(ids)
    return [PromptRun(r, origins.get(r.run_id), ratings.get((r.run_id, prompt))) for r in records]


def run_of_output(
    history: History | None, config_path: str, prompt: str, text: str | None
) -> str | None:
    """The id of the recorded run whose answer is the prompt's current output (what a rating
    of "this output" attaches to), or None when no recorded run produced it."""
    if history is None or text is None:
        return None
    for record in history.runs(config_path=config_path, prompt=prompt, limit=50):
        if record.status in ("done", "cached") and (record.output_text or "") == text:
            return record.run_id
    return None


def changed_since_baseline(
    history: History | None, config_path: str, outputs: dict[str, str | None]
) -> set[str]:
    """The prompts whose current output differs from the one the config's baseline run made
    (a prompt the baseline did not run is not marked). SQLite: call it in a thread."""
    if history is None or not config_path:
        return set()
    found = history.baseline(config_path)
    if found is None:
        return set()
    try:
        side = load_side(history, found[0])
    except RunNotFound:
        return set()
    changed: set[str] = set()
    for name, text in outputs.items():
        row = side.rows.get(name)
        if row is None or text is None:
            continue
        if (row.output_text or "") != text:
            changed.add(name)
    return changed


def baseline_answer(history: History | None, config_path: str, prompt: str) -> str | None:
    """The config's baseline run's answer to ``prompt`` (None: no baseline, or it has none)."""
    if history is None or not config_path:
        return None
    found = history.baseline(config_path)
    if found is None:
        return None
    for row in history.runs(run_id=found[0], prompt=prompt, limit=1):
        if row.status in ("done", "cached"):
            return row.output_text or ""
    return None


def diff_against(record: RunRecord, current: str, *, context: int = 12) -> tuple[str, bool]:
    """The word diff from an earlier run's answer to the current output, as inert text for a
    view (``[-only then-]`` / ``{+only now+}``), and whether they are the same."""
    before = record.output_text or ""
    if before == current:
        return visible(current), True
    return "\n".join(render_words(diff_words(before, current), context, inert=True)), False
