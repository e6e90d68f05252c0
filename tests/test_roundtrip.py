"""Saves keep the file as the user wrote it: only the values that changed are rewritten."""

from __future__ import annotations

import copy
import difflib
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import COOKBOOK, SAMPLES
from tui_app.core import roundtrip
from tui_app.core.config import AIConfig, load
from tui_app.core.errors import ConfigError
from tui_app.core.outputs import result_output
from tui_app.core.spans import content_end, json_spans, yaml_spans

COOKBOOK_FILES = (
    sorted(p for p in COOKBOOK.glob("*") if p.suffix in (".json", ".yaml", ".yml"))
    if COOKBOOK.is_dir()
    else []
)
SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*") if p.suffix in (".json", ".yaml", ".yml"))
PROMPT_TUI = [sys.executable, "-m", "tui_app.cli"]


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    target.write_bytes(source.read_bytes())
    return target


def _output_lines(text: str) -> set[int]:
    """0-based numbers of the lines that hold a prompt's ``outputs`` entry (key to last line)."""
    fmt = "json" if text.lstrip().startswith("{") else "yaml"
    root = json_spans(text) if fmt == "json" else yaml_spans(text)
    found = root.entry("prompts")
    lines: set[int] = set()
    if found is None:
        return lines
    for prompt in found[1].items:
        entry = prompt.entry("outputs")
        if entry is not None:
            first = text.count("\n", 0, entry[0])
            last = text.count("\n", 0, content_end(entry[1], text))
            lines.update(range(first, last + 1))
    return lines


def assert_only_outputs_changed(before: str, after: str) -> None:
    """Every line the diff touches holds outputs, except a ',' added where JSON needs one."""
    old_lines, new_lines = before.split("\n"), after.split("\n")
    old_out, new_out = _output_lines(before), _output_lines(after)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        for i in range(i1, i2):
            comma_only = any(old_lines[i] + "," == new_lines[j] for j in range(j1, j2))
            assert i in old_out or comma_only, f"changed a non-output line: {old_lines[i]!r}"
        for j in range(j1, j2):
            comma_only = any(old_lines[i] + "," == new_lines[j] for i in range(i1, i2))
            assert j in new_out or comma_only, f"wrote a non-output line: {new_lines[j]!r}"


def _fake_run(path: Path) -> AIConfig:
    """What a run stores: a fresh output on every prompt (multi-line, non-ASCII), then a save."""
    config = load(path)
    for index, prompt in enumerate(config.prompts):
        text = f"answer {index}: café ☕\nsecond line" if index % 2 else f"answer {index}"
        prompt.set_outputs(
            [result_output(text, model="echo", usage=None, finish_reason="stop", cost=None)]
        )
    config.save()
    return config


@pytest.mark.skipif(not COOKBOOK_FILES, reason="../shared/aiconfig-cookbook is absent")
def test_every_cookbook_file_saves_byte_identical_and_a_run_changes_only_outputs(
    tmp_path: Path,
):
    checked = 0
    for source in COOKBOOK_FILES:
        path = _copy(source, tmp_path)
        try:
            config = load(path)
        except ConfigError:
            continue  # the one cookbook file that is not valid JSON
        config.save()
        assert path.read_bytes() == source.read_bytes(), source.name
        config = _fake_run(path)
        after = path.read_text(encoding="utf-8")
        assert_only_outputs_changed(source.read_text(encoding="utf-8"), after)
        assert load(path).data == config.data, source.name
        checked += 1
    assert checked >= 50


