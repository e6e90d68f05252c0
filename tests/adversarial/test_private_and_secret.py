"""Private files and secrets: the data folder and the history DB (with its -wal/-shm files) are
private from creation; a key or a password inside an api_base never shows up unmasked in the
config, the DB, any file under the data folder, `--json` output or the summary; a failed
`--save` says why in one line and keeps the run."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.cli import main
from tui_app.core import paths
from tui_app.core.history import History, RunRecord
from tui_app.core.secrets import scrub_json, scrub_settings, scrub_text

KEY = "sk-proj-LEAKCHECKabcdefghijklmnop4321"
PASSWORD = "hunter2-very-secret-pw"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_and_history_db_are_created_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home" / "nested"))
    os.umask(0o022)  # the usual umask: files would be 0644, folders 0755
    folder = paths.data_dir(create=True)
    assert _mode(folder) == 0o700
    with History(paths.history_path()) as history:
        history.record(RunRecord(run_id="r", config_path="", prompt="p", status="done"))
        companions = [paths.history_path()] + [
            Path(f"{paths.history_path()}{suffix}") for suffix in ("-wal", "-shm")
        ]
        for path in companions:
            assert path.exists(), path
            assert _mode(path) == 0o600, path


def test_one_scrubber_masks_keys_url_passwords_and_key_shapes() -> None:
    text = f"failed at https://bob:{PASSWORD}@host/v1 with {KEY} and Bearer abcdef123456789xyz"
    clean = scrub_text(text, [KEY])
    assert PASSWORD not in clean and KEY not in clean and "abcdef123456789xyz" not in clean
    assert "https://bob:••••@host/v1" in clean
    assert scrub_settings({"api_base": f"http://u:{PASSWORD}@h", "api_key": KEY}) == {
        "api_base": "http://u:••••@h"
    }
    assert scrub_json({"a": [f"x {KEY}"]}, [KEY]) == {"a": ["x ••••4321"]}
    # model output keeps key-shaped text unless it is the literal key
    assert scrub_text("an sk-example-123456 key", patterns=False) == "an sk-example-123456 key"


def test_a_session_leaks_no_secret_anywhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    model_server: OpenAIServer,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PROMPT_TUI_HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    base = model_server.base_url.replace("http://", f"http://user:{PASSWORD}@")
    data = chain(
        [
            {"name": "a", "input": "hi", "metadata": {"remember_chat_context": False}},
            {"name": "b", "input": "{{a.output}}", "metadata": {"remember_chat_context": False}},
        ],
        models={"m": {"model": "openai/test-model", "api_base": base, "max_attempts": 1}},
        default_model="m",
    )
    path = write_config(tmp_path / "c.json", data)
    outputs = []
    model_server.enqueue(Fault.status(401, message=f"bad key {KEY} for {base}"))
    for args in (
        ["run", str(path), "--json"],
        ["run", str(path), "--force", "--save"],
        ["run", str(path), "--force", "--json"],
        ["resolve", str(path), "b", "--json", "--allow-missing"],
        ["resolve", str(path), "a"],
        ["history", "--json"],
        ["history"],
        ["validate", str(path), "--json"],
    ):
        if args[0] == "run" and "--save" not in args:
            model_server.enqueue(Fault.end_after(1))
        main(args)
        out, err = capsys.readouterr()
        outputs += [out, err]
    assert any('"failed"' in o for o in outputs)  # the faults really happened
    captured = "\n".join(outputs)
    assert KEY not in path.read_text()  # the password is the user's own text in the config
    for secret in (KEY, PASSWORD):
        assert secret not in captured
        for file in home.rglob("*"):
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), file
        for db in home.rglob("*.sqlite3"):
            with sqlite3.connect(db) as conn:
                assert all(secret not in line for line in conn.iterdump())
    assert "user:••••@" in captured  # masked, still recognisable


def test_failed_save_says_why_and_keeps_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    path = write_config(tmp_path / "c.json", chain([{"name": "a", "input": "hello"}]))
    before = path.read_text()
    models = json.loads(before)
    models["metadata"]["models"]["echo"] = {"delay": 0}
    path.write_text(json.dumps(models))
    before = path.read_text()

    from tui_app.core import config as config_module

    def refuse(target: Path, text: str) -> None:
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(config_module, "atomic_write", refuse)
    code = main(["run", str(path), "--save"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "cannot save" in line]
    assert str(path) in line and "Permission denied" in line and "history" in line
    assert path.read_text() == before  # untouched
    assert "hello" in out  # the answer was shown
    main(["history", str(path), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rows and rows[0]["status"] == "done"  # and kept
