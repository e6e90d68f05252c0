"""SIGKILL during a save: a process saving a config over and over (through AIConfig.save, the one
atomic writer) is killed at arbitrary moments; every time, the file on disk parses and holds
exactly the old or the new content, never a mix or a truncated file."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO, chain
from tui_app.core.config import loads
from tui_app.core.fileio import dump_text

KILLS = 12

SAVER = """
import sys
from pathlib import Path
from tui_app.core.config import loads

target = Path(sys.argv[1])
versions = [loads(Path(p).read_text()) for p in sys.argv[2:]]
print("ready", flush=True)
i = 0
while True:
    versions[i % 2].save(target)
    i += 1
"""


def _doc(tag: str) -> str:
    # ~1.5 MB so that a kill often lands while the temp file is being written
    prompts = [
        {"name": f"p{i}", "input": f"{tag} {i} " + tag * 2000, "metadata": {}} for i in range(60)
    ]
    return dump_text(chain(prompts), "json")


def test_sigkill_during_save_leaves_old_or_new(tmp_path: Path) -> None:
    old, new = _doc("A"), _doc("B")
    (tmp_path / "old.json").write_text(old)
    (tmp_path / "new.json").write_text(new)
    target = tmp_path / "config.aiconfig.json"
    target.write_text(old)
    rng = random.Random(9)
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SAVER,
                str(target),
                str(tmp_path / "old.json"),
                str(tmp_path / "new.json"),
            ],
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))  # kill at an arbitrary point of the save loop
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        text = target.read_text()
        assert text in (old, new)
        json.loads(text)
        loads(text)
    # leftovers are only the writer's own hidden temp files, never a second config
    others = {p.name for p in tmp_path.iterdir()} - {"old.json", "new.json", target.name}
    assert all(name.startswith(f".{target.name}.") and name.endswith(".tmp") for name in others)
