"""Prompt -> the exact request, with the AIConfig SDK's semantics (see DESIGN.md).

Differences from the SDK, on purpose: nothing is HTML-escaped, a missing parameter or a not-yet-run
output is an error (unless ``allow_missing``), a prompt may read the output of a prompt at any
position in the file, and the current prompt's own earlier answer is not sent back to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import toolcalls
from .attachments import AttachmentInfo, content_parts, infos
from .config import CALL_OPTION_KEYS, AIConfig, Prompt, model_name_in, output_role, output_text
from .errors import (
    ConfigError,
    MissingReferenceError,
    PromptTuiError,
    did_you_mean,
    no_such_prompt,
)
from .graph import prompt_references, prompt_sources
from .model_settings import OFFLINE_ONLY, STRUCTURAL
from .offline_models import is_offline
from .outputs import call_kind
from .param_sources import ParamInfo, ParamSource
from .request import ResolvedRequest
from .structured import JsonText, data_of, missing_field
from .templates import Reference, default_engine, reads

if TYPE_CHECKING:
    from .templates import CompiledTemplate, TemplateEngine

# Settings that shape the request itself rather than being model parameters.
_STRUCTURAL_KEYS = STRUCTURAL  # settings that shape the request instead of being sent


# A run's own outputs by prompt name: resolution inside a run reads them before the document's.
Outputs = Mapping[str, dict[str, Any]]


def latest_output(prompt: Prompt, outputs: Outputs | None = None) -> dict[str, Any] | None:
    """The prompt's latest output: the run's own when it made one, else the document's."""
    if outputs is not None and prompt.name in outputs:
        return outputs[prompt.name]
    return prompt.latest_output


def effective_model_name(config: AIConfig, prompt: Prompt, model: str | None = None) -> str:
    name = model or config.model_name_of(prompt)
    if not name:
        raise ConfigError(
            f"prompt '{prompt.name}' names no model and the config has no metadata.default_model",
            source=config.source,
            location=f"prompts[{config.index_of(prompt.name)}].metadata.model",
        )
    return name


