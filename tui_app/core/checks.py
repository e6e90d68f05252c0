"""Checks: what a good answer is, declared as data in a prompt's metadata.

    metadata:
      checks:
        - contains: "{{expected}}"
        - regex: "^[A-Z]"
        - json_schema: {type: object, required: [title]}
        - max_cost: 0.01
        - judge: {prompt: grader, pass: "PASS"}

Each check is an object with one key naming it. String values are templates in the prompt's own
syntax, rendered by the same sandboxed engine with the prompt's parameters, the row's columns and
the other prompts' ``{input, output}`` (``{{expected}}``, ``{{outline.output}}``). Nothing in a
check is executed: regular expressions run under a time limit (the ``regex`` module's timeout),
JSON schemas are data for ``jsonschema`` (a recursive ``$ref`` is an error, not a crash).

A **judge** is another prompt of the chain that reads the checked prompt's answer like any prompt
(``{{answer.output}}``); its own answer passes by a stated rule: ``pass: "PASS"`` (contains that
text), or an object with one of ``contains``, ``not_contains``, ``equals``, ``regex`` or
``min_score`` (the first number in the grader's answer is at least N).

Every result says what was expected and what was seen. A prompt that failed or was blocked has
no check results: its cell is an error, not a failed check.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import MissingReferenceError, PromptTuiError, TemplateError, did_you_mean
from .graph import prompt_references
from .templates import default_engine

if TYPE_CHECKING:
    from .config import AIConfig, Prompt
    from .runs import PromptResult

Verdict = Literal["pass", "fail", "error"]

TEXT_CHECKS = ("contains", "not_contains", "equals", "regex", "finish_reason")
LIMIT_CHECKS = ("max_tokens", "max_seconds", "max_cost")
KINDS = (*TEXT_CHECKS, "is_json", "json_schema", *LIMIT_CHECKS, "judge")
RULES = ("contains", "not_contains", "equals", "regex", "min_score")

REGEX_TIMEOUT = 0.5  # seconds a regular expression may search one answer
MAX_PATTERN = 2_000  # characters of a pattern
SHOWN = 120  # characters of an answer quoted in a result


@dataclass(frozen=True)
class Check:
    prompt: str
    index: int  # position in the prompt's list
    prompt_index: int  # the prompt's position in the file
    kind: str
    value: Any

    @property
    def location(self) -> str:
        return f"prompts[{self.prompt_index}].metadata.checks[{self.index}]"

    @property
    def grader(self) -> str | None:
        if self.kind == "judge" and isinstance(self.value, Mapping):
            name = self.value.get("prompt")
            return name if isinstance(name, str) else None
        return None

    def describe(self) -> str:
        if self.kind == "judge" and isinstance(self.value, Mapping):
            return f"judge by '{self.value.get('prompt')}'"
        if self.kind == "is_json":
            return "is_json"
        if self.kind == "json_schema":
            return "json_schema"
        return f"{self.kind}: {_short(str(self.value))}"


@dataclass(frozen=True)
class CheckResult:
    """One check of one prompt's answer: its verdict, what it expected and what it saw.
    ``error``: the check could not be applied (a template with no value, a grader that failed)."""

    prompt: str
    kind: str
    verdict: Verdict
    expected: str
    seen: str
    index: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def __str__(self) -> str:
        return (
            f"{self.prompt} {self.kind}: {self.verdict}: expected {self.expected}; saw {self.seen}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "check": self.kind,
            "index": self.index,
            "verdict": self.verdict,
            "expected": self.expected,
            "seen": self.seen,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            str(data["prompt"]),
            str(data["check"]),
            data["verdict"],
            str(data["expected"]),
            str(data["seen"]),
            int(data.get("index", 0)),
        )


def _short(text: str, limit: int = SHOWN) -> str:
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- reading and validating -----------------------------------------------------------------


def checks_of(config: AIConfig, prompt: Prompt) -> list[Check]:
    """The prompt's well-formed checks (malformed ones are skipped: ``problems`` reports them)."""
    raw = prompt.metadata.get("checks")
    if not isinstance(raw, list):
        return []
    index = config.index_of(prompt.name)
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, Mapping) and len(item) == 1:
            kind, value = next(iter(item.items()))
            if kind in KINDS:
                out.append(Check(prompt.name, i, index, str(kind), value))
    return out


def all_checks(config: AIConfig, prompts: Sequence[str] | None = None) -> dict[str, list[Check]]:
    names = config.prompt_names if prompts is None else prompts
    return {name: checks_of(config, config.prompt(name)) for name in names}


def graders(checks: Mapping[str, list[Check]]) -> list[str]:
    """The prompts judges name, in order of first mention."""
    found: dict[str, None] = {}
    for items in checks.values():
        for check in items:
            if check.grader:
                found.setdefault(check.grader, None)
    return list(found)


