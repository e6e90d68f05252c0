"""Live reload: what changed between two versions of a document, and what a reload did.

:func:`diff` compares the document in memory with a new version read from disk and names each
change (prompts added or removed, a template, a model, a setting, a parameter, outputs...).
:class:`ReloadResult` is what ``Workspace.reload`` returns: applied (with the changes and what is
now stale, and why), unchanged, invalid (the last good state is kept; the error has
file:line:col), missing, or a conflict with edits the app has not saved.
What a reload does to runs in flight is the workspace's policy (``Workspace.rerun``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .changes import Change, ChangeKind
from .config import AIConfig, Prompt, loads
from .errors import ConfigError, PromptTuiError
from .fileio import read_bytes
from .secrets import is_secret_setting
from .watch import digest_of


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _shown(key: str, value: Any) -> str | None:
    """A value for people: secrets (an api_key in a model's settings) never shown."""
    if value is not None and is_secret_setting(key, value):
        return "•••"
    return _text(value)


def _dict_changes(
    before: dict[str, Any],
    after: dict[str, Any],
    kind: ChangeKind,
    prompt: str | None,
    prefix: str = "",
) -> list[Change]:
    out = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        if old != new:
            out.append(
                Change(
                    kind,
                    prefix + str(key),
                    _shown(key, old),
                    _shown(key, new),
                    prompt=prompt,
                    file_wide=prompt is None,
                )
            )
    return out


def _effective(
    changes: list[Change],
    old_globals: dict[str, Any],
    new_globals: dict[str, Any],
    old_model: str | None,
    new_model: str | None,
) -> list[Change]:
    """A prompt's own setting that is added or removed: the other side is the value its model
    gives (``temperature changed (0.8 → 0.3 from echo)``), not "unset" when one applies."""
    out = []
    for change in changes:
        before, after = change.before, change.after
        if before is None and change.name in old_globals:
            before = f"{_shown(change.name, old_globals[change.name])} from {old_model}"
        if after is None and change.name in new_globals:
            after = f"{_shown(change.name, new_globals[change.name])} from {new_model}"
        out.append(
            Change(
                change.kind,
                change.name,
                before,
                after,
                prompt=change.prompt,
                file_wide=change.file_wide,
            )
        )
    return out


def _prompt_changes(
    old: Prompt, new: Prompt, old_doc: AIConfig, new_doc: AIConfig, outputs: bool = True
) -> list[Change]:
    name = new.name
    out: list[Change] = []
    if old.input != new.input:
        out.append(Change(ChangeKind.TEMPLATE, prompt=name))
    old_model, new_model = old_doc.model_name_of(old), new_doc.model_name_of(new)
    if old_model != new_model:
        out.append(Change(ChangeKind.MODEL, before=old_model, after=new_model, prompt=name))
    out += _effective(
        _dict_changes(old.model_settings, new.model_settings, ChangeKind.SETTING, name),
        old_doc.models.get(old_model or "") or {},
        new_doc.models.get(new_model or "") or {},
        old_model,
        new_model,
    )
    out += _dict_changes(old.parameters, new.parameters, ChangeKind.PARAMETER, name)
    if old.remember_chat_context != new.remember_chat_context:
        out.append(
            Change(
                ChangeKind.CHAT_CONTEXT,
                prompt=name,
                before=str(old.remember_chat_context).lower(),
                after=str(new.remember_chat_context).lower(),
            )
        )
    if outputs and old.outputs != new.outputs:
        out.append(Change(ChangeKind.OUTPUT, prompt=name))
    known = {"name", "input", "metadata", "outputs"}
    meta_known = {"model", "parameters", "remember_chat_context"}
    extra_old = {k: v for k, v in old.raw.items() if k not in known}
    extra_new = {k: v for k, v in new.raw.items() if k not in known}
    extra_old.update({f"metadata.{k}": v for k, v in old.metadata.items() if k not in meta_known})
    extra_new.update({f"metadata.{k}": v for k, v in new.metadata.items() if k not in meta_known})
    out += _dict_changes(extra_old, extra_new, ChangeKind.OTHER, name)
    return out


def diff(old: AIConfig, new: AIConfig, *, session_outputs: Iterable[str] = ()) -> list[Change]:
    """Every difference between ``old`` and ``new`` that a person would care about, file-wide
    first, then prompt by prompt in the new file's order. ``session_outputs``: prompts whose
    output in ``old`` is a run's, not the file's (not a change of the file)."""
    ours = set(session_outputs)
    out: list[Change] = []
    if old.default_model != new.default_model:
        out.append(
            Change(ChangeKind.DEFAULT_MODEL, before=old.default_model, after=new.default_model)
        )
    out += _dict_changes(old.global_parameters, new.global_parameters, ChangeKind.PARAMETER, None)
    for model in sorted(set(old.models) | set(new.models)):
        before, after = old.models.get(model) or {}, new.models.get(model) or {}
        if isinstance(before, dict) and isinstance(after, dict):
            out += _dict_changes(before, after, ChangeKind.SETTING, None, prefix=f"{model}.")
    top_known = {"prompts", "metadata"}
    meta_known = {"parameters", "models", "default_model"}
    extra_old = {k: v for k, v in old.data.items() if k not in top_known}
    extra_new = {k: v for k, v in new.data.items() if k not in top_known}
    extra_old.update({f"metadata.{k}": v for k, v in old.metadata.items() if k not in meta_known})
    extra_new.update({f"metadata.{k}": v for k, v in new.metadata.items() if k not in meta_known})
    out += [
        Change(ChangeKind.OTHER, c.name)
        for c in _dict_changes(extra_old, extra_new, ChangeKind.OTHER, None)
    ]
    old_names, new_names = old.prompt_names, new.prompt_names
    old_set, new_set = set(old_names), set(new_names)
    out += [Change(ChangeKind.PROMPT_REMOVED, prompt=n) for n in old_names if n not in new_set]
    kept_old = [n for n in old_names if n in new_set]
    kept_new = [n for n in new_names if n in old_set]
    if kept_old != kept_new:
        out.append(Change(ChangeKind.ORDER))
    for name in new_names:
        if name not in old_set:
            out.append(Change(ChangeKind.PROMPT_ADDED, prompt=name))
            continue
        was, now = old.get(name), new.get(name)
        if was is not None and now is not None:
            out += _prompt_changes(was, now, old, new, outputs=name not in ours)
    return out


class ReloadOutcome(enum.StrEnum):
    APPLIED = "applied"  # the new version replaced the document (a new revision)
    UNCHANGED = "unchanged"  # the same bytes as the document's (e.g. the app's own save)
    INVALID = "invalid"  # not a valid config: the last good state is kept
    MISSING = "missing"  # the file is gone: the last state is kept
    CONFLICT = "conflict"  # the app has unsaved edits: nothing applied, the user must choose


@dataclass(frozen=True)
class ReloadResult:
    outcome: ReloadOutcome
    source: str
    revision: int
    changes: tuple[Change, ...] = ()
    stale: dict[str, tuple[Change, ...]] = field(default_factory=dict)
    error: PromptTuiError | None = None
    kept_outputs: tuple[str, ...] = ()  # unsaved outputs of this session kept over the file's
    digest: str | None = None

    @property
    def applied(self) -> bool:
        return self.outcome is ReloadOutcome.APPLIED

    @property
    def location(self) -> str | None:
        """file:line:col of an invalid version (as far as known)."""
        if not isinstance(self.error, ConfigError):
            return None
        where = self.error.source or self.source
        if self.error.line is not None:
            where += f":{self.error.line}"
            if self.error.col is not None:
                where += f":{self.error.col}"
        return where

    def summary(self) -> str:
        """One line for people."""
        match self.outcome:
            case ReloadOutcome.INVALID:
                return f"not reloaded, keeping the last good version: {self.error}"
            case ReloadOutcome.MISSING:
                return f"{self.source}: moved away or deleted; keeping the last state"
            case ReloadOutcome.UNCHANGED:
                return "reloaded: no changes"
            case ReloadOutcome.CONFLICT:
                return f"{self.source} changed on disk while this session has unsaved edits"
        if not self.changes:
            return "reloaded: no changes that matter"
        text = "reloaded: " + "; ".join(str(c) for c in self.changes[:4])
        if len(self.changes) > 4:
            text += f" (+{len(self.changes) - 4} more)"
        return text

    def stale_lines(self) -> list[str]:
        return [
            f"{name} is stale: " + "; ".join(str(r) for r in why)
            for name, why in self.stale.items()
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "reload",
            "outcome": self.outcome.value,
            "revision": self.revision,
            "changes": [c.to_json() for c in self.changes],
            "stale": {n: [r.to_json() for r in why] for n, why in self.stale.items()},
            "error": str(self.error) if self.error is not None else None,
            "location": self.location,
            "kept_outputs": list(self.kept_outputs),
        }


class FileMissing(ConfigError):
    """The config file is not there (moved away or deleted)."""


def read_version(current: AIConfig, source: str | bytes | Path | None = None) -> AIConfig:
    """The version of ``current`` found in ``source``: the file's bytes as a watcher read them,
    its text, another path, or (None) the file again. Raises FileMissing, or ConfigError with
    file:line:col for a version that is not a valid config."""
    path = current.path
    where = str(path) if path is not None else current.source
    if source is None or isinstance(source, Path):
        read_from = Path(source) if source is not None else path
        if read_from is None:
            raise ConfigError("this config has no file to reload from", source=where)
        try:
            raw = read_bytes(read_from)
        except FileNotFoundError:
            raise FileMissing("moved away or deleted", source=str(read_from)) from None
        except OSError as exc:  # not a regular file, too large, no permission...
            raise ConfigError(f"cannot read: {exc.strerror}", source=str(read_from)) from None
    else:
        raw = source if isinstance(source, bytes) else source.encode("utf-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError("not UTF-8 text", source=where, line=line) from None
    if not text.strip():
        raise ConfigError("the file is empty", source=where, line=1, col=1)
    new = loads(text, current.format, source=where)
    new.path = path
    new.disk_digest = digest_of(raw)
    return new
