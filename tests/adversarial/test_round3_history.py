"""Round 3, the history database: a loose file is made private again; a damaged file or one that
another program made is detected when it is opened, said on stderr (and in the TUI), and the run
goes on without history with its exit status unchanged."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tests.ui.helpers import make_app, ready, status, wait_for
from tui_app.cli import main
from tui_app.core import paths
from tui_app.core.history import History, RunRecord


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "c.json", chain([{"name": "a", "input": "hello"}]))


def _history_with_rows(rows: int = 40) -> Path:
    path = paths.history_path(create_dir=True)
    with History(path) as history:
        for i in range(rows):
            history.record(
                RunRecord(
                    run_id=f"r{i}",
                    config_path="/x.json",
                    prompt="p",
                    status="done",
                    output_text=f"answer {i} " * 200,
                )
            )
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_loose_history_file_is_made_private_again(tmp_path: Path) -> None:
    path = _history_with_rows(1)
    os.chmod(path, 0o644)
    assert main(["run", str(_config(tmp_path))]) == 0
    assert _mode(path) == 0o600
    for companion in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if companion.exists():
            assert _mode(companion) == 0o600


def _damage(path: Path) -> None:
    """Overwrite pages in the middle of the file (the header page stays valid)."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        for offset in range(4096 * 2, size - 4096, 4096 * 3):
            handle.seek(offset + 8)
            handle.write(b"\xde\xad\xbe\xef" * 512)


def _foreign(path: Path) -> None:
    """Another program's runs table, at the version this prompt-tui expects."""
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, when_ran TEXT, what TEXT)")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("spoil", "words"),
    [(_damage, "the history database is damaged"), (_foreign, "not a prompt-tui history")],
    ids=["damaged", "foreign"],
)
def test_an_unusable_history_is_said_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spoil: object, words: str
) -> None:
    path = _history_with_rows()
    spoil(path)  # type: ignore[operator]
    before = path.read_bytes()
    code = main(["run", str(_config(tmp_path))])
    out, err = capsys.readouterr()
    assert code == 0  # the run's own status
    assert "hello" in out
    assert words in err and "runs go on without history" in err
    assert "no such column" not in err and "Traceback" not in err
    assert path.read_bytes() == before  # never "repaired" by writing into it


async def test_the_tui_says_the_history_is_damaged_and_runs(tmp_path: Path) -> None:
    _damage(_history_with_rows())
    app = make_app(_config(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", what="a done")
        await wait_for(
            pilot,
            lambda: any("damaged" in str(n.message) for n in app._notifications),
            what="the notification",
        )


# --- answers stored once by content, and a size budget -------------------------------------------


def _answers(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("SELECT count(*) FROM answers").fetchone()[0])


def test_the_same_answer_is_stored_once() -> None:
    path = paths.history_path(create_dir=True)
    answer = "the same long answer " * 500
    with History(path) as history:
        for i in range(30):
            history.record(
                RunRecord(
                    run_id=f"r{i}",
                    config_path="/x.json",
                    prompt="p",
                    status="done",
                    output_text=answer,
                    output={"output_type": "execute_result", "data": answer},
                )
            )
        history.record(
            RunRecord(
                run_id="other",
                config_path="/x.json",
                prompt="p",
                status="done",
                output_text="other",
            )
        )
        records = history.runs(limit=None)
    assert _answers(path) == 2
    assert [r.output_text for r in records] == ["other"] + [answer] * 30
    assert records[-1].output == {"output_type": "execute_result", "data": answer}


def test_the_migration_moves_existing_answers_and_keeps_them_readable() -> None:
    from tui_app.core.history import MIGRATIONS, _m004_answers_by_content

    path = paths.history_path(create_dir=True)
    # a database made by the version before answers were stored by content
    before = MIGRATIONS[: MIGRATIONS.index(_m004_answers_by_content)]
    History(path, migrations=before).close()
    with sqlite3.connect(path) as raw:  # rows as that version wrote them: answers inline
        for i in range(6):
            raw.execute(
                "INSERT INTO runs (run_id, config_path, prompt, status, started_at, output_text)"
                " VALUES (?, '/x.json', 'p', 'done', 0, ?)",
                (f"r{i}", f"answer {i % 2}"),
            )
    with History(path) as history:
        texts = [r.output_text for r in history.runs(limit=None)]
    assert texts == [f"answer {i % 2}" for i in reversed(range(6))]
    assert _answers(path) == 2


def _fill(history: History, runs: int, size: int) -> None:
    for i in range(runs):
        history.record(
            RunRecord(
                run_id=f"r{i}",
                config_path="/x.json",
                prompt="p",
                status="done",
                messages=[{"role": "user", "content": f"question {i} " + "q" * size}],
                output_text=f"answer {i} " + "a" * size,
            )
        )


def test_history_prune_keeps_the_newest_runs_whole_and_shrinks_the_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = paths.history_path(create_dir=True)
    with History(path) as history:
        _fill(history, 60, 20_000)
    code = main(["history", "prune", "--max-size", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "pruned" in out and "40 old runs" in out
    with History(path) as history:
        records = history.runs(limit=None)
        assert [r.output_text is not None for r in records] == [True] * 20 + [False] * 40
        assert records[0].output_text.startswith("answer 59 ")  # type: ignore[union-attr]
        assert records[-1].messages == [] and records[-1].status == "done"  # the row stays
        assert history.size() < 1_200_000  # 2.4 MB of payloads before
    assert _answers(path) == 20


def test_a_history_over_its_budget_is_pruned_when_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_app.core import history as history_module

    path = paths.history_path(create_dir=True)
    with History(path) as history:
        _fill(history, 30, 20_000)
    monkeypatch.setattr(history_module, "MAX_HISTORY_BYTES", 100_000)
    with History(path) as history:
        kept = [r for r in history.runs(limit=None) if r.output_text is not None]
    assert len(kept) == 20


def test_damage_the_open_check_cannot_see_is_said_when_a_row_cannot_be_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages damaged after the file was opened (or that the open check did not read): the run's
    row cannot be written, and that is said once; the run goes on, its exit status unchanged."""
    from tui_app.core import history as history_module

    path = _history_with_rows()
    _damage(path)
    monkeypatch.setattr(history_module, "_check_usable", lambda *a, **k: None)
    code = main(["run", str(_config(tmp_path))])
    out, err = capsys.readouterr()
    assert code == 0 and "hello" in out
    assert err.count("cannot record run") == 1 and "runs go on without history" in err