def problems(config: AIConfig) -> list[tuple[str, tuple[str | int, ...], str]]:
    """(prompt, path in the document, message) for every check that is not one: an unknown
    kind, a value of the wrong type, a regex that does not compile, a schema that is not one, a
    judge naming no prompt. ``validate`` prints them located; a batch refuses to start."""
    out: list[tuple[str, tuple[str | int, ...], str]] = []
    names = config.prompt_name_set
    for p_index, prompt in enumerate(config.prompts):
        raw = prompt.metadata.get("checks")
        if raw is None:
            continue
        base: tuple[str | int, ...] = ("prompts", p_index, "metadata", "checks")
        if not isinstance(raw, list):
            out.append((prompt.name, base, "must be a list of checks ([{contains: ...}, ...])"))
            continue
        for i, item in enumerate(raw):
            where = (*base, i)
            if not isinstance(item, Mapping) or len(item) != 1:
                out.append(
                    (prompt.name, where, "a check is an object with one key (e.g. contains: ...)")
                )
                continue
            kind, value = next(iter(item.items()))
            if kind not in KINDS:
                hint = did_you_mean(str(kind), KINDS, n=1)
                message = f"unknown check '{kind}'" + (
                    f" ({hint})" if hint else f" (known: {', '.join(KINDS)})"
                )
                out.append((prompt.name, (*where, str(kind)), message))
                continue
            bad = _value_problem(config, prompt.name, str(kind), value, names)
            if bad:
                out.append((prompt.name, (*where, str(kind)), bad))
    return out


def _template_problem(config: AIConfig, prompt: str, source: str) -> str | None:
    try:
        default_engine().compile(source, config.prompt_name_set, prompt=prompt)
    except TemplateError as exc:
        return f"bad template: {exc.message}"
    return None


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _regex_problem(pattern: str) -> str | None:
    if len(pattern) > MAX_PATTERN:
        return f"the pattern is longer than {MAX_PATTERN:,} characters"
    try:
        _compiled(pattern)
    except Exception as exc:  # regex.error: position and reason
        return f"bad regex: {exc}"
    return None


def _value_problem(
    config: AIConfig, prompt: str, kind: str, value: Any, names: frozenset[str]
) -> str | None:
    if kind in TEXT_CHECKS:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return f"expects text, not {type(value).__name__}"
        text = str(value)
        if _is_template(text):
            return _template_problem(config, prompt, text)
        return _regex_problem(text) if kind == "regex" else None
    if kind in LIMIT_CHECKS:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return f"expects a number, not {value!r}"
        if value < 0:
            return "expects a number >= 0"
        return None
    if kind == "is_json":
        return None if isinstance(value, bool) else "expects true or false"
    if kind == "json_schema":
        return _schema_problem(value)
    # judge
    if not isinstance(value, Mapping):
        return "expects {prompt: <grader prompt>, pass: <rule>}"
    grader = value.get("prompt")
    if not isinstance(grader, str) or not grader:
        return "names no grader prompt (judge: {prompt: grader, pass: PASS})"
    if grader not in names:
        hint = did_you_mean(grader, names, n=1)
        return f"no prompt is named '{grader}'" + (f" ({hint})" if hint else "")
    if grader == prompt:
        return "a prompt cannot judge its own answer"
    try:
        read = {ref.root for ref in prompt_references(config.prompt(grader), config)}
    except TemplateError:
        read = {prompt}  # the grader's own template error is reported for the grader
    if prompt not in read:
        return (
            f"the grader '{grader}' does not read this prompt's answer: write "
            f"{{{{{prompt}.output}}}} in its template"
        )
    extra = set(value) - {"prompt", "pass"}
    if extra:
        return f"unknown key(s) {', '.join(sorted(map(str, extra)))} (use prompt and pass)"
    return _rule_problem(config, prompt, value.get("pass"))


def _rule_problem(config: AIConfig, prompt: str, rule: Any) -> str | None:
    if isinstance(rule, str):
        return _template_problem(config, prompt, rule) if _is_template(rule) else None
    if not isinstance(rule, Mapping) or len(rule) != 1:
        return "pass: a text the grader's answer contains, or {min_score: N} / {regex: ...} ..."
    kind, value = next(iter(rule.items()))
    if kind not in RULES:
        hint = did_you_mean(str(kind), RULES, n=1)
        return f"pass: unknown rule '{kind}'" + (
            f" ({hint})" if hint else f" (known: {', '.join(RULES)})"
        )
    if kind == "min_score":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"pass.min_score expects a number, not {value!r}"
        return None
    if not isinstance(value, str):
        return f"pass.{kind} expects text, not {type(value).__name__}"
    if _is_template(value):
        return _template_problem(config, prompt, value)
    return _regex_problem(value) if kind == "regex" else None


