"""Shape checks for the AIConfig schema (what the AIConfig SDK's pydantic models accept).

Each problem is reported as (path, message); :mod:`config` turns them into located errors.
Unknown keys are allowed everywhere, as the SDK allows them.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

_KIND_NAMES = {
    str: "a string",
    bool: "true/false",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def describe(value: Any) -> str:
    """'a number', 'a list', ... for messages like 'expected a string, got a number'."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return _KIND_NAMES.get(type(value), type(value).__name__)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def check_document(doc: Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        return [((), f"expected an AIConfig object at the top level, got {describe(doc)}")]
    _expect(doc, "name", (str,), problems, (), required=True)
    _expect(doc, "description", (str, type(None)), problems, ())
    _check_schema_version(doc, problems)
    metadata = doc.get("metadata")
    if "metadata" not in doc:
        problems.append((("metadata",), "missing required key 'metadata' (an object)"))
    elif not isinstance(metadata, dict):
        problems.append((("metadata",), f"expected an object, got {describe(metadata)}"))
    else:
        _check_config_metadata(metadata, problems)
    prompts = doc.get("prompts", [])
    if not isinstance(prompts, list):
        problems.append((("prompts",), f"expected a list of prompts, got {describe(prompts)}"))
    else:
        for index, prompt in enumerate(prompts):
            _check_prompt(prompt, ("prompts", index), problems)
    return problems


def _expect(
    obj: dict[str, Any],
    key: str,
    kinds: tuple[type, ...],
    problems: list[Problem],
    path: Path,
    *,
    required: bool = False,
) -> None:
    if key not in obj:
        if required:
            wanted = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            problems.append(
                ((*path, key) if path else (key,), f"missing required key '{key}' ({wanted})")
            )
        return
    value = obj[key]
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        wanted = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        problems.append(((*path, key), f"expected {wanted}, got {describe(value)}"))


def _check_schema_version(doc: dict[str, Any], problems: list[Problem]) -> None:
    if "schema_version" not in doc:
        return
    version = doc["schema_version"]
    if version in ("latest", "v1"):
        return
    if isinstance(version, dict):
        for key in ("major", "minor"):
            if not isinstance(version.get(key), int) or isinstance(version.get(key), bool):
                problems.append(
                    (
                        ("schema_version", key),
                        f"expected an integer, got {describe(version.get(key))}",
                    )
                )
        return
    problems.append(
        (
            ("schema_version",),
            f'expected "latest", "v1" or {{major, minor}}, got {describe(version)}',
        )
    )


def _check_config_metadata(metadata: dict[str, Any], problems: list[Problem]) -> None:
    path: Path = ("metadata",)
    _expect(metadata, "parameters", (dict, type(None)), problems, path)
    _expect(metadata, "default_model", (str, type(None)), problems, path)
    _expect(metadata, "model_parsers", (dict, type(None)), problems, path)
    models = metadata.get("models")
    if models is None:
        return
    if not isinstance(models, dict):
        problems.append(
            ((*path, "models"), f"expected an object of model settings, got {describe(models)}")
        )
        return
    for name, settings in models.items():
        if not isinstance(settings, dict):
            problems.append(
                (
                    (*path, "models", name),
                    f"expected an object of settings, got {describe(settings)}",
                )
            )


def _check_prompt(prompt: Any, path: Path, problems: list[Problem]) -> None:
    if not isinstance(prompt, dict):
        problems.append((path, f"expected a prompt object, got {describe(prompt)}"))
        return
    name = prompt.get("name")
    if "name" not in prompt:
        problems.append(((*path, "name"), "missing required key 'name' (a string)"))
    elif not isinstance(name, str):
        problems.append(((*path, "name"), f"expected a string, got {describe(name)}"))
    elif not name.strip():
        problems.append(((*path, "name"), "a prompt name cannot be empty"))
    if "input" not in prompt:
        problems.append(((*path, "input"), "missing required key 'input' (a string or an object)"))
    else:
        _check_input(prompt["input"], (*path, "input"), problems)
    metadata = prompt.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            problems.append(((*path, "metadata"), f"expected an object, got {describe(metadata)}"))
        else:
            _check_prompt_metadata(metadata, (*path, "metadata"), problems)
    outputs = prompt.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, list):
            problems.append(((*path, "outputs"), f"expected a list, got {describe(outputs)}"))
        else:
            for index, output in enumerate(outputs):
                _check_output(output, (*path, "outputs", index), problems)


def _check_input(value: Any, path: Path, problems: list[Problem]) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, dict):
        problems.append(
            (
                path,
                f"expected a string, {{data, attachments}} or a message object, got {describe(value)}",
            )
        )
        return
    attachments = value.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        problems.append(((*path, "attachments"), f"expected a list, got {describe(attachments)}"))
    if "role" in value and not isinstance(value["role"], str):
        problems.append(((*path, "role"), f"expected a string, got {describe(value['role'])}"))


def _check_prompt_metadata(metadata: dict[str, Any], path: Path, problems: list[Problem]) -> None:
    model = metadata.get("model")
    if model is not None and not isinstance(model, str):
        if not isinstance(model, dict):
            problems.append(
                (
                    (*path, "model"),
                    f"expected a model name or {{name, settings}}, got {describe(model)}",
                )
            )
        else:
            _expect(model, "name", (str,), problems, (*path, "model"), required=True)
            _expect(model, "settings", (dict, type(None)), problems, (*path, "model"))
    _expect(metadata, "parameters", (dict, type(None)), problems, path)
    _expect(metadata, "remember_chat_context", (bool,), problems, path)
    tags = metadata.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        problems.append(((*path, "tags"), "expected a list of strings"))


def _check_output(output: Any, path: Path, problems: list[Problem]) -> None:
    if not isinstance(output, dict):
        problems.append((path, f"expected an output object, got {describe(output)}"))
        return
    kind = output.get("output_type")
    if kind == "execute_result":
        if "data" not in output:
            problems.append(((*path, "data"), "missing required key 'data' of an execute_result"))
        _expect(output, "metadata", (dict, type(None)), problems, path)
    elif kind == "error":
        _expect(output, "ename", (str,), problems, path, required=True)
        _expect(output, "evalue", (str,), problems, path, required=True)
        _expect(output, "traceback", (list,), problems, path, required=True)
    else:
        problems.append(
            (
                (*path, "output_type"),
                f'expected "execute_result" or "error", got {output.get("output_type")!r}',
            )
        )