@pytest.mark.parametrize("source", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_saves_byte_identical(tmp_path: Path, source: Path):
    path = _copy(source, tmp_path)
    load(path).save()
    assert path.read_bytes() == source.read_bytes()


def _variants(tmp_path: Path) -> list[Path]:
    """The JSON sample as 4-space, as raw non-ASCII and as \\u-escaped files; the YAML sample."""
    data = json.loads((SAMPLES / "travel_chain.aiconfig.json").read_text())
    data["description"] = "Voyage à Porto — itinéraire ☀"
    files = []
    for name, kwargs in (
        ("four.aiconfig.json", {"indent": 4, "ensure_ascii": False}),
        ("escaped.aiconfig.json", {"indent": 2, "ensure_ascii": True}),
        ("tabs.aiconfig.json", {"indent": "\t", "ensure_ascii": False}),
    ):
        path = tmp_path / name
        path.write_text(json.dumps(data, **kwargs), encoding="utf-8")  # no final newline
        files.append(path)
    files.append(_copy(SAMPLES / "support_reply.aiconfig.yaml", tmp_path))
    files.append(_copy(SAMPLES / "travel_chain.aiconfig.json", tmp_path))
    return files


def test_a_real_run_with_save_changes_only_output_lines(tmp_path: Path):
    for path in _variants(tmp_path):
        before = path.read_text(encoding="utf-8")
        done = subprocess.run(
            [*PROMPT_TUI, "run", str(path), "--all", "--save"],
            capture_output=True,
            text=True,
            env={**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home")},
        )
        assert done.returncode == 0, done.stderr
        after = path.read_text(encoding="utf-8")
        assert after != before
        assert_only_outputs_changed(before, after)
        assert after.endswith("\n") == before.endswith("\n"), path.name
        if path.name == "escaped.aiconfig.json":
            assert "\\u00e0" in after and "à" not in after
        elif path.name in ("four.aiconfig.json", "tabs.aiconfig.json"):
            assert "à" in after and "\\u00e0" not in after
        if path.name == "four.aiconfig.json":  # the whole file still reads as 4-space JSON
            assert after == json.dumps(json.loads(after), indent=4, ensure_ascii=False)


YAML_BY_HAND = """\
# Support chain, kept in git.
name: hand written
schema_version: latest

metadata:
  default_model: echo   # offline
  parameters:
    who: 'Ann'
    greeting: "hi"
prompts:
- name: first
  # the opening question
  input: |
    Hello {{who}},
    how are you?

- name: second
  input: >-
    Folded text
    over two lines {{first.output}}
  metadata: {remember_chat_context: false}
  outputs: []
"""


def test_yaml_save_keeps_comments_blocks_quotes_and_blank_lines(tmp_path: Path):
    path = tmp_path / "hand.aiconfig.yaml"
    path.write_text(YAML_BY_HAND)
    config = load(path)
    config.save()
    assert path.read_text() == YAML_BY_HAND
    config.prompt("first").set_outputs(
        [result_output("Fine,\nthanks", model="echo", usage=None, finish_reason=None, cost=None)]
    )
    config.prompt("second").set_outputs(
        [result_output("ok", model="echo", usage=None, finish_reason=None, cost=None)]
    )
    config.set_global_parameter("who", "Bea")
    config.save()
    text = path.read_text()
    assert load(path).data == config.data
    diff = [
        line
        for line in difflib.unified_diff(YAML_BY_HAND.split("\n"), text.split("\n"), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert "-    who: 'Ann'" in diff and "+    who: 'Bea'" in diff  # quoting style kept
    assert "-  outputs: []" in diff
    removed = [line for line in diff if line.startswith("-")]
    assert len(removed) == 2, diff  # only the changed parameter and the empty outputs
    assert "  # the opening question\n  input: |\n    Hello {{who}},\n" in text
    assert "  outputs:\n  - output_type: execute_result\n" in text  # the file's dash style
    assert "    data: |-\n      Fine,\n      thanks\n" in text  # multi-line output as a block
    assert "# Support chain, kept in git." in text and "default_model: echo   # offline" in text


def test_yaml_template_edit_keeps_the_block_scalar(tmp_path: Path):
    path = tmp_path / "hand.aiconfig.yaml"
    path.write_text(YAML_BY_HAND)
    config = load(path)
    config.prompt("first").set_template("Bonjour {{who}},\nça va ?\n")
    config.save()
    text = path.read_text()
    assert "  input: |\n    Bonjour {{who}},\n    ça va ?\n" in text
    assert load(path).prompt("first").template == "Bonjour {{who}},\nça va ?\n"


def test_added_and_deleted_prompts_touch_only_their_lines(tmp_path: Path):
    for source in (SAMPLES / "support_reply.aiconfig.yaml", SAMPLES / "travel_chain.aiconfig.json"):
        path = _copy(source, tmp_path)
        config = load(path)
        first, *_ = config.prompt_names
        config.delete_prompt(config.prompt_names[1])
        config.add_prompt("added", "new {{x}}", after=first)
        config.save()
        again = load(path)
        assert again.data == config.data
        before = source.read_text().split("\n")
        after = path.read_text().split("\n")
        changed = [
            line
            for line in difflib.unified_diff(before, after, lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        assert len(changed) < 40, changed


def test_save_writes_through_a_symlink(tmp_path: Path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = _copy(SAMPLES / "travel_chain.aiconfig.json", real_dir)
    os.chmod(real, 0o640)
    link = tmp_path / "link.aiconfig.json"
    link.symlink_to(real)
    config = load(link)
    config.prompts[0].set_template("through the link")
    config.save()
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert load(real).prompts[0].template == "through the link"
    assert (real.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.aiconfig.json", "real"]
    assert [p.name for p in real_dir.iterdir()] == [real.name]


def test_a_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path: Path):
    path = _copy(SAMPLES / "travel_chain.aiconfig.json", tmp_path)
    # A child process starts a save and is killed while it writes (os.replace never happens).
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "from tui_app.core import fileio\n"
            "os.replace = lambda *a: (print('writing', flush=True), time.sleep(60))\n"
            f"fileio.atomic_write(__import__('pathlib').Path({str(path)!r}), 'x')\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "writing\n"
    child.send_signal(signal.SIGKILL)
    child.wait()
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1
    config = load(path)
    config.prompts[0].set_template("saved")
    config.save()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_an_unchanged_yaml_save_of_an_odd_file_is_byte_identical(tmp_path: Path):
    text = (
        "\ufeff"  # a byte order mark
        'name: "odd"\r\nmetadata: {default_model: echo}\r\nprompts:\r\n  - {name: a, input: "x"}\r\n'
    )
    path = tmp_path / "odd.aiconfig.yaml"
    path.write_bytes(text.encode("utf-8"))
    config = load(path)
    config.save()
    assert path.read_bytes() == text.encode("utf-8")
    config.prompt("a").set_outputs(
        [result_output("y", model="echo", usage=None, finish_reason=None, cost=None)]
    )
    config.save()
    raw = path.read_bytes()
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n" not in raw.replace(b"\r\n", b"")
    )
    assert yaml.safe_load(raw.decode("utf-8-sig"))["prompts"][0]["outputs"][0]["data"] == "y"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another owner")
def test_save_keeps_the_files_owner(tmp_path: Path):
    path = _copy(SAMPLES / "travel_chain.aiconfig.json", tmp_path)
    os.chown(path, 4321, 4322)
    config = load(path)
    config.prompts[0].set_template("owned")
    config.save()
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4322)


def test_flow_collections_stay_flow_and_tab_indented_json_keeps_tabs(tmp_path: Path):
    path = tmp_path / "hand.aiconfig.yaml"
    path.write_text(
        YAML_BY_HAND.replace(
            "metadata: {remember_chat_context: false}",
            "metadata: {remember_chat_context: false, tags: [a]}",
        )
    )
    config = load(path)
    config.prompt("second").metadata["remember_chat_context"] = True
    config.save()
    assert "  metadata: {remember_chat_context: true, tags: [a]}\n" in path.read_text()

    data = json.loads((SAMPLES / "travel_chain.aiconfig.json").read_text())
    tabbed = tmp_path / "tabs.aiconfig.json"
    tabbed.write_text(json.dumps(data, indent="\t") + "\n")
    config = load(tabbed)
    config.prompts[0].set_outputs(
        [result_output("a\nb", model="echo", usage=None, finish_reason=None, cost=None)]
    )
    config.set_global_parameter("new", {"nested": [1, 2]})
    config.save()
    text = tabbed.read_text()
    assert text == json.dumps(json.loads(text), indent="\t") + "\n"


_FUZZ_VALUES: list[Any] = [
    "x",
    "multi\nline\ntext",
    "",
    0,
    1.5,
    True,
    None,
    [],
    {},
    ["a", "b"],
    {"k": "v", "n": [1, {"z": "é ☕"}]},
    'quote\'s "both"',
    "  lead",
    "trail  \nx",
    "#hash",
    "a: b",
    "- dash",
    "tab\there",
]


def _mutate(doc: Any, rng: random.Random) -> None:
    """One random edit: set, delete or add a key or an item somewhere in ``doc``."""
    containers: list[Any] = []
    todo = [doc]
    while todo:
        value = todo.pop()
        if isinstance(value, dict | list):
            containers.append(value)
            todo += list(value.values()) if isinstance(value, dict) else list(value)
    target = rng.choice(containers)
    value = copy.deepcopy(rng.choice(_FUZZ_VALUES))
    roll = rng.random()
    if isinstance(target, dict):
        if target and roll < 0.4:
            target[rng.choice(list(target))] = value
        elif target and roll < 0.6:
            del target[rng.choice(list(target))]
        else:
            target[f"new{rng.randint(0, 99)}"] = value
    elif target and roll < 0.4:
        target[rng.randrange(len(target))] = value
    elif target and roll < 0.6:
        del target[rng.randrange(len(target))]
    else:
        target.insert(rng.randint(0, len(target)), value)


def test_random_edits_are_written_in_place_and_read_back(monkeypatch: pytest.MonkeyPatch):
    """Every edit is placed in the old text (no whole-document rewrite) and reads back exactly."""

    def no_rewrite(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the whole document was rewritten")

    monkeypatch.setattr(roundtrip, "render_document", no_rewrite)
    rng = random.Random(8)
    sources = SAMPLE_FILES + COOKBOOK_FILES[::6]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        fmt = "json" if source.suffix == ".json" else "yaml"
        try:
            data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        except ValueError:
            continue  # the cookbook file that is not valid JSON
        for _ in range(8):
            new = copy.deepcopy(data)
            for _ in range(rng.randint(1, 4)):
                _mutate(new, rng)
            out = roundtrip.update_text(text, new, fmt)
            back = json.loads(out) if fmt == "json" else yaml.safe_load(out)
            assert roundtrip.same(back, new), source.name


def test_a_key_added_after_a_mapping_whose_last_key_is_deleted_is_placed_in_place(
    monkeypatch: pytest.MonkeyPatch,
):
    """models.echo loses its last key (a folded block) while models gains one: the new key was
    planned inside the deleted lines and the whole file was rewritten."""
    text = (
        "metadata:\n"
        "  models:\n"
        "    echo:\n"
        "      delay: 0.02\n"
        "      system_prompt: >-\n"
        "        You are calm\n"
        "        and precise.\n"
        "  default_model: echo  # kept\n"
    )

    def no_rewrite(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the whole document was rewritten")

    monkeypatch.setattr(roundtrip, "render_document", no_rewrite)
    new = yaml.safe_load(text)
    del new["metadata"]["models"]["echo"]["system_prompt"]
    new["metadata"]["models"]["added"] = "sure"
    out = roundtrip.update_text(text, new, "yaml")
    assert out == (
        "metadata:\n"
        "  models:\n"
        "    echo:\n"
        "      delay: 0.02\n"
        "    added: sure\n"
        "  default_model: echo  # kept\n"
    )
    assert yaml.safe_load(out) == new
    crlf = text.replace("\n", "\r\n")
    assert roundtrip.update_text(crlf, new, "yaml") == out.replace("\n", "\r\n")