def _schema_problem(schema: Any) -> str | None:
    import jsonschema

    if not isinstance(schema, Mapping | bool):
        return f"expects a JSON schema (an object), not {type(schema).__name__}"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"bad schema{' at ' + where if where else ''}: {exc.message}"
    except RecursionError:
        return "bad schema: nested too deeply"
    return None


def reads(config: AIConfig, checks: Mapping[str, list[Check]]) -> set[str]:
    """Every name the checks' templates read (dataset columns such as ``expected``)."""
    engine = default_engine()
    out: set[str] = set()
    for items in checks.values():
        for check in items:
            for source in _sources(check):
                if _is_template(source):
                    try:
                        compiled = engine.compile(source, config.prompt_name_set)
                    except TemplateError:
                        continue
                    out.update(ref.root for ref in compiled.references)
    return out


def _sources(check: Check) -> list[str]:
    if check.kind in TEXT_CHECKS:
        return [str(check.value)]
    if check.kind == "judge" and isinstance(check.value, Mapping):
        rule = check.value.get("pass")
        if isinstance(rule, str):
            return [rule]
        if isinstance(rule, Mapping):
            return [v for v in rule.values() if isinstance(v, str)]
    return []


# --- evaluating -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    import regex

    return regex.compile(pattern)


def _search(pattern: str, text: str) -> tuple[bool | None, str]:
    """(found, why-not): found None when the regex could not be applied."""
    problem = _regex_problem(pattern)
    if problem:
        return None, problem
    try:
        return _compiled(pattern).search(text, timeout=REGEX_TIMEOUT) is not None, ""
    except TimeoutError:
        return None, (
            f"the regex took longer than {REGEX_TIMEOUT:g} s on {len(text):,} characters "
            "(catastrophic backtracking?)"
        )


def context_for(
    config: AIConfig,
    prompt: str,
    params: Mapping[str, Any],
    texts: Mapping[str, str | None],
) -> dict[str, Any]:
    """What a check's template reads: other prompts' ``{input, output}`` (``texts``: this
    run's answers), then global, prompt and run-time parameters (the row), like a prompt."""
    context: dict[str, Any] = {}
    for other in config.prompts:
        context[other.name] = {"input": other.template, "output": texts.get(other.name)}
    context.update(config.global_parameters)
    target = config.get(prompt)
    if target is not None:
        context.update(target.parameters)
    context.update(params)
    return context


def _render(config: AIConfig, prompt: str, source: str, context: Mapping[str, Any]) -> str:
    if not _is_template(source):
        return source
    return default_engine().render(source, context, config.prompt_name_set, prompt=prompt)


def _json_of(text: str) -> tuple[Any, str | None]:
    """The answer as JSON, read by the app's one rule (:func:`.structured.parse_json`: the whole
    answer or its one fenced block; too large or too deep stays text), or why it is not."""
    from .structured import parse_json

    try:
        return parse_json(text), None
    except ValueError as exc:
        why = str(exc)
        return None, why if why.startswith("not JSON") else f"not JSON: {why}"


def evaluate(
    check: Check,
    result: PromptResult,
    *,
    config: AIConfig,
    context: Mapping[str, Any],
    results: Mapping[str, PromptResult],
) -> CheckResult:
    """Apply one check to a prompt's (successful) result."""

    def out(verdict: Verdict, expected: str, seen: str) -> CheckResult:
        return CheckResult(check.prompt, check.kind, verdict, expected, seen, check.index)

    text = result.text
    try:
        return _evaluate(check, result, text, config, context, results, out)
    except (MissingReferenceError, TemplateError) as exc:
        return out("error", check.describe(), f"the check's template: {exc}")
    except PromptTuiError as exc:
        return out("error", check.describe(), str(exc))


def _evaluate(
    check: Check,
    result: PromptResult,
    text: str,
    config: AIConfig,
    context: Mapping[str, Any],
    results: Mapping[str, PromptResult],
    out: Any,
) -> CheckResult:
    kind, value = check.kind, check.value
    if kind in ("contains", "not_contains", "equals", "regex"):
        wanted = _render(config, check.prompt, str(value), context)
        return _text_rule(kind, wanted, text, out)
    if kind == "finish_reason":
        wanted = _render(config, check.prompt, str(value), context)
        got = result.finish_reason or (result.output or {}).get("metadata", {}).get("finish_reason")
        return out("pass" if got == wanted else "fail", repr(wanted), repr(got))
    if kind == "is_json":
        parsed, why = _json_of(text)
        ok = (why is None) == bool(value)
        expected = "JSON" if value else "not JSON"
        return out("pass" if ok else "fail", expected, "JSON" if why is None else why)
    if kind == "json_schema":
        return _schema_check(value, text, out)
    if kind == "max_tokens":
        used = result.usage.completion_tokens if result.usage else None
        if used is None:
            return out("fail", f"at most {value:,} output tokens", "unknown (not reported)")
        return out(
            "pass" if used <= value else "fail", f"at most {value:,} output tokens", f"{used:,}"
        )
    if kind == "max_seconds":
        from . import display

        if result.latency is None:
            # answered from the cache: nothing was timed in this run
            return out("pass", f"at most {display.seconds(value)}", "cached (not timed)")
        ok = result.latency <= value
        return out(
            "pass" if ok else "fail",
            f"at most {display.seconds(value)}",
            display.seconds(result.latency),
        )
    if kind == "max_cost":
        from . import display

        cost = 0.0 if result.offline else result.cost
        if cost is None:
            return out("fail", f"at most {display.cost(value)}", display.UNKNOWN)
        ok = cost <= value
        return out("pass" if ok else "fail", f"at most {display.cost(value)}", display.cost(cost))
    return _judge(check, config, context, results, out)