def merged_settings(
    config: AIConfig,
    prompt: Prompt,
    model: str | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Global settings of the model, updated by the prompt's settings, then by run-time settings.

    When ``model`` overrides the prompt's model, the prompt's own ``model`` id setting belongs to
    the old model and is dropped; its other settings (temperature...) still apply.
    """
    name = effective_model_name(config, prompt, model)
    merged = dict(config.models.get(name, {}))
    own = dict(prompt.model_settings)
    if model and model != config.model_name_of(prompt):
        own.pop("model", None)
    merged.update(own)
    merged.update(settings or {})
    return merged


def _context(
    config: AIConfig,
    prompt: Prompt,
    params: dict[str, Any],
    refs: tuple[Reference, ...] | list[Reference],
    outputs: Outputs | None = None,
    fields_of: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Lowest to highest: other prompts' {input, output}, global, prompt, run-time parameters.

    Only the prompts the template reads are looked up, so resolving stays linear in file size.
    ``fields_of``: prompts whose answer the template reads field by field (``{{p.output.city}}``):
    their output is a :class:`JsonText` (the same text, with fields).
    """
    names = config.prompt_name_set
    context: dict[str, Any] = {}
    for ref in refs:
        if ref.root in names and ref.root != prompt.name and ref.root not in context:
            other = config.prompt(ref.root)
            output = latest_output(other, outputs)
            text: Any = output_text(output)
            if ref.root in fields_of and text is not None:
                is_data, value = data_of(output)
                if is_data:
                    text = JsonText(text, value)
            context[ref.root] = {"input": other.template, "output": text}
    context.update(config.global_parameters)
    context.update(prompt.parameters)
    context.update(params)
    return context


def _missing(
    refs: tuple[Reference, ...] | list[Reference],
    context: dict[str, Any],
    prompt_names: frozenset[str],
    guarded: frozenset[Reference] = frozenset(),
) -> dict[str, tuple[str, str | None]]:
    """Missing references -> (why, for the error message; the prompt whose output or input it
    is, or None for a parameter). Guarded ones (``x is defined``, ``x | default(...)``) are
    optional by the template's own say-so."""
    missing: dict[str, tuple[str, str | None]] = {}
    for ref in refs:
        if ref in guarded:
            continue
        value = context.get(ref.root)
        if ref.root not in context and ref.attr in ("output", "input"):
            # a prompt's output read by a name that is no prompt: most likely a typo
            reason = no_such_prompt(ref.root, prompt_names)
            missing.setdefault(ref.text or f"{ref.root}.{ref.attr}", (reason, None))
        elif ref.root not in context or value is None:
            # a parameter no one set: most likely a typo of one that has a value ({{cty}})
            hint = did_you_mean(
                ref.root,
                [k for k, v in context.items() if v is not None and k not in prompt_names],
            )
            missing.setdefault(ref.root, (f"no value; {hint}" if hint else "no value", None))
        elif (
            ref.root in prompt_names
            and isinstance(value, dict)
            and ref.attr in ("output", "input")
            and value.get(ref.attr) is None
        ):
            reason = "not run yet" if ref.attr == "output" else "input is not text"
            of = ref.root if ref.attr == "output" else None
            missing.setdefault(ref.text or f"{ref.root}.{ref.attr}", (reason, of))
    return missing


def parameter_table(
    config: AIConfig,
    prompt_name: str,
    runtime_params: dict[str, Any] | None = None,
    engine: TemplateEngine | None = None,
    outputs: Outputs | None = None,
) -> list[ParamInfo]:
    """Every value the prompt reads, with where it comes from (drives the parameter form)."""
    runtime_params = runtime_params or {}
    prompt = config.prompt(prompt_name)
    names = config.prompt_name_set
    guarded: set[Reference] = set()
    for source in prompt_sources(prompt, config):
        if engine is None:  # the form of the first frame: without Jinja2 when it can
            guarded |= reads(source, names, prompt=prompt.name)[1]
        else:
            guarded |= engine.compile(source, names, prompt=prompt.name).guarded
    rows: list[ParamInfo] = []
    for ref in prompt_references(prompt, config, engine):
        if ref.root in runtime_params:
            rows.append(ParamInfo(ref.root, runtime_params[ref.root], ParamSource.RUNTIME))
        elif ref.root in prompt.parameters:
            rows.append(ParamInfo(ref.root, prompt.parameters[ref.root], ParamSource.PROMPT))
        elif ref.root in config.global_parameters:
            rows.append(ParamInfo(ref.root, config.global_parameters[ref.root], ParamSource.GLOBAL))
        elif ref.root in names and ref.root != prompt.name and ref.attr in ("output", "input"):
            other = config.prompt(ref.root)
            if ref.attr == "output":
                value, source = output_text(latest_output(other, outputs)), ParamSource.OUTPUT
            else:
                value, source = other.template, ParamSource.INPUT
            label = f"{ref.root}.{ref.attr}"
            if value is None:
                rows.append(ParamInfo(label, None, ParamSource.MISSING))
            else:
                rows.append(ParamInfo(label, value, source, of=ref.root))
        else:
            optional = ParamSource.OPTIONAL if ref in guarded else ParamSource.MISSING
            # `typo.output`: no parameter to type in, a prompt name to fix (the form says so)
            unknown_prompt = ref.attr in ("output", "input") and ref.root not in names
            label = f"{ref.root}.{ref.attr}" if unknown_prompt else ref.root
            rows.append(ParamInfo(label, None, optional))
    return rows


class _Session:
    """State shared by the resolutions of one call (one prompt, or every prompt of a file).

    An earlier prompt's history message depends only on that prompt and the run-time
    parameters, so it is rendered once per session, not once per later prompt: resolving a long
    chat chain stays linear in the number of renders.
    """

    def __init__(
        self,
        config: AIConfig,
        engine: TemplateEngine,
        params: dict[str, Any],
        outputs: Outputs | None = None,
    ):
        self.config = config
        self.engine = engine
        self.params = params
        self.outputs = outputs
        self.name_set = config.prompt_name_set
        self.missing: dict[str, str] = {}  # of the resolution in progress
        # missing key -> the prompt whose output (or input) it is: a dotted prompt name
        # (gpt3.5-run) cannot be split back out of the key's text
        self.missing_of: dict[str, str] = {}
        self.notes: list[str] = []  # what the request leaves out on purpose, and why
        # (prompt, model id) of the prompt being resolved: its attachments go to that model
        self.model_of: tuple[str, str] | None = None
        self._history: dict[
            str, tuple[list[dict[str, Any]], dict[str, tuple[str, str | None]]]
        ] = {}
        self._by_model: dict[str | None, list[tuple[int, Prompt]]] | None = None
        self._asked = 0  # earlier_same_model calls: the index pays off from the second

    def render(
        self,
        source: str,
        owner: Prompt,
        label: str | None = None,
        into: dict[str, tuple[str, str | None]] | None = None,
    ) -> str:
        compiled = self.engine.compile(source, self.name_set, prompt=owner.name)
        fields_of = frozenset(root for root, keys in compiled.field_paths if keys[0] == "output")
        context = _context(
            self.config, owner, self.params, compiled.references, self.outputs, fields_of
        )
        found = _missing(compiled.references, context, self.name_set, compiled.guarded)
        if fields_of:
            found.update(self._missing_fields(compiled, owner, context, found))
        for name, (why, of) in found.items():
            key = f"{name} (in history prompt '{label}')" if label else name
            if into is not None:
                into.setdefault(key, (why, of))
            else:
                self._note_missing(key, why, of)
        return compiled.render(context, prompt=owner.name, missing_ok=True)

    def _missing_fields(
        self,
        compiled: CompiledTemplate,
        owner: Prompt,
        context: dict[str, Any],
        found: dict[str, tuple[str, str | None]],
    ) -> dict[str, tuple[str, str | None]]:
        """Fields of upstream JSON answers the template reads and the answer lacks: named by
        prompt and path before anything is sent (an extension: the SDK has no such reads)."""
        out: dict[str, tuple[str, str | None]] = {}
        for root, keys in compiled.field_paths:
            if keys[0] != "output" or root == owner.name or root not in self.name_set:
                continue
            if Reference(root, "output", "") in compiled.guarded or any(
                k.startswith(f"{root}.output") or k == root for k in found
            ):
                continue
            value = context.get(root, {}).get("output")
            if value is None:
                continue  # not run yet: said already
            head = root if "." not in root and " " not in root else f"[{root}]"
            if not isinstance(value, JsonText):
                out.setdefault(f"{head}.output.{keys[1]}", ("its answer is not JSON", root))
                continue
            miss = missing_field(object.__getattribute__(value, "_value"), keys[1:])
            if miss is not None:
                index, why = miss
                path = ".".join(keys[: index + 2])
                out.setdefault(f"{head}.{path}", (f"{why} in its JSON answer", root))
        return out

    def history_of(self, earlier: Prompt) -> list[dict[str, Any]]:
        """An earlier prompt as chat history: its input, then its answer when it has one."""
        if earlier.name not in self._history:
            missing: dict[str, tuple[str, str | None]] = {}
            messages = [_message_for(earlier, self, label=earlier.name, into=missing)]
            answer = _answer_messages(earlier.name, latest_output(earlier, self.outputs))
            if isinstance(answer, str):
                missing[answer] = ("note", None)
            else:
                messages += answer
            self._history[earlier.name] = (messages, missing)
        messages, missing = self._history[earlier.name]
        for key, (why, of) in missing.items():
            if why == "note":
                self.notes.append(key)
            else:
                self._note_missing(key, why, of)
        return [dict(m) for m in messages]

    def _note_missing(self, key: str, why: str, of: str | None) -> None:
        self.missing.setdefault(key, why)
        if of is not None:
            self.missing_of.setdefault(key, of)

    def earlier_same_model(self, prompt: Prompt) -> list[Prompt]:
        self._asked += 1
        if self._by_model is None and self._asked == 1:
            # One prompt (a run resolves each in its own session): scan the raw dicts before it
            # instead of indexing the whole file; wrapping every prompt made a 1,000-prompt run
            # quadratic in Prompt objects (bench/run_all_tui.py).
            index = self.config.index_of(prompt.name)
            wanted = self.config.model_name_of(prompt)
            default = self.config.default_model
            raw = self.config.data.get("prompts")
            items = raw[:index] if isinstance(raw, list) else []
            return [
                Prompt(item)
                for item in items
                if isinstance(item, dict) and (model_name_in(item) or default) == wanted
            ]
        if self._by_model is None:
            self._by_model = {}
            for position, other in enumerate(self.config.prompts):
                self._by_model.setdefault(self.config.model_name_of(other), []).append(
                    (position, other)
                )
        index = self.config.index_of(prompt.name)
        candidates = self._by_model.get(self.config.model_name_of(prompt), [])
        return [other for position, other in candidates if position < index]


def _message_for(
    prompt: Prompt,
    session: _Session,
    label: str | None = None,
    into: dict[str, tuple[str, str | None]] | None = None,
) -> dict[str, Any]:
    message_input = prompt.input_message
    if message_input is not None:
        content = message_input.get("content")
        text = session.render(content, prompt, label, into) if isinstance(content, str) else content
        message: dict[str, Any] = {"content": text, "role": message_input.get("role") or "user"}
        for key in ("function_call", "name"):
            if message_input.get(key) is not None:
                message[key] = message_input[key]
        return message
    raw = prompt.input
    attachments = raw.get("attachments") if isinstance(raw, dict) else None
    if prompt.template is None and not attachments:
        raise ConfigError(
            f"prompt '{prompt.name}' has no input to send (neither text nor attachments)",
            source=session.config.source,
            location=f"prompts[{session.config.index_of(prompt.name)}].input",
        )
    text = session.render(prompt.template, prompt, label, into) if prompt.template else ""
    if not attachments:
        return {"content": text, "role": "user"}
    # An input with attachments becomes content parts: its text, then each attachment.
    config = session.config
    base_dir = config.path.parent if config.path is not None else Path.cwd()
    model = str(
        merged_settings(config, prompt).get("model") or effective_model_name(config, prompt)
    )
    if session.model_of is not None and prompt.name == session.model_of[0]:
        model = session.model_of[1]  # the current prompt's run-time model override
    parts, _ = content_parts(
        attachments,
        prompt=prompt.name,
        location=f"prompts[{config.index_of(prompt.name)}].input.attachments",
        base_dir=base_dir,
        model=model,
        source=config.source,
        render=lambda source: session.render(source, prompt, label, into),
        accepts=_model_accepts,
    )
    head = [{"type": "text", "text": text}] if text else []
    return {"content": head + parts, "role": "user"}


def _answer_messages(name: str, output: dict[str, Any] | None) -> list[dict[str, Any]] | str:
    """An earlier prompt's latest answer as chat messages (only role 'assistant'): the tool
    exchange it came from (structured assistant calls and tool results, canonical OpenAI shape),
    then the answer itself.

    A call nobody answered yet is left out, as the AIConfig SDK leaves it out (returned instead:
    a note saying so): providers refuse an assistant tool call that no result follows, and its
    JSON text would read as something the model said.
    """
    if output_role(output) != "assistant":
        return []
    kind = call_kind(output)
    if kind is not None:
        answered = toolcalls.answer_messages(output)
        if answered is None:
            return (
                f"prompt '{name}': its answer is a {kind}, left out of the chat history"
                " until it is answered (T in the app, run --tool-result in the CLI)"
            )
        return toolcalls.continuation(output)
    text = output_text(output)
    message: dict[str, Any] = {"content": text, "role": "assistant"}
    meta = output.get("metadata") if output else None
    if isinstance(meta, dict) and meta.get("name"):
        message["name"] = meta["name"]
    return toolcalls.continuation(output) + [message]


def resolve(
    config: AIConfig,
    prompt_name: str,
    *,
    params: dict[str, Any] | None = None,
    model: str | None = None,
    settings: dict[str, Any] | None = None,
    allow_missing: bool = False,
    engine: TemplateEngine | None = None,
    outputs: Outputs | None = None,
    _session: _Session | None = None,
) -> ResolvedRequest:
    """The request ``prompt_name`` would send, with run-time parameters, model and settings.

    ``outputs`` are a run's own results, read before the document's outputs.
    """
    prompt = config.prompt(prompt_name)
    session = _session or _Session(config, engine or default_engine(), dict(params or {}), outputs)
    session.missing = {}
    session.missing_of = {}
    session.notes = []
    model_name = effective_model_name(config, prompt, model)
    merged = merged_settings(config, prompt, model, settings)

    messages: list[dict[str, Any]] = []
    preset = merged.get("messages")
    if isinstance(preset, list) and preset:
        # The SDK's other path: messages saved in the settings are resolved and no history is added.
        for item in preset:
            message = dict(item)
            if isinstance(message.get("content"), str):
                message["content"] = session.render(message["content"], prompt)
            messages.append(message)
    else:
        system = merged.get("system_prompt")
        if isinstance(system, dict):
            system = system.get("content")
        if isinstance(system, str):
            messages.append({"content": session.render(system, prompt), "role": "system"})
        if prompt.remember_chat_context:
            for earlier in session.earlier_same_model(prompt):
                if earlier.template is None and earlier.input_message is None:
                    continue
                messages += session.history_of(earlier)
    session.model_of = (prompt.name, str(merged.get("model") or model_name))
    try:
        messages.append(_message_for(prompt, session))
    finally:
        session.model_of = None
    # A conversation in progress: the tool calls this prompt made and the results it was given.
    messages += toolcalls.continuation(latest_output(prompt, session.outputs))

    if session.missing and not allow_missing:
        raise MissingReferenceError(prompt.name, list(session.missing), reasons=session.missing)

    model_id = str(merged.get("model") or model_name)
    call_options = {k: merged[k] for k in CALL_OPTION_KEYS if k in merged}
    sent = {
        k: v for k, v in merged.items() if k not in _STRUCTURAL_KEYS and k not in CALL_OPTION_KEYS
    }
    if not _is_offline(model_id):
        for key in sorted(OFFLINE_ONLY & sent.keys()):
            del sent[key]
            session.notes.append(
                f"{key}: a setting of the offline models (echo, mock), not sent to {model_id}"
            )
    return ResolvedRequest(
        prompt=prompt.name,
        model_name=model_name,
        model=model_id,
        messages=messages,
        settings=sent,
        call_options=call_options,
        missing_why=dict(session.missing),
        missing_of=dict(session.missing_of),
        notes=list(dict.fromkeys(session.notes)),
    )


def attachment_infos(
    config: AIConfig, prompt_name: str, params: dict[str, Any] | None = None
) -> list[AttachmentInfo]:
    """The prompt's attachments (name, type, size, or what is wrong), for the form and Info."""
    prompt = config.prompt(prompt_name)
    raw = prompt.input
    attachments = raw.get("attachments") if isinstance(raw, dict) else None
    if not attachments:
        return []
    session = _Session(config, default_engine(), dict(params or {}), None)
    base_dir = config.path.parent if config.path is not None else Path.cwd()
    return infos(
        attachments, base_dir=base_dir, render=lambda source: session.render(source, prompt)
    )


# The resolution context :func:`batch` makes, for callers that keep one (estimates).
ResolveSession = _Session


def batch(
    config: AIConfig, params: dict[str, Any] | None = None, outputs: Outputs | None = None
) -> _Session:
    """One resolution context for many prompts of a document that does not change meanwhile
    (pass it to :func:`resolve` as ``_session``): the same-model index and the chat-history
    messages are built once, not once per prompt, which made resolving every prompt quadratic.
    ``outputs`` (a run's own, read before the document's) may grow between resolutions in
    dependency order: a prompt's chat history is read when a later prompt first needs it."""
    return _Session(config, default_engine(), dict(params or {}), outputs)


def resolve_all(config: AIConfig, **kwargs: Any) -> dict[str, ResolvedRequest | PromptTuiError]:
    """Resolve every prompt; errors are returned in place (used by validate and the bench)."""
    out: dict[str, ResolvedRequest | PromptTuiError] = {}
    session = _Session(
        config,
        kwargs.pop("engine", None) or default_engine(),
        dict(kwargs.pop("params", None) or {}),
        kwargs.pop("outputs", None),
    )
    for prompt in config.prompts:
        try:
            out[prompt.name] = resolve(config, prompt.name, _session=session, **kwargs)
        except PromptTuiError as exc:
            out[prompt.name] = exc
    return out


# The providers package (its clients and error types) loads with the first request, not before
# the first frame: resolving a prompt for the form needs only these two answers from it.
def _model_accepts(model: str, mime: str) -> bool | None:
    from .providers.capabilities import model_accepts

    return model_accepts(model, mime)


def _is_offline(model: str) -> bool:
    return is_offline(model)
