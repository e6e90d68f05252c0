"""`prompt-tui validate CONFIG...`: syntax, shape, duplicate names, cycles, unknown references."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass

from ..core.attachments import AttachmentError
from ..core.checks import problems as bad_checks
from ..core.config import AIConfig, Prompt, load
from ..core.datasets import dataset_columns, dataset_problems
from ..core.errors import (
    ConfigError,
    ConfigErrors,
    CycleError,
    PromptTuiError,
    did_you_mean,
    no_such_prompt,
)
from ..core.fileio import locate
from ..core.graph import (
    DependencyGraph,
    prompt_references,
    prompt_sources,
    serial_hint,
    serial_waits,
)
from ..core.model_settings import settings_problems
from ..core.resolve import resolve
from ..core.schema import format_path
from ..core.templates import default_engine


@dataclass
class Problem:
    file: str
    message: str
    line: int | None = None
    col: int | None = None
    location: str | None = None
    prompt: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = (
            self.file
            + (f":{self.line}" if self.line else "")
            + (f":{self.col}" if self.col else "")
        )
        parts = [where, self.severity]
        if self.location:
            parts.append(self.location)
        elif self.prompt and not self.message.startswith(f"prompt '{self.prompt}'"):
            parts.append(f"prompt '{self.prompt}'")  # (a template error names it itself)
        return ": ".join(parts) + ": " + self.message


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="check config files")
    parser.add_argument("configs", nargs="+", metavar="CONFIG")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.set_defaults(func=run)


def _from_config_error(path: str, exc: ConfigError) -> list[Problem]:
    errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    return [Problem(path, e.message, e.line, e.col, e.location) for e in errors]


def check_file(path: str) -> list[Problem]:
    try:
        config = load(path)
    except ConfigError as exc:
        return _from_config_error(path, exc)
    problems: list[Problem] = setting_problems(path, config)
    for warning in config.warnings:
        for problem in _from_config_error(path, warning):
            problem.severity = "warning"
            problems.append(problem)
    for duplicate in config.duplicate_name_errors():
        problems += _from_config_error(path, duplicate)
    graph = DependencyGraph.build(config)
    for name, template_error in graph.errors.items():
        problems.append(Problem(path, str(template_error), prompt=name))
    if graph.cycle:
        problems.append(Problem(path, str(CycleError(graph.cycle))))
    columns = frozenset(dataset_columns(config)) if "datasets" in config.metadata else frozenset()
    for index, prompt in enumerate(config.prompts):
        if prompt.name in graph.errors:
            continue
        problems += _reference_problems(path, config, index, prompt, columns)
        problems += _structured_notes(path, config, index, prompt)
        if not config.model_name_of(prompt):
            problems.append(
                Problem(
                    path,
                    "no model: set metadata.model or the config's metadata.default_model",
                    location=f"prompts[{index}].metadata.model",
                    prompt=prompt.name,
                )
            )
    problems += check_problems(path, config)
    for name, waits in serial_waits(graph).items():
        problems.append(Problem(path, serial_hint(name, waits), prompt=name, severity="hint"))
    return problems


def setting_problems(path: str, config: AIConfig) -> list[Problem]:
    """Settings of the wrong type or out of range (``max_attempts: "lots"``), located: the same
    check and message as the parameter form and ``--set``."""
    text = config.source_text if config.source_text is not None else config.dumps()
    problems = []
    for where, message in settings_problems(config.data):
        position = locate(text, config.format, where)
        line, col = position if position else (None, None)
        name = config.prompts[int(where[1])].name if where[0] == "prompts" else None
        problems.append(Problem(path, message, line, col, format_path(where), name))
    return problems


def check_problems(path: str, config: AIConfig) -> list[Problem]:
    """Checks that are not ones (unknown kind, bad regex, bad schema, a judge naming no
    prompt) and a malformed ``metadata.datasets``, located in the file."""
    text = config.source_text if config.source_text is not None else config.dumps()
    found = []
    for name, where, message in bad_checks(config):
        line, col = locate(text, config.format, where) or (None, None)
        found.append(Problem(path, message, line, col, format_path(where), name))
    for where_text, message in dataset_problems(config):
        line, col = locate(text, config.format, ("metadata", "datasets")) or (None, None)
        found.append(Problem(path, message, line, col, where_text))
    return found


def _reference_problems(
    path: str, config: AIConfig, index: int, prompt: Prompt, columns: frozenset[str] = frozenset()
) -> list[Problem]:
    """Names the prompt reads that nothing provides.

    ``x.output`` / ``x.input`` of a name that is no prompt cannot be resolved by any run: an
    error, with the prompt names it may have meant. Any other unknown name may be a run-time
    parameter (real files take them from code): a warning unless --strict.
    """
    known = set(config.global_parameters) | set(prompt.parameters) | config.prompt_name_set
    known |= columns  # the config's datasets give these for each row (prompt-tui batch)
    problems: list[Problem] = []
    unknown = [ref for ref in prompt_references(prompt, config) if ref.root not in known]
    explained: set[str] = set()  # pieces of a misspelt prompt name (gpt3 in gpt3.5-run)
    for ref in unknown:
        if ref.attr not in ("output", "input"):
            continue
        written = _written_name(prompt, config, ref.text) or ref.root
        explained.update(re.split(r"[.\-]", written))
        problems.append(
            Problem(
                path,
                f"'{written}.{ref.attr}' reads a prompt that does not exist:"
                f" {no_such_prompt(written, config.prompt_names)}",
                location=f"prompts[{index}].input",
                prompt=prompt.name,
            )
        )
    for name in dict.fromkeys(ref.root for ref in unknown if ref.attr not in ("output", "input")):
        if name in explained:
            continue
        params = set(config.global_parameters) | set(prompt.parameters)
        meant = did_you_mean(name, sorted(params))
        problems.append(
            Problem(
                path,
                f"'{name}' is neither a parameter nor a prompt"
                + (f"; {meant}" if meant else f" (pass it with -p {name}=... at run time)"),
                location=f"prompts[{index}].input",
                prompt=prompt.name,
                severity="warning",
            )
        )
    return problems


def _structured_notes(path: str, config: AIConfig, index: int, prompt: Prompt) -> list[Problem]:
    """Reads of a field of an upstream JSON answer (``{{extract.output.city}}``): a prompt-tui
    extension, said as a hint (other AIConfig tools render it empty); and attachments that
    cannot be sent (missing file, unsupported type, over the size limit, a model that cannot
    see them), as errors with their location."""
    problems: list[Problem] = []
    names = config.prompt_name_set
    engine = default_engine()
    for source in prompt_sources(prompt, config):
        compiled = engine.compile(source, names, prompt=prompt.name)
        for root, keys in dict.fromkeys(compiled.field_paths):
            if keys[0] != "output" or root not in names or len(keys) < 2:
                continue
            longer = [k for r, k in compiled.field_paths if r == root and len(k) > len(keys)]
            if any(k[: len(keys)] == keys for k in longer):
                continue  # the longest read says it
            read = ".".join((root, *keys))
            problems.append(
                Problem(
                    path,
                    f"'{{{{{read}}}}}' reads a field of {root}'s JSON answer: a prompt-tui "
                    "extension the AIConfig SDK does not resolve (it renders it empty)",
                    location=f"prompts[{index}].input",
                    prompt=prompt.name,
                    severity="hint",
                )
            )
    raw = prompt.input
    if isinstance(raw, dict) and raw.get("attachments"):
        try:
            resolve(config, prompt.name, allow_missing=True)
        except AttachmentError as exc:
            problems.append(Problem(path, exc.message, location=exc.location, prompt=prompt.name))
        except PromptTuiError:
            pass  # reported by the other checks
    return problems


def _written_name(prompt: Prompt, config: AIConfig, ref_text: str) -> str | None:
    """How the template spells the name before ``.output``: ``{{gpt3.5-run.output}}`` reads as
    ``gpt3`` minus ``run.output`` when no prompt has that name; show what the user wrote."""
    for source in prompt_sources(prompt, config):
        match = re.search(r"([\w.\-]*)" + re.escape(ref_text) + r"\b", source)
        if match:
            return (match.group(1) + ref_text).rsplit(".", 1)[0]
    return None


def run(args: argparse.Namespace) -> int:
    failed = False
    for path in args.configs:
        problems = check_file(path)
        # hints explain (e.g. why prompts run one after another); they never fail a file
        failing = [
            p
            for p in problems
            if p.severity == "error" or (args.strict and p.severity == "warning")
        ]
        failed = failed or bool(failing)
        if args.json:
            ok = not failing
            print(json.dumps({"file": path, "ok": ok, "problems": [asdict(p) for p in problems]}))
        else:
            for problem in problems:
                print(problem)
            if not failing:
                print(f"{path}: ok")
    return 1 if failed else 0
