"""`prompt-tui batch` (issue 24): rows x models through the cache, per-provider concurrency that
honours rate limits, exit codes, history grouping, and the JUnit / JSON / HTML reports (the HTML
opened in a real headless chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import SAMPLES, chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.cli import main
from tui_app.core.history import History
from tui_app.core.paths import history_path

SAMPLE = SAMPLES / "faq_checks.aiconfig.yaml"


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def server_config(tmp_path: Path, *servers: OpenAIServer, checks=None, prompts=1) -> Path:
    models = {
        f"m{i}": {"model": f"openai/model-{i}", "api_base": s.base_url, "max_attempts": 3}
        for i, s in enumerate(servers)
    }
    steps = [
        {
            "name": "answer",
            "input": "Q: {{q}}",
            "metadata": {
                "checks": checks or [{"contains": "{{q}}"}],
                "remember_chat_context": False,
            },
        }
    ]
    for i in range(1, prompts):
        steps.append(
            {
                "name": f"step{i}",
                "input": f"Step {i}: {{{{{steps[-1]['name']}.output}}}}",
                "metadata": {"remember_chat_context": False},
            }
        )
    return write_config(tmp_path / "c.json", chain(steps, models=models, default_model="m0"))


def rows_csv(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("q\n" + "".join(f"question {i}\n" for i in range(1, n + 1)), encoding="utf-8")
    return path


def test_the_sample_runs_offline_and_writes_three_reports(tmp_path, capsys):
    junit, html_path, json_path = tmp_path / "j.xml", tmp_path / "r.html", tmp_path / "r.json"
    code = main(
        [
            "batch",
            str(SAMPLE),
            "--model",
            "echo",
            "--model",
            "offline/echo",
            "--junit",
            str(junit),
            "--report",
            str(html_path),
            "--json-report",
            str(json_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err  # row 4 fails its contains check on purpose
    assert "row 4 (echo): answer: contains failed: expected contains 'warranty'" in err
    assert "5/5 rows · pass 80% · spent $0" in err  # plain progress lines (not a terminal)
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 5 * 3 * 2  # rows x prompts (answer, polish, grader) x models
    assert root.get("failures") == "2" and root.get("errors") == "0"
    [suite_echo, suite_offline] = root.findall("testsuite")
    assert suite_echo.get("name") == "echo" and suite_offline.get("name") == "offline/echo"
    failure = root.find(".//testcase[@name='row 4 · answer']/failure")
    assert failure is not None
    assert "expected contains 'warranty'" in failure.get("message", "")
    assert "saw 'Answer this question about Nimbus kettle" in failure.get("message", "")
    report = json.loads(json_path.read_text())
    assert report["batch"]["columns"]["echo"]["passed"] == 4
    assert [c["row"] for c in report["cells"]] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    [bad] = [c for c in report["cells"] if c["row"] == 4 and c["column"] == "echo"]
    assert bad["verdict"] == "fail"
    assert any(c["verdict"] == "fail" and c["check"] == "contains" for c in bad["checks"])
    assert html_path.read_text().count('class="v ') == 10
    # --model replaces the chain's models, not the grader's: a judge is not the model under test
    [cell] = [c for c in report["cells"] if c["row"] == 1 and c["column"] == "offline/echo"]
    assert cell["prompts"]["answer"]["model"] == "offline/echo"
    assert cell["prompts"]["grader"]["model"] == "echo"


def test_json_lines_and_exit_zero_when_every_check_passes(tmp_path, capsys):
    config = write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "say {{word}}",
                    "metadata": {"checks": [{"contains": "{{word}}"}]},
                }
            ]
        ),
    )
    data = tmp_path / "d.jsonl"
    data.write_text('{"word": "hi"}\n{"word": "yo"}\n{"word": "ok"}\n')
    assert main(["batch", str(config), "--data", str(data), "--json", "--rows", "2-3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["row"] for line in lines) == [2, 3]
    assert all(line["verdict"] == "pass" for line in lines)
    assert lines[0]["prompts"]["a"]["status"] == "done"


def test_bad_rows_are_refused_before_anything_is_sent(tmp_path, capsys, model_server):
    config = server_config(tmp_path, model_server)
    data = tmp_path / "d.csv"
    data.write_text("q,qq\nfine,x\n")
    assert main(["batch", str(config), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert f"{data}:2: column 'qq' is read by no prompt and no check" in err
    assert model_server.chat_requests == []


def test_an_interrupted_batch_resumes_without_resending_what_finished(tmp_path, capsys):
    with OpenAIServer() as server:
        config = server_config(tmp_path, server, prompts=2)
        data = rows_csv(tmp_path, 4)
        server.enqueue(Fault.status(400, message="bad row"))  # one cell's first prompt fails
        junit = tmp_path / "j.xml"
        args = ["batch", str(config), "--data", str(data), "--concurrency", "1"]
        assert main([*args, "--junit", str(junit)]) == 2
        root = ET.parse(junit).getroot()
        assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("8", "2", "0")
        errors = root.findall(".//error")
        assert any("bad row" in (e.get("message") or "") for e in errors)  # the failed prompt
        assert any("blocked" in (e.get("message") or "") for e in errors)  # its dependent
        first = len(server.chat_requests)
        assert first == 7  # 4 rows x 2 prompts, minus the blocked second step of the failed row
        err = capsys.readouterr().err
        assert "error" in err and "bad row" in err
        assert main(["batch", str(config), "--data", str(data)]) == 0
        # only the failed row's two prompts went to the wire again; the rest came from the cache
        assert len(server.chat_requests) == first + 2
    history = History(history_path())
    try:
        rows = history.runs(limit=None)
        groups = {r.group_id for r in rows}
        assert len(groups) == 2 and all(g and g.startswith("batch-") for g in groups)
        assert sum(1 for r in rows if r.status == "cached") == 6
    finally:
        history.close()


def test_concurrency_keeps_the_server_busy_without_exceeding_the_limit(tmp_path, capsys):
    with OpenAIServer() as server:
        server.delay_per_request = 0.15
        config = server_config(tmp_path, server)
        assert (
            main(
                ["batch", str(config), "--data", str(rows_csv(tmp_path, 12)), "--concurrency", "3"]
            )
            == 0
        )
        requests = server.chat_requests
        assert len(requests) == 12
        assert max_overlap(requests) == 3


def max_overlap(requests) -> int:
    events = sorted([(r.arrived, 1) for r in requests] + [(r.ended, -1) for r in requests])
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def test_a_rate_limited_provider_slows_down_alone(tmp_path, capsys):
    with OpenAIServer() as slow, OpenAIServer() as fast:
        slow.enqueue(Fault.status(429, retry_after=0.3), Fault.status(429, retry_after=0.3))
        slow.delay_per_request = fast.delay_per_request = 0.05
        config = server_config(tmp_path, slow, fast)
        data = rows_csv(tmp_path, 6)
        code = main(
            [
                "batch",
                str(config),
                "--data",
                str(data),
                "--model",
                "m0",
                "--model",
                "m1",
                "--concurrency",
                "2",
                "--json",
            ]
        )
        assert code == 0, capsys.readouterr().err
        # every fast request was answered while the slow provider waited out its Retry-After:
        # none of them waited behind the 429s
        retried = [r for r in slow.chat_requests if r.status == 429]
        assert len(retried) == 2
        resumed = min(
            r.arrived
            for r in slow.chat_requests
            if r.status == 200 and r.arrived > retried[0].arrived
        )
        assert max(r.arrived for r in fast.chat_requests) < resumed
        assert max_overlap(fast.chat_requests) == 2


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_chromium(page: Path, fragment: str = "") -> tuple[str, list[str]]:
    """The DOM after scripts ran, and the console messages chromium logged."""
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium: see .ci/run)")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--enable-logging=stderr",
            "--v=0",
            "--user-data-dir=" + str(page.parent / "chromium-profile"),
            "--dump-dom",
            page.as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def test_the_html_report_renders_in_headless_chromium_with_model_text_escaped(tmp_path, capsys):
    config = write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "say {{word}}",
                    "metadata": {"checks": [{"contains": "{{expected}}"}]},
                }
            ]
        ),
    )
    data = tmp_path / "d.csv"
    hostile = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"
    data.write_text(f'word,expected\nhello,hello\n"{hostile}",nothing\n')
    page = tmp_path / "r.html"
    assert main(["batch", str(config), "--data", str(data), "--report", str(page)]) == 1
    dom, console = open_in_chromium(page, "#first-failure")
    assert console == []
    assert 'data-ready="1"' in dom  # the page's script ran to the end
    assert dom.count("<script") == 1  # the model's echo of <script> stayed text
    assert "owned" not in dom.split("<title>")[1].split("</title>")[0]
    matrix = dom.split('id="matrix"')[1].split('id="detail"')[0]
    assert len(re.findall(r'<td class="v (pass|fail|error)"', matrix)) == 2
    detail = dom.split('id="detail"')[1]
    assert "expected" in detail and "contains 'nothing'" in detail  # the failed cell opened
    assert "&lt;script&gt;" in detail


def _retained_after_batch(tmp_path: Path, rows: int) -> int:
    """Bytes still allocated after a batch of ``rows`` rows whose cells were dropped."""
    import asyncio
    import gc
    import tracemalloc

    from tui_app.core.batch import Batch, batch_workspace
    from tui_app.core.config import load
    from tui_app.core.datasets import Dataset

    steps = [
        {"name": "a", "input": "A {{q}}", "metadata": {"checks": [{"contains": "{{q}}"}]}},
        {"name": "b", "input": "B {{a.output}}"},
        {"name": "c", "input": "C {{b.output}}"},
    ]
    for step in steps:
        step.setdefault("metadata", {})["remember_chat_context"] = False
    config = write_config(tmp_path / "m.json", chain(steps, models={"echo": {"delay": 0}}))
    workspace, _ = batch_workspace(load(config), concurrency=2, history=False)
    workspace.runner.memory_cache_size = 32
    batch = Batch(workspace, Dataset(rows_csv(tmp_path, rows)), concurrency=2)
    batch.prepare()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asyncio.run(batch.run(lambda cell: None))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert sum(s.passed for s in batch.stats.values()) == rows
    return after - before


def test_memory_does_not_grow_with_rows(tmp_path):
    """Cells go to the caller and are dropped; the runner keeps a bounded number of answers
    (the history has them all): 300 rows retain what 60 do, give or take a few kilobytes."""
    (tmp_path / "s").mkdir()
    (tmp_path / "l").mkdir()
    small = _retained_after_batch(tmp_path / "s", 60)
    large = _retained_after_batch(tmp_path / "l", 300)
    assert large - small < 100_000, (small, large)


def test_a_key_in_an_answer_is_masked_in_every_report(tmp_path, capsys):
    key = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
    config = write_config(
        tmp_path / "c.json",
        chain(
            [{"name": "a", "input": "say {{word}}", "metadata": {"checks": [{"contains": "x"}]}}]
        ),
    )
    data = tmp_path / "d.csv"
    data.write_text(f"word\n{key}\n")
    outputs = {name: tmp_path / name for name in ("j.xml", "r.json", "r.html")}
    code = main(
        [
            "batch",
            str(config),
            "--data",
            str(data),
            "--json",
            "--junit",
            str(outputs["j.xml"]),
            "--json-report",
            str(outputs["r.json"]),
            "--report",
            str(outputs["r.html"]),
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert key not in captured.out and "o5P6" in captured.out  # masked, not dropped
    for path in outputs.values():
        assert key not in path.read_text(), path.name


def test_the_terminal_progress_bar():
    from tui_app.commands.batch import bar

    assert bar(1, 4, 8) == "[██░░░░░░]"
    assert bar(0, 0, 4) == "[████]"  # nothing to do is done


def test_a_batch_is_estimated_before_it_runs_and_held_to_its_budget(tmp_path, capsys):
    """`batch --dry-run` prices every row x column and sends nothing; `--max-cost` refuses a
    batch whose high estimate is over it, before the first request."""
    with OpenAIServer() as server:
        config = server_config(tmp_path, server, prompts=2)
        data = json.loads(config.read_text())
        data["metadata"]["models"]["m0"].update(
            input_cost_per_token=0.00001, output_cost_per_token=0.00002, max_tokens=50
        )
        config.write_text(json.dumps(data))
        rows = rows_csv(tmp_path, 5)
        code = main(["batch", str(config), "--data", str(rows), "--dry-run", "--json"])
        out = capsys.readouterr().out
        assert code == 0 and server.chat_requests == []
        found = json.loads(out.splitlines()[-1])
        assert found["requests"] == 10  # 5 rows x 2 steps
        assert found["cost"]["high"] > 0.0001
        code = main(["batch", str(config), "--data", str(rows), "--max-cost", "0.0001"])
        err = capsys.readouterr().err
        assert code == 2 and "budget" in err and server.chat_requests == []
        code = main(["batch", str(config), "--data", str(rows), "--max-cost", "1"])
        assert code == 0 and len(server.chat_requests) == 10
