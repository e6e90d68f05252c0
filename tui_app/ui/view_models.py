"""Engine state -> what the widgets draw (form rows, tree dependencies, header text)."""

from __future__ import annotations

from typing import Any

from ..core.errors import PromptTuiError, did_you_mean, no_such_prompt
from ..core.offline_models import OFFLINE_MODELS, is_offline
from ..core.resolve import attachment_infos
from ..core.secrets import scrub_text
from .state import Session
from .values import COMMON_SETTINGS, HIDDEN_SETTINGS
from .widgets.param_form import FormData, ParamRow


def offline_models() -> list[str]:
    return sorted(OFFLINE_MODELS)


def form_data(session: Session, name: str) -> FormData:
    config = session.config
    prompt = config.get(name)
    if prompt is None:
        return FormData(
            prompt=name, model=None, model_source="none", error=f"no prompt named {name}"
        )
    model = config.model_name_of(prompt)
    source = "prompt" if prompt.model_name else ("default" if model else "none")
    data = FormData(prompt=name, model=model, model_source=source)
    global_settings = config.models.get(model or "", {}) if model else {}
    own = prompt.model_settings
    merged = {**global_settings, **own}
    data.offline = is_offline(str(merged.get("model") or model or ""))
    shown = list(COMMON_SETTINGS)
    if str(merged.get("model") or model or "") == "mock":
        shown.append("response")  # what the mock model answers: settable here
    keys = shown + [k for k in merged if k not in shown and k not in HIDDEN_SETTINGS]
    for key in keys:
        where = "prompt" if key in own else "model" if key in global_settings else "default"
        value = merged.get(key)
        if isinstance(value, str):  # a password in an api_base URL is never on the screen
            value = scrub_text(value)
        data.settings.append((key, value, where))
    try:
        params = session.workspace.params
        data.attachments = [a.describe() for a in attachment_infos(config, name, params)]
    except PromptTuiError as exc:
        data.attachments = [str(exc)]
    graph_error = getattr(session.graph, "errors", {}).get(name)
    if graph_error is not None:
        data.error = str(graph_error)
    try:
        rows = session.parameter_rows(name)
    except PromptTuiError as exc:
        data.error = str(exc)
        rows = []
    for row in rows:
        file_value = prompt.parameters.get(row.name, config.global_parameters.get(row.name))
        param = ParamRow(row.name, row.value, row.source, file_value, row.of)
        upstream = row.of or _prompt_of_reference(row.name, config.prompt_name_set)
        if row.value is None and upstream:
            param.empty = empty_output_label(session, upstream)
        elif row.value is None and not param.editable:  # `typo.output`
            param.empty = no_such_prompt(row.name.rsplit(".", 1)[0], config.prompt_names)
        elif row.source == "missing":  # `{{cty}}` where `city` has a value
            known = {**config.global_parameters, **prompt.parameters, **session.params}
            param.meant = did_you_mean(row.name, [k for k, v in known.items() if v is not None])
        data.params.append(param)
    return data


def _prompt_of_reference(reference: str, names: frozenset[str]) -> str | None:
    """``up.output`` -> ``up`` when ``up`` is a prompt (names may hold dots themselves)."""
    owners = [n for n in names if reference.startswith(n + ".")]
    return max(owners, key=len) if owners else None


def empty_output_label(session: Session, upstream: str) -> str:
    """Why an upstream prompt's output has no value yet, in words."""
    from ..core.runs import PromptStatus

    status = session.state(upstream).status
    if status is PromptStatus.FAILED:
        return f"({upstream} failed: fix it and run it again)"
    if status in (PromptStatus.QUEUED, PromptStatus.RUNNING):
        return f"({upstream} is {status.value})"
    if status in (PromptStatus.BLOCKED, PromptStatus.CANCELLED):
        return f"({upstream} was {status.value})"
    return "(not run yet)"


def tree_deps(session: Session, name: str) -> list[tuple[str, bool]]:
    """A prompt's direct dependencies as (name, only chat context); none until the graph (or
    the first frame's preview of it) knows them."""
    if not session.knows_deps(name):
        return []
    reads = session.reads(name)
    out = [(dep, False) for dep in reads]
    out += [(dep, True) for dep in session.deps(name) if dep not in reads]
    return out


def run_state(session: Session) -> str:
    counts = session.counts()
    running, queued = counts.get("running", 0), counts.get("queued", 0)
    if running or queued:
        parts = [f"running {running}"]
        if queued:
            parts.append(f"queued {queued}")
        return "● " + " · ".join(parts) + " "
    shown = []
    for status, mark in (
        ("done", "✓"),
        ("cached", "≡"),
        ("stale", "~"),
        ("failed", "✗"),
        ("blocked", "⊘"),
        ("cancelled", "■"),
    ):
        if counts.get(status):
            shown.append(f"{counts[status]}{mark}")
    return ("idle  " + " ".join(shown) + " ") if shown else "idle "


def request_preview(session: Session, name: str) -> tuple[Any, str | None]:
    """The request a prompt would send now (missing values rendered empty), or an error."""
    from ..core.resolve import resolve

    try:
        return resolve(session.config, name, params=dict(session.params), allow_missing=True), None
    except PromptTuiError as exc:
        return None, str(exc)
    except Exception as exc:  # pragma: no cover - an engine bug shows as text, not a crash
        return None, f"internal error: {type(exc).__name__}: {exc}"