def _text_rule(kind: str, wanted: str, text: str, out: Any) -> CheckResult:
    if kind == "contains":
        return out("pass" if wanted in text else "fail", f"contains {_short(wanted)}", _short(text))
    if kind == "not_contains":
        return out(
            "pass" if wanted not in text else "fail",
            f"does not contain {_short(wanted)}",
            _short(text),
        )
    if kind == "equals":
        ok = text.strip() == wanted.strip()
        return out("pass" if ok else "fail", f"equals {_short(wanted)}", _short(text))
    found, why = _search(wanted, text)
    if found is None:
        return out("error", f"matches /{wanted}/", why)
    return out("pass" if found else "fail", f"matches /{wanted}/", _short(text))


def _schema_check(schema: Any, text: str, out: Any) -> CheckResult:
    """The answer against the schema with the app's one schema check (:func:`.structured.check`,
    the one a ``response_format`` schema gets): a mismatch fails; a schema that cannot be
    applied (invalid, a ``$ref`` without end) is an error of the check."""
    from .structured import check

    expected = "JSON matching the schema"
    parsed, why = _json_of(text)
    if why is not None:
        return out("fail", expected, why)
    problem = _schema_problem(schema)
    if problem:
        return out("error", expected, problem)
    verdict = check(parsed, schema)
    if verdict.ok:
        return out("pass", expected, "it matches")
    if verdict.expected.startswith("the schema"):  # structured.check's words for its own limits
        return out("error", expected, verdict.expected)
    where = f"at {verdict.path}: " if verdict.path else ""
    return out("fail", expected, f"{where}{verdict.expected}")


def _judge(
    check: Check,
    config: AIConfig,
    context: Mapping[str, Any],
    results: Mapping[str, PromptResult],
    out: Any,
) -> CheckResult:
    grader = check.grader or ""
    rule = check.value.get("pass", "PASS") if isinstance(check.value, Mapping) else "PASS"
    found = results.get(grader)
    expected = f"'{grader}' answers {_rule_text(rule)}"
    if found is None or not found.succeeded:
        status = found.status.value if found is not None else "not run"
        why = (found.error or found.reason) if found is not None else None
        return out("error", expected, f"the grader {status}" + (f": {why}" if why else ""))
    answer = found.text
    if isinstance(rule, str):
        rule = {"contains": rule}
    kind, value = next(iter(rule.items()))
    if kind == "min_score":
        match = re.search(r"-?\d+(?:\.\d+)?", answer)
        if match is None:
            return out("fail", expected, f"no score in {_short(answer)}")
        score = float(match.group())
        return out("pass" if score >= value else "fail", expected, f"score {match.group()}")
    wanted = _render(config, check.prompt, str(value), context)
    verdict = _text_rule(kind, wanted, answer, out)
    return out(verdict.verdict, expected, verdict.seen)


def _rule_text(rule: Any) -> str:
    if isinstance(rule, str):
        return f"containing {_short(rule)}"
    if isinstance(rule, Mapping) and len(rule) == 1:
        kind, value = next(iter(rule.items()))
        if kind == "min_score":
            return f"a score >= {value}"
        return f"{str(kind).replace('_', ' ')} {_short(str(value))}"
    return repr(rule)


def evaluate_all(
    config: AIConfig,
    checks: Mapping[str, list[Check]],
    results: Mapping[str, PromptResult],
    params: Mapping[str, Any],
) -> list[CheckResult]:
    """Every check of every prompt that succeeded in ``results``."""
    texts = {name: r.text for name, r in results.items() if r.succeeded}
    out: list[CheckResult] = []
    for prompt, items in checks.items():
        result = results.get(prompt)
        if result is None or not result.succeeded or not items:
            continue
        context = context_for(config, prompt, params, texts)
        for check in items:
            out.append(evaluate(check, result, config=config, context=context, results=results))
    return out
