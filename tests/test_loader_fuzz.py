"""Random and mutated input never raises anything but the loader's own error type."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_app.core.config import loads
from tui_app.core.errors import ConfigError

SEED = json.dumps(
    {
        "name": "seed",
        "schema_version": "latest",
        "metadata": {
            "parameters": {"p": "v"},
            "models": {"m": {"temperature": 1}},
            "default_model": "m",
        },
        "prompts": [
            {
                "name": "a",
                "input": "hello {{p}}",
                "metadata": {"model": {"name": "m", "settings": {}}},
            },
            {
                "name": "b",
                "input": {"data": "{{a.output}}"},
                "outputs": [{"output_type": "execute_result", "data": "x", "metadata": {}}],
            },
        ],
    },
    indent=2,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _load_both(text: str) -> None:
    for fmt in ("json", "yaml"):
        try:
            config = loads(text, fmt)
        except ConfigError:
            continue
        # a loaded config must be usable: names, models, templates, outputs, dump
        for prompt in config.prompts:
            _ = (
                prompt.name,
                prompt.template,
                prompt.model_name,
                prompt.parameters,
                prompt.output_text,
            )
        config.duplicate_name_errors()
        config.dumps()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str):
    _load_both(text)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_documents(value):
    _load_both(json.dumps(value))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_valid_document(data):
    text = SEED
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = data.draw(
            st.sampled_from(
                ['"', "{", "}", "[", "]", ",", ":", "1", "null", "\n", "-", "'", "x", "true"]
            )
        )
        if action == "delete":
            text = text[:position] + text[position + 1 :]
        elif action == "insert":
            text = text[:position] + chunk + text[position:]
        else:
            text = text[:position] + chunk + text[position + 1 :]
    _load_both(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_structurally_mutated_document(data):
    doc = json.loads(SEED)
    # replace one node somewhere in the tree with a random value
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(doc, ())
    target = data.draw(st.sampled_from(paths[1:]))
    parent = doc
    for part in target[:-1]:
        parent = parent[part]
    parent[target[-1]] = data.draw(json_values)
    _load_both(json.dumps(doc))
