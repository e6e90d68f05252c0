"""The README tells the truth: the binding ids it lists are the app's, and each message the
Troubleshooting section quotes is what the program prints in that situation."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

from textual.binding import Binding

import tui_app.ui
from tests.helpers import REPO

README = (REPO / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n#", start + len(title) + 2)
    return README[start : end if end != -1 else None]


def _binding_ids() -> set[str]:
    ids: set[str] = set()
    for info in pkgutil.walk_packages(tui_app.ui.__path__, "tui_app.ui."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            bindings = getattr(value, "BINDINGS", None) if inspect.isclass(value) else None
            if isinstance(value, list) and value and isinstance(value[0], Binding):
                bindings = value
            for binding in bindings or ():
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids


def test_the_readme_lists_every_binding_id_and_no_other():
    section = _section("### Settings and key remapping")
    listed = set(re.findall(r"`([a-z]+\.[a-z_]+)`", section.split("The ids", 1)[1]))
    ids = _binding_ids()
    assert len(ids) > 20  # it found the app's bindings
    assert listed == ids, (sorted(ids - listed), sorted(listed - ids))


def _cli(*args: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(PROMPT_TUI_HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    result = subprocess.run(
        [sys.executable, "-m", "tui_app.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    return result.stdout + result.stderr


def test_troubleshooting_quotes_what_the_program_prints(tmp_path: Path):
    section = _section("## Troubleshooting")
    quoted = re.findall(r'\*\*"([^"]+)"\*\*', section)
    situations = {
        "no OS keyring available": ("keys", "list"),
        "No key for openai": ("run", "sample_configs/openai_chat.aiconfig.json"),
    }
    assert set(quoted) == set(situations), "a quoted message without a situation to check"
    for message, args in situations.items():
        assert message in _cli(*args, home=tmp_path), message
