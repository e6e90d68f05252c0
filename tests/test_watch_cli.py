"""`prompt-tui run CONFIG --all --watch` through the real entry point, edited like a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.helpers import REPO, write_config
from tests.support.chains import five_chain
from tests.support.openai_server import OpenAIServer


class Output:
    """Reads a stream in a thread so the test can wait for a line."""

    def __init__(self, stream) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.text += line

    def wait_for(self, needle: str, what: str) -> None:
        for _ in range(1500):  # a 30 s budget against hanging; never a timing assertion
            if needle in self.text:
                return
            time.sleep(0.02)
        raise AssertionError(f"never saw {what}:\n{self.text}")


def test_run_watch_reruns_on_sed_and_survives_an_invalid_save(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "five.json", five_chain(model_server.base_url))
    env = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tui_app.cli", "run", str(path), "--all", "--watch"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = Output(process.stdout)
        out.wait_for("echo: five says hello", "the first run")
        time.sleep(0.3)
        subprocess.run(["sed", "-i", "s/five says hello/five says bye/", str(path)], check=True)
        out.wait_for("re-ran five", "the re-run")
        assert "echo: five says bye" in out.text
        # only the edited prompt is planned (issue 25): the others are not even asked of the cache
        assert "from the cache" not in out.text
        good = path.read_text()
        path.write_text(good.replace('"name": "two"', '"name": two'))
        out.wait_for("invalid JSON", "the error")
        line = next(i for i, t in enumerate(good.splitlines(), 1) if '"name": "two"' in t)
        assert f"{path}:{line}:" in out.text
        assert len(model_server.requests) == 6
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        out.wait_for("watched", "the summary")
        assert "1 invalid" in out.text and "6 requests sent" in out.text
        assert "Traceback" not in out.text
    finally:
        if process.poll() is None:
            process.kill()


def test_watch_refuses_save(tmp_path: Path) -> None:
    path = write_config(tmp_path / "five.json", five_chain("http://127.0.0.1:9/v1"))
    done = subprocess.run(
        [sys.executable, "-m", "tui_app.cli", "run", str(path), "--watch", "--save"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 2 and "--save with --watch" in done.stderr
