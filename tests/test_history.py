"""The SQLite run log: migrations, concurrency, cache lookups, secrets; and where files live."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tui_app.core import paths
from tui_app.core.history import (
    MIGRATIONS,
    History,
    HistoryError,
    RunRecord,
    config_key,
)
from tui_app.core.secrets import is_secret_setting, scrub_settings

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-proj-Zx81kd72hHq0pQ-very-secret-TAIL"


def rec(**kw) -> RunRecord:
    base = dict(run_id="run-1", config_path="/cfg/chain.json", prompt="p", status="done")
    base.update(kw)
    return RunRecord(**base)


@pytest.fixture
def db(tmp_path):
    history = History(tmp_path / "sub" / "dir" / "history.sqlite3")
    yield history
    history.close()


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# -- basics ------------------------------------------------------------------------------------


def test_creates_parent_dir_and_round_trips_every_field(db):
    full = rec(
        group_id="cmp-1",
        model="gpt-4o-mini",
        settings={"temperature": 0.2, "max_tokens": 256, "stop": ["\n\n"]},
        messages=[{"role": "user", "content": "héllo"}],
        output_text="hi there",
        output={"output_type": "execute_result", "data": "hi there", "execution_count": 0},
        tokens_in=12,
        tokens_out=3,
        cost=0.000123,
        ttft=0.25,
        latency=1.5,
        attempts=2,
        started_at=1_700_000_000.5,
        ended_at=1_700_000_002.0,
        cache_key="abc",
        offline=True,
    )
    row_id = db.record(full)
    assert db.path.parent.is_dir()
    [back] = db.runs()
    assert back.id == row_id
    full.id = row_id
    assert back == full
    assert back.offline is True and back.cached is False
    assert json.loads(json.dumps(back.to_json()))["messages"][0]["content"] == "héllo"


def test_nullable_fields(db):
    db.record(rec(status="blocked", error="upstream 'a' failed", output=None, settings=None))
    [back] = db.runs()
    assert back.output is None and back.settings == {} and back.messages == []
    assert back.tokens_in is None and back.cost is None and back.ended_at is None


def test_unknown_status_is_refused(db):
    with pytest.raises(ValueError, match="unknown run status"):
        db.record(rec(status="finished"))  # the old word: every row says "done" now


def test_wal_mode_and_busy_timeout(db):
    with sqlite3.connect(db.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = db._connection()
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_close_is_idempotent_and_final(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    history.close()
    history.close()
    with pytest.raises(HistoryError, match="closed"):
        history.runs()


def test_context_manager(tmp_path):
    with History(tmp_path / "h.sqlite3") as history:
        history.record(rec())
    with History(tmp_path / "h.sqlite3") as history:
        assert len(history.runs()) == 1


def test_not_a_database(tmp_path):
    bad = tmp_path / "history.sqlite3"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(HistoryError, match="not a usable history database"):
        History(bad)


# -- migrations --------------------------------------------------------------------------------


def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "h.sqlite3"
    with History(path) as first:
        assert first.schema_version == len(MIGRATIONS)
        first.record(rec())
    with History(path) as second:  # opening again applies nothing and loses nothing
        assert second.schema_version == len(MIGRATIONS)
        assert len(second.runs()) == 1
    with sqlite3.connect(path) as raw:
        tables = raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert [t for (t,) in tables if not t.startswith("sqlite_")] == [
        "runs",
        "answers",
        "run_origins",
        "ratings",
        "baselines",
    ]


def test_new_migrations_apply_once_in_order(tmp_path):
    path = tmp_path / "h.sqlite3"
    History(path).close()
    applied: list[str] = []

    def add_note(conn: sqlite3.Connection) -> None:
        applied.append("note")
        conn.execute("ALTER TABLE runs ADD COLUMN note TEXT")

    def add_index(conn: sqlite3.Connection) -> None:
        applied.append("index")
        conn.execute("CREATE INDEX runs_note ON runs (note)")

    steps = [*MIGRATIONS, add_note, add_index]
    with History(path, migrations=steps) as history:
        assert history.schema_version == len(MIGRATIONS) + 2
        history.record(rec())  # columns the dataclass does not know are left alone
        assert len(history.runs()) == 1
    History(path, migrations=steps).close()
    assert applied == ["note", "index"]

    with pytest.raises(HistoryError, match="newer than this prompt-tui"):
        History(path)  # an older program refuses a newer schema


def test_a_failing_migration_rolls_back(tmp_path):
    path = tmp_path / "h.sqlite3"

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        History(path, migrations=[*MIGRATIONS, broken])
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        names = {n for (n,) in raw.execute("SELECT name FROM sqlite_master")}
    assert "half" not in names


# -- queries -----------------------------------------------------------------------------------


def test_cached_returns_the_latest_finished_row(db):
    db.record(rec(cache_key="k", output_text="old", run_id="a"))
    db.record(rec(cache_key="k", output_text="new", run_id="b"))
    db.record(rec(cache_key="k", status="failed", error="429", run_id="c"))
    db.record(rec(cache_key="k", status="cached", output_text="new", run_id="d"))
    db.record(rec(cache_key="other", output_text="x", run_id="e"))
    hit = db.cached("k")
    assert hit is not None and (hit.output_text, hit.run_id) == ("new", "b")
    assert db.cached("missing") is None


def test_latest_for_ignores_cancelled_cached_and_blocked(db):
    db.record(rec(prompt="a", output_text="one"))
    db.record(rec(prompt="a", status="failed", error="boom"))
    latest = db.latest_for("/cfg/chain.json", "a")
    assert latest is not None and latest.status == "failed"
    for status in ("cancelled", "cached", "blocked"):
        db.record(rec(prompt="a", status=status))
    assert db.latest_for("/cfg/chain.json", "a").status == "failed"
    assert db.latest_for("/cfg/chain.json", "b") is None
    assert db.latest_for("/other.json", "a") is None


def test_runs_filters_limit_and_order(db):
    for i in range(5):
        db.record(
            rec(prompt="a" if i % 2 else "b", run_id=f"r{i}", group_id="g" if i < 2 else None)
        )
    db.record(rec(config_path="/cfg/other.yaml", prompt="a", run_id="r5"))
    assert [r.run_id for r in db.runs()] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in db.runs(limit=2)] == ["r5", "r4"]
    assert len(db.runs(limit=None)) == len(db.runs(limit=0)) == 6
    assert [r.run_id for r in db.runs(config_path="/cfg/chain.json", prompt="a")] == ["r3", "r1"]
    assert [r.run_id for r in db.runs(prompt="a")] == ["r5", "r3", "r1"]
    assert [r.run_id for r in db.runs(group_id="g")] == ["r1", "r0"]
    assert [r.run_id for r in db.runs(run_id="r2")] == ["r2"]


def test_config_key_is_absolute_and_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    assert config_key("x.json") == str((tmp_path / "x.json").resolve())
    assert config_key(tmp_path / "a" / ".." / "x.json") == config_key("x.json")
    assert config_key("") == ""


def test_config_paths_are_stored_and_matched_normalized(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    db.record(rec(config_path="chain.json", prompt="a"))  # relative, as a user typed it
    db.record(rec(config_path="", prompt="a"))  # an unsaved config
    absolute = str((tmp_path / "chain.json").resolve())
    assert [r.config_path for r in db.runs()] == ["", absolute]
    assert db.latest_for(absolute, "a") is not None
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert len(db.runs(config_path="../chain.json")) == 1
    assert db.latest_for("../chain.json", "a") is not None
    assert len(db.runs(config_path="")) == 1


# -- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("api_key", SECRET, True),
        ("api-key", SECRET, True),
        ("API_KEY", SECRET, True),
        ("openai_key", SECRET, True),
        ("X-Api-Key", SECRET, True),
        ("aws_secret_access_key", SECRET, True),
        ("Authorization", "Bearer " + SECRET, True),
        ("secret", SECRET, True),
        ("access_token", SECRET, True),
        ("password", "hunter2", True),
        ("token", 3, True),
        ("max_tokens", 256, False),
        ("max_completion_tokens", 1024, False),
        ("max_new_tokens", 64, False),
        ("temperature", 0.2, False),
        ("top_k", 40, False),
        ("model", "gpt-4o", False),
        ("author", "someone", False),
        ("stream_options", {"include_usage": True}, False),
    ],
)
def test_secret_setting_names(name, value, secret):
    assert is_secret_setting(name, value) is secret


def test_scrub_settings_nested():
    settings = {
        "model": "gpt-4o-mini",
        "api_key": SECRET,
        "max_tokens": 300,
        "extra_headers": {"Authorization": f"Bearer {SECRET}", "X-Trace": "1"},
        "api_base": "https://user:hunter22@gateway.example/v1",
        "fallbacks": [{"model": "b", "api_key": SECRET}],
        "user": f"hello {SECRET}",
    }
    clean = scrub_settings(settings, [SECRET])
    assert clean == {
        "model": "gpt-4o-mini",
        "max_tokens": 300,
        "extra_headers": {"X-Trace": "1"},
        "api_base": "https://user:••••@gateway.example/v1",
        "fallbacks": [{"model": "b"}],
        "user": "hello ••••TAIL",
    }
    assert settings["api_key"] == SECRET  # the caller's dict is untouched


def test_no_secret_reaches_the_file(tmp_path):
    path = tmp_path / "h.sqlite3"
    with History(path) as history:
        history.record(
            rec(
                settings={
                    "api_key": SECRET,
                    "max_tokens": 99,
                    "extra_headers": {"x-api-key": SECRET, "Authorization": f"Bearer {SECRET}"},
                },
                messages=[{"role": "user", "content": f"echo {SECRET}"}],
                output_text=f"you said {SECRET}",
                output={"output_type": "execute_result", "data": f"you said {SECRET}"},
                error=f"401 Incorrect API key provided: {SECRET}; Authorization: Bearer {SECRET}",
                status="failed",
            ),
            secrets=[SECRET, None],
        )
        [back] = history.runs()
    assert back.settings == {"max_tokens": 99, "extra_headers": {}}
    assert back.error is not None and "••••TAIL" in back.error
    dump = " ".join(map(str, back.to_json().values()))
    assert SECRET not in dump
    for file in tmp_path.iterdir():  # the database, and any WAL / shm left behind
        assert SECRET.encode() not in file.read_bytes(), file.name


def test_error_text_keeps_ordinary_words(db):
    db.record(rec(status="failed", error="401 Basic authentication failed; Bearer token expired"))
    db.record(rec(status="failed", error="rejected: Authorization: Bearer abc123def456ghi789"))
    newest, oldest = db.runs()
    assert oldest.error == "401 Basic authentication failed; Bearer token expired"
    assert newest.error == "rejected: Authorization: Bearer ••••"


def test_model_output_is_not_mangled_by_credential_patterns(db):
    text = "Use Basic authentication or a Bearer eyJhbGciOiJIUzI1NiJ9 header."
    db.record(rec(output_text=text, output={"data": text}))
    [back] = db.runs()
    assert back.output_text == text and back.output == {"data": text}


# -- concurrency -------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from tui_app.core.history import History, RunRecord
    path, name, n, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    (gate / f"ready-{name}").touch()
    while not (gate / "go").exists():  # start together with every other writer
        time.sleep(0.002)
    history = History(path)
    for i in range(n):
        history.record(RunRecord(run_id=f"{name}-{i}", config_path="/c.json", prompt=name,
                                 status="done", cache_key=f"{name}-{i}"))
    history.close()
    """
)


