"""Staleness, in one place: is a prompt's output still what its request would produce now, and if
not, why (which template, parameter, setting, model or upstream output changed).

A :class:`Provenance` is the set of inputs a request was built from. The workspace keeps the
provenance of every output it knows (made by a run this session, found in the history, or taken
as the baseline when the file was opened) and compares it with the provenance of the request the
prompt would send now. A prompt whose upstream is stale is stale too (re-running the upstream
will change its request).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .changes import Change, ChangeKind
from .config import AIConfig, output_text
from .errors import PromptTuiError
from .graph import DependencyGraph, prompt_sources
from .request import ResolvedRequest
from .resolve import Outputs, ParamSource, latest_output, parameter_table, resolve
from .secrets import is_secret_setting, scrub_text


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """What one prompt's request is made of. Values are short JSON texts (for reasons), upstream
    outputs and inputs are digests (they can be long)."""

    cache_key: str
    model: str
    settings: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)  # label -> digest
    params: dict[str, str] = field(default_factory=dict)
    upstream_outputs: dict[str, str] = field(default_factory=dict)
    upstream_inputs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance | None:
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError:
            return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def provenance(
    config: AIConfig,
    name: str,
    graph: DependencyGraph,
    *,
    params: dict[str, Any] | None = None,
    model: str | None = None,
    settings: dict[str, Any] | None = None,
    outputs: Outputs | None = None,
    request: ResolvedRequest | None = None,
    batch: Any = None,
) -> Provenance:
    """The provenance of the request ``name`` would send (raises PromptTuiError when it cannot
    be built at all, e.g. a template syntax error). ``request``: that request, when known;
    ``batch``: a :func:`.resolve.batch` shared by the prompts of one pass over the document."""
    if request is None:
        request = resolve(
            config,
            name,
            params=params,
            model=model,
            settings=settings,
            outputs=outputs,
            allow_missing=True,
            _session=batch,
        )
    prompt = config.prompt(name)
    # provenance is stored in the history: a secret-looking setting is kept as a digest only,
    # a password in a URL masked
    sent = {
        k: _digest(v) if is_secret_setting(k, v) else _text(v) for k, v in request.settings.items()
    }
    if request.call_options.get("api_base"):
        sent["api_base"] = scrub_text(_text(request.call_options["api_base"]))
    templates = {"template": _digest(prompt_sources(prompt, config))}
    values: dict[str, str] = {}
    for row in parameter_table(config, name, params, outputs=outputs):
        if row.source in (ParamSource.OUTPUT, ParamSource.INPUT):
            continue
        values[row.name] = "" if row.value is None else _text(row.value)
    up_out: dict[str, str] = {}
    up_in: dict[str, str] = {}
    for dep in graph.deps.get(name, ()):
        other = config.get(dep)
        if other is None:
            continue
        up_out[dep] = _digest(output_text(latest_output(other, outputs)))
        if dep in graph.context.get(name, ()):
            up_in[dep] = _digest(prompt_sources(other, config))
    return Provenance(
        cache_key=request.cache_key,
        model=request.model,
        settings=sent,
        templates=templates,
        params=values,
        upstream_outputs=up_out,
        upstream_inputs=up_in,
    )


def same_upstream_outputs(
    produced: Provenance, config: AIConfig, name: str, graph: DependencyGraph
) -> bool:
    """The outputs ``name`` reads (and gets as chat context) are the ones ``produced`` was made
    with: the upstream part of :func:`provenance`, without resolving the prompt."""
    now: dict[str, str] = {}
    for dep in graph.deps.get(name, ()):
        other = config.get(dep)
        if other is not None:
            now[dep] = _digest(output_text(latest_output(other, None)))
    return now == produced.upstream_outputs


METADATA = "\0metadata"  # the document's metadata in an inputs_digest memo (no prompt's name)


def inputs_digest(config: AIConfig, name: str, graph: DependencyGraph, memo: dict[str, str]) -> str:
    """A digest of all a request of ``name`` reads from the document but outputs, however the
    document was changed: its metadata (models, default model, global parameters), the prompt's
    entry and the entries of the prompts it depends on (their inputs are chat context). ``memo``
    keeps each entry's digest for one pass over the document."""

    def entry(key: str) -> str:
        found = memo.get(key)
        if found is None:
            value: Any
            if key == METADATA:
                value = config.data.get("metadata")
            else:
                prompt = config.get(key)
                raw = prompt.raw if prompt is not None else {}
                value = {k: v for k, v in raw.items() if k != "outputs"}
            found = memo[key] = _digest(value)
        return found

    return " ".join([entry(METADATA), entry(name), *(entry(d) for d in graph.deps.get(name, ()))])


def reasons(produced: Provenance, now: Provenance) -> list[Change]:
    """Why ``now`` differs from the provenance that produced an output ([] when it does not)."""
    if produced.cache_key == now.cache_key:
        return []
    out: list[Change] = []
    if produced.model != now.model:
        out.append(Change(ChangeKind.MODEL, "", produced.model, now.model))
    for key in sorted(set(produced.settings) | set(now.settings)):
        before, after = produced.settings.get(key), now.settings.get(key)
        if before != after:
            out.append(Change(ChangeKind.SETTING, key, before, after))
    for label in sorted(set(produced.templates) | set(now.templates)):
        if produced.templates.get(label) != now.templates.get(label):
            out.append(Change(ChangeKind.TEMPLATE, label))
    for key in sorted(set(produced.params) | set(now.params)):
        before, after = produced.params.get(key), now.params.get(key)
        if before != after:
            out.append(Change(ChangeKind.PARAMETER, key, before or None, after or None))
    for dep, digest in now.upstream_outputs.items():
        if produced.upstream_outputs.get(dep, digest) != digest:
            out.append(Change(ChangeKind.UPSTREAM_OUTPUT, dep))
    for dep, digest in now.upstream_inputs.items():
        if produced.upstream_inputs.get(dep, digest) != digest:
            out.append(Change(ChangeKind.UPSTREAM_INPUT, dep))
    return out or [Change(ChangeKind.REQUEST)]


def safe_provenance(
    config: AIConfig, name: str, graph: DependencyGraph, **kwargs: Any
) -> Provenance | Change:
    try:
        return provenance(config, name, graph, **kwargs)
    except PromptTuiError as exc:
        return Change(ChangeKind.UNRESOLVABLE, str(exc))
