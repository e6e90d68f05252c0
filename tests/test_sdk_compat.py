"""Our resolve() sends what the AIConfig SDK 1.1.34 sends, minus its documented bugs.

The golden files were recorded from the real SDK by tests/support/make_sdk_golden.py (samples
with outputs written by our runner, and files from the AIConfig project's own tests and demos).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_app.core.config import loads
from tui_app.core.resolve import resolve

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.sdk.json"))
# Settings the SDK's OpenAI parser passes through; ours also passes other keys (e.g. the offline
# models' `delay`), which the SDK drops.
OPENAI_KEYS = {
    "frequency_penalty",
    "functions",
    "function_call",
    "logit_bias",
    "max_tokens",
    "n",
    "presence_penalty",
    "stop",
    "temperature",
    "tools",
    "tool_choice",
    "top_p",
    "user",
}


def _expected_messages(sdk_messages: list[dict], own_output: str | None) -> list[dict]:
    messages = [
        {k: v for k, v in m.items() if not (k == "name" and v is False)} for m in sdk_messages
    ]
    # SDK bug: the prompt's own previous answer is appended after the request's user message.
    if (
        own_output is not None
        and messages
        and messages[-1] == {"content": own_output, "role": "assistant"}
    ):
        messages.pop()
    return messages


@pytest.mark.parametrize("golden_path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_resolve_matches_the_sdk(golden_path: Path):
    golden = json.loads(golden_path.read_text())
    config = loads(json.dumps(golden["document"]))
    assert golden["sdk"], "empty golden file"
    for name, sdk in golden["sdk"].items():
        assert "error" not in sdk, sdk
        ours = resolve(config, name, allow_missing=True)
        prompt = config.prompt(name)
        assert ours.messages == _expected_messages(sdk["messages"], prompt.output_text), name
        assert ours.model == sdk["model"], name
        sdk_settings = {k: v for k, v in sdk.items() if k not in ("model", "messages", "stream")}
        assert {k: v for k, v in ours.settings.items() if k in OPENAI_KEYS} == sdk_settings, name


def test_golden_files_cover_outputs_history_and_system_prompts():
    """The comparison above is only worth something if the files exercise the hard parts."""
    sdk_requests = [req for path in GOLDEN for req in json.loads(path.read_text())["sdk"].values()]
    roles = [m["role"] for req in sdk_requests for m in req["messages"]]
    assert roles.count("system") >= 3 and roles.count("assistant") >= 5
    assert len(GOLDEN) >= 8
