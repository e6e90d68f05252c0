"""The AIConfig document model.

The parsed document (plain dicts and lists, in file order) is the single source of truth: the
classes here are thin views over it, so unknown keys and key order survive a load/save round trip
without any bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import fileio, limits
from .errors import ConfigError, ConfigErrors, UnknownPromptError
from .fileio import atomic_write, dump_text, format_of, locate, parse_text
from .model_settings import CALL_OPTIONS
from .schema import check_document, format_path

# Keys of a model's settings that configure the call rather than being sent to the model.
CALL_OPTION_KEYS = CALL_OPTIONS


def model_name_in(raw: dict[str, Any]) -> str | None:
    """The model a prompt's raw dict names itself (None: the config's default). A function of the
    dict, so that a scan of many prompts need not wrap each one in a :class:`Prompt`."""
    meta = raw.get("metadata")
    model = meta.get("model") if isinstance(meta, dict) else None
    if isinstance(model, str):
        return model
    if isinstance(model, dict):
        name: str | None = model.get("name")
        return name
    return None


class Prompt:
    """A view over one entry of ``prompts``. Mutations write straight into the document."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"Prompt({self.name!r})"

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def input(self) -> Any:
        return self.raw.get("input")

    @property
    def template(self) -> str | None:
        """The text template of the input, or None when the input is not text (an image...)."""
        value = self.input
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            if isinstance(value.get("data"), str):
                return value["data"]
            if "data" not in value and isinstance(value.get("content"), str):
                return value["content"]
        return None

    def set_template(self, text: str) -> None:
        """Replace the template text, keeping the input's shape (string, {data}, message)."""
        value = self.input
        if isinstance(value, dict):
            if "data" in value or "content" not in value:
                value["data"] = text
            else:
                value["content"] = text
        else:
            self.raw["input"] = text

    @property
    def input_message(self) -> dict[str, Any] | None:
        """The input when it is a message object ({role, content, ...}), else None."""
        value = self.input
        if (
            isinstance(value, dict)
            and "data" not in value
            and ("role" in value or "content" in value)
        ):
            return value
        return None

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.raw.get("metadata")
        return meta if isinstance(meta, dict) else {}

    def _metadata_for_write(self) -> dict[str, Any]:
        meta = self.raw.get("metadata")
        if not isinstance(meta, dict):
            meta = self.raw["metadata"] = {}
        return meta

    @property
    def model_name(self) -> str | None:
        """The model named by the prompt itself (None: it uses the config's default)."""
        return model_name_in(self.raw)

    @property
    def model_settings(self) -> dict[str, Any]:
        """The prompt's own settings for its model (``metadata.model.settings``)."""
        model = self.metadata.get("model")
        if isinstance(model, dict) and isinstance(model.get("settings"), dict):
            return model["settings"]
        return {}

    def set_model(self, name: str, settings: dict[str, Any] | None = None) -> None:
        """Point the prompt at ``name``; its own settings are kept unless ``settings`` is given."""
        meta = self._metadata_for_write()
        current = meta.get("model")
        keep = (
            settings
            if settings is not None
            else (current.get("settings") if isinstance(current, dict) else None)
        )
        if keep:
            if isinstance(current, dict):
                current["name"] = name
                current["settings"] = keep
            else:
                meta["model"] = {"name": name, "settings": keep}
        elif isinstance(current, dict):
            current["name"] = name
        else:
            meta["model"] = name

    @property
    def parameters(self) -> dict[str, Any]:
        params = self.metadata.get("parameters")
        return params if isinstance(params, dict) else {}

    def set_parameter(self, name: str, value: Any) -> None:
        meta = self._metadata_for_write()
        if not isinstance(meta.get("parameters"), dict):
            meta["parameters"] = {}
        meta["parameters"][name] = value

    @property
    def remember_chat_context(self) -> bool:
        return self.metadata.get("remember_chat_context", True) is not False

    @property
    def tags(self) -> list[str]:
        tags = self.metadata.get("tags")
        return list(tags) if isinstance(tags, list) else []

    @property
    def outputs(self) -> list[dict[str, Any]]:
        outputs = self.raw.get("outputs")
        return outputs if isinstance(outputs, list) else []

    @property
    def latest_output(self) -> dict[str, Any] | None:
        outputs = self.outputs
        return outputs[-1] if outputs else None

    def set_outputs(self, outputs: list[dict[str, Any]]) -> None:
        self.raw["outputs"] = outputs

    @property
    def output_text(self) -> str | None:
        """Text of the latest output, as ``{{name.output}}`` sees it; None when there is none."""
        return output_text(self.latest_output)


def output_text(output: dict[str, Any] | None) -> str | None:
    """The text of an output the way the AIConfig SDK's OpenAI parser reads it.

    execute_result data may be a string, ``{kind, value}`` (string value, or tool calls which are
    shown as JSON) or an old-style message dict. Errors have no text.
    """
    if not output or output.get("output_type") != "execute_result":
        return None
    data = output.get("data")
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        if "value" in data:
            value = data["value"]
            return value if isinstance(value, str) else json.dumps(value)
        if "content" in data:
            content = data["content"]
            return content if isinstance(content, str) else json.dumps(content)
    if data is None:
        return None
    return json.dumps(data)


