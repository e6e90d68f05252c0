"""Runs tied to git revisions, diffs of recorded runs, baselines and ratings, as a user meets them:
real git repositories in temp dirs, a real SQLite history, offline models and the local
OpenAI-compatible test server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import OpenAIServer
from tui_app.cli import main
from tui_app.core import revisions
from tui_app.core.history import History
from tui_app.core.paths import history_path


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "", "GIT_COMMITTER_DATE": ""}
    env.pop("GIT_AUTHOR_DATE")
    env.pop("GIT_COMMITTER_DATE")
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


def config(words: str, model: str = "echo", **extra: object) -> dict:
    return chain(
        [
            {"name": "a", "input": words},
            {"name": "b", "input": "say {{a.output}} twice"},
        ],
        default_model=model,
        **extra,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two commits of c.json ("one", then "two") and a branch 'feature'."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_config(root / "c.json", config("hello world one"))
    git(root, "add", "c.json")
    git(root, "commit", "-qm", "one")
    git(root, "branch", "feature")
    write_config(root / "c.json", config("hello world two"))
    git(root, "commit", "-qam", "two")
    return root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def history() -> History:
    return History(history_path())


# --- git facts and reading a revision ---------------------------------------------------------


def test_facts_say_the_commit_and_whether_the_file_differs_from_it(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    clean = revisions.facts(repo / "c.json")
    assert clean is not None and clean.commit == head and clean.dirty is False
    assert clean.path == "c.json" and clean.last_commit == head
    assert revisions.facts(repo / "c.json", edited=True).dirty is True  # unsaved TUI edits
    write_config(repo / "c.json", config("hello edited"))
    assert revisions.facts(repo / "c.json").dirty is True
    (repo / "new.json").write_text("{}")
    untracked = revisions.facts(repo / "new.json")
    assert untracked is not None and untracked.dirty is True and untracked.last_commit is None


def test_no_git_or_no_work_tree_is_not_an_error(tmp_path: Path, monkeypatch, capsys):
    path = write_config(tmp_path / "loose.json", config("hi"))
    assert revisions.facts(path) is None
    code, _, _ = cli(capsys, "run", str(path), "--tag", "t1")
    assert code == 0
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # git not installed
    assert revisions.facts(path) is None
    code, _, _ = cli(capsys, "run", str(path))
    assert code == 0
    with history() as h:
        origins = h.origins(h.run_ids(str(path)))
    assert {o.revision for o in origins.values()} == {"not in git"}
    assert sorted(o.tags for o in origins.values()) == [(), ("t1",)]
    code, _, err = cli(capsys, "run", str(path), "--ref", "HEAD")
    assert code == 2 and "needs git" in err


def test_read_at_gives_the_committed_text_and_never_touches_the_file(repo: Path):
    path = repo / "c.json"
    before = path.read_bytes(), path.stat().st_mtime_ns
    write_config(path, config("edited but not committed"))
    edited = path.read_bytes(), path.stat().st_mtime_ns
    old = revisions.read_at(path, "HEAD~1")
    assert "hello world one" in old.text and old.facts.ref == "HEAD~1"
    assert old.facts.commit == git(repo, "rev-parse", "HEAD~1") and old.facts.dirty is False
    assert (path.read_bytes(), path.stat().st_mtime_ns) == edited != before
    assert git(repo, "status", "--porcelain") == "M c.json"  # nothing staged or checked out


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("nope", "no revision 'nope'"),
        ("featrue", "did you mean 'feature'"),
        ("--output=x", "is not a revision"),
    ],
)
def test_bad_refs_get_a_clear_message(repo: Path, capsys, ref: str, words: str):
    code, out, err = cli(capsys, "run", str(repo / "c.json"), f"--ref={ref}")
    assert code == 2 and out == ""
    assert words in err and err.count("\n") == 1
    assert not (repo / "x").exists()


def test_a_file_absent_at_the_revision_and_a_renamed_file(repo: Path, capsys):
    write_config(repo / "late.json", config("late"))
    git(repo, "add", "late.json")
    git(repo, "commit", "-qm", "late")
    code, _, err = cli(capsys, "run", str(repo / "late.json"), "--ref", "HEAD~1")
    assert code == 2 and "did not exist at HEAD~1" in err
    git(repo, "mv", "c.json", "renamed.json")
    git(repo, "commit", "-qm", "rename")
    code, out, err = cli(capsys, "run", str(repo / "renamed.json"), "--ref", "HEAD~2", "a")
    assert code == 0, err
    assert "hello world two" in out  # read under its old name


def test_a_shallow_clone_says_the_history_is_missing(repo: Path, tmp_path: Path, capsys):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    code, _, err = cli(capsys, "run", str(clone / "c.json"), "--ref", "HEAD~1")
    assert code == 2 and "shallow clone" in err and "--unshallow" in err


def test_a_repository_without_commits(tmp_path: Path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q")
    path = write_config(root / "c.json", config("hi"))
    facts = revisions.facts(path)
    assert facts is not None and facts.commit is None and facts.dirty is True
    code, _, err = cli(capsys, "run", str(path), "--ref", "HEAD")
    assert code == 2 and "no commits yet" in err


# --- run --ref / --tag / --meta, history ------------------------------------------------------


def test_runs_record_revision_tags_and_meta_and_history_filters_them(repo: Path, capsys):
    path = str(repo / "c.json")
    assert cli(capsys, "run", path, "--tag", "nightly", "--tag", "v2", "--meta", "who=ana")[0] == 0
    code, out, _ = cli(capsys, "run", path, "--ref", "HEAD~1")
    assert code == 0 and "hello world one" in out
    code, out, err = cli(capsys, "run", path, "--ref", "HEAD~1")
    assert code == 0 and "cached" in out  # unchanged requests: answered from the cache
    code, _, err = cli(capsys, "run", path, "--ref", "HEAD~1", "--save")
    assert code == 2 and "--save" in err

    code, out, _ = cli(capsys, "history", path, "--tag", "nightly", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["prompt"] for r in rows} == {"a", "b"}
    assert rows[0]["origin"]["tags"] == ["nightly", "v2"]
    assert rows[0]["origin"]["meta"] == {"who": "ana"}
    assert rows[0]["origin"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert rows[0]["origin"]["dirty"] is False

    code, out, _ = cli(capsys, "history", path, "--ref", "HEAD~1", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4 and {r["origin"]["ref"] for r in rows} == {"HEAD~1"}
    code, out, _ = cli(capsys, "history", path, "--ref", git(repo, "rev-parse", "HEAD~1")[:8])
    assert out.count("HEAD~1 (") == 4
    code, out, _ = cli(capsys, "history", path)
    assert "revision" in out.splitlines()[0] and "nightly,v2" in out


# --- diff -------------------------------------------------------------------------------------


def test_diff_of_two_revisions_explains_the_change_and_exits_1(repo: Path, capsys):
    path = str(repo / "c.json")
    cli(capsys, "run", path, "--ref", "HEAD~1")
    cli(capsys, "run", path)
    code, out, err = cli(capsys, "diff", path, "--ref", "HEAD~1")
    assert code == 1, err
    assert "@@ a: done, output differs" in out
    assert "request: template changed" in out
    assert "[-one-]" in out and "{+two+}" in out
    assert "output of a changed" in out  # b's request changed because a's answer did
    code, out, _ = cli(capsys, "diff", path, "--ref", "HEAD~1", "--json")
    data = json.loads(out)
    assert data["same"] is False and data["a"]["origin"]["ref"] == "HEAD~1"
    prompt_a = data["prompts"][0]
    assert [r["kind"] for r in prompt_a["request_changes"]] == ["template"]
    assert prompt_a["output"]["words_deleted"] == 1 and prompt_a["status"]["changed"] is False
    assert {"tokens_in", "tokens_out", "cost", "latency", "ttft"} <= set(prompt_a)


def test_same_outputs_exit_0_and_ids_and_times_do_not_count(repo: Path, capsys):
    path = str(repo / "c.json")
    cli(capsys, "run", path)
    cli(capsys, "run", path, "--force")  # new ids, new timestamps, new latencies
    code, out, _ = cli(capsys, "diff", path, "previous", "last")
    assert code == 0 and "the same: 2 prompts" in out


def test_diff_errors_exit_2(repo: Path, capsys):
    path = str(repo / "c.json")
    code, _, err = cli(capsys, "diff", path)
    assert code == 2 and "no runs recorded yet" in err
    cli(capsys, "run", path)
    code, _, err = cli(capsys, "diff", path)
    assert code == 2 and "no previous run" in err
    code, _, err = cli(capsys, "diff", "zzzz", "last")
    assert code == 2 and "no run 'zzzz'" in err
    code, _, err = cli(capsys, "diff", path, "--ref", "HEAD~1")
    assert code == 2 and f"run {path} --ref HEAD~1" in err


def test_prompts_on_one_side_only_and_status_changes(repo: Path, capsys):
    path = repo / "c.json"
    cli(capsys, "run", str(path), "a")
    failing = {"model": {"name": "mock", "settings": {}}}  # mock without a response fails
    data = chain([{"name": "a", "input": "hi", "metadata": failing}, {"name": "c", "input": "new"}])
    write_config(path, data)
    cli(capsys, "run", str(path), "--force")
    code, out, _ = cli(capsys, "diff", str(path), "previous", "last", "--json")
    assert code == 1
    prompts = {p["prompt"]: p for p in json.loads(out)["prompts"]}
    assert prompts["a"]["status"] == {"a": "done", "b": "failed", "changed": True}
    assert prompts["c"]["only"] == "b"
    code, out, _ = cli(capsys, "diff", str(path), "previous", "last")
    assert "done → failed" in out and "@@ c: only in b (done)" in out
    assert "error (b): mock model" in out


def test_model_text_in_a_diff_is_scrubbed_of_credentials_and_inert_on_a_terminal(
    repo: Path, capsys
):
    from tui_app.core.history import RunRecord

    path = str(repo / "c.json")
    with history() as h:
        for run_id, text in (("r1", "fine"), ("r2", "\x1b]0;pwned\x07 key sk-abcdefghijklmnop12")):
            h.record(
                RunRecord(run_id=run_id, config_path=path, prompt="a", status="done",
                          output_text=text, error="bad key sk-abcdefghijklmnop12")
            )  # fmt: skip
    code, out, _ = cli(capsys, "diff", "r1", "r2", "--json")
    assert code == 1 and "sk-abcdefghijklmnop12" not in out
    from tui_app.core.rundiff import diff_runs, load_side

    with history() as h:
        text = diff_runs(load_side(h, "r1"), load_side(h, "r2")).render(inert=True)
    assert "\x1b" not in text and "\x07" not in text and "␛" in text


# --- baselines --------------------------------------------------------------------------------


def test_baseline_is_the_default_a_and_says_when_the_file_was_committed_since(repo: Path, capsys):
    path = str(repo / "c.json")
    cli(capsys, "run", path)
    code, out, _ = cli(capsys, "baseline", "set", "last", path)
    assert code == 0 and "baseline of" in out
    with history() as h:
        baseline_id = h.baseline(path)[0]
    cli(capsys, "run", path, "--force")
    cli(capsys, "run", path, "--force")
    code, out, err = cli(capsys, "diff", path, "--json")
    assert code == 0 and json.loads(out)["a"]["run_id"] == baseline_id
    assert "older than" not in err
    write_config(repo / "c.json", config("hello world three"))
    git(repo, "commit", "-qam", "three", "--date", "2099-01-01T00:00:00")
    os.utime(repo / "c.json")
    subprocess.run(
        ["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "--amend", "-q",
         "--no-edit", "--date", "2099-01-01T00:00:00"],
        cwd=repo, check=True, env={**os.environ, "GIT_COMMITTER_DATE": "2099-01-01T00:00:00"},
    )  # fmt: skip
    code, out, err = cli(capsys, "baseline", "show", path)
    assert baseline_id in out and "older than the file's last commit" in err
    cli(capsys, "run", path)
    code, out, err = cli(capsys, "diff", path)
    assert code == 1 and "older than the file's last commit" in err
    code, out, _ = cli(capsys, "baseline", "clear", path)
    assert "baseline cleared" in out
    code, out, _ = cli(capsys, "diff", path, "--json")
    assert json.loads(out)["a"]["name"] == "previous"


# --- ratings ----------------------------------------------------------------------------------


def test_ratings_are_stored_shown_and_kept_in_diff_and_history(repo: Path, capsys):
    path = str(repo / "c.json")
    cli(capsys, "run", path)
    code, out, _ = cli(capsys, "rate", path, "last", "a", "--score", "👎", "--comment", "too short")
    assert code == 0 and "👎" in out and "too short" in out
    code, out, _ = cli(capsys, "rate", path, "last", "a", "--expected", "hello world, two times")
    assert "👎" in out and "too short" in out  # what was not given again is kept
    code, _, err = cli(capsys, "rate", path, "last", "a", "--score", "7")
    assert code == 2 and "0 to 1" in err
    code, _, err = cli(capsys, "rate", path, "last", "zz", "--score", "up")
    assert code == 2 and "no prompt is named 'zz'" in err
    cli(capsys, "run", path, "--force")
    cli(capsys, "rate", path, "last", "a", "--score", "0.75")
    code, out, _ = cli(capsys, "diff", path, "previous", "last", "--json")
    ratings = json.loads(out)["prompts"][0]["ratings"]
    assert ratings["a"]["score"] == 0 and ratings["a"]["expected"] == "hello world, two times"
    assert ratings["b"]["score"] == 0.75
    code, out, _ = cli(capsys, "history", path, "--prompt", "a", "--json")
    scores = [json.loads(line)["rating"]["score"] for line in out.splitlines()]
    assert scores == [0.75, 0]


def test_token_and_cost_deltas_from_a_real_server(
    tmp_path: Path, capsys, model_server: OpenAIServer
):
    models = {
        "local": {
            "model": "openai/gpt-4o-mini",  # a model the price table knows
            "api_base": model_server.base_url,
        }
    }
    path = write_config(tmp_path / "c.json", config("hi there", model="local", models=models))
    cli(capsys, "run", str(path), "a")
    write_config(path, config("hi there, a longer question", model="local", models=models))
    cli(capsys, "run", str(path), "a")
    code, out, _ = cli(capsys, "diff", str(path))
    assert code == 1
    assert "tokens in: 2 → 5 (+3)" in out
    assert "cost:" in out and "(+" in out


# --- versions side by side ----------------------------------------------------------------------


def test_compare_ref_runs_the_committed_and_the_edited_prompt_side_by_side(repo: Path, capsys):
    path = repo / "c.json"
    write_config(path, config("hello brave world"))
    edited = path.read_bytes()
    code, out, err = cli(capsys, "compare", str(path), "a", "--ref", "HEAD~1", "--chain", "--json")
    assert code == 0, err
    columns = [json.loads(line) for line in out.splitlines()]
    assert [c["column"] for c in columns] == ["@HEAD~1", "as edited"]
    assert [c["output"] for c in columns] == [
        "say hello world one twice",
        "say hello brave world twice",
    ]
    assert path.read_bytes() == edited
    code, out, _ = cli(capsys, "compare", str(path), "a", "--ref", "HEAD~1", "--width", "80")
    assert "diff @HEAD~1 → as edited:" in out and "{+brave+}" in out and "[-one-]" in out
    with history() as h:
        assert h.run_ids(str(path)) == []  # a comparison is not "the last run"
        origins = h.origins(r.run_id for r in h.runs(config_path=str(path), limit=None))
    refs = sorted(str(o.ref) for o in origins.values())
    assert refs.count("HEAD~1") == 2 and refs.count("None") == 2
    code, _, err = cli(capsys, "compare", str(path), "a", "-m", "@nope", "-m", "echo")
    assert code == 2 and "no revision 'nope'" in err


def test_a_committed_column_cannot_be_adopted_and_a_missing_prompt_is_named(repo: Path):
    import asyncio

    from tui_app.core.compare import Column, new_comparison
    from tui_app.core.errors import PromptTuiError
    from tui_app.core.workspace import Workspace

    data = config("hello world two")
    data["prompts"].append({"name": "extra", "input": "{{b.output}}!"})
    write_config(repo / "c.json", data)
    workspace = Workspace.open(repo / "c.json", history=False)
    with pytest.raises(PromptTuiError, match="'extra' did not exist at HEAD"):
        new_comparison(workspace, "b", [Column.parse("@HEAD"), Column.parse("@")], chain=True)
    comparison = new_comparison(workspace, "a", [Column.parse("@HEAD~1"), Column.parse("@")])

    async def drive() -> None:
        async for _ in comparison.execute():
            pass

    asyncio.run(drive())
    assert [m.text for m in comparison.all_metrics()] == ["hello world one", "hello world two"]
    with pytest.raises(PromptTuiError, match="nothing to adopt"):
        comparison.adopt(0)
    comparison.adopt(1)
    assert workspace.document.prompt("a").output_text == "hello world two"


def test_an_export_carries_the_run_its_revision_tags_and_rating(repo: Path):
    import asyncio

    from tui_app.core import export
    from tui_app.core.history import Rating, RunOrigin
    from tui_app.core.workspace import Workspace

    workspace = Workspace.open(repo / "c.json")
    run = workspace.new_run("a", "one")
    run.origin = RunOrigin(run_id="", config_path="", tags=("demo",))

    async def drive() -> None:
        async for _ in workspace.execute(run):
            pass

    asyncio.run(drive())
    assert workspace.history is not None
    workspace.history.rate(Rating(run_id=run.id, prompt="a", score=1.0, comment="crisp"))
    labels = export.run_labels(workspace.history, run, "a")
    record = export.record_of("a", run.results["a"], None, **labels)
    data = json.loads(export.to_json("t", [record]))["prompts"][0]
    assert data["run_id"] == run.id and data["origin"]["tags"] == ["demo"]
    assert data["origin"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert data["rating"]["score"] == 1.0 and data["rating"]["comment"] == "crisp"
    markdown = export.to_markdown("t", [record])
    assert f"Run `{run.id}`" in markdown and "rated 👍 “crisp”" in markdown
    workspace.close()


def test_diff_ref_compares_with_the_newest_run_of_the_working_file(repo: Path, capsys):
    path = str(repo / "c.json")
    cli(capsys, "run", path)
    cli(capsys, "compare", path, "a", "--ref", "HEAD~1", "--json")  # columns are experiments
    cli(capsys, "run", path, "--ref", "HEAD~1")  # the newest run is of the revision
    code, out, err = cli(capsys, "diff", path, "--ref", "HEAD~1", "--json")
    assert code == 1 and "same run" not in err
    data = json.loads(out)
    assert data["a"]["origin"]["ref"] == "HEAD~1" and data["b"]["origin"]["ref"] is None
    assert "-" not in data["a"]["run_id"]  # not a comparison column's run


def test_a_re_run_after_a_reload_keeps_the_tags_and_gets_fresh_git_facts(repo: Path):
    import asyncio

    from tui_app.core.history import RunOrigin
    from tui_app.core.workspace import Workspace

    workspace = Workspace.open(repo / "c.json")
    first = workspace.new_run("a", "one")
    first.origin = RunOrigin(run_id="", config_path="", tags=("watch",), meta={"k": "v"})

    async def drive(run) -> None:  # type: ignore[no-untyped-def]
        async for _ in workspace.execute(run):
            pass

    asyncio.run(drive(first))
    assert first.origin.dirty is False
    write_config(repo / "c.json", config("hello edited"))
    workspace.reload()
    again = workspace.rerun()
    assert again is not None and again.origin is not None
    assert again.origin.tags == ("watch",) and again.origin.meta == {"k": "v"}
    asyncio.run(drive(again))
    assert again.origin.run_id == again.id and again.origin.dirty is True
    workspace.close()


def test_a_workspace_on_a_revision_refuses_to_save_over_the_working_file(repo: Path):
    from tui_app.core.errors import PromptTuiError
    from tui_app.core.workspace import Workspace

    path = repo / "c.json"
    before = path.read_bytes()
    workspace = Workspace.open_at(path, "HEAD~1", history=False)
    with pytest.raises(PromptTuiError, match="never written over the working file"):
        workspace.save()
    assert path.read_bytes() == before


def test_estimate_prices_the_file_as_it_was_at_a_revision(repo: Path, capsys):
    """`estimate --ref REV` prices what `run --ref REV` would send: the committed template, not
    the edited one (a longer input, more tokens)."""
    path = repo / "c.json"
    write_config(path, config("hello world " + "and much more text " * 40, model="gpt-4o-mini"))
    git(repo, "commit", "-qam", "long")
    write_config(path, config("hi", model="gpt-4o-mini"))  # edited, not committed
    code, now, _ = cli(capsys, "estimate", str(path), "a", "--json")
    assert code == 0
    code, then, _ = cli(capsys, "estimate", str(path), "a", "--ref", "HEAD", "--json")
    assert code == 0
    tokens = [json.loads(out)["steps"][0]["input_tokens"]["low"] for out in (now, then)]
    assert tokens[1] > tokens[0] + 100  # the committed prompt is the long one
    code, _, err = cli(capsys, "estimate", str(path), "a", "--ref", "no-such-ref")
    assert code == 2 and "no-such-ref" in err
