"""The engine never imports textual, nor litellm at import time (a fresh interpreter proves it)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO


def test_core_modules_import_neither_textual_nor_litellm():
    code = (
        "import pkgutil, importlib, sys, tui_app.core as core\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'tui_app.core.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'litellm'))\n"
        "print(len(names)); assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 8  # it really walked the package


def test_cli_commands_that_dont_run_models_stay_light():
    code = (
        "import sys\nfrom tui_app.cli import main\n"
        "main(['validate', 'sample_configs/travel_chain.aiconfig.json'])\n"
        "assert 'litellm' not in sys.modules and 'textual' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