def output_role(output: dict[str, Any] | None) -> str | None:
    """The role an output was produced with (``metadata.role`` or ``metadata.raw_response.role``)."""
    if not output or output.get("output_type") != "execute_result":
        return None
    meta = output.get("metadata")
    if isinstance(meta, dict):
        if meta.get("role"):
            return str(meta["role"])
        raw = meta.get("raw_response")
        if isinstance(raw, dict) and raw.get("role"):
            return str(raw["role"])
    data = output.get("data")
    if isinstance(data, dict) and isinstance(data.get("role"), str):
        return data["role"]  # old format: the ChatCompletionMessage itself
    return None


class AIConfig:
    """A loaded AIConfig document."""

    def __init__(
        self,
        data: dict[str, Any],
        *,
        path: Path | None = None,
        fmt: str = "json",
        disk_digest: str | None = None,
        source_text: str | None = None,
    ) -> None:
        self.data = data
        # The text as loaded: used only to point errors at file positions.
        self.source_text = source_text
        self._index_stamp: tuple[int, ...] | None = None
        self._index: dict[str, int] = {}
        self._names: tuple[str, ...] = ()
        self._duplicates: set[str] = set()
        self._name_set: frozenset[str] = frozenset()
        self.path = path
        self.format = fmt
        # sha256 of the bytes last read from / written to disk: lets a save notice that someone
        # else changed the file in the meantime.
        self.disk_digest = disk_digest
        # The file started with a UTF-8 byte order mark: saves keep it.
        self.bom = False
        # Found while loading, not fatal (a key written twice: the last one is used).
        self.warnings: list[ConfigError] = []

    # --- top level --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def description(self) -> str:
        return str(self.data.get("description") or "")

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "<config>"

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        if not isinstance(meta, dict):
            meta = self.data["metadata"] = {}
        return meta

    @property
    def global_parameters(self) -> dict[str, Any]:
        params = self.metadata.get("parameters")
        return params if isinstance(params, dict) else {}

    def set_global_parameter(self, name: str, value: Any) -> None:
        if not isinstance(self.metadata.get("parameters"), dict):
            self.metadata["parameters"] = {}
        self.metadata["parameters"][name] = value

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        models = self.metadata.get("models")
        return models if isinstance(models, dict) else {}

    @property
    def default_model(self) -> str | None:
        value = self.metadata.get("default_model")
        return value if isinstance(value, str) and value else None

    # --- prompts ----------------------------------------------------------------------------
    @property
    def prompts(self) -> list[Prompt]:
        raw = self.data.get("prompts")
        return [Prompt(p) for p in raw] if isinstance(raw, list) else []

    def __iter__(self) -> Iterator[Prompt]:
        return iter(self.prompts)

    def _refresh_index(self) -> list[dict[str, Any]]:
        """Name -> position, rebuilt only when the prompt list or a name changed.

        Resolving every prompt of a 5,000-prompt file looks names up millions of times; a scan
        per lookup would make that quadratic.
        """
        raw = self.data.get("prompts")
        items = raw if isinstance(raw, list) else []
        # Prompts are added and deleted through this class, which calls invalidate();
        # the stamp also catches a replaced or resized list.
        stamp = (id(raw), len(items))
        if stamp != self._index_stamp:
            names = tuple(str(p.get("name")) for p in items)
            index: dict[str, int] = {}
            duplicates: set[str] = set()
            for position, name in enumerate(names):
                if name in index:
                    duplicates.add(name)
                else:
                    index[name] = position
            self._index, self._names, self._duplicates = index, names, duplicates
            self._name_set = frozenset(index)
            self._index_stamp = stamp
        return items

    def invalidate(self) -> None:
        """Forget the name index (after changing prompt names in ``data`` directly)."""
        self._index_stamp = None

    @property
    def prompt_names(self) -> list[str]:
        self._refresh_index()
        return list(self._names)

    @property
    def prompt_name_set(self) -> frozenset[str]:
        """The same object until prompts change (its hash is cached: cheap as a cache key)."""
        self._refresh_index()
        return self._name_set

    def get(self, name: str) -> Prompt | None:
        items = self._refresh_index()
        position = self._index.get(name)
        return Prompt(items[position]) if position is not None else None

    def prompt(self, name: str) -> Prompt:
        """The prompt called ``name``; an ambiguous (duplicated) name is refused."""
        found = self.get(name)
        if found is None:
            raise UnknownPromptError(name, self.prompt_names)
        if name in self._duplicates:
            for error in self.duplicate_name_errors():
                if error.message.startswith(f"duplicate prompt name '{name}'"):
                    raise error
        return found

    def duplicate_name_errors(self) -> list[ConfigError]:
        """One error per prompt whose name an earlier prompt already uses.

        Not a load error: the AIConfig SDK loads such files (one is in its own demos), and the
        user needs the file open to fix it. Validation, resolving and running refuse them.
        """
        text = self.source_text if self.source_text is not None else self.dumps()
        return _duplicate_names(text, self.format, self.source, self.data)

    def index_of(self, name: str) -> int:
        self._refresh_index()
        if name not in self._index:
            raise UnknownPromptError(name, self.prompt_names)
        return self._index[name]

    def model_name_of(self, prompt: Prompt) -> str | None:
        """The prompt's model name, falling back to ``metadata.default_model``."""
        return prompt.model_name or self.default_model

    def add_prompt(
        self, name: str, template: str = "", *, model: str | None = None, after: str | None = None
    ) -> Prompt:
        if not name.strip():
            raise ConfigError("a prompt name cannot be empty", source=self.source)
        if self.get(name) is not None:
            raise ConfigError(f"a prompt named '{name}' already exists", source=self.source)
        raw: dict[str, Any] = {"name": name, "input": template, "metadata": {}}
        if model:
            raw["metadata"]["model"] = model
        raw["metadata"]["parameters"] = {}
        prompts = self.data.setdefault("prompts", [])
        position = self.index_of(after) + 1 if after else len(prompts)
        prompts.insert(position, raw)
        self.invalidate()
        return Prompt(raw)

    def delete_prompt(self, name: str) -> None:
        del self.data["prompts"][self.index_of(name)]
        self.invalidate()

    # --- persistence ------------------------------------------------------------------------
    def dumps(self, fmt: str | None = None) -> str:
        """The text a save would write: the loaded text with only the changed values rewritten
        (comments, quoting, indentation... of everything else kept), or a fresh rendering for a
        document that has no text yet or is saved in another format."""
        fmt = fmt or self.format
        if self.source_text is None or fmt != self.format:
            return dump_text(self.data, fmt)
        from .roundtrip import update_text  # saving edits text in place: not on the load path

        return update_text(self.source_text, self.data, fmt)

    def changed_on_disk(self) -> bool:
        """True when the file's bytes differ from what was last loaded or saved here."""
        if self.path is None or self.disk_digest is None:
            return False
        try:
            return _digest(fileio.read_bytes(self.path)) != self.disk_digest
        except OSError:  # gone, or replaced by something that is not a file
            return True

    def save(self, path: Path | None = None) -> Path:
        """Write the document atomically (to ``path``, or where it was loaded from).

        Only the values that changed since the load (or the last save) are rewritten; a save of
        an unchanged document leaves the file byte-identical. A symlink is written through.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ConfigError("this config has no file yet: give a path to save it to")
        fmt = format_of(target) if path is not None else self.format
        text = self.dumps(fmt)
        # what is written must open again: the load limits, checked before the file is touched
        limits.check_savable(self.data, text, str(target))
        atomic_write(target, (BOM if self.bom else "") + text)
        if path is None or target == self.path:
            self.disk_digest = _digest(((BOM if self.bom else "") + text).encode("utf-8"))
            self.source_text = text
        return target


BOM = "\ufeff"


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def load(path: str | Path) -> AIConfig:
    """Load and validate an AIConfig file (.json, .yaml, .yml)."""
    path = Path(path)
    fmt = format_of(path)
    try:
        raw = fileio.read_bytes(path)
    except fileio.FileTooLarge as exc:
        raise limits.file_too_large(exc.size, str(path)) from None
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError("not UTF-8 text", source=str(path), line=line) from None
    config = loads(text, fmt, source=str(path))
    config.path = path
    config.disk_digest = _digest(raw)
    config.bom = raw.startswith(b"\xef\xbb\xbf")
    return config


def loads(text: str, fmt: str = "json", *, source: str = "<config>") -> AIConfig:
    """Parse and validate AIConfig text. Raises ConfigError (or ConfigErrors for several)."""
    if fmt not in ("json", "yaml"):
        raise ConfigError(f"unknown format '{fmt}' (json or yaml)", source=source)
    warnings: list[ConfigError] = []
    data = parse_text(text, fmt, source, warnings)
    problems = check_document(data)
    errors = [_located(text, fmt, source, path, message) for path, message in problems]
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    config = AIConfig(data, fmt=fmt, source_text=text)
    config.warnings = warnings
    return config


def _located(
    text: str, fmt: str, source: str, path: tuple[str | int, ...], message: str
) -> ConfigError:
    position = locate(text, fmt, path)
    line, col = position if position else (None, None)
    return ConfigError(message, source=source, line=line, col=col, location=format_path(path))


def _duplicate_names(text: str, fmt: str, source: str, data: dict[str, Any]) -> list[ConfigError]:
    first_seen: dict[str, int] = {}
    errors = []
    for index, prompt in enumerate(data.get("prompts") or []):
        name = prompt.get("name")
        if name in first_seen:
            earlier = first_seen[name]
            where = locate(text, fmt, ("prompts", earlier, "name"))
            earlier_at = f"prompts[{earlier}]" + (f" (line {where[0]})" if where else "")
            errors.append(
                _located(
                    text,
                    fmt,
                    source,
                    ("prompts", index, "name"),
                    f"duplicate prompt name '{name}': also used by {earlier_at}",
                )
            )
        else:
            first_seen[name] = index
    return errors