def _start_writers(path: Path, gate: Path, names: list[str], n: int) -> list[subprocess.Popen]:
    gate.mkdir(exist_ok=True)
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(n), str(gate)],
            env=_child_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]


def _wait_ready(gate: Path, names: list[str], procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    while not all((gate / f"ready-{name}").exists() for name in names):
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"writer exited early: {p.stderr.read() if p.stderr else ''}")
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.005)


def _reap(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def test_concurrent_threads_and_processes(tmp_path):
    path = tmp_path / "history.sqlite3"  # absent: processes and threads race to create + migrate
    gate = tmp_path / "gate"
    n = 50
    proc_names = ["proc0", "proc1"]
    procs = _start_writers(path, gate, proc_names, n)
    go = threading.Event()
    errors: list[BaseException] = []
    shared: list[History] = []
    shared_ready = threading.Lock()

    def write(name: str, own: bool) -> None:
        try:
            go.wait()
            if own:  # this thread opens its own History on the same file
                history = History(path)
            else:  # four threads share one History
                with shared_ready:
                    if not shared:
                        shared.append(History(path))
                history = shared[0]
            for i in range(n):
                history.record(
                    RunRecord(
                        run_id=f"{name}-{i}", config_path="/c.json", prompt=name, status="done"
                    )
                )
                history.runs(limit=5)  # readers interleave with writers
            if own:
                history.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread_names = [f"thread{k}" for k in range(4)]
    threads = [threading.Thread(target=write, args=(name, False)) for name in thread_names]
    threads += [threading.Thread(target=write, args=(f"own{k}", True)) for k in range(2)]
    for t in threads:
        t.start()
    _wait_ready(gate, proc_names, procs)
    (gate / "go").touch()
    go.set()
    for t in threads:
        t.join()
    _reap(procs)
    assert not errors, errors

    names = [*thread_names, "own0", "own1", *proc_names]
    with History(path) as history:
        rows = history.runs(limit=None)
    shared[0].close()
    assert len(rows) == len(names) * n
    assert {r.run_id for r in rows} == {f"{name}-{i}" for name in names for i in range(n)}
    assert len({r.id for r in rows}) == len(rows)


def test_many_processes_opening_a_fresh_file(tmp_path):
    path = tmp_path / "history.sqlite3"
    gate = tmp_path / "gate"
    names = [f"p{k}" for k in range(6)]
    procs = _start_writers(path, gate, names, 1)
    _wait_ready(gate, names, procs)
    (gate / "go").touch()
    _reap(procs)
    with History(path) as history:
        assert history.schema_version == len(MIGRATIONS)
        assert len(history.runs()) == 6


# -- paths -------------------------------------------------------------------------------------


def test_paths_follow_prompt_tui_home(tmp_path, monkeypatch):
    home = tmp_path / "pt-home"
    monkeypatch.setenv("PROMPT_TUI_HOME", str(home))
    assert paths.home() == home
    assert paths.data_dir() == home
    assert paths.settings_path() == home / "settings.json"
    assert paths.history_path() == home / "history.sqlite3"
    assert not home.exists()  # computing a path creates nothing
    assert paths.history_path(create_dir=True) == home / "history.sqlite3"
    assert home.is_dir() and not (home / "history.sqlite3").exists()


def test_relative_prompt_tui_home_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMPT_TUI_HOME", "rel")
    assert paths.home() == tmp_path / "rel"


def test_paths_default_to_platform_dirs(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMPT_TUI_HOME", raising=False)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        assert paths.home() == tmp_path / "data" / "prompt-tui"
        assert paths.history_path() == tmp_path / "data" / "prompt-tui" / "history.sqlite3"
        assert paths.settings_path() == tmp_path / "config" / "prompt-tui" / "settings.json"
        assert not (tmp_path / "data").exists() and not (tmp_path / "config").exists()
    else:  # pragma: no cover
        assert "prompt-tui" in str(paths.home())
    monkeypatch.setenv("PROMPT_TUI_HOME", "")  # empty counts as unset
    assert "prompt-tui" in str(paths.home())


def test_importing_core_modules_has_no_side_effects(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    code = textwrap.dedent(
        """
        import sys
        import tui_app.core.paths, tui_app.core.keys, tui_app.core.history
        heavy = [m for m in ("textual", "litellm", "keyring", "platformdirs") if m in sys.modules]
        print(",".join(heavy))
        """
    )
    env = _child_env(
        HOME=str(home),
        PROMPT_TUI_HOME=str(tmp_path / "pt"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""  # not even keyring: it is imported on first use
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert list(home.iterdir()) == []
